// Curated example requests, kept in proto/ as lines of the rpc's leading comment (see docs/contracts.md):
//   // example: {"playerId":"player-1","questId":"wolves"}   a request (JSON); repeat for several
//   // example-error: 409 already completed                   the error the example above is answered with
//   // example-after: quest-system.define-quest               run this rpc's examples after that rpc's
// A string value "{{SUBJECT:PATH}}" stands for a value from the reply of SUBJECT's last example (ids the
// service generates, e.g. "{{payment.purchase:transaction.transactionId}}"); it implies example-after.
// A comment, not a custom option: it needs no extension import in every file, reads as documentation
// where the rpc is defined, and changes no descriptor a service serves (so adding one is never "breaking").
import { readFileSync } from "node:fs";
import path from "node:path";
import protobuf from "protobufjs";
import { listProtoFiles, rpcSubject, serviceNameOfPackage } from "@gs/fleet/sdk/registry";
import type { JsonObject } from "@gs/fleet/sdk/json-codec";
import { UsageError } from "../output/errors.js";

export interface ExpectedError {
  /** the micro error code (Nats-Service-Error-Code), e.g. 409 */
  code: number;
  /** text the error description must contain; empty: any description */
  text: string;
}

export interface ExampleRequest {
  request: JsonObject;
  /** set when the example shows an error reply rather than a success */
  error?: ExpectedError;
}

export interface RpcExamples {
  subject: string;
  service: string;
  /** `quest_system.v1.QuestSystemService.StartQuest` */
  rpc: string;
  examples: ExampleRequest[];
  /** subjects whose examples must run first */
  after: string[];
  /** where the rpc is declared, for messages: `quest_system/v1/quest_system.proto:17` */
  source: string;
}

const LINE = /^(example|example-error|example-after):\s*(.*)$/;
/** `{{payment.purchase:transaction.transactionId}}`: a value taken from an earlier example's reply */
export const REFERENCE = /^\{\{([a-z][a-z0-9-]*\.[a-z][a-z0-9-]*):([A-Za-z0-9_.]+)\}\}$/;

/** The examples of every rpc under the proto directories, in run order (see `runOrder`). */
export function readExamples(protoDirs: string[]): RpcExamples[] {
  const all: RpcExamples[] = [];
  for (const dir of protoDirs) {
    for (const file of listProtoFiles(dir)) {
      const rel = path.relative(dir, file);
      all.push(...examplesOfSource(readFileSync(file, "utf8"), rel));
    }
  }
  return runOrder(all);
}

/** The examples declared in one .proto file's source, in declaration order. */
export function examplesOfSource(source: string, file: string): RpcExamples[] {
  let parsed: protobuf.IParserResult;
  try {
    parsed = protobuf.parse(source, { keepCase: true, alternateCommentMode: true });
  } catch (err) {
    throw new UsageError(`${file}: ${(err as Error).message}`, "fix the .proto file (check it with `buf lint`)");
  }
  const pkg = parsed.package ?? "";
  const out: RpcExamples[] = [];
  const lines = source.split("\n");
  const visit = (ns: protobuf.NamespaceBase) => {
    for (const obj of ns.nestedArray) {
      if (obj instanceof protobuf.Service) {
        for (const m of obj.methodsArray) out.push(examplesOfMethod(m, pkg, file, lineOf(lines, m.name)));
      } else if (obj instanceof protobuf.Namespace && !(obj instanceof protobuf.Type)) visit(obj);
    }
  };
  visit(parsed.root);
  return out;
}

function examplesOfMethod(m: protobuf.Method, pkg: string, file: string, line: number): RpcExamples {
  const service = serviceNameOfPackage(pkg || m.parent!.name);
  return examplesOfComment(m.comment ?? "", {
    subject: rpcSubject(service, m.name),
    service,
    rpc: `${m.parent!.fullName.slice(1)}.${m.name}`,
    source: `${file}:${line}`,
  });
}

/**
 * The examples in one rpc's leading comment (as protobufjs or a descriptor's source info gives it), for
 * `rpc`; `source` says where the rpc is, for errors.
 */
export function examplesOfComment(
  comment: string,
  rpc: Pick<RpcExamples, "subject" | "service" | "rpc" | "source">,
): RpcExamples {
  const entry: RpcExamples = { ...rpc, examples: [], after: [] };
  const method = rpc.rpc.split(".").at(-1);
  for (const raw of comment.split("\n")) {
    const match = LINE.exec(raw.trim());
    if (!match) continue;
    const [, key, value] = match as unknown as [string, string, string];
    const bad = (why: string) =>
      new UsageError(
        `${rpc.source}: rpc ${method}: ${why}`,
        "see docs/contracts.md for the example comment convention",
      );
    if (key === "example") {
      let request: unknown;
      try {
        request = JSON.parse(value);
      } catch (err) {
        throw bad(`the example is not JSON (${(err as Error).message})`);
      }
      if (request === null || typeof request !== "object" || Array.isArray(request))
        throw bad("the example must be a JSON object");
      entry.examples.push({ request: request as JsonObject });
      for (const ref of references(request))
        if (ref !== entry.subject && !entry.after.includes(ref)) entry.after.push(ref);
    } else if (key === "example-error") {
      const last = entry.examples.at(-1);
      const e = /^(\d{3})(?:\s+(.*))?$/.exec(value);
      if (!last) throw bad("example-error must follow the example it belongs to");
      if (!e) throw bad(`example-error wants "CODE [text]", got "${value}"`);
      last.error = { code: Number(e[1]), text: (e[2] ?? "").trim() };
    } else {
      entry.after.push(...value.split(/[\s,]+/).filter(Boolean));
    }
  }
  return entry;
}

/**
 * The order examples run in against a fresh fleet: files by path (so services alphabetically), rpcs in
 * declaration order, except that an rpc runs after every rpc its `example-after` names.
 */
export function runOrder(entries: RpcExamples[]): RpcExamples[] {
  const bySubject = new Map(entries.map((e) => [e.subject, e]));
  for (const e of entries)
    for (const a of e.after)
      if (!bySubject.has(a))
        throw new UsageError(
          `${e.source}: example-after names ${a}, which is no rpc subject`,
          "name an rpc subject as `gs subjects` lists it",
        );
  const done = new Set<string>();
  const out: RpcExamples[] = [];
  const pending = [...entries];
  while (pending.length) {
    const i = pending.findIndex((e) => e.after.every((a) => done.has(a)));
    if (i < 0)
      throw new UsageError(
        `example-after forms a cycle among ${pending.map((e) => e.subject).join(", ")}`,
        "remove one of the example-after lines",
      );
    const [next] = pending.splice(i, 1);
    done.add(next!.subject);
    out.push(next!);
  }
  return out;
}

/** The subjects a request's "{{SUBJECT:PATH}}" values refer to. */
export function references(value: unknown): string[] {
  if (typeof value === "string") {
    const m = REFERENCE.exec(value);
    return m ? [m[1]!] : [];
  }
  if (value && typeof value === "object") return Object.values(value).flatMap(references);
  return [];
}

function lineOf(lines: string[], method: string): number {
  const re = new RegExp(`^\\s*rpc\\s+${method}\\s*\\(`);
  return lines.findIndex((l) => re.test(l)) + 1;
}
