import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, findConfigFile, loadConfig, parseConfig, resolveTarget, serviceSettings } from "./load.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

const valid = `
project: demo
defaultTarget: prod
targets:
  prod:
    platform: ecs
    region: eu-west-1
    cluster: demo-cluster
    registry: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
    serviceNameFormat: "{service}-nats"
    nats:
      url: nats://nats.internal:4222
      credentials: { file: ./prod.creds }
services:
  defaults: { desired: 3, cpu: 512, memory: 1024, env: { LOG_LEVEL: info } }
  payment: { desired: 1, env: { PAYMENT_CURRENCY: EUR } }
  auth:
`;

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("parseConfig", () => {
  it("reads targets and services with defaults applied", () => {
    const cfg = parseConfig(valid, "gs.yaml");
    expect(cfg.project).toBe("demo");
    expect(cfg.defaultTarget).toBe("prod");
    expect(cfg.targets.prod).toEqual({
      platform: "ecs",
      region: "eu-west-1",
      cluster: "demo-cluster",
      registry: "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
      serviceNameFormat: "{service}-nats",
      confirm: true,
      nats: { url: "nats://nats.internal:4222", credentials: { file: "./prod.creds" } },
    });
    expect(serviceSettings(cfg)).toEqual([
      { name: "auth", desired: 3, cpu: 512, memory: 1024, env: { LOG_LEVEL: "info" } },
      { name: "payment", desired: 1, cpu: 512, memory: 1024, env: { LOG_LEVEL: "info", PAYMENT_CURRENCY: "EUR" } },
    ]);
  });

  it("adds the local target when the file does not declare it", () => {
    const cfg = parseConfig(valid, "gs.yaml");
    expect(cfg.targets.local).toEqual({ platform: "local", nats: { cluster: 1 }, confirm: false });
  });

  it("rejects an unknown key, naming it by its path", () => {
    const err = errorOf(() =>
      parseConfig("project: demo\ntargets:\n  local: { platform: local, regoin: x }\n", "gs.yaml"),
    );
    expect(err.message).toBe("gs.yaml: targets.local.regoin: unknown key");
    expect(err.hint).toMatch(/gs\.yaml/);
  });

  it("reports a wrong type with the dotted path of the value", () => {
    const text = valid.replace("region: eu-west-1", "region: 42");
    const err = errorOf(() => parseConfig(text, "gs.yaml"));
    expect(err.message).toBe("gs.yaml: targets.prod.region: expected a string");
    expect(err.hint).toBe("fix the value in gs.yaml; see docs/configuration.md");
  });

  it("reports a missing key as missing", () => {
    const text = valid.replace("    cluster: demo-cluster\n", "");
    expect(errorOf(() => parseConfig(text, "gs.yaml")).message).toBe(
      "gs.yaml: targets.prod.cluster: expected a string (the key is missing)",
    );
  });

  it("names the platforms when the platform is unknown", () => {
    const err = errorOf(() => parseConfig("project: demo\ntargets:\n  prod: { platform: gcp }\n", "gs.yaml"));
    expect(err.message).toBe('gs.yaml: targets.prod.platform: expected "local" or "ecs"');
  });

  it("keeps desired within 0..100 and cpu to Fargate sizes", () => {
    expect(errorOf(() => parseConfig("project: demo\nservices:\n  auth: { desired: 101 }\n", "gs.yaml")).message).toBe(
      "gs.yaml: services.auth.desired: expected a count from 0 to 100",
    );
    expect(errorOf(() => parseConfig("project: demo\nservices:\n  auth: { cpu: 300 }\n", "gs.yaml")).message).toBe(
      "gs.yaml: services.auth.cpu: expected 256, 512, 1024, 2048 or 4096",
    );
  });

  it("rejects a cpu/memory pair Fargate cannot run", () => {
    const err = errorOf(() => parseConfig("project: demo\nservices:\n  auth: { memory: 4096 }\n", "gs.yaml"));
    expect(err.message).toBe(
      "gs.yaml: services.auth.memory: Fargate does not run 256 CPU units with 4096 MiB; with 256 it allows 512, 1024 or 2048 MiB",
    );
  });

  it("asks for quotes when an env value is not a string", () => {
    const err = errorOf(() => parseConfig("project: demo\nservices:\n  auth: { env: { PORT: 8080 } }\n", "gs.yaml"));
    expect(err.message).toBe("gs.yaml: services.auth.env.PORT: expected a string");
    expect(err.hint).toContain('PORT: "8080"');
  });

  it("rejects service names that are not kebab-case", () => {
    expect(errorOf(() => parseConfig("project: demo\nservices:\n  StateManager: {}\n", "gs.yaml")).message).toMatch(
      /^gs\.yaml: services\.StateManager: expected a kebab-case service name/,
    );
  });

  it("rejects credentials that hold a secret instead of a reference", () => {
    const text = valid.replace("credentials: { file: ./prod.creds }", "credentials: { password: hunter2 }");
    const err = errorOf(() => parseConfig(text, "gs.yaml"));
    expect(err.message).toBe("gs.yaml: targets.prod.nats.credentials.password: unknown key");
    expect(err.message).not.toContain("hunter2");
  });

  it("rejects a defaultTarget that names no target", () => {
    expect(errorOf(() => parseConfig("project: demo\ndefaultTarget: staging\n", "gs.yaml")).message).toBe(
      'gs.yaml: defaultTarget: no target named "staging" (known: local)',
    );
  });

  it("gives line and column for a YAML syntax error", () => {
    const err = errorOf(() => parseConfig("project: demo\ntargets:\n  local: platform: local\n", "conf/gs.yaml"));
    expect(err.message).toBe("conf/gs.yaml:3:10: Nested mappings are not allowed in compact mappings");
    expect(err.hint).toBe("fix the YAML syntax in conf/gs.yaml; see docs/configuration.md");
  });

  it("reports a duplicate key as a YAML error with its position", () => {
    expect(errorOf(() => parseConfig("project: a\nproject: b\n", "gs.yaml")).message).toBe(
      "gs.yaml:2:1: Map keys must be unique",
    );
  });

  it("says so when the file is empty", () => {
    expect(errorOf(() => parseConfig("# nothing yet\n", "gs.yaml")).message).toBe("gs.yaml: the file is empty");
  });
});

