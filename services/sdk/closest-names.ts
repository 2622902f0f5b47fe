// "Did you mean": the known names closest to one a user typed. One function for every kind of name
// gs suggests (subjects in the SDK's registry and the gateway, service names in the CLI).

/** Edit distance: insertions, deletions and substitutions of one character each. */
function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/**
 * The names of `known` closest to `name`, best first, at most `limit`; none when nothing is close.
 * Close: within half of `name`'s length in edits, or a known name that starts with it (3 characters
 * or more). A known name that extends what was typed (`auth.log` -> `auth.login`), or whose first
 * dot-separated part starts it (`payment.balance` -> `payment.get-balance`), ranks two edits closer.
 */
export function closestNames(name: string, known: Iterable<string>, limit = 3): string[] {
  // short names need a tighter bound: "nosuch" is 4 edits from "auth", and "nope" 4 from anything of 4
  const cutoff = Math.min(Math.max(2, Math.ceil(name.length / 2)), name.length - 1);
  const scored = [...new Set(known)].map((k) => {
    const prefix = name.length >= 3 && k.startsWith(name);
    let score = levenshtein(name, k);
    if (prefix || name.startsWith(k.split(".")[0]!)) score -= 2;
    return { k, score, close: prefix || score <= cutoff };
  });
  return scored
    .filter((x) => x.close)
    .sort((a, b) => a.score - b.score || a.k.localeCompare(b.k))
    .slice(0, limit)
    .map((x) => x.k);
}
