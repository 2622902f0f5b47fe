// Find, read and validate gs.yaml; pick the target a command runs against.
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { UsageError } from "../output/errors.js";
import { configSchema, resolveConfig, type GsConfig, type ServiceSettings, type Target } from "./schema.js";

export type { GsConfig, Target, LocalTarget, EcsTarget, ServiceSettings, NatsCredentialsRef } from "./schema.js";

export const CONFIG_FILE_NAME = "gs.yaml";
const DOCS_HINT = "see docs/configuration.md";

/** A problem with gs.yaml or with the target asked for: bad input, exit 2. */
export class ConfigError extends UsageError {
  override name = "ConfigError";
  constructor(message: string, hint: string, code = "bad_config") {
    super(message, hint, code);
  }
}

/**
 * The config file to read: `explicit` (from --config or GS_CONFIG) must exist;
 * otherwise the nearest gs.yaml in cwd or a parent directory, or undefined.
 */
export function findConfigFile(cwd: string, explicit?: string): string | undefined {
  if (explicit !== undefined && explicit !== "") {
    const file = path.resolve(cwd, explicit);
    let isFile: boolean;
    try {
      isFile = statSync(file).isFile();
    } catch {
      throw new ConfigError(
        `config file not found: ${explicit}`,
        "check the path given by --config or GS_CONFIG",
        "config_not_found",
      );
    }
    if (!isFile)
      throw new ConfigError(`${explicit}: is not a file`, "pass the path of a gs.yaml file to --config or GS_CONFIG");
    return file;
  }
  for (let dir = path.resolve(cwd); ;) {
    const candidate = path.join(dir, CONFIG_FILE_NAME);
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Parse and validate gs.yaml text. `file` names the file in error messages. */
export function parseConfig(text: string, file: string): GsConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const pos = yamlError.linePos?.[0];
    const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
    // yaml's message carries a code excerpt after the first line; one line is enough here
    const what = yamlError.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    throw new ConfigError(`${where}: ${what}`, `fix the YAML syntax in ${file}; ${DOCS_HINT}`);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // e.g. a "billion laughs" of nested aliases: yaml refuses to expand it
    throw new ConfigError(
      `${file}: ${(err as Error).message.split("\n")[0]}`,
      `remove the nested aliases from ${file}; ${DOCS_HINT}`,
    );
  }
  const result = configSchema.safeParse(data);
  if (!result.success) throw issueToError(result.error.issues, data, file);
  return resolveConfig(result.data, file);
}

/**
 * Load the config for a command run from `cwd`. `file` (--config) wins over env GS_CONFIG.
 * Without a gs.yaml, a default config: only the local target and no services.
 */
export function loadConfig(opts: { cwd: string; file?: string; env?: NodeJS.ProcessEnv }): GsConfig {
  const env = opts.env ?? process.env;
  const explicit = opts.file ?? (env.GS_CONFIG || undefined);
  const file = findConfigFile(opts.cwd, explicit);
  if (file === undefined) {
    return resolveConfig({ project: path.basename(path.resolve(opts.cwd)), targets: {}, services: {} });
  }
  const shown = path.relative(opts.cwd, file) || file;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`${shown}: cannot read (${code ?? String(err)})`, "check the file's permissions");
  }
  return { ...parseConfig(text, shown), file };
}

/**
 * The target to run against: `name` (--target), else env GS_TARGET, else the config's
 * defaultTarget, else "local".
 */
export function resolveTarget(
  cfg: GsConfig,
  name?: string,
  env: NodeJS.ProcessEnv = process.env,
): { name: string; target: Target } {
  const chosen = name || env.GS_TARGET || cfg.defaultTarget || "local";
  const target = cfg.targets[chosen];
  if (target) return { name: chosen, target };
  const known = Object.keys(cfg.targets).sort();
  const from = name ? "--target" : env.GS_TARGET ? "GS_TARGET" : "defaultTarget";
  const where = cfg.file ? path.basename(cfg.file) : CONFIG_FILE_NAME;
  throw new ConfigError(
    `unknown target "${chosen}" (from ${from}); known targets: ${known.join(", ")}`,
    `use one of ${known.join(", ")}, or add targets.${chosen} to ${where}; ${DOCS_HINT}`,
    "unknown_target",
  );
}

