// `buf breaking` from the @bufbuild/buf npm package (its platform binary comes in an optional
// dependency): the wire and JSON compatibility rules are buf's, not re-implemented here.
import { bufBinary } from "@gs/fleet/sdk/descriptor-set";
import { execa } from "execa";
import { OperationError } from "../output/errors.js";

/** The rules `gs proto check` and `gs deploy` apply; buf.yaml's `breaking.use` says the same (a test checks). */
export const BREAKING_RULES = ["WIRE_JSON", "RPC_NO_DELETE", "PACKAGE_SERVICE_NO_DELETE"] as const;

/** One incompatibility, where buf found it in the new .proto files. */
export interface Violation {
  /** relative to the proto/ directory, e.g. `payment/v1/payment.proto` */
  file: string;
  line: number;
  column: number;
  /** buf's rule id, e.g. FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED */
  rule: string;
  message: string;
}

interface BufAnnotation {
  path?: string;
  start_line?: number;
  start_column?: number;
  type?: string;
  message?: string;
}

/**
 * `buf breaking` of the module at `protoDir` against `against`: a FileDescriptorSet image file
 * (`.binpb`) or a directory of .proto files. The rules are BREAKING_RULES whatever buf.yaml the
 * project has (or lacks).
 */
export async function bufBreaking(protoDir: string, against: string): Promise<Violation[]> {
  const config = JSON.stringify({ version: "v2", breaking: { use: BREAKING_RULES } });
  const args = ["breaking", ".", "--against", against, "--config", config, "--error-format", "json"];
  if (!against.endsWith(".binpb")) args.push("--against-config", JSON.stringify({ version: "v2" }));
  const r = await execa(bufBinary(), args, { cwd: protoDir, reject: false, stdin: "ignore" });
  // 0: compatible; 100: violations, as JSON lines; anything else: buf could not compare
  if (r.exitCode === 0) return [];
  if (r.exitCode !== 100) {
    const why = (r.stderr || r.stdout || r.message || "")
      .trim()
      .split("\n")[0]!
      .replace(/^Failure: /, "");
    throw new OperationError(`buf breaking failed: ${why}`, {
      hint: "check the .proto files with `npx buf lint`",
      code: "buf_failed",
    });
  }
  return r.stdout
    .split("\n")
    .filter((l) => l.trim().startsWith("{"))
    .map((l) => JSON.parse(l) as BufAnnotation)
    .map((a) => ({
      file: a.path ?? "",
      line: a.start_line ?? 0,
      column: a.start_column ?? 0,
      rule: a.type ?? "",
      message: a.message ?? "",
    }));
}
