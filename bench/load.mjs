// A small request/reply load generator for the bench scripts: closed loop for throughput, open loop
// (constant arrival rate, latency from the intended send time) for honest percentiles.
import { connect } from "@nats-io/transport-node";
import hdr from "hdr-histogram-js";

/** Closed loop: `inflight` requests outstanding over `connections` connections for `seconds`. */
export async function closedLoop({ url, subject, payload, seconds, inflight = 64, connections = 2 }) {
  const ncs = await Promise.all(Array.from({ length: connections }, () => connect({ servers: url })));
  const end = performance.now() + seconds * 1000;
  let ok = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: inflight }, async (_, i) => {
      const nc = ncs[i % connections];
      while (performance.now() < end) {
        try {
          const m = await nc.request(subject, payload, { timeout: 5000 });
          if (m.headers?.get("Nats-Service-Error-Code")) errors++;
          else ok++;
        } catch {
          errors++;
        }
      }
    }),
  );
  await Promise.all(ncs.map((c) => c.close()));
  return { requests: ok + errors, errors, throughput_rps: Math.round((ok + errors) / seconds) };
}

/** Open loop at `rate` req/s for `seconds`: each latency counts from when the request was due. */
export async function openLoop({ url, subject, payload, seconds, rate, connections = 2 }) {
  const ncs = await Promise.all(Array.from({ length: connections }, () => connect({ servers: url })));
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  const total = Math.round(rate * seconds);
  const start = performance.now();
  let errors = 0;
  let sent = 0;
  const pending = [];
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) / 1000) * rate));
      while (sent < due) {
        const intended = start + (sent / rate) * 1000;
        const nc = ncs[sent % connections];
        sent++;
        pending.push(
          nc.request(subject, payload, { timeout: 5000 }).then(
            (m) => {
              if (m.headers?.get("Nats-Service-Error-Code")) errors++;
              h.recordValue(Math.max(1, Math.round((performance.now() - intended) * 1000)));
            },
            () => {
              errors++;
              h.recordValue(5_000_000);
            },
          ),
        );
      }
      if (sent >= total) resolve();
      else setImmediate(tick);
    };
    tick();
  });
  await Promise.all(pending);
  const us = (p) => Math.round(h.getValueAtPercentile(p)) / 1000;
  const res = { rate, requests: total, errors, latency_ms: { p50: us(50), p90: us(90), p99: us(99), p999: us(99.9), max: Math.round(h.maxValue) / 1000 } };
  await Promise.all(ncs.map((c) => c.close()));
  return res;
}
