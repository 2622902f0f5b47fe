// Duration flags: parsed to ms, shown in help and docs as users write them.
import { describe, expect, it } from "vitest";
import { canaryArgv, durationFlag, durationOrZeroFlag, durationText } from "./flags.js";
import { runCli } from "../test/support/run-cli.js";

describe("duration flags", () => {
  it("writes a duration in the largest unit that keeps it whole", () => {
    expect([0, 250, 1500, 5000, 120_000, 90_000, 3_600_000].map(durationText)).toEqual([
      "0",
      "250ms",
      "1500ms",
      "5s",
      "2m",
      "90s",
      "1h",
    ]);
  });

  it("keeps the default in ms for the command, and gives help the text a user would type", async () => {
    const timeout = durationFlag({ description: "t", default: 120_000 });
    expect(timeout.default).toBe(120_000);
    const help = timeout.defaultHelp as () => Promise<string | undefined>;
    expect(await help()).toBe("2m");
    expect(durationFlag({ description: "no default" }).defaultHelp).toBeUndefined();
    const warmup = durationOrZeroFlag({ description: "w", default: 0 });
    expect(await (warmup.defaultHelp as () => Promise<string | undefined>)()).toBe("0");
  });

  it("shows each duration default in --help as written, never in ms", async () => {
    const help = async (cmd: string) => {
      const r = await runCli([cmd, "--help"]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    expect(await help("request")).toMatch(/--timeout=<value>\s+\[default: 5s\] Connect and request timeout\./);
    expect(await help("up")).toMatch(/--timeout=<value>\s+\[default: 2m\]/);
    expect(await help("status")).toMatch(/--interval=<value>\s+\[default: 2s\]/);
    expect(await help("bench")).toMatch(/--warmup=<value>\s+\[default: 0\]/);
    for (const cmd of ["request", "up", "status", "bench"]) expect(await help(cmd)).not.toMatch(/\[default: \d{4,}\]/);
  }, 60_000);
});

describe("a flag whose value may be left out (--canary)", () => {
  it("reads a bare --canary as the gs.yaml size, and --canary N or P% as given", () => {
    expect(canaryArgv(["--canary"])).toEqual(["--canary=from-config"]);
    expect(canaryArgv(["payment", "--canary", "--json"])).toEqual(["payment", "--canary=from-config", "--json"]);
    // a service name after it is an argument, not the flag's value
    expect(canaryArgv(["--canary", "payment", "auth"])).toEqual(["--canary=from-config", "payment", "auth"]);
    expect(canaryArgv(["--canary", "2", "payment"])).toEqual(["--canary", "2", "payment"]);
    expect(canaryArgv(["--canary", "25%"])).toEqual(["--canary", "25%"]);
    expect(canaryArgv(["--canary=3"])).toEqual(["--canary=3"]);
    expect(canaryArgv(["--", "--canary"])).toEqual(["--", "--canary"]);
  });
});
