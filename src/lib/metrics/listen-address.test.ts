// `--listen` as a user writes it: HOST:PORT, [IPv6]:PORT, :PORT; anything else is one usage error (exit 2).
import { describe, expect, it } from "vitest";
import { EXIT, UsageError } from "../output/errors.js";
import { isLoopback, listenUrl, parseListenAddress } from "./listen-address.js";

describe("the listen address", () => {
  it("reads HOST:PORT, [IPv6]:PORT and :PORT (every interface)", () => {
    expect(parseListenAddress("127.0.0.1:9464")).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(parseListenAddress("localhost:0")).toEqual({ host: "localhost", port: 0 });
    expect(parseListenAddress("[::1]:9464")).toEqual({ host: "::1", port: 9464 });
    expect(parseListenAddress(":9464")).toEqual({ host: undefined, port: 9464 });
  });

  for (const bad of ["9464", "127.0.0.1", "127.0.0.1:", "::1:9464", "[nope]:9464", "host:70000", "host:-1", "a b:1"])
    it(`refuses "${bad}" with exit 2 and an example`, () => {
      let err: unknown;
      try {
        parseListenAddress(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).exitCode).toBe(EXIT.usage);
      expect((err as UsageError).code).toBe("bad_listen_address");
      expect((err as UsageError).message).toContain(`"${bad}"`);
      expect((err as UsageError).message).not.toContain("\n");
    });

  it("tells loopback from addresses other machines reach", () => {
    expect(isLoopback("127.0.0.1")).toBe(true);
    expect(isLoopback("127.1.2.3")).toBe(true);
    expect(isLoopback("::1")).toBe(true);
    expect(isLoopback("localhost")).toBe(true);
    expect(isLoopback(undefined)).toBe(false);
    expect(isLoopback("0.0.0.0")).toBe(false);
    expect(isLoopback("10.1.2.3")).toBe(false);
  });

  it("names the bound address in the URL, localhost for a wildcard", () => {
    expect(listenUrl({ address: "127.0.0.1", family: "IPv4", port: 9464 })).toBe("http://127.0.0.1:9464/metrics");
    expect(listenUrl({ address: "::1", family: "IPv6", port: 1 }, "/")).toBe("http://[::1]:1/");
    expect(listenUrl({ address: "::", family: "IPv6", port: 9464 })).toBe("http://localhost:9464/metrics");
  });
});
