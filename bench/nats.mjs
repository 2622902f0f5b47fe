// A nats-server on a free loopback port for the bench scripts.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

export async function startNatsServer({ jetstream = true } = {}) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), "gs-bench-js-"));
  const child = spawn(
    process.env.GS_NATS_SERVER ?? "nats-server",
    ["-a", "127.0.0.1", "-p", String(port), ...(jetstream ? ["-js", "-sd", dir] : [])],
    { stdio: "ignore" },
  );
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) =>
      net
        .connect(port, "127.0.0.1")
        .on("connect", function () {
          this.destroy();
          r(true);
        })
        .on("error", () => r(false)),
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
