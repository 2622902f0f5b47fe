import { describe, expect, it } from "vitest";
import { parseHeaders, parseJsonData, readData } from "./data.js";
import { UsageError } from "../output/errors.js";

function usage(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error("expected a UsageError");
}

describe("DATA parsing", () => {
  it("treats empty DATA as {}", () => {
    expect(parseJsonData(Buffer.from(""))).toEqual({});
  });
  it("names the line and column of invalid JSON", () => {
    const err = usage(() => parseJsonData(Buffer.from('{\n  "a": 1,\n  b: 2\n}')));
    expect(err.message).toBe('DATA is not valid JSON at line 3, column 3: invalid symbol near "b: 2"');
    expect(err.exitCode).toBe(2);
  });
  it("refuses binary data with a hint to use --raw", () => {
    const err = usage(() => parseJsonData(Buffer.from([0x7b, 0x00, 0xff, 0x7d])));
    expect(err.message).toMatch(/contains binary data/);
    expect(err.hint).toMatch(/--raw/);
  });
  it("says which --data-file could not be read", () => {
    expect(usage(() => readData({ file: "/nonexistent/x.json" })).message).toBe(
      "cannot read --data-file /nonexistent/x.json: ENOENT",
    );
  });
  it("parses KEY=VALUE headers and refuses malformed ones", () => {
    expect(parseHeaders(["a=1", "b=x=y"])).toEqual({ a: "1", b: "x=y" });
    expect(usage(() => parseHeaders(["nokey"])).message).toMatch(/expected KEY=VALUE/);
  });
});
