import path from "node:path";
import { describe, expect, it } from "vitest";
import { decodeToJson, encodeJson, fromJson, SchemaError } from "./json-codec.js";
import { ProtoRegistry, kebabCase } from "./registry.js";

const registry = ProtoRegistry.load([path.join(import.meta.dirname, "../../test/support/fixtures/proto")]);
const Req = registry.type("sample_shop.v1.PlaceOrderRequest")!;

function roundTrip(json: unknown): Record<string, unknown> {
  return decodeToJson(Req, encodeJson(Req, json), { defaults: false });
}

function problem(json: unknown): string {
  try {
    fromJson(Req, json);
  } catch (err) {
    if (err instanceof SchemaError) return err.message;
    throw err;
  }
  throw new Error("expected a SchemaError");
}

describe("subject convention", () => {
  it("derives rpc subjects from the service's package and the rpc name in kebab-case", () => {
    expect(registry.rpc("sample-shop.place-order")?.method).toBe("PlaceOrder");
    expect(registry.rpc("sample-shop.get-http-status")?.method).toBe("GetHTTPStatus");
  });
  it("maps Event messages to events.<service>.<name> subjects", () => {
    expect(registry.event("events.sample-shop.order-placed")?.type.name).toBe("OrderPlacedEvent");
  });
  it("kebab-cases acronyms and digits sensibly", () => {
    expect(kebabCase("GetHTTPStatus")).toBe("get-http-status");
    expect(kebabCase("Login")).toBe("login");
    expect(kebabCase("SetV2Config")).toBe("set-v2-config");
  });
  it("suggests the closest subjects for a typo", () => {
    expect(registry.suggest("sample-shop.place-ordr")[0]).toBe("sample-shop.place-order");
  });
});

describe("proto3 JSON codec", () => {
  it("round-trips every scalar, enum, repeated, map, timestamp, duration and oneof", () => {
    const json = {
      customerId: "c1",
      priority: -5,
      count: 4294967295,
      amountMinor: "-9223372036854775808",
      bigId: "18446744073709551615",
      ratio: 0.25,
      gift: true,
      note: Buffer.from("hi").toString("base64"),
      color: "COLOR_BLUE",
      items: [{ sku: "a", quantity: 2 }],
      tags: { x: 1 },
      deliverAt: "2025-11-13T10:00:00.250Z",
      holdFor: "1.5s",
      voucherCode: "V",
    };
    // a Duration prints 0, 3, 6 or 9 fractional digits, as the proto3 JSON mapping asks
    expect(roundTrip(json)).toEqual({ ...json, holdFor: "1.500s" });
  });

  it("prints a set oneof member at its default value, even when leaving defaults out", () => {
    const bytes = encodeJson(Req, { voucherCode: "" });
    expect(decodeToJson(Req, bytes, { defaults: false })).toEqual({ voucherCode: "" });
    expect(decodeToJson(Req, encodeJson(Req, {}), { defaults: false })).toEqual({});
  });

  it("accepts original field names as well as camelCase", () => {
    expect(roundTrip({ customer_id: "c2", amount_minor: 7 })).toEqual({ customerId: "c2", amountMinor: "7" });
  });

  it("emits defaults for scalars unless asked not to, and leaves unset messages out", () => {
    const full = decodeToJson(Req, encodeJson(Req, {}));
    expect(full).toMatchObject({
      customerId: "",
      priority: 0,
      amountMinor: "0",
      color: "COLOR_UNSPECIFIED",
      items: [],
      tags: {},
    });
    expect(full).not.toHaveProperty("deliverAt");
  });

  it("leaves unset oneof members and proto3 optional fields out, and keeps set ones even at their default", () => {
    const none = decodeToJson(Req, encodeJson(Req, {}));
    expect(none).not.toHaveProperty("cardToken");
    expect(none).not.toHaveProperty("voucherCode");
    expect(none).not.toHaveProperty("discount");
    expect(decodeToJson(Req, encodeJson(Req, { discount: 0, cardToken: "" }))).toMatchObject({
      discount: 0,
      cardToken: "",
    });
  });

  it.each([
    [{ nope: 1 }, /^nope: unknown field in sample_shop\.v1\.PlaceOrderRequest \(fields: customerId/],
    [{ priority: 2147483648 }, /^priority: 2147483648 is out of range for int32/],
    [{ count: -1 }, /^count: -1 is out of range for uint32/],
    [{ bigId: "-1" }, /^bigId: -1 is out of range for uint64/],
    [{ amountMinor: "9223372036854775808" }, /out of range for int64/],
    [{ priority: 1.5 }, /^priority: expected an integer \(int32\), got 1\.5/],
    [{ customerId: 5 }, /^customerId: expected a string, got 5/],
    [{ gift: "yes" }, /^gift: expected true or false/],
    [
      { color: "COLOR_GREEN" },
      /^color: unknown sample_shop\.v1\.Color value "COLOR_GREEN" \(one of: COLOR_UNSPECIFIED, COLOR_RED, COLOR_BLUE\)/,
    ],
    [{ items: [{ sku: "a", quantity: "many" }] }, /^items\[0\]\.quantity: expected an integer/],
    [{ items: {} }, /^items: expected an array/],
    [{ deliverAt: "yesterday" }, /^deliverAt: expected an RFC 3339 timestamp/],
    [{ note: "not base64!" }, /^note: expected base64 bytes/],
    [{ cardToken: "a", voucherCode: "b" }, /only one of card_token, voucher_code may be set/],
    [[1, 2], /expected an object for sample_shop\.v1\.PlaceOrderRequest, got an array/],
  ])("rejects %j", (json, message) => {
    expect(problem(json)).toMatch(message);
  });

  it("refuses bytes that are not a valid message", () => {
    expect(() => decodeToJson(Req, new Uint8Array([0x0a, 0xff]))).toThrow(SchemaError);
  });
});

describe("JSON names", () => {
  it("derives them as protoc does, digits after an underscore included", async () => {
    const { jsonName } = await import("./json-codec.js");
    expect(jsonName("input_cost_per_1k_tokens")).toBe("inputCostPer1kTokens");
    expect(jsonName("player_id")).toBe("playerId");
    expect(jsonName("x")).toBe("x");
  });
});
