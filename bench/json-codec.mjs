#!/usr/bin/env node
// bench/json-codec: the SDK's proto3 JSON codec (services/sdk/json-codec.ts, over protobufjs) against
// @bufbuild/protobuf's (fromJson/toJson over a FileDescriptorSet that buf builds from proto/), in one
// run: (1) conformance to the proto3 JSON mapping on cases over the fleet's own messages, each case
// saying what the spec requires; (2) speed of JSON -> bytes (what a handler's response takes) and
// bytes -> JSON with defaults (what a handler's request takes). Writes bench/json-codec.json.
//   node bench/json-codec.mjs [--ms 1000] [--rounds 5] [--out bench/json-codec.json]
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { tsImport } from "tsx/esm/api";
import { createFileRegistry, fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { arg, root } from "./lib.mjs";

const ms = Number(arg("ms", 1000));
const outFile = path.resolve(arg("out", path.join(root, "bench", "json-codec.json")));

const { defaultRegistry } = await tsImport("../services/sdk/runtime.ts", import.meta.url);
const { encodeJson, decodeToJson } = await tsImport("../services/sdk/json-codec.ts", import.meta.url);
const sdk = defaultRegistry();

// the same proto/ as a FileDescriptorSet, for @bufbuild/protobuf
const buf = path.join(path.dirname(createRequire(import.meta.url).resolve("@bufbuild/buf/package.json")), "bin", "buf");
const tmp = mkdtempSync(path.join(os.tmpdir(), "gs-json-codec-"));
let es;
try {
  execFileSync(buf, ["build", "proto", "-o", path.join(tmp, "fds.binpb")], { cwd: root });
  es = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(path.join(tmp, "fds.binpb"))));
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

/** One codec: accept-or-reject a JSON input, and the canonical proto3 JSON (defaults omitted) of what it read. */
const codecs = {
  sdk: {
    read(type, json) {
      const t = sdk.type(type);
      return decodeToJson(t, encodeJson(t, json), { defaults: false });
    },
    encode: (type) => {
      const t = sdk.type(type);
      return (json) => encodeJson(t, json);
    },
    decode: (type) => {
      const t = sdk.type(type);
      return (bytes) => decodeToJson(t, bytes);
    },
  },
  "@bufbuild/protobuf": {
    read(type, json) {
      const schema = es.getMessage(type);
      return toJson(schema, fromBinary(schema, toBinary(schema, fromJson(schema, json, { registry: es }))), {
        registry: es,
      });
    },
    encode: (type) => {
      const schema = es.getMessage(type);
      return (json) => toBinary(schema, fromJson(schema, json, { registry: es }));
    },
    decode: (type) => {
      const schema = es.getMessage(type);
      // alwaysEmitImplicit: the form handlers get from the SDK (every scalar present)
      return (bytes) => toJson(schema, fromBinary(schema, bytes), { registry: es, alwaysEmitImplicit: true });
    },
  },
};

