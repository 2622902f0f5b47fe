import { describe, expect, it } from "vitest";
import { EXIT, UsageError } from "../output/errors.js";
import { checkConfigServices, checkServiceNames, configServices } from "./service-names.js";

const cfg = { file: "/p/gs.yaml", services: { auth: {}, payment: {}, "world-state": {} } } as never;

function thrown(fn: () => void): UsageError {
  try {
    fn();
  } catch (err) {
    return err as UsageError;
  }
  throw new Error("expected an error");
}

describe("service names", () => {
  it("accepts names gs.yaml lists", () => {
    expect(() => checkConfigServices(["auth", "world-state"], cfg)).not.toThrow();
  });

  it("refuses an unknown name with the closest one, exit 2", () => {
    const err = thrown(() => checkConfigServices(["paymnt"], cfg));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toBe("unknown service paymnt (did you mean payment?)");
    expect(err.exitCode).toBe(EXIT.usage);
    expect(err.code).toBe("unknown_service");
    expect(err.hint).toBe("services in gs.yaml: auth, payment, world-state");
  });

  it("names every unknown service once, each with its own suggestions", () => {
    const err = thrown(() => checkConfigServices(["auht", "auth", "nosuch", "auht"], cfg));
    expect(err.message).toBe("unknown services auht (did you mean auth?), nosuch");
  });

  it("says so when there is no gs.yaml", () => {
    const none = configServices({ services: {} } as never);
    expect(none.known).toEqual([]);
    expect(none.hint).toMatch(/no gs.yaml here or above/);
    expect(thrown(() => checkConfigServices(["auth"], { services: {} } as never)).message).toBe("unknown service auth");
  });

  it("checks against any list with the caller's hint", () => {
    const err = thrown(() => checkServiceNames(["wrld-state"], ["world-state"], "see `gs subjects`"));
    expect(err.message).toBe("unknown service wrld-state (did you mean world-state?)");
    expect(err.hint).toBe("see `gs subjects`");
  });
});
