// The bundled entry bin/run.js loads: oclif's execute, from the same chunk the commands share.
export { execute } from "@oclif/core";
