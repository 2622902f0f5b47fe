// What gs bench sends: JSON DATA encoded through the proto registry, raw bytes, or N random bytes.
// Also the sizes it reports: the same message in protobuf and in JSON.
import { randomBytes } from "node:crypto";
import { decodeToJson } from "@gs/fleet/sdk/json-codec";
import type { PbType, ProtoRegistry } from "@gs/fleet/sdk/registry";
import { parseJsonData, readData } from "../messaging/data.js";
import { prepareRequest } from "../messaging/request.js";
import { UsageError } from "../output/errors.js";
import { loadRegistryForSubject } from "../proto/load.js";
import type { PayloadBytes } from "./types.js";

export interface PayloadInput {
  subject: string;
  /** the DATA argument */
  data?: string;
  /** --data-file (`-` for stdin) */
  dataFile?: string;
  raw?: boolean;
  /** --size, e.g. 512, 1KiB */
  size?: string;
  cwd: string;
  /** --proto directories */
  proto?: string[];
  /** the types to encode with, when resolved already (from the fleet); default: the local .proto files */
  registry?: ProtoRegistry;
}

export interface PreparedPayload {
  bytes: Uint8Array;
  sizes: PayloadBytes;
  /** the rpc's reply type, to size a reply in JSON */
  replyType?: PbType;
}

/** Read, validate and encode the payload before anything connects: bad input sends nothing (exit 2). */
export function preparePayload(input: PayloadInput): PreparedPayload {
  if (input.size !== undefined) {
    if (input.data !== undefined || input.dataFile !== undefined || input.raw)
      throw new UsageError("--size sends random bytes: give it without DATA, --data-file or --raw");
    const n = parseSize(input.size);
    if (n === undefined) throw new UsageError(`bad --size "${input.size}": use e.g. 128, 1KiB, 64KiB`);
    return { bytes: new Uint8Array(randomBytes(n)), sizes: { protobuf: null, json: null } };
  }
  const bytes = readData({ arg: input.data, file: input.dataFile });
  if (input.raw) return { bytes: new Uint8Array(bytes), sizes: { protobuf: null, json: null } };
  const json = parseJsonData(bytes, input.dataFile ? `--data-file ${input.dataFile}` : "DATA");
  const registry =
    input.registry ?? loadRegistryForSubject({ cwd: input.cwd, extra: input.proto, subject: input.subject });
  const prepared = prepareRequest(registry, { subject: input.subject, json, timeout: 1 });
  return {
    bytes: prepared.bytes,
    sizes: sizesOf(prepared.types!.input, prepared.bytes),
    replyType: prepared.types?.output,
  };
}

/** The reply's size in protobuf and as the JSON a gateway would return, from one sample reply. */
export function replySizes(type: PbType | undefined, reply: Uint8Array | undefined): PayloadBytes {
  if (!type || !reply) return { protobuf: null, json: null };
  try {
    return sizesOf(type, reply);
  } catch {
    // a reply that does not decode as its type (a raw responder on an rpc subject): size the bytes only
    return { protobuf: reply.length, json: null };
  }
}

/**
 * The message in protobuf, and in compact proto3 JSON with default values left out: the smallest
 * JSON that carries it, so the ratio never overstates protobuf's advantage.
 */
function sizesOf(type: PbType, bytes: Uint8Array): PayloadBytes {
  return {
    protobuf: bytes.length,
    json: Buffer.byteLength(JSON.stringify(decodeToJson(type, bytes, { defaults: false }))),
  };
}

/** `512`, `512B`, `4KiB`, `1MiB` (also KB/MB as 1000s) in bytes; undefined when malformed. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|KB|MB|k|K)?$/.exec(text.trim());
  if (!m) return undefined;
  const mult = { B: 1, KiB: 1024, MiB: 1024 * 1024, KB: 1000, MB: 1_000_000, k: 1024, K: 1024 }[m[2] ?? "B"]!;
  const n = Math.round(Number(m[1]) * mult);
  return Number.isSafeInteger(n) ? n : undefined;
}
