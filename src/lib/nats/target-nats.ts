// The NATS connection of a remote (ecs) target: gs.yaml's `nats.url` with its credentials reference
// resolved — a .creds file, a natscli context, or a Secrets Manager secret fetched at the moment of
// connecting. A secret's value is held in memory (and, for a .creds secret, in a 0600 file that exists
// only while NATS.js reads it); it is never printed, logged or returned.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { awsCall, type AwsContext } from "../aws/aws-call.js";
import { createSecretsManagerClient } from "../aws/clients.js";
import type { EcsTarget, NatsCredentialsRef } from "../config/load.js";
import { GsError } from "../output/errors.js";
import { connectNats } from "./connect.js";
import { readContext } from "./natscli-context.js";
import { contextCredentials, parseServers, type NatsCredentials as Credentials } from "./options.js";

export interface TargetNatsOptions {
  targetName: string;
  /** relative `file` references resolve against the project (the folder of gs.yaml) */
  root: string;
  timeoutMs?: number;
  /** once connected, reconnect through outages (see connectNats) */
  reconnect?: boolean;
}

/** Connect to the target's NATS with its credentials; the error names the target, never a secret. */
export async function connectTargetNats(target: EcsTarget, opts: TargetNatsOptions): Promise<NatsConnection> {
  const source = `target ${opts.targetName} (gs.yaml nats.url)`;
  const base = {
    servers: parseServers(target.nats.url, source),
    source,
    timeout: opts.timeoutMs ?? 5000,
    name: "gs deploy",
  };
  const ref = target.nats.credentials;
  const how = { keepReconnecting: opts.reconnect };
  if (!ref || !("secretArn" in ref)) return connectNats({ ...base, ...localCredentials(ref, opts.root) }, how);
  const secret = await fetchSecretString(ref.secretArn, {
    region: secretRegion(ref.secretArn),
    profile: target.profile,
    target: opts.targetName,
  });
  const parsed = parseSecret(secret, ref.secretArn);
  if (parsed.credsText === undefined) return connectNats({ ...base, ...parsed.settings }, how);
  const dir = mkdtempSync(path.join(os.tmpdir(), "gs-nats-"));
  try {
    const file = path.join(dir, "user.creds");
    writeFileSync(file, parsed.credsText, { mode: 0o600 });
    // read once, into the connection's authenticator (toConnectionOptions), which a reconnect uses too:
    // the file can go right after
    return await connectNats({ ...base, creds: file }, how);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function localCredentials(
  ref: Exclude<NatsCredentialsRef, { secretArn: string }> | undefined,
  root: string,
): Credentials {
  if (!ref) return {};
  if ("file" in ref) return { creds: path.resolve(root, ref.file) };
  return contextCredentials(readContext(ref.context));
}

function secretRegion(arn: string): string {
  return arn.split(":")[3] ?? "us-east-1";
}

/** GetSecretValue, loaded only when a target uses a secretArn. */
async function fetchSecretString(arn: string, aws: AwsContext): Promise<string> {
  const [client, { GetSecretValueCommand }] = await Promise.all([
    createSecretsManagerClient(aws),
    import("@aws-sdk/client-secrets-manager"),
  ]);
  try {
    const out = await awsCall({ api: "secretsmanager:GetSecretValue", secret: arn }, aws, () =>
      client.send(new GetSecretValueCommand({ SecretId: arn })),
    );
    if (out.SecretString) return out.SecretString;
    if (out.SecretBinary) return Buffer.from(out.SecretBinary).toString("utf8");
    throw new GsError(`secret ${arn} has no value${aws.target ? ` (target ${aws.target})` : ""}`, {
      hint: "store the NATS .creds file (or JSON with user/password or token) as the secret's string",
      code: "nats_secret_unreadable",
    });
  } finally {
    client.destroy();
  }
}

/**
 * A secret holds a .creds file, or JSON: `{ "creds": "<.creds text>" }`, `{ "user", "password" }` or
 * `{ "token" }`. Messages name the secret's ARN and the expected shapes, never its contents.
 */
export function parseSecret(value: string, arn: string): { credsText?: string; settings: Credentials } {
  const text = value.trim();
  if (text.includes("-----BEGIN NATS USER JWT-----")) return { credsText: text + "\n", settings: {} };
  let json: Record<string, unknown> | undefined;
  try {
    const v: unknown = JSON.parse(text);
    if (v && typeof v === "object" && !Array.isArray(v)) json = v as Record<string, unknown>;
  } catch {
    // not JSON: falls through to the error below
  }
  const str = (k: string) => (typeof json?.[k] === "string" ? (json[k] as string) : undefined);
  if (str("creds")) return { credsText: str("creds")!.trim() + "\n", settings: {} };
  if (str("user")) return { settings: { user: str("user"), password: str("password") } };
  if (str("token")) return { settings: { token: str("token") } };
  throw new GsError(`secret ${arn} holds no NATS credentials gs understands`, {
    hint: 'store a .creds file, or JSON with "creds", "user" and "password", or "token"',
    code: "nats_secret_unreadable",
  });
}
