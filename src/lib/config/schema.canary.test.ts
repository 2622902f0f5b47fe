// What `gs deploy --canary` reads from gs.yaml: a service's `canary:` defaults, merged over
// `services.defaults.canary`, each key checked.
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "./load.js";

function message(text: string): string {
  try {
    parseConfig(text, "gs.yaml");
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("gs.yaml canary defaults", () => {
  it("merges a service's canary settings over services.defaults.canary; services without any have none", () => {
    const cfg = parseConfig(
      `
project: demo
services:
  defaults: { canary: { analysis: 5m, maxErrorRate: 0.5% } }
  payment: { canary: { size: 25%, maxP99Ratio: 2, minRequests: 500, promoteOnNoTraffic: false } }
  auth: {}
`,
      "gs.yaml",
    );
    expect(cfg.services.payment!.canary).toEqual({
      size: "25%",
      analysis: "5m",
      maxErrorRate: "0.5%",
      maxP99Ratio: 2,
      minRequests: 500,
      promoteOnNoTraffic: false,
    });
    expect(cfg.services.auth!.canary).toEqual({ analysis: "5m", maxErrorRate: "0.5%" });
    expect(parseConfig("project: demo\nservices:\n  auth: {}\n", "gs.yaml").services.auth).not.toHaveProperty("canary");
  });

  it("refuses a bad value or an unknown key, naming where it is", () => {
    expect(message('project: demo\nservices:\n  auth: { canary: { maxErrorRate: "0.01" } }\n')).toMatch(
      /services\.auth\.canary\.maxErrorRate.*expected a percent like 1% or 0\.5%/,
    );
    expect(message("project: demo\nservices:\n  auth: { canary: { analysis: soon } }\n")).toMatch(
      /services\.auth\.canary\.analysis.*expected a duration like 30s or 2m/,
    );
    expect(message("project: demo\nservices:\n  auth: { canary: { count: 1 } }\n")).toMatch(/count/);
    expect(message("project: demo\nservices:\n  auth: { canary: { size: 0 } }\n")).toMatch(
      /services\.auth\.canary\.size.*at least 1 instance/,
    );
    expect(message("project: demo\nservices:\n  auth: { canary: { size: half } }\n")).toMatch(
      /services\.auth\.canary\.size.*a number of instances like 1, or a percent like 25%/,
    );
  });
});
