// The descriptor sets services serve, cut from one buf build of proto/: what each holds, that protoc
// reads it, and that its digest moves only with the service's own protos and their imports.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileServiceDescriptorSets, filesOfSet } from "./descriptor-set.js";
import { schemaDigest } from "./schema.js";

const repoProto = path.resolve(import.meta.dirname, "../../proto");
let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "gs-descriptor-set-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("service descriptor sets", () => {
  it("hold the service's files and what they import, with comments, readable by protoc", () => {
    const auth = compileServiceDescriptorSets(repoProto, ["auth"]).get("auth")!;
    const names = filesOfSet(auth).map((f) => f.name);
    // imports come before the files that import them, as protoc and buf write a set
    expect(names.at(-1)).toBe("auth/v1/auth.proto");
    expect([...names].sort()).toEqual([
      "auth/v1/auth.proto",
      "google/protobuf/duration.proto",
      "google/protobuf/timestamp.proto",
    ]);
    const file = path.join(tmp, "auth.binpb");
    writeFileSync(file, auth);
    const encoded = spawnSync("protoc", [`--descriptor_set_in=${file}`, "--encode=auth.v1.LoginRequest"], {
      input: 'username: "ada" ttl { seconds: 60 }',
    });
    expect(encoded.status, encoded.stderr?.toString()).toBe(0);
    const decoded = spawnSync("protoc", [`--descriptor_set_in=${file}`, "--decode=auth.v1.LoginRequest"], {
      input: encoded.stdout,
      encoding: "utf8",
    });
    expect(decoded.stdout).toMatch(/username: "ada"\s+ttl \{\s+seconds: 60\s+\}/);
    // source info: the rpc's comment is in the bytes
    expect(Buffer.from(auth).toString("utf8")).toContain("Verifies credentials and issues a session token");
  });

  it("keep their digest when another service's protos change, and change it when their own do", () => {
    const before = compileServiceDescriptorSets(repoProto, ["auth", "payment"]);
    const copy = path.join(tmp, "proto");
    cpSync(repoProto, copy, { recursive: true });
    const edit = (file: string) =>
      writeFileSync(file, readFileSync(file, "utf8").replace(/message (\w+) \{/, "message $1 {\n  string added = 99;"));
    edit(path.join(copy, "payment/v1/payment.proto"));
    const afterPayment = compileServiceDescriptorSets(copy, ["auth", "payment"]);
    expect(schemaDigest(afterPayment.get("auth")!)).toBe(schemaDigest(before.get("auth")!));
    expect(schemaDigest(afterPayment.get("payment")!)).not.toBe(schemaDigest(before.get("payment")!));
    edit(path.join(copy, "auth/v1/auth.proto"));
    const afterAuth = compileServiceDescriptorSets(copy, ["auth"]);
    expect(schemaDigest(afterAuth.get("auth")!)).not.toBe(schemaDigest(before.get("auth")!));
  });

  it("leave out a service without a package folder", () => {
    expect(compileServiceDescriptorSets(repoProto, ["no-such-service"]).size).toBe(0);
  });
});
