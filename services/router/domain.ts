// Capability routing: which live instances can take a call to a capability's method, and which one goes next.
import { kebabCase } from "../sdk/registry.js";
import type { Target } from "../generated/router/v1/router.js";

// proto messages as generated from proto/ (services/generated)
export type { Target };

export interface Instance {
  instanceId: string;
  serviceName: string;
  capabilities: { name: string; version: string; methods: string[] }[];
}

/**
 * The method a forward calls: the one asked for, or the capability's only method. Throws a message
 * (as an Error) when it cannot be decided from what the instances offer.
 */
export function chooseMethod(instances: Instance[], capability: string, method: string): string {
  const offered = new Set(
    instances.flatMap((i) => i.capabilities.filter((c) => c.name === capability).flatMap((c) => c.methods)),
  );
  if (method) return method;
  if (offered.size === 1) return [...offered][0]!;
  if (offered.size === 0) throw new Error(`capability ${capability} declares no methods: name one in method`);
  throw new Error(
    `capability ${capability} has several methods (${[...offered].sort().join(", ")}): name one in method`,
  );
}

/** Instances whose registration of `capability` lists `method` (or lists no methods at all), as targets. */
export function targetsFor(instances: Instance[], capability: string, method: string): Target[] {
  return instances
    .filter((i) =>
      i.capabilities.some((c) => c.name === capability && (c.methods.length === 0 || c.methods.includes(method))),
    )
    .map((i) => ({
      instanceId: i.instanceId,
      serviceName: i.serviceName,
      subject: `${i.serviceName}.${kebabCase(method)}`,
    }))
    .sort((a, b) => a.instanceId.localeCompare(b.instanceId));
}

/** Round-robin over a changing candidate list: a counter per capability, taken modulo the current list. */
export class RoundRobin {
  private readonly next = new Map<string, number>();

  /** The target the next `take` would return, without advancing. */
  peek(key: string, targets: Target[]): Target | undefined {
    if (!targets.length) return undefined;
    return targets[(this.next.get(key) ?? 0) % targets.length];
  }

  /** `count` targets in round-robin order starting at the current position (for retries), advancing by one. */
  take(key: string, targets: Target[], count = 1): Target[] {
    if (!targets.length) return [];
    const start = (this.next.get(key) ?? 0) % targets.length;
    this.next.set(key, start + 1);
    const out: Target[] = [];
    for (let i = 0; i < Math.min(count, targets.length); i++) out.push(targets[(start + i) % targets.length]!);
    return out;
  }
}

/** A failure worth trying on another instance: nobody answered or it timed out. Error replies are final. */
export function retryable(code: number): boolean {
  return code === 503 || code === 504;
}
