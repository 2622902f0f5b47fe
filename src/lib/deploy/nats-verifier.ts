// Verification over NATS: how many instances of a service answer $SRV.INFO with a version.
import type { NatsConnection } from "@nats-io/transport-node";
import { discoverServices } from "../nats/discovery.js";
import type { Verifier } from "./deploy.js";

export class NatsVerifier implements Verifier {
  constructor(private readonly nc: NatsConnection) {}

  async answering(service: string, version: string, want: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      const [view] = await discoverServices(this.nc, { name: service, timeoutMs: 1000, stallMs: 200 });
      seen = view?.instances.filter((i) => i.version === version).length ?? 0;
      if (seen >= want || Date.now() > deadline) return seen;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** A verifier over the fleet's NATS of an opened platform: `ready` connects (ecs: on first call), each check uses that connection. */
export function natsVerifierOf(opened: { nats(): Promise<NatsConnection> }): Verifier {
  return {
    ready: async () => void (await opened.nats()),
    answering: async (...args) => new NatsVerifier(await opened.nats()).answering(...args),
  };
}
