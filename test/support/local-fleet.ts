// Test helpers for the local platform: a throwaway project (gs.yaml + links to the repo's services/
// and proto/) and a steady request load. The built CLI runs through run-cli.ts.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { repoRoot } from "./run-cli.js";

/** Catalog services whose code exists, in the catalog's order. */
export function existingServices(): string[] {
  const catalog = readFileSync(path.join(repoRoot, "services", "catalog.ts"), "utf8");
  const names = [...catalog.matchAll(/^\s+"?([a-z-]+)"?: \(\) => import/gm)].map((m) => m[1]!);
  return names.filter((n) => existsSync(path.join(repoRoot, "services", n, "service.ts")));
}

export interface TestProject {
  dir: string;
  /** point services/ at the repo's (default) or at another folder */
  useServices(dir: string): void;
  /** a copy of services/ (links) in which `service`'s service.ts throws at import */
  brokenServices(service: string): string;
  record(): { supervisor: { pid: number }; pids: { pid: number; what: string }[]; nats: { url: string } } | undefined;
  remove(): void;
}

export function createProject(services: string[], opts: { desired?: number } = {}): TestProject {
  const dir = mkdtempSync(path.join(os.tmpdir(), "gs-local-"));
  const lines = [
    "project: local-test",
    "services:",
    `  defaults: { desired: ${opts.desired ?? 2} }`,
    ...services.map((s) => `  ${s}: {}`),
  ];
  writeFileSync(path.join(dir, "gs.yaml"), lines.join("\n") + "\n");
  symlinkSync(path.join(repoRoot, "proto"), path.join(dir, "proto"));
  const link = path.join(dir, "services");
  const useServices = (target: string) => {
    rmSync(link, { force: true });
    symlinkSync(target, link);
  };
  useServices(path.join(repoRoot, "services"));
  return {
    dir,
    useServices,
    brokenServices(service: string) {
      const copy = path.join(dir, "services-broken");
      rmSync(copy, { recursive: true, force: true });
      mkdirSync(copy);
      const src = path.join(repoRoot, "services");
      for (const e of readdirSync(src))
        if (e !== service && e !== "dist") symlinkSync(path.join(src, e), path.join(copy, e));
      mkdirSync(path.join(copy, service));
      for (const f of readdirSync(path.join(src, service))) {
        if (f !== "service.ts") symlinkSync(path.join(src, service, f), path.join(copy, service, f));
      }
      const code = readFileSync(path.join(src, service, "service.ts"), "utf8");
      writeFileSync(path.join(copy, service, "service.ts"), `throw new Error("cannot load time zone data");\n${code}`);
      return copy;
    },
    record() {
      try {
        return JSON.parse(readFileSync(path.join(dir, ".gs", "local.json"), "utf8"));
      } catch {
        return undefined;
      }
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}

export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface Load {
  stop(): Promise<{ sent: number; ok: number; failed: number; errors: string[] }>;
}

/**
 * Requests at a steady rate to `subject` (or to each of `subjects` in turn); a request fails when it
 * gets no reply, or an error reply whose code `failOn` accepts (by default, any error reply).
 */
export async function steadyLoad(
  url: string,
  subject: string | readonly string[],
  perSecond: number,
  { failOn = () => true }: { failOn?: (code: number) => boolean } = {},
): Promise<Load & { nc: NatsConnection }> {
  const subjects = typeof subject === "string" ? [subject] : subject;
  // with several subjects, say which one failed
  const tagOf = (s: string) => (subjects.length > 1 ? `${s}: ` : "");
  const nc = await connect({ servers: url.split(","), maxReconnectAttempts: -1 });
  let sent = 0;
  let ok = 0;
  let failed = 0;
  const errors: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const s = subjects[sent++ % subjects.length]!;
    const p = nc
      .request(s, new Uint8Array(), { timeout: 5000 })
      .then((m) => {
        const code = m.headers?.get("Nats-Service-Error-Code");
        if (code && failOn(Number(code))) {
          failed++;
          errors.push(`${tagOf(s)}${code} ${m.headers?.get("Nats-Service-Error")}`);
        } else ok++;
      })
      .catch((err: Error) => {
        failed++;
        errors.push(`${tagOf(s)}${err.message}`);
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }, 1000 / perSecond);
  return {
    nc,
    async stop() {
      clearInterval(timer);
      await Promise.all(inFlight);
      await nc.close();
      return { sent, ok, failed, errors: [...new Set(errors)].slice(0, 5) };
    },
  };
}
