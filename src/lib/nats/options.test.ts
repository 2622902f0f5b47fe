import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NatsContextError, readContext, selectedContextName } from "./natscli-context.js";
import {
  describeConnection,
  NatsSettingsError,
  parseServers,
  redactUrl,
  resolveConnection,
  type NatsFlags,
  type ResolveConnectionOptions,
} from "./options.js";

let root: string;
let cwd: string;
let configHome: string;

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), "gs-nats-opts-"));
  cwd = path.join(root, "project", "sub");
  configHome = path.join(root, "config");
  mkdirSync(cwd, { recursive: true });
  mkdirSync(path.join(configHome, "nats", "context"), { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function saveContext(name: string, fields: Record<string, unknown>): void {
  // natscli writes every field, empty ones as ""
  const all = {
    description: "",
    url: "",
    token: "",
    user: "",
    password: "",
    creds: "",
    nkey: "",
    cert: "",
    key: "",
    ca: "",
    jetstream_domain: "",
  };
  writeFileSync(
    path.join(configHome, "nats", "context", `${name}.json`),
    JSON.stringify({ ...all, ...fields }, null, 2),
  );
}
function selectContext(name: string): void {
  writeFileSync(path.join(configHome, "nats", "context.txt"), `${name}\n`);
}
function writeLocalRecord(dir: string, body: string): void {
  mkdirSync(path.join(dir, ".gs"), { recursive: true });
  writeFileSync(path.join(dir, ".gs", "local.json"), body);
}
function resolve(flags: NatsFlags = {}, opts: Partial<ResolveConnectionOptions> = {}) {
  return resolveConnection(flags, { cwd, configHome, env: {}, ...opts });
}

describe("resolveConnection precedence", () => {
  beforeEach(() => {
    saveContext("prod", { url: "nats://prod.example:4222", creds: "/keys/prod.creds" });
    saveContext("dev", { url: "nats://dev.example:4222", user: "dev", password: "devpw" });
    selectContext("dev");
    writeLocalRecord(path.join(root, "project"), JSON.stringify({ nats: { url: "nats://127.0.0.1:4333" } }));
  });
  const env = { NATS_URL: "nats://env.example:4222", NATS_CONTEXT: "prod" };
  const target = { targetNatsUrl: "nats://target.example:4222", targetName: "staging" };

  it("takes --server over everything", () => {
    const s = resolve({ server: "nats://flag.example:4222", context: "prod" }, { env, ...target });
    expect(s).toMatchObject({ servers: ["nats://flag.example:4222"], source: "--server" });
    expect(s.creds).toBeUndefined();
  });

  it("takes --context next, with the context's credentials", () => {
    const s = resolve({ context: "prod" }, { env, ...target });
    expect(s).toMatchObject({
      servers: ["nats://prod.example:4222"],
      source: "--context prod",
      creds: "/keys/prod.creds",
    });
  });

  it("takes NATS_URL next, with the NATS_* credentials beside it", () => {
    const s = resolve({}, { env: { ...env, NATS_USER: "u", NATS_PASSWORD: "p", NATS_CA: "/ca.pem" }, ...target });
    expect(s).toMatchObject({
      servers: ["nats://env.example:4222"],
      source: "NATS_URL",
      user: "u",
      password: "p",
      tls: { ca: "/ca.pem" },
    });
  });

  it("takes NATS_CONTEXT after NATS_URL", () => {
    expect(resolve({}, { env: { NATS_CONTEXT: "prod" }, ...target }).source).toBe("NATS_CONTEXT prod");
  });

  it("takes the target's URL next", () => {
    const s = resolve({}, { ...target, targetCreds: "/keys/staging.creds" });
    expect(s).toMatchObject({
      servers: ["nats://target.example:4222"],
      source: "target staging",
      creds: "/keys/staging.creds",
    });
  });

  it("takes the local fleet record next, found walking up from cwd", () => {
    expect(resolve()).toMatchObject({ servers: ["nats://127.0.0.1:4333"], source: "local fleet (.gs/local.json)" });
  });

  it("takes the natscli selected context next", () => {
    rmSync(path.join(root, "project", ".gs"), { recursive: true });
    expect(resolve()).toMatchObject({
      servers: ["nats://dev.example:4222"],
      source: "context dev",
      user: "dev",
      password: "devpw",
    });
  });

  it("falls back to nats://127.0.0.1:4222", () => {
    rmSync(path.join(root, "project", ".gs"), { recursive: true });
    rmSync(path.join(configHome, "nats", "context.txt"));
    expect(resolve()).toEqual({
      servers: ["nats://127.0.0.1:4222"],
      source: "default",
      timeout: 5000,
      reconnectForever: false,
    });
  });

  it("does not send NATS_* credentials to a server that did not come from NATS_URL", () => {
    const s = resolve({}, { env: { NATS_CREDS: "/keys/other.creds", NATS_TOKEN: "t0ken" } });
    expect(s.source).toBe("local fleet (.gs/local.json)");
    expect(s.creds).toBeUndefined();
    expect(s.token).toBeUndefined();
  });
});

describe("flags over the chosen source", () => {
  beforeEach(() =>
    saveContext("dev", { url: "nats://dev.example:4222", user: "dev", password: "devpw", ca: "/dev-ca.pem" }),
  );

  it("replaces the source's identity with --creds, resolved against cwd", () => {
    const s = resolve({ context: "dev", creds: "me.creds" });
    expect(s.creds).toBe(path.join(cwd, "me.creds"));
    expect(s.user).toBeUndefined();
    expect(s.password).toBeUndefined();
  });

  it("replaces user and password with --user/--password", () => {
    expect(resolve({ context: "dev", user: "alice", password: "pw" })).toMatchObject({ user: "alice", password: "pw" });
  });

  it("overrides one TLS file and keeps the others", () => {
    const s = resolve({ context: "dev", tlsCert: "/c.pem", tlsKey: "/k.pem" });
    expect(s.tls).toEqual({ ca: "/dev-ca.pem", cert: "/c.pem", key: "/k.pem" });
  });

  it("sets the timeout, 5s by default, and never reconnects forever", () => {
    expect(resolve({ server: "h:1", timeout: 750 })).toMatchObject({ timeout: 750, reconnectForever: false });
    expect(resolve({ server: "h:1" }).timeout).toBe(5000);
    expect(() => resolve({ server: "h:1", timeout: 0 })).toThrow(NatsSettingsError);
  });
});

describe("server addresses", () => {
  it("accepts comma-separated URLs and bare host:port", () => {
    expect(parseServers("10.0.0.1:4222, nats://b.example:4223,tls://c.example, d.example", "--server")).toEqual([
      "nats://10.0.0.1:4222",
      "nats://b.example:4223",
      "tls://c.example:4222",
      "nats://d.example:4222",
    ]);
  });

  it("rejects what is not a NATS address, naming where it came from", () => {
    expect(() => parseServers("http://x.example", "NATS_URL")).toThrow(
      'NATS_URL: "http://x.example" is not a NATS server address',
    );
  });

  it("never shows a password from a URL", () => {
    expect(redactUrl("nats://alice:s3cret@h:4222")).toBe("nats://alice:***@h:4222");
    expect(redactUrl("nats://t0ken@h:4222")).toBe("nats://***@h:4222");
    let message = "";
    try {
      parseServers("http://alice:s3cret@h", "--server");
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).not.toContain("s3cret");
    const shown = describeConnection(resolve({ server: "nats://alice:s3cret@h:4222", password: "pw2" }));
    expect(JSON.stringify(shown)).not.toMatch(/s3cret|pw2/);
    expect(shown).toEqual({ servers: ["nats://alice:***@h:4222"], source: "--server", auth: "none", tls: false });
  });
});

describe("the local fleet record", () => {
  it("names a corrupt record and says how to reset it", () => {
    writeLocalRecord(path.join(root, "project"), "{ not json");
    let err: unknown;
    try {
      resolve();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NatsSettingsError);
    expect((err as Error).message).toMatch(/^local fleet record \.\.\/\.gs\/local\.json is unusable: not valid JSON/);
    expect((err as NatsSettingsError).hint).toContain("gs down --purge");
  });

  it("rejects a record without nats.url", () => {
    writeLocalRecord(cwd, JSON.stringify({ nats: {} }));
    expect(() => resolve()).toThrow("local fleet record .gs/local.json is unusable: no nats.url");
  });
});

describe("natscli contexts", () => {
  it("reads the connection fields, treating empty strings as unset and expanding ~", () => {
    saveContext("prod", { url: "nats://a:4222,nats://b:4222", creds: "~/keys/prod.creds", description: "ignored" });
    const ctx = readContext("prod", { configHome });
    expect(ctx).toEqual({
      name: "prod",
      file: path.join(configHome, "nats", "context", "prod.json"),
      url: "nats://a:4222,nats://b:4222",
      creds: path.join(homedir(), "keys", "prod.creds"),
    });
    expect(resolve({ context: "prod" }).servers).toEqual(["nats://a:4222", "nats://b:4222"]);
  });

  it("uses XDG_CONFIG_HOME when no configHome is given", () => {
    saveContext("x", { url: "nats://x:1" });
    expect(readContext("x", { env: { XDG_CONFIG_HOME: configHome } }).url).toBe("nats://x:1");
  });

  it("connects to the default URL when the context has no url", () => {
    saveContext("empty", {});
    expect(resolve({ context: "empty" }).servers).toEqual(["nats://127.0.0.1:4222"]);
  });

  it("reads the selected name from context.txt", () => {
    expect(selectedContextName({ configHome })).toBeUndefined();
    selectContext("dev");
    expect(selectedContextName({ configHome })).toBe("dev");
  });

  it("names the missing file and points at `nats context ls`", () => {
    let err: NatsContextError | undefined;
    try {
      readContext("nope", { configHome });
    } catch (e) {
      err = e as NatsContextError;
    }
    expect(err).toBeInstanceOf(NatsContextError);
    expect(err!.message).toBe(
      `natscli context "nope" not found: ${path.join(configHome, "nats", "context", "nope.json")} does not exist`,
    );
    expect(err!.hint).toContain("nats context ls");
  });

  it("names a corrupt file and the problem", () => {
    writeFileSync(path.join(configHome, "nats", "context", "bad.json"), "{ url: ");
    expect(() => readContext("bad", { configHome })).toThrow(/bad\.json: natscli context "bad" is not valid JSON \(/);
    saveContext("typed", { url: 4222 });
    expect(() => readContext("typed", { configHome })).toThrow('natscli context "typed": "url" should be a string');
  });

  it("says when the broken context is the selected one", () => {
    selectContext("gone");
    expect(() => resolve()).toThrow(/context "gone" not found: .* \(it is the selected context\)/);
  });

  it("refuses names that would leave the context directory", () => {
    expect(() => readContext("../../etc/passwd", { configHome })).toThrow(
      'invalid natscli context name "../../etc/passwd"',
    );
  });
});