/** Every service with defaults applied, sorted by name. */
export function serviceSettings(cfg: GsConfig): ServiceSettings[] {
  return Object.values(cfg.services).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

// ---- zod issue -> one line ---------------------------------------------------------------------

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

function issueToError(issues: readonly Issue[], data: unknown, file: string): ConfigError {
  const first = issues[0]!;
  if (data === null || data === undefined) {
    return new ConfigError(`${file}: the file is empty`, `start from the example in ${DOCS_HINT.replace("see ", "")}`);
  }
  const { path: at, text } = describeIssue(first, data);
  const dotted = formatPath(at);
  // the message stays one line about one problem; the hint says when more are waiting
  const rest = issues.length - 1;
  const more = rest > 0 ? ` (${rest} more problem${rest > 1 ? "s" : ""} after this one)` : "";
  return new ConfigError(
    `${file}: ${dotted ? `${dotted}: ` : ""}${text}`,
    `${hintFor(first, at, data, file)}${more}; ${DOCS_HINT}`,
  );
}

/** `targets.prod.region`, `services.auth.env.PORT`, `list[2].name` */
export function formatPath(at: Path): string {
  let out = "";
  for (const key of at) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

function describeIssue(issue: Issue, data: unknown): { path: Path; text: string } {
  const at = issue.path;
  switch (issue.code) {
    case "invalid_type": {
      const expected = describeType(issue.expected);
      return { path: at, text: has(data, at) ? `expected ${expected}` : `expected ${expected} (the key is missing)` };
    }
    case "unrecognized_keys":
      return { path: [...at, issue.keys[0]!], text: "unknown key" };
    case "invalid_value":
      return { path: at, text: `expected ${oneOf(issue.values.map((v) => JSON.stringify(v)))}` };
    case "invalid_union": {
      if ("discriminator" in issue && issue.discriminator !== undefined) {
        const options = (issue as { options?: unknown[] }).options ?? [];
        const expected = `expected ${oneOf(options.map((o) => JSON.stringify(o)))}`;
        return { path: at, text: has(data, at) ? expected : `${expected} (the key is missing)` };
      }
      return { path: at, text: issue.message };
    }
    case "invalid_key": {
      const inner = issue.issues[0];
      return { path: at, text: inner?.message ?? "invalid key" };
    }
    default:
      return { path: at, text: issue.message };
  }
}

function hintFor(issue: Issue, at: Path, data: unknown, file: string): string {
  if (issue.code === "invalid_type" && issue.expected === "string" && at.at(-2) === "env") {
    const value = get(data, at);
    return `environment values are strings: quote it in ${file}, e.g. ${String(at.at(-1))}: "${String(value)}"`;
  }
  if (issue.code === "unrecognized_keys") return `remove or correct the key in ${file}`;
  return `fix the value in ${file}`;
}

function describeType(expected: string): string {
  switch (expected) {
    case "string":
      return "a string";
    case "number":
      return "a number";
    case "int":
      return "a whole number";
    case "boolean":
      return "true or false";
    case "object":
    case "record":
      return "a mapping";
    case "array":
      return "a list";
    default:
      return expected;
  }
}

function oneOf(items: string[]): string {
  if (items.length <= 1) return items[0] ?? "nothing";
  return `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
}

function get(data: unknown, at: Path): unknown {
  let cur = data;
  for (const key of at) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function has(data: unknown, at: Path): boolean {
  if (at.length === 0) return data !== undefined;
  const parent = get(data, at.slice(0, -1));
  return parent !== null && typeof parent === "object" && Object.hasOwn(parent, at.at(-1)!);
}
