import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { inCi, outputMode } from "./mode.js";

const tty = { isTTY: true } as NodeJS.WriteStream;
const pipe = { isTTY: false } as NodeJS.WriteStream;

const cases: NodeJS.ProcessEnv[] = [
  {},
  { CI: "true" },
  { CI: "1" },
  { CI: "" },
  { CI: "0" },
  { CI: "false" },
  { CONTINUOUS_INTEGRATION: "yes" },
  { CONTINUOUS_INTEGRATION: "false" },
  { CI: "false", CONTINUOUS_INTEGRATION: "1" },
];

describe("output mode", () => {
  it("agrees with Ink's own CI detection for every form of the variables", () => {
    // Ink draws nothing live under CI; if gs chose its live view where Ink sees CI, the screen would stay blank
    for (const env of cases) {
      const clean = Object.fromEntries(
        Object.entries(process.env).filter(([k]) => k !== "CI" && k !== "CONTINUOUS_INTEGRATION"),
      );
      const ink = execFileSync(
        process.execPath,
        ["--input-type=module", "-e", "import c from 'is-in-ci'; process.stdout.write(String(c))"],
        {
          env: { ...clean, ...env },
          encoding: "utf8",
        },
      );
      expect({ env, ci: inCi(env) }).toEqual({ env, ci: ink === "true" });
    }
  });

  it("is live only on a terminal, outside CI, with a capable TERM; JSON wins over everything", () => {
    expect(outputMode({ stream: tty, env: {} })).toBe("tty");
    expect(outputMode({ stream: pipe, env: {} })).toBe("plain");
    expect(outputMode({ stream: tty, env: { CI: "true" } })).toBe("plain");
    expect(outputMode({ stream: tty, env: { CI: "0" } })).toBe("tty");
    expect(outputMode({ stream: tty, env: { CONTINUOUS_INTEGRATION: "1" } })).toBe("plain");
    expect(outputMode({ stream: tty, env: { TERM: "dumb" } })).toBe("plain");
    expect(outputMode({ json: true, stream: tty, env: {} })).toBe("json");
  });
});
