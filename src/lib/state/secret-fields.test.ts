import { describe, expect, it } from "vitest";
import { decodeStoredBytes } from "./stored-value.js";
import { isSecretField, redactSecrets } from "./secret-fields.js";

describe("redactSecrets", () => {
  it("replaces secret fields at any depth and names their paths", () => {
    const { value, redacted } = redactSecrets({
      username: "alice",
      password: { alg: "scrypt", salt: "s", hash: "h" },
      sessions: [{ sessionToken: "t", client: "web" }],
      nested: { apiKey: "k", clientSecret: "c" },
    });
    expect(value).toEqual({
      username: "alice",
      password: "[redacted]",
      sessions: [{ sessionToken: "[redacted]", client: "web" }],
      nested: { apiKey: "[redacted]", clientSecret: "[redacted]" },
    });
    expect(redacted).toEqual(["password", "sessions[0].sessionToken", "nested.apiKey", "nested.clientSecret"]);
  });

  it("keeps what only looks like a secret: page cursors, keys of records, counts of tokens", () => {
    for (const name of ["pageToken", "nextPageToken", "idempotencyKey", "key", "promptTokens", "tokenCount"])
      expect(isSecretField(name), name).toBe(false);
    for (const name of ["password", "session_token", "accessToken", "token", "salt", "privateKey", "credentials"])
      expect(isSecretField(name), name).toBe(true);
  });
});

describe("decodeStoredBytes", () => {
  it("reads the SDK's JSON, redacted", () => {
    expect(decodeStoredBytes(new TextEncoder().encode('{"a":1,"password":"x"}'))).toEqual({
      json: { a: 1, password: "[redacted]" },
      redacted: ["password"],
    });
  });

  it("shows bytes that are not JSON undecoded", () => {
    expect(decodeStoredBytes(new Uint8Array([0xff]))).toEqual({ hex: "ff", base64: "/w==", error: "not UTF-8 text" });
    expect(decodeStoredBytes(new TextEncoder().encode("hi"))).toMatchObject({ hex: "6869", error: /^not JSON/ });
  });
});
