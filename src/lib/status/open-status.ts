// What `gs status` reads, opened: the target's platform and the fleet's NATS. A NATS that cannot be
// reached is not a failure here, as the platform's view is still worth showing. The local platform
// is its supervisor, asked over that same NATS: while NATS is down, the fleet's record stands in.
import type { NatsConnection } from "@nats-io/transport-node";
import { NatsConnectError } from "../nats/connect.js";
import { EXIT, GsError } from "../output/errors.js";
import { liveFleetRecord, type FleetRecord } from "../platform/local/fleet-record.js";
import { isAlive } from "../platform/local/processes.js";
import {
  openPlatform,
  type OpenedPlatform,
  type OpenPlatformOptions,
  type PlatformContext,
} from "../platform/open-platform.js";
import { platformRows, type PlatformRow } from "./status.js";

export interface StatusFleet {
  /** undefined for a local fleet whose NATS is down (its record is read instead) */
  opened: OpenedPlatform | undefined;
  /** the platform's services (throws a GsError when the platform cannot be asked) */
  describe(): Promise<PlatformRow[]>;
  /** the fleet's NATS, or why it cannot be reached */
  nats: NatsConnection | GsError;
  close(): Promise<void>;
}

/** NATS not answering (refused, unresolvable, timed out, credentials refused): the status degrades. Bad settings still fail. */
function unreachable(err: unknown): err is GsError {
  if (err instanceof NatsConnectError) return err.exitCode === EXIT.failed;
  return err instanceof GsError && err.code === "nats_unreachable";
}

export async function openStatusFleet(ctx: PlatformContext, opts: OpenPlatformOptions = {}): Promise<StatusFleet> {
  let opened: OpenedPlatform;
  try {
    opened = await openPlatform(ctx, opts);
  } catch (err) {
    // the local supervisor is alive but its NATS does not answer
    const rec = ctx.target.platform === "local" && unreachable(err) ? liveFleetRecord(ctx.paths) : undefined;
    if (!rec) throw err;
    return {
      opened: undefined,
      describe: async () => recordRows(rec),
      nats: err as GsError,
      close: async () => undefined,
    };
  }
  let nats: NatsConnection | GsError;
  try {
    nats = await opened.nats();
  } catch (err) {
    if (!unreachable(err)) {
      await opened.close();
      throw err;
    }
    nats = err;
  }
  return {
    opened,
    describe: async () => platformRows(await opened.platform.describeServices()),
    nats,
    close: () => opened.close(),
  };
}

/**
 * The local fleet as its record has it: each service's desired count and version, and the instance
 * processes still alive. Pending and restarts are only known to the supervisor.
 */
export function recordRows(rec: FleetRecord, alive: (pid: number) => boolean = isAlive): PlatformRow[] {
  return Object.entries(rec.services)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, s]) => {
      // an instance's id is `<service>-<6 hex digits>`
      const mine = new RegExp(`^${name.replace(/[^a-z0-9-]/gi, "")}-[0-9a-f]{6}$`);
      return {
        name,
        desired: s.desired,
        running: rec.pids.filter((p) => mine.test(p.what) && alive(p.pid)).length,
        pending: null,
        restarts: null,
        version: s.version ?? null,
        state: null,
      };
    });
}