// What the proto3 JSON mapping (protobuf.dev/programming-guides/json) requires of a parser and printer.
// `out` is the canonical output for an accepted input; `reject` marks an input a parser must refuse.
const TXN = "payment.v1.Transaction";
const cases = [
  { name: "int64 as a decimal string", type: TXN, json: { sequence: "42" }, out: { sequence: "42" } },
  { name: "int64 as a JSON number", type: TXN, json: { sequence: 42 }, out: { sequence: "42" } },
  {
    name: "int64 above 2^53 keeps every digit",
    type: TXN,
    json: { sequence: "9007199254740993" },
    out: { sequence: "9007199254740993" },
  },
  { name: "int64 out of range is refused", type: TXN, json: { sequence: "9223372036854775808" }, reject: true },
  { name: "uint32 below zero is refused", type: TXN, json: { quantity: -1 }, reject: true },
  { name: "uint32 with a fraction is refused", type: TXN, json: { quantity: 1.5 }, reject: true },
  { name: "uint32 as a string", type: TXN, json: { quantity: "7" }, out: { quantity: 7 } },
  {
    name: "enum by name",
    type: TXN,
    json: { kind: "TRANSACTION_KIND_DEPOSIT" },
    out: { kind: "TRANSACTION_KIND_DEPOSIT" },
  },
  { name: "enum by number", type: TXN, json: { kind: 2 }, out: { kind: "TRANSACTION_KIND_PURCHASE" } },
  { name: "unknown enum name is refused", type: TXN, json: { kind: "TRANSACTION_KIND_GIFT" }, reject: true },
  { name: "unknown field is refused", type: TXN, json: { nope: 1 }, reject: true },
  { name: "the proto field name is accepted too", type: TXN, json: { player_id: "p1" }, out: { playerId: "p1" } },
  { name: "null means the default", type: TXN, json: { playerId: null, amount: null }, out: {} },
  { name: "a number for a string is refused", type: TXN, json: { playerId: 5 }, reject: true },
  {
    name: "a string for a bool is refused",
    type: "payment.v1.DepositResponse",
    json: { replayed: "true" },
    reject: true,
  },
  {
    name: "Timestamp in UTC",
    type: TXN,
    json: { createdAt: "2025-11-13T10:00:00Z" },
    out: { createdAt: "2025-11-13T10:00:00Z" },
  },
  {
    name: "Timestamp with an offset is normalised to UTC",
    type: TXN,
    json: { createdAt: "2025-11-13T10:00:00+01:00" },
    out: { createdAt: "2025-11-13T09:00:00Z" },
  },
  {
    name: "Timestamp prints 3, 6 or 9 fractional digits",
    type: TXN,
    json: { createdAt: "2025-11-13T10:00:00.1Z" },
    out: { createdAt: "2025-11-13T10:00:00.100Z" },
  },
  {
    name: "Timestamp with a month 13 is refused",
    type: TXN,
    json: { createdAt: "2025-13-01T00:00:00Z" },
    reject: true,
  },
  { name: "Timestamp without a zone is refused", type: TXN, json: { createdAt: "2025-11-13T10:00:00" }, reject: true },
  {
    name: "Duration in seconds",
    type: "quest_system.v1.QuestDefinition",
    json: { timeLimit: "90s" },
    out: { timeLimit: "90s" },
  },
  {
    name: "Duration prints 3, 6 or 9 fractional digits",
    type: "quest_system.v1.QuestDefinition",
    json: { timeLimit: "1.5s" },
    out: { timeLimit: "1.500s" },
  },
  {
    name: "Duration without the s is refused",
    type: "quest_system.v1.QuestDefinition",
    json: { timeLimit: "1.5" },
    reject: true,
  },
  {
    name: "bytes in standard base64",
    type: "event_bus.v1.PublishRequest",
    json: { payload: "+/8=" },
    out: { payload: "+/8=" },
  },
  {
    name: "bytes in URL-safe base64",
    type: "event_bus.v1.PublishRequest",
    json: { payload: "-_8=" },
    out: { payload: "+/8=" },
  },
  {
    name: "bytes that are not base64 are refused",
    type: "event_bus.v1.PublishRequest",
    json: { payload: "not base64!" },
    reject: true,
  },
  {
    name: "map<string, string>",
    type: "event_bus.v1.PublishRequest",
    json: { headers: { a: "1" } },
    out: { headers: { a: "1" } },
  },
  {
    name: "a map value of the wrong type is refused",
    type: "event_bus.v1.PublishRequest",
    json: { headers: { a: 1 } },
    reject: true,
  },
  {
    name: "double NaN as a string",
    type: "npc_behavior.v1.ActionScore",
    json: { score: "NaN" },
    out: { score: "NaN" },
  },
  {
    name: "double Infinity as a string",
    type: "npc_behavior.v1.ActionScore",
    json: { score: "Infinity" },
    out: { score: "Infinity" },
  },
  {
    name: "double as a numeric string",
    type: "npc_behavior.v1.ActionScore",
    json: { score: "0.25" },
    out: { score: 0.25 },
  },
  {
    name: "oneof: one member",
    type: "router.v1.ForwardRequest",
    json: { payloadJson: "{}" },
    out: { payloadJson: "{}" },
  },
  {
    name: "oneof: a member at its default is still set",
    type: "router.v1.ForwardRequest",
    json: { payloadJson: "" },
    out: { payloadJson: "" },
  },
  {
    name: "oneof: two members are refused",
    type: "router.v1.ForwardRequest",
    json: { payloadJson: "{}", payloadBytes: "AA==" },
    reject: true,
  },
  {
    name: "repeated with a null element is refused",
    type: "npc_behavior.v1.DecideRequest",
    json: { needs: [null] },
    reject: true,
  },
  {
    name: "repeated messages",
    type: "npc_behavior.v1.DecideRequest",
    json: { needs: [{ name: "hunger", value: 0.5 }] },
    out: { needs: [{ name: "hunger", value: 0.5 }] },
  },
];

