// The baseline: a bare NATS.js responder that echoes the request bytes, in a queue group.
import { connect } from "@nats-io/transport-node";

const [url, subject] = process.argv.slice(2);
const nc = await connect({ servers: url });
nc.subscribe(subject, { queue: "echo", callback: (_err, m) => m.respond(m.data) });
await nc.flush();
process.stdout.write("ready\n");
process.on("SIGTERM", async () => {
  await nc.drain();
  process.exit(0);
});
