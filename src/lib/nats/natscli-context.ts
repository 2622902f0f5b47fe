// Read the contexts the `nats` CLI (natscli) saves, so gs connects where `nats` does.
// Layout: <config home>/nats/context/NAME.json, and the selected name in <config home>/nats/context.txt.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { UsageError } from "../output/errors.js";

/** The connection fields of a natscli context; natscli's other fields are ignored. */
export interface NatsCliContext {
  name: string;
  /** the NAME.json this came from */
  file: string;
  /** comma-separated server URLs, as natscli stores them */
  url?: string;
  creds?: string;
  nkey?: string;
  user?: string;
  password?: string;
  token?: string;
  cert?: string;
  key?: string;
  ca?: string;
}

export interface NatsCliOptions {
  /** replaces $XDG_CONFIG_HOME / ~/.config (tests) */
  configHome?: string;
  env?: NodeJS.ProcessEnv;
}

/** A missing, unreadable or corrupt natscli context: the user's configuration, so exit 2. */
export class NatsContextError extends UsageError {
  override name = "NatsContextError";
  constructor(message: string, hint: string) {
    super(message, hint, "bad_nats_context");
  }
}

const STRING_FIELDS = ["url", "creds", "nkey", "user", "password", "token", "cert", "key", "ca"] as const;
const PATH_FIELDS = new Set<string>(["creds", "nkey", "cert", "key", "ca"]);

/** `<config home>/nats`, where natscli keeps context.txt and context/. */
export function natsCliDir(opts: NatsCliOptions = {}): string {
  const env = opts.env ?? process.env;
  const home = opts.configHome ?? (env.XDG_CONFIG_HOME || path.join(homedir(), ".config"));
  return path.join(home, "nats");
}

export function contextFile(name: string, opts: NatsCliOptions = {}): string {
  return path.join(natsCliDir(opts), "context", `${name}.json`);
}

/** The context `nats context select` chose, or undefined when none is selected. */
export function selectedContextName(opts: NatsCliOptions = {}): string | undefined {
  const file = path.join(natsCliDir(opts), "context.txt");
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new NatsContextError(
      `${file}: cannot read (${errorCode(err)})`,
      "check its permissions, or select a context with `nats context select`",
    );
  }
  const name = text.trim();
  return name === "" ? undefined : name;
}

/** Read context NAME. Empty strings (natscli writes every field) count as unset; `~/` in paths is expanded. */
export function readContext(name: string, opts: NatsCliOptions = {}): NatsCliContext {
  // natscli refuses these names too; they would also let a name escape the context directory
  if (name === "" || name.includes("..") || /[/\\]/.test(name)) {
    throw new NatsContextError(`invalid natscli context name "${name}"`, "list the contexts with `nats context ls`");
  }
  const file = contextFile(name, opts);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = errorCode(err);
    if (code === "ENOENT") {
      throw new NatsContextError(
        `natscli context "${name}" not found: ${file} does not exist`,
        "list the contexts with `nats context ls`, or create it with `nats context save`",
      );
    }
    throw new NatsContextError(
      `${file}: cannot read natscli context "${name}" (${code})`,
      "check the file's permissions; `nats context ls` lists the contexts",
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new NatsContextError(
      `${file}: natscli context "${name}" is not valid JSON (${(err as Error).message})`,
      `fix or recreate it with \`nats context save ${name}\`; \`nats context ls\` lists the contexts`,
    );
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw new NatsContextError(
      `${file}: natscli context "${name}" is not a JSON object`,
      `recreate it with \`nats context save ${name}\`; \`nats context ls\` lists the contexts`,
    );
  }
  const ctx: NatsCliContext = { name, file };
  for (const field of STRING_FIELDS) {
    const value = (data as Record<string, unknown>)[field];
    if (value === undefined || value === null || value === "") continue;
    if (typeof value !== "string") {
      throw new NatsContextError(
        `${file}: natscli context "${name}": "${field}" should be a string`,
        `fix it with \`nats context edit ${name}\`; \`nats context ls\` lists the contexts`,
      );
    }
    ctx[field] = PATH_FIELDS.has(field) ? expandHome(value) : value;
  }
  return ctx;
}

function expandHome(p: string): string {
  return p === "~" ? homedir() : p.startsWith("~/") ? path.join(homedir(), p.slice(2)) : p;
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}
