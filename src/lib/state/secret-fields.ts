// What `gs kv` and `gs events` never print: values held under a field whose name says it is a secret
// (auth keeps `password` as a scrypt hash and salt; a session token is a bearer credential). Names, not
// values, decide: a secret has no recognisable shape, but the fleet's records name their fields plainly.

export const REDACTED = "[redacted]";

// `pageToken` and `nextPageToken` are cursors, not credentials
const SECRET_NAME =
  /^(.*password|.*passwd|.*secret|.*credentials?|.*private_?key|.*api_?key|salt|.*(session|access|refresh|auth|bearer|id)_?token|token)$/i;

export function isSecretField(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** `value` with every secret field's value replaced by "[redacted]", at any depth; the paths replaced, in order. */
export function redactSecrets<T>(value: T): { value: T; redacted: string[] } {
  const redacted: string[] = [];
  const walk = (v: unknown, at: string): unknown => {
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${at}[${i}]`));
    if (v === null || typeof v !== "object") return v;
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>).map(([k, x]) => {
        const path = at ? `${at}.${k}` : k;
        if (!isSecretField(k)) return [k, walk(x, path)];
        redacted.push(path);
        return [k, REDACTED];
      }),
    );
  };
  return { value: walk(value, "") as T, redacted };
}
