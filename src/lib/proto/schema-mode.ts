// Where a command's message types come from (`--schema`); its own module so src/flags.ts loads nothing else.
export const SCHEMA_MODES = ["auto", "local", "fleet"] as const;
export type SchemaMode = (typeof SCHEMA_MODES)[number];
