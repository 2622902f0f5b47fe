import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";
import prettier from "eslint-config-prettier";

export default tseslint.config(
  {
    ignores: [
      "**/dist/**",
      "**/node_modules/**",
      "oclif.manifest.json",
      "coverage/**",
      "bench/.tmp/**",
      ".gs/**",
      "**/.gs/**",
      "services/generated/**", // generated from proto/ by `npm run build`, never edited
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-constant-condition": ["error", { checkLoops: false }],
    },
  },
  {
    // commands get their lifecycle from catchInterrupts and their live view from lib/ui/live-output.ts
    files: ["src/commands/**/*.ts"],
    ignores: ["src/commands/**/*.test.ts"],
    rules: {
      "no-restricted-properties": [
        "error",
        ...["on", "once", "addListener", "prependListener", "prependOnceListener"].map((property) => ({
          object: "process",
          property,
          message: "use catchInterrupts() from src/lib/process/interrupt.ts for signals",
        })),
      ],
      "no-restricted-imports": [
        "error",
        {
          paths: ["ink", "react"].map((name) => ({ name, message: "live views go through src/lib/ui/live-output.ts" })),
        },
      ],
    },
  },
);
