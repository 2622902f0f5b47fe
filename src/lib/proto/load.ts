// The CLI's view of the proto registry: the project's proto/ (nearest above the working directory,
// else the one shipped with gs) plus any --proto directories.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ProtoLoadError, ProtoRegistry, findProtoDir } from "@gs/fleet/sdk/registry";
import { UsageError } from "../output/errors.js";

export interface LoadRegistryOptions {
  cwd: string;
  /** extra directories (--proto DIR), each also an include root */
  extra?: string[];
  /** keep `//` comments on the reflection objects (`gs describe`) */
  comments?: boolean;
}

export function protoDirs(opts: LoadRegistryOptions): string[] {
  const own = findProtoDir(opts.cwd) ?? findProtoDir(path.dirname(fileURLToPath(import.meta.url)));
  const dirs = [...(own ? [own] : []), ...(opts.extra ?? []).map((d) => path.resolve(opts.cwd, d))];
  if (dirs.length === 0) {
    throw new UsageError("no proto/ directory found", "run gs inside the project, or pass --proto DIR", "no_proto");
  }
  return dirs;
}

export function loadRegistry(opts: LoadRegistryOptions): ProtoRegistry {
  return loadProtoDirs(protoDirs(opts), { comments: opts.comments });
}

/** The SDK's registry of `dirs`; its ProtoLoadError becomes a UsageError here, the one place gs loads .proto files. */
export function loadProtoDirs(dirs: string[], opts: { comments?: boolean } = {}): ProtoRegistry {
  try {
    return ProtoRegistry.load(dirs, opts);
  } catch (err) {
    if (err instanceof ProtoLoadError) {
      throw new UsageError(
        err.message,
        "fix the .proto files (check them with protoc) or the --proto directories",
        "bad_proto",
        err,
      );
    }
    throw err;
  }
}

/** The service a subject belongs to by the convention: `auth.login` -> auth, `events.auth.x` -> auth. */
function serviceOfSubject(subject: string): string | undefined {
  const t = subject.split(".");
  const name = t[0] === "events" ? t[1] : t[0];
  return name && /^[a-z][a-z0-9-]*$/.test(name) ? name : undefined;
}

/**
 * The registry for one concrete subject: parses only that service's package when it holds the
 * subject (most of `gs request`'s start-up cost is parsing .proto files); otherwise everything,
 * so unknown subjects still get suggestions from the whole tree.
 */
export function loadRegistryForSubject(opts: LoadRegistryOptions & { subject: string }): ProtoRegistry {
  const svc = serviceOfSubject(opts.subject);
  if (svc && !opts.extra?.length) {
    try {
      const partial = ProtoRegistry.loadServices(protoDirs(opts), [svc]);
      if (partial && (partial.rpc(opts.subject) || partial.event(opts.subject))) return partial;
    } catch (err) {
      if (!(err instanceof ProtoLoadError)) throw err; // the full load below reports it
    }
  }
  return loadRegistry(opts);
}
