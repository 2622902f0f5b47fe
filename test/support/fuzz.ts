// Hostile requests for every endpoint of the fleet, shared by src/commands/request.fleet.test.ts (10,000
// requests) and bench/fuzz.mjs (100,000, recorded in bench/fuzz.json): random bytes, truncated and
// oversized protobuf, wrong wire types, very long strings, deep nesting; plus the RSS of the
// service processes before and after.
import { readFileSync } from "node:fs";
import type { NatsConnection } from "@nats-io/transport-node";
import type protobuf from "protobufjs";
import { encodeJson } from "../../services/sdk/json-codec.js";
import type { RpcDef } from "../../services/sdk/registry.js";
import { exampleJson } from "../../src/lib/proto/example.js";

export const FUZZ_KINDS = [
  "random",
  "truncated",
  "oversized-length",
  "wrong-wire-type",
  "long-strings",
  "deep-nesting",
  "large-junk",
] as const;
export type FuzzKind = (typeof FUZZ_KINDS)[number];

/** A small deterministic PRNG, so a failure can be replayed from its seed. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

function bytes(n: number, rnd: () => number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rnd() * 256);
  return out;
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** Every string field of `type` (one level deep) set to `len` characters. */
function longStrings(type: protobuf.Type, len: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of type.fieldsArray) if (f.type === "string" && !f.repeated && !f.map) out[f.name] = "x".repeat(len);
  return out;
}

let nested: Uint8Array | undefined;
/** Field 1 as a message inside field 1 inside ... 2,000 levels deep (built once, inside out). */
function deepNesting(): Uint8Array {
  if (!nested) {
    let inner = Uint8Array.of(0x08, 0x01);
    for (let d = 0; d < 2000; d++) {
      const head = Uint8Array.from([0x0a, ...varint(inner.length)]);
      const next = new Uint8Array(head.length + inner.length);
      next.set(head);
      next.set(inner, head.length);
      inner = next;
    }
    nested = inner;
  }
  return nested;
}

const encodedExamples = new Map<string, Uint8Array>();
function validExample(rpc: RpcDef): Uint8Array {
  let e = encodedExamples.get(rpc.subject);
  if (!e) {
    try {
      e = encodeJson(rpc.request, exampleJson(rpc.request));
    } catch {
      e = encodeJson(rpc.request, {});
    }
    encodedExamples.set(rpc.subject, e);
  }
  return e;
}

/** The `i`th hostile payload for `rpc`: kinds rotate, sizes vary; at most ~600 KiB (NATS allows 1 MiB). */
export function hostilePayload(rpc: RpcDef, kind: FuzzKind, rnd: () => number): Uint8Array {
  switch (kind) {
    case "random":
      return bytes(1 + Math.floor(rnd() * 256), rnd);
    case "truncated": {
      const valid = validExample(rpc);
      return valid.length > 1 ? valid.slice(0, Math.floor(rnd() * (valid.length - 1)) + 1) : Uint8Array.of(0x0a);
    }
    case "oversized-length":
      // field 1..15, length-delimited, claiming up to 2 GiB that never follow
      return Uint8Array.from([
        (1 + Math.floor(rnd() * 15)) * 8 + 2,
        ...varint(2 ** 31 - 1 - Math.floor(rnd() * 1000)),
        1,
        2,
        3,
      ]);
    case "wrong-wire-type": {
      // every field number 1..20 with a wire type picked at random (varint, 64-bit, length, 32-bit, groups)
      const out: number[] = [];
      for (let f = 1; f <= 20; f++) {
        const wt = Math.floor(rnd() * 6);
        out.push(...varint(f * 8 + wt));
        if (wt === 0) out.push(...varint(Math.floor(rnd() * 2 ** 31)));
        else if (wt === 1) out.push(...bytes(8, rnd));
        else if (wt === 2) out.push(3, 0xff, 0x00, 0x80);
        else if (wt === 5) out.push(...bytes(4, rnd));
      }
      return Uint8Array.from(out);
    }
    case "long-strings": {
      // one string of up to 600,000 characters, or every string field at 10,000 (NATS allows 1 MiB)
      const fields = rpc.request.fieldsArray.filter((f) => f.type === "string" && !f.repeated && !f.map).length || 1;
      const len = rnd() < 0.2 ? Math.floor(600_000 / fields) : 10_000;
      try {
        return encodeJson(rpc.request, longStrings(rpc.request, len));
      } catch {
        return Uint8Array.from([0x0a, ...varint(len), ...new Uint8Array(len).fill(0x78)]);
      }
    }
    case "deep-nesting":
      return deepNesting();
    case "large-junk":
      return bytes(100_000 + Math.floor(rnd() * 400_000), rnd);
  }
}

export interface FuzzOutcome {
  sent: number;
  /** replies with a Nats-Service-Error-Code, by code */
  errorReplies: Record<string, number>;
  /** replies without an error (the bytes happened to decode into a valid request) */
  okReplies: number;
  /** 500 and 504 replies and requests that got no reply, with examples */
  problems: number;
  examples: string[];
  seconds: number;
}

/** Send `total` hostile requests spread over `rpcs`, `concurrency` at a time. */
export async function fuzz(
  nc: NatsConnection,
  rpcs: RpcDef[],
  opts: { total: number; concurrency: number; seed?: number },
): Promise<FuzzOutcome> {
  const rnd = prng(opts.seed ?? 42);
  const out: FuzzOutcome = { sent: 0, errorReplies: {}, okReplies: 0, problems: 0, examples: [], seconds: 0 };
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < opts.total; i = next++) {
      const rpc = rpcs[i % rpcs.length]!;
      // large payloads are rarer: they cost the network, not the parser
      let kind = FUZZ_KINDS[Math.floor(i / rpcs.length) % FUZZ_KINDS.length]!;
      if ((kind === "large-junk" || kind === "long-strings") && rnd() > 0.1) kind = "random";
      const payload = hostilePayload(rpc, kind, rnd);
      out.sent++;
      try {
        const reply = await nc.request(rpc.subject, payload, { timeout: 10_000 });
        const code = reply.headers?.get("Nats-Service-Error-Code");
        if (!code) out.okReplies++;
        else out.errorReplies[code] = (out.errorReplies[code] ?? 0) + 1;
        // 503 is a service's own answer (e.g. router: no live instance offers that capability);
        // 500 means a handler broke, 504 that it hung past its deadline
        if (code === "500" || code === "504") {
          out.problems++;
          if (out.examples.length < 10)
            out.examples.push(`${rpc.subject} ${kind}: ${code} ${reply.headers?.get("Nats-Service-Error")}`);
        }
      } catch (err) {
        out.problems++;
        if (out.examples.length < 10) out.examples.push(`${rpc.subject} ${kind}: ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  out.seconds = Math.round((performance.now() - t0) / 100) / 10;
  return out;
}

/** Resident set size of a process, MiB (Linux /proc). */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : NaN;
}
