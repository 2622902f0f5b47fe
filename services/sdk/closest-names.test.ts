import { describe, expect, it } from "vitest";
import { closestNames } from "./closest-names.js";

const SERVICES = ["auth", "payment", "quest-system", "settings", "story-teller", "world-state"];

describe("closestNames", () => {
  it("puts the name one typo away first", () => {
    expect(closestNames("paymnt", SERVICES)[0]).toBe("payment");
    expect(closestNames("quest-sytem", SERVICES)).toEqual(["quest-system"]);
  });

  it("suggests the names a prefix starts", () => {
    expect(closestNames("sto", SERVICES)).toContain("story-teller");
    expect(closestNames("auth.log", ["auth.login", "auth.logout", "payment.get-balance"])).toEqual([
      "auth.login",
      "auth.logout",
    ]);
  });

  it("suggests nothing when no name is close", () => {
    expect(closestNames("nosuch", SERVICES)).toEqual([]);
    // every character of a short name would change: not a suggestion
    expect(closestNames("nope", SERVICES)).toEqual([]);
  });

  it("returns at most limit names, best first, ties by name", () => {
    const known = ["ab1", "ab2", "ab3", "ab4"];
    expect(closestNames("ab", known, 2)).toEqual(["ab1", "ab2"]);
  });
});
