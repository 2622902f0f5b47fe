import { describe, expect, it } from "vitest";
import { defaultRegistry } from "../../../services/sdk/runtime.js";
import { checkEventFilter } from "./event-filter.js";

const registry = defaultRegistry();

describe("checkEventFilter", () => {
  it("takes the whole stream, a service's events, one event, and wildcards", () => {
    for (const ok of [
      "events.>",
      "events.payment.>",
      "events.payment.funds-deposited",
      "events.*.purchase-rejected",
      "events.auth.*",
    ])
      expect(() => checkEventFilter(registry, ok), ok).not.toThrow();
  });

  it("refuses subjects outside events.<service>.<event>, with the closest names", () => {
    expect(() => checkEventFilter(registry, "payment.deposit")).toThrow(/is not an event subject/);
    expect(() => checkEventFilter(registry, "events.paymnt.>")).toThrow(/did you mean events\.payment\.>\?/);
    expect(() => checkEventFilter(registry, "events.payment.deposited")).toThrow(
      /did you mean events\.payment\.funds-deposited/,
    );
    expect(() => checkEventFilter(registry, "events.payment")).toThrow(/matches no event/);
    expect(() => checkEventFilter(registry, "events..x")).toThrow(/is not a valid subject/);
  });
});
