// The per-service NATS permissions `gs up --secure` enforces: derived from the protos plus the call
// graph in services/sdk/permissions.ts, which must cover every subject a service's code names.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SERVICE_NAMES } from "../catalog.js";
import { FLEET_ACCESS, inboxPrefixOf, servicePermissions } from "./permissions.js";
import { defaultRegistry } from "./runtime.js";
import { repoRoot } from "../../test/support/run-cli.js";

const registry = defaultRegistry();

/** Subject literals in a service's own (non-test) sources that name another service's rpc. */
function calledServices(service: string): string[] {
  const dir = path.join(repoRoot, "services", service);
  const text = readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .map((f) => readFileSync(path.join(dir, f), "utf8"))
    .join("\n");
  const found = new Set<string>();
  for (const m of text.matchAll(/["'`]([a-z][a-z-]*\.[a-z][a-z-]*)["'`]/g)) {
    const rpc = registry.rpc(m[1]!);
    if (rpc && rpc.service !== service) found.add(rpc.service);
  }
  return [...found].sort();
}

describe("fleet permissions", () => {
  it("lists in the call graph every service a service's code calls", () => {
    const missing: string[] = [];
    for (const name of SERVICE_NAMES) {
      const access = FLEET_ACCESS[name]?.calls ?? [];
      if (access === "*") continue;
      for (const callee of calledServices(name)) if (!access.includes(callee)) missing.push(`${name} -> ${callee}`);
    }
    expect(missing).toEqual([]);
  });

  it("lets each service subscribe only to its own rpc subjects, the micro protocol and its own inbox", () => {
    for (const name of SERVICE_NAMES) {
      const p = servicePermissions(registry, name);
      const others = registry.rpcs.filter((r) => r.service !== name).map((r) => r.subject);
      expect(
        p.subscribe.allow.filter((s) => others.includes(s)),
        name,
      ).toEqual([]);
      expect(
        p.subscribe.allow.some(
          (s) => s === ">" || s === "_INBOX.>" || (s.endsWith(".>") && !s.startsWith(inboxPrefixOf(name))),
        ),
        name,
      ).toBe(false);
      for (const rpc of registry.service(name)!.rpcs) expect(p.subscribe.allow).toContain(rpc.subject);
      expect(p.allow_responses).toBe(true);
    }
  });

  it("lets a service publish to the rpcs of the services it calls and to its own events only", () => {
    const settings = servicePermissions(registry, "settings");
    expect(settings.publish.allow.filter((s) => /^payment\./.test(s))).toEqual([]);
    expect(settings.publish.allow).toContain("events.settings.>");
    expect(settings.publish.allow.some((s) => s.startsWith("events.") && s !== "events.settings.>")).toBe(false);
    expect(settings.publish.allow.filter((s) => s.startsWith("$JS.API.") && /KV_gs_(?!settings)/.test(s))).toEqual([]);
    const orchestration = servicePermissions(registry, "orchestration");
    expect(orchestration.publish.allow).toContain("payment.purchase");
    expect(orchestration.publish.allow).not.toContain("auth.login");
    // the one dispatcher may request any rpc, but still not touch JetStream beyond its own state
    const router = servicePermissions(registry, "router");
    for (const rpc of registry.rpcs) expect(router.publish.allow).toContain(rpc.subject);
    expect(router.publish.allow).not.toContain("$JS.API.>");
  });

  it("lets event-bus administer the EVENTS stream's consumers but not delete or purge the stream", () => {
    const p = servicePermissions(registry, "event-bus");
    expect(p.publish.allow).toContain("events.>");
    expect(p.publish.deny).toEqual(
      expect.arrayContaining(["$JS.API.STREAM.DELETE.EVENTS", "$JS.API.STREAM.PURGE.EVENTS"]),
    );
  });
});
