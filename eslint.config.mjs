// typescript-eslint's recommended rules over everything we write; the formatting is Prettier's (npm run format).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "tmp/", ".ci/tools/", ".demo/", ".gitlab-ci-local/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        URL: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        fetch: "readonly",
        AbortController: "readonly",
        TextEncoder: "readonly",
        TextDecoder: "readonly",
        setImmediate: "readonly",
        structuredClone: "readonly",
        AbortSignal: "readonly",
        Response: "readonly",
        Headers: "readonly",
        performance: "readonly",
        queueMicrotask: "readonly",
      },
    },
  },
  {
    rules: {
      // A leading underscore marks what is there to be skipped (a destructured rest, a callback's unused argument).
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
    },
  },
  {
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { module: "writable", require: "readonly" } },
  },
  {
    // Tests read the JSON our stand-ins, kubectl and the CLI print, and assert on its shape field by field.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);
