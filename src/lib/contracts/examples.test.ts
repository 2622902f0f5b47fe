import path from "node:path";
import { describe, expect, it } from "vitest";
import { encodeJson } from "@gs/fleet/sdk/json-codec";
import { ProtoRegistry } from "@gs/fleet/sdk/registry";
import { repoRoot } from "../../../test/support/run-cli.js";
import { examplesOfSource, readExamples, references, runOrder } from "./examples.js";

const protoDir = path.join(repoRoot, "proto");

const source = (rpcs: string) => `syntax = "proto3";
package shop.v1;
service ShopService {
${rpcs}
}
message Req { string id = 1; }
`;

describe("curated examples in proto/", () => {
  const registry = ProtoRegistry.load([protoDir]);
  const examples = readExamples([protoDir]);

  it("has at least one example for every rpc", () => {
    const withExamples = new Set(examples.filter((e) => e.examples.length > 0).map((e) => e.subject));
    const missing = registry.rpcs.map((r) => r.subject).filter((s) => !withExamples.has(s));
    expect(missing).toEqual([]);
    expect(examples.map((e) => e.subject).sort()).toEqual(registry.rpcs.map((r) => r.subject).sort());
  });

  it("has examples that are valid requests of their rpc's type (unknown fields and bad values fail)", () => {
    const bad: string[] = [];
    for (const e of examples)
      for (const x of e.examples) {
        try {
          encodeJson(registry.rpc(e.subject)!.request, x.request);
        } catch (err) {
          bad.push(`${e.source} ${e.subject}: ${(err as Error).message}`);
        }
      }
    expect(bad).toEqual([]);
  });

  it("runs every rpc after the rpcs its example-after lines and {{subject:path}} values name", () => {
    const position = new Map(examples.map((e, i) => [e.subject, i]));
    for (const e of examples) for (const a of e.after) expect(position.get(a)).toBeLessThan(position.get(e.subject)!);
    const validate = examples.find((e) => e.subject === "auth.validate")!;
    expect(validate.after).toEqual(["auth.login"]);
    expect(validate.source).toMatch(/^auth\/v1\/auth\.proto:\d+$/);
  });
});

describe("the example comment convention", () => {
  it("reads examples, the error an example documents and example-after from the rpc's leading comment", () => {
    const [buy, get] = examplesOfSource(
      source(`  // Buys.
  // example: {"id":"sword"}
  // example: {"id":"nothing"}
  // example-error: 404 no item nothing
  rpc Buy(Req) returns (Req);
  // Gets.
  // example-after: shop.buy
  // example: {"id":"{{shop.buy:id}}"}
  rpc GetItem(Req) returns (Req);`),
      "shop/v1/shop.proto",
    );
    expect(buy).toMatchObject({
      subject: "shop.buy",
      service: "shop",
      rpc: "shop.v1.ShopService.Buy",
      source: "shop/v1/shop.proto:8",
      examples: [
        { request: { id: "sword" } },
        { request: { id: "nothing" }, error: { code: 404, text: "no item nothing" } },
      ],
    });
    expect(get).toMatchObject({
      subject: "shop.get-item",
      after: ["shop.buy"],
      examples: [{ request: { id: "{{shop.buy:id}}" } }],
    });
  });

  it("rejects an example that is not a JSON object, with the file and line", () => {
    expect(() =>
      examplesOfSource(source(`  // example: {"id":}\n  rpc Buy(Req) returns (Req);`), "shop.proto"),
    ).toThrow(/^shop\.proto:5: rpc Buy: the example is not JSON/);
    expect(() => examplesOfSource(source(`  // example: [1]\n  rpc Buy(Req) returns (Req);`), "shop.proto")).toThrow(
      /must be a JSON object/,
    );
  });

  it("rejects an example-error before any example, or without a status code", () => {
    expect(() =>
      examplesOfSource(source(`  // example-error: 404\n  rpc Buy(Req) returns (Req);`), "shop.proto"),
    ).toThrow(/must follow the example/);
    expect(() =>
      examplesOfSource(
        source(`  // example: {}\n  // example-error: gone\n  rpc Buy(Req) returns (Req);`),
        "shop.proto",
      ),
    ).toThrow(/wants "CODE \[text\]"/);
  });

  it("orders by declaration, moves an rpc after the ones it names, and refuses unknown names and cycles", () => {
    const entries = examplesOfSource(
      source(`  // example-after: shop.b
  rpc A(Req) returns (Req);
  rpc B(Req) returns (Req);
  rpc C(Req) returns (Req);`),
      "shop.proto",
    );
    expect(runOrder(entries).map((e) => e.subject)).toEqual(["shop.b", "shop.a", "shop.c"]);
    expect(() => runOrder([{ ...entries[0]!, after: ["shop.nope"] }])).toThrow(
      /names shop\.nope, which is no rpc subject/,
    );
    expect(() =>
      runOrder([
        { ...entries[0]!, after: ["shop.b"] },
        { ...entries[1]!, after: ["shop.a"] },
      ]),
    ).toThrow(/cycle among shop\.a, shop\.b/);
  });

  it("finds {{subject:path}} references anywhere in a request, and nothing else", () => {
    expect(references({ a: "{{auth.login:session.sessionToken}}", b: ["{{x.y:z}}"], c: "{{not one}}", d: 1 })).toEqual([
      "auth.login",
      "x.y",
    ]);
  });
});
