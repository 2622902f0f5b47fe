// The state backends a service can run on (GS_STATE_BACKEND, services/sdk/state.ts openStore), in a
// module of their own: src/flags.ts lists them, and every command loads that file.
export const STATE_BACKENDS = ["jetstream", "redis", "redis-cluster"] as const;
export type StateBackend = (typeof STATE_BACKENDS)[number];
