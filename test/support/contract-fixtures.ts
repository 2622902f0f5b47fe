// A small proto module for the breaking-change tests (a `shop` service importing the shared
// `gs.common.v1` package, laid out as gs finds proto/), its compiled FileDescriptorSet (protoc), a git repository holding it, and a minimal
// responder that serves the set the way a fleet instance does (docs/schemas.md): $SRV.INFO metadata
// `gs.schema.digest` and the bytes on `gs.schema.<service>.<digest>`.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { Svcm } from "@nats-io/services";
import { schemaDigest, schemaMetadata, serveSchema } from "../../services/sdk/schema.js";

export const COMMON_PROTO = `syntax = "proto3";

package gs.common.v1;

message Money {
  string currency = 1;
  int64 minor_units = 2;
}
`;

/** shop.proto; `edit` rewrites parts of it for a case (the line numbers of the messages stay put). */
export const SHOP_PROTO = `syntax = "proto3";

package shop.v1;

import "gs/common/v1/common.proto";

service ShopService {
  rpc Buy(BuyRequest) returns (BuyResponse);
  rpc ListItems(ListItemsRequest) returns (ListItemsResponse);
}

message BuyRequest {
  string player_id = 1;
  string sku = 2;
  uint32 quantity = 3;
  gs.common.v1.Money price = 4;
}

message BuyResponse {
  bool ok = 1;
}

message ListItemsRequest {}

message ListItemsResponse {
  repeated string skus = 1;
}
`;

export interface ContractProject {
  /** the project (a git repository with one commit of the module) */
  root: string;
  protoDir: string;
  /** replace a file of proto/ (relative path), e.g. a changed shop/v1/shop.proto */
  write(file: string, text: string): void;
  /** proto/ back to the committed module */
  reset(): void;
  /** commit the working tree; returns the commit */
  commit(message: string): string;
  remove(): void;
}

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.com",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.com",
    },
  }).trim();

export function createContractProject(): ContractProject {
  const root = mkdtempSync(path.join(os.tmpdir(), "gs-contracts-"));
  const protoDir = path.join(root, "proto");
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(protoDir, file)), { recursive: true });
    writeFileSync(path.join(protoDir, file), text);
  };
  write("gs/common/v1/common.proto", COMMON_PROTO);
  write("shop/v1/shop.proto", SHOP_PROTO);
  git(root, "init", "-q", "-b", "main");
  const commit = (message: string) => {
    git(root, "add", "-A");
    git(root, "commit", "-q", "-m", message);
    return git(root, "rev-parse", "HEAD");
  };
  commit("the shop module");
  return {
    root,
    protoDir,
    write,
    reset: () => {
      git(root, "checkout", "-q", "--", "proto");
      git(root, "clean", "-fdq", "--", "proto");
    },
    commit,
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** protoc's FileDescriptorSet of `file` under `protoDir`, imports and source info included. */
export function descriptorSet(protoDir: string, file: string): Uint8Array {
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), "gs-fds-")), "set.binpb");
  try {
    execFileSync("protoc", [
      "-I",
      protoDir,
      "--include_imports",
      "--include_source_info",
      `--descriptor_set_out=${out}`,
      file,
    ]);
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(path.dirname(out), { recursive: true, force: true });
  }
}

/** A micro service `name` that advertises and serves `set` as a fleet instance does; `stop` removes it. */
export async function serveDescriptorSet(
  nc: NatsConnection,
  name: string,
  set: Uint8Array,
): Promise<{ digest: string; stop(): Promise<void> }> {
  const digest = schemaDigest(set);
  const srv = await new Svcm(nc).add({ name, version: "1.0.0", metadata: schemaMetadata(name, digest) });
  const sub = serveSchema(nc, name, set);
  return {
    digest,
    async stop() {
      sub.unsubscribe();
      await srv.stop();
    },
  };
}
