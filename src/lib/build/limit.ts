// Bounded parallelism for builds and pushes: image builds are CPU- and disk-bound, so at most one per core.

/** Run `work` over `items`, at most `size` at once; once `signal` aborts, items not yet begun are left alone. */
export async function pool<T>(
  items: readonly T[],
  size: number,
  work: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.max(1, Math.min(size, items.length)) }, async () => {
    while (next < items.length && !signal?.aborted) await work(items[next++]!);
  });
  await Promise.all(runners);
}

/** A gate that lets at most `size` calls run at once; the rest wait their turn. */
export function limiter(size: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running >= Math.max(1, size)) await new Promise<void>((r) => waiting.push(r));
    running++;
    try {
      return await fn();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}