describe("the repository's gs.yaml", () => {
  it("parses and lists the 22 services of the fleet and the gateway", () => {
    const cfg = loadConfig({ cwd: repoRoot, env: {} });
    expect(cfg.file).toBe(path.join(repoRoot, "gs.yaml"));
    const names = serviceSettings(cfg).map((s) => s.name);
    expect(names).toHaveLength(23);
    expect(cfg.services.gateway?.port).toBe(0);
    expect(names).toEqual([...names].sort());
    expect(names).toContain("body-broker-integration");
    expect(cfg.targets.prod?.platform).toBe("ecs");
  });
});

describe("finding and loading the file", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "gs-config-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("finds the nearest gs.yaml walking up from cwd", () => {
    writeFileSync(path.join(dir, "gs.yaml"), "project: demo\n");
    const sub = path.join(dir, "services", "auth");
    mkdirSync(sub, { recursive: true });
    expect(findConfigFile(sub)).toBe(path.join(dir, "gs.yaml"));
  });

  it("names the file relative to cwd in errors", () => {
    writeFileSync(path.join(dir, "gs.yaml"), "project: demo\nservices:\n  auth: { desired: -1 }\n");
    const sub = path.join(dir, "sub");
    mkdirSync(sub);
    expect(errorOf(() => loadConfig({ cwd: sub, env: {} })).message).toBe(
      "../gs.yaml: services.auth.desired: expected a count from 0 to 100",
    );
  });

  it("falls back to a default config with only the local target", () => {
    const cfg = loadConfig({ cwd: dir, env: {} });
    expect(Object.keys(cfg.targets)).toEqual(["local"]);
    expect(serviceSettings(cfg)).toEqual([]);
    expect(cfg.file).toBeUndefined();
  });

  it("fails when an explicit file does not exist", () => {
    const err = errorOf(() => findConfigFile(dir, "missing.yaml"));
    expect(err.message).toBe("config file not found: missing.yaml");
    expect(err.hint).toMatch(/--config or GS_CONFIG/);
  });

  it("reads the file named by GS_CONFIG, and --config over it", () => {
    writeFileSync(path.join(dir, "a.yaml"), "project: from-env\n");
    writeFileSync(path.join(dir, "b.yaml"), "project: from-flag\n");
    expect(loadConfig({ cwd: dir, env: { GS_CONFIG: "a.yaml" } }).project).toBe("from-env");
    expect(loadConfig({ cwd: dir, file: "b.yaml", env: { GS_CONFIG: "a.yaml" } }).project).toBe("from-flag");
    expect(() => loadConfig({ cwd: dir, env: { GS_CONFIG: "nope.yaml" } })).toThrow("config file not found: nope.yaml");
  });
});

describe("resolveTarget", () => {
  const cfg = parseConfig(valid.replace("defaultTarget: prod\n", ""), "gs.yaml");

  it("uses local when nothing names a target", () => {
    expect(resolveTarget(cfg, undefined, {})).toEqual({ name: "local", target: cfg.targets.local });
  });

  it("prefers the name given, then GS_TARGET, then defaultTarget", () => {
    const withDefault = { ...cfg, defaultTarget: "prod" };
    expect(resolveTarget(withDefault, undefined, {}).name).toBe("prod");
    expect(resolveTarget(cfg, undefined, { GS_TARGET: "prod" }).name).toBe("prod");
    expect(resolveTarget(withDefault, undefined, { GS_TARGET: "local" }).name).toBe("local");
    expect(resolveTarget(cfg, "local", { GS_TARGET: "prod" }).name).toBe("local");
  });

  it("lists the known targets when the name is unknown", () => {
    const err = errorOf(() => resolveTarget(cfg, "staging", {}));
    expect(err.message).toBe('unknown target "staging" (from --target); known targets: local, prod');
    expect(err.hint).toContain("targets.staging");
  });

  it("says when an unknown name came from GS_TARGET", () => {
    expect(errorOf(() => resolveTarget(cfg, undefined, { GS_TARGET: "qa" })).message).toBe(
      'unknown target "qa" (from GS_TARGET); known targets: local, prod',
    );
  });
});
