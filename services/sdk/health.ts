// The container health check: passes only when this process's own micro instance answers $SRV.PING
// over NATS. Needs nothing but node (the seed's images had no pgrep, so their checks were removed).
import { readFileSync } from "node:fs";
import { connectWith, settingsFromEnv } from "./connection.js";
import { healthFile } from "./runtime.js";

export interface HealthResult {
  ok: boolean;
  reason: string;
}

export async function checkHealth(env: NodeJS.ProcessEnv = process.env, timeoutMs = 3000): Promise<HealthResult> {
  let ident: { name: string; id: string };
  try {
    ident = JSON.parse(readFileSync(healthFile(env), "utf8"));
  } catch {
    return { ok: false, reason: `no instance record at ${healthFile(env)} (not started yet?)` };
  }
  const settings = { ...settingsFromEnv(env, "gs-healthcheck"), reconnectForever: false, timeout: timeoutMs };
  let nc;
  try {
    nc = await connectWith(settings);
  } catch (err) {
    return { ok: false, reason: `cannot reach NATS: ${(err as Error).message}` };
  }
  try {
    const reply = await nc.request(`$SRV.PING.${ident.name}.${ident.id}`, "", { timeout: timeoutMs });
    const pong = reply.json<{ id: string }>();
    return pong.id === ident.id
      ? { ok: true, reason: `${ident.name} ${ident.id} answers` }
      : { ok: false, reason: "another instance answered" };
  } catch (err) {
    return { ok: false, reason: `${ident.name} ${ident.id} does not answer: ${(err as Error).message}` };
  } finally {
    await nc.close();
  }
}
