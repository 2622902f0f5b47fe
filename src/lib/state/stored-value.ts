// How the fleet stores state: every KvStore write (services/sdk/state.ts) is JSON.stringify of the
// handler's record, in JetStream KV and in Redis alike; no service stores protobuf. So a value reads
// back as JSON, with its secret fields redacted (secret-fields.ts).
import type { JsonValue } from "@gs/fleet/sdk/json-codec";
import { redactSecrets } from "./secret-fields.js";

export type StoredValue =
  /** `redacted`: the paths whose values were replaced by "[redacted]" */
  | { json: JsonValue; redacted: string[] }
  /** bytes that are not JSON (not written through the SDK): shown, never interpreted */
  | { hex: string; base64: string; error: string };

export function decodeStoredText(text: string): StoredValue {
  let parsed: JsonValue;
  try {
    parsed = JSON.parse(text) as JsonValue;
  } catch (err) {
    return dump(Buffer.from(text, "utf8"), `not JSON: ${(err as Error).message}`);
  }
  const { value, redacted } = redactSecrets(parsed);
  return { json: value, redacted };
}

export function decodeStoredBytes(bytes: Uint8Array): StoredValue {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return dump(bytes, "not UTF-8 text");
  }
  return decodeStoredText(text);
}

function dump(bytes: Uint8Array, error: string): StoredValue {
  const b = Buffer.from(bytes);
  return { hex: b.toString("hex"), base64: b.toString("base64"), error };
}
