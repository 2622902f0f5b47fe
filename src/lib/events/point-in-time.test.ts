import { describe, expect, it } from "vitest";
import { UsageError } from "../output/errors.js";
import { parsePointInTime } from "./point-in-time.js";

const now = Date.parse("2025-01-31T12:00:00Z");

describe("parsePointInTime", () => {
  it("reads a duration as that long ago", () => {
    expect(parsePointInTime("10m", now)).toBe(now - 600_000);
    expect(parsePointInTime("90s", now)).toBe(now - 90_000);
    expect(parsePointInTime("2h", now)).toBe(now - 7_200_000);
    expect(parsePointInTime("1d", now)).toBe(now - 86_400_000);
  });

  it("reads an ISO 8601 date-time, with or without a zone", () => {
    expect(parsePointInTime("2025-01-31T11:00:00Z", now)).toBe(Date.parse("2025-01-31T11:00:00Z"));
    expect(parsePointInTime("2025-01-31T13:00:00+02:00", now)).toBe(Date.parse("2025-01-31T11:00:00Z"));
    expect(parsePointInTime("2025-01-30", now)).toBe(Date.parse("2025-01-30"));
  });

  it("refuses anything else, and the future, as usage errors", () => {
    for (const bad of ["yesterday", "10 minutes", "-5m", "2025-13-45T00:00:00Z", ""])
      expect(() => parsePointInTime(bad, now), bad).toThrow(UsageError);
    expect(() => parsePointInTime("2025-02-01T00:00:00Z", now)).toThrow(/is in the future/);
  });
});