function same(a, b) {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}
function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object")
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys(v[k])]),
    );
  return v;
}

const conformance = {};
for (const [name, codec] of Object.entries(codecs)) {
  const failed = [];
  for (const c of cases) {
    let got;
    let err;
    try {
      got = codec.read(c.type, c.json);
    } catch (e) {
      err = e;
    }
    const ok = c.reject ? err !== undefined : err === undefined && same(got, c.out);
    if (!ok) failed.push({ case: c.name, got: err ? `refused: ${String(err.message).slice(0, 100)}` : got });
  }
  conformance[name] = { passed: cases.length - failed.length, of: cases.length, failed };
}

// speed: realistic fleet messages, as a handler returns (encode) and receives (decode) them
const samples = [
  {
    type: "payment.v1.DepositResponse",
    json: {
      transaction: {
        transactionId: "8c6f1f7e-3c1a-4bde-9f7e-1f2d3c4b5a69",
        playerId: "player-42",
        kind: "TRANSACTION_KIND_DEPOSIT",
        status: "TRANSACTION_STATUS_COMPLETED",
        amount: { currency: "USD", minorUnits: "2500" },
        balanceAfter: { currency: "USD", minorUnits: "12500" },
        idempotencyKey: "topup-2025-11-13-1",
        reason: "topup",
        sequence: "17",
        createdAt: "2025-11-13T10:00:00.123Z",
      },
      balance: { currency: "USD", minorUnits: "12500" },
      replayed: false,
    },
  },
  {
    type: "npc_behavior.v1.DecideRequest",
    json: {
      npcId: "npc-7",
      archetype: "guard",
      needs: [
        { name: "hunger", value: 0.4 },
        { name: "rest", value: 0.7 },
      ],
      context: { hourOfDay: 21.5, weather: "rain", threatLevel: 0.2, nearestPlayerDistance: 14, extra: { alarm: 0.1 } },
      currentActionId: "patrol",
    },
  },
];

function rate(fn, input) {
  for (let i = 0; i < 2000; i++) fn(input); // warm up
  let n = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) for (let i = 0; i < 200; i++, n++) fn(input);
  return Math.round(n / (ms / 1000));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rounds = Number(arg("rounds", 5));
const speed = [];
for (const s of samples) {
  const bytes = codecs.sdk.encode(s.type)(s.json);
  const row = { type: s.type, bytes: bytes.length };
  const runs = Object.fromEntries(Object.keys(codecs).map((n) => [n, { encode: [], decode: [] }]));
  // the codecs take turns, round after round: a busy machine slows both alike; the median of the rounds counts
  for (let r = 0; r < rounds; r++) {
    for (const [name, codec] of Object.entries(codecs)) {
      runs[name].encode.push(rate(codec.encode(s.type), s.json));
      runs[name].decode.push(rate(codec.decode(s.type), bytes));
    }
  }
  for (const name of Object.keys(codecs))
    row[name] = { encodeOpsPerSec: median(runs[name].encode), decodeOpsPerSec: median(runs[name].decode) };
  row.sdkSpeedup = {
    encode: Math.round((row.sdk.encodeOpsPerSec / row["@bufbuild/protobuf"].encodeOpsPerSec) * 10) / 10,
    decode: Math.round((row.sdk.decodeOpsPerSec / row["@bufbuild/protobuf"].decodeOpsPerSec) * 10) / 10,
  };
  speed.push(row);
}

const report = {
  node: process.version,
  cpus: os.cpus().length,
  measuredAt: new Date().toISOString(),
  conformance,
  speed,
};
writeFileSync(outFile, JSON.stringify(report, null, 2) + "\n");
for (const [name, r] of Object.entries(conformance)) {
  process.stdout.write(`${name}: ${r.passed}/${r.of} conformance cases\n`);
  for (const f of r.failed) process.stdout.write(`  fails: ${f.case} -> ${JSON.stringify(f.got)}\n`);
}
for (const row of speed) {
  process.stdout.write(
    `${row.type} (${row.bytes} B): ` +
      Object.keys(codecs)
        .map((n) => `${n} encode ${row[n].encodeOpsPerSec}/s decode ${row[n].decodeOpsPerSec}/s`)
        .join("; ") +
      "\n",
  );
}
