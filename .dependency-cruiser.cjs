// The import rules of src/: layers import only downward, nothing goes in a
// circle. `npm run lint:deps` checks them (part of `npm test`);
// docs/ARCHITECTURE.md explains the layers.
//
//   faces     -> commands, adapters, config, model
//   commands  -> config, model        (the world only through model/ports.ts)
//   adapters  -> config, model        (never commands or faces)
//   config    -> model
//   model     -> nothing of ours
//
// src/index.ts and src/bin.ts are the bundles' entries and import faces only.
const layer = (name) => `^src/${name}/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "A circle makes two modules one concern; break it by moving the shared part down a layer.",
      from: {},
      to: { circular: true },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      comment: "An import that resolves to nothing.",
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: "no-orphans",
      severity: "error",
      comment: "A module in src/ that nothing imports is dead code (the two entries excepted).",
      from: { orphan: true, path: "^src/", pathNot: ["^src/index\\.ts$", "^src/bin\\.ts$", "\\.d\\.ts$"] },
      to: {},
    },
    {
      name: "src-not-to-outside",
      severity: "error",
      comment:
        "The shipped code imports only itself and its dependencies, never tests, scripts or anything outside the repository.",
      from: { path: "^src/" },
      to: {
        pathNot: [
          "^src/",
          "node_modules",
          "^node:",
          "^(fs|path|os|crypto|util|net|tls|child_process|stream|events|url|module|http|https|buffer|timers|process|assert)(/|$)",
        ],
        dependencyTypesNot: ["core"],
        couldNotResolve: false,
      },
    },
    {
      name: "entries-only-to-faces",
      severity: "error",
      comment: "src/index.ts and src/bin.ts stay thin: they start a face.",
      from: { path: "^src/[^/]+\\.ts$" },
      to: { path: "^src/", pathNot: layer("faces") },
    },
    {
      name: "commands-not-to-faces-or-adapters",
      severity: "error",
      comment: "Commands talk to the world through the ports (model/ports.ts); the faces decide how to show results.",
      from: { path: layer("commands") },
      to: { path: [layer("faces"), layer("adapters")] },
    },
    {
      name: "adapters-not-to-commands-or-faces",
      severity: "error",
      comment: "Adapters implement ports; they know nothing of the commands that use them or the faces above.",
      from: { path: layer("adapters") },
      to: { path: [layer("commands"), layer("faces")] },
    },
    {
      name: "config-only-to-model",
      severity: "error",
      comment: "Config (the option table, parsing, durations) builds on the model only.",
      from: { path: layer("config") },
      to: { path: [layer("faces"), layer("commands"), layer("adapters")] },
    },
    {
      name: "model-to-nothing-of-ours",
      severity: "error",
      comment: "The model is pure: it imports only other model modules (pass what it needs as parameters).",
      from: { path: layer("model") },
      to: { path: "^src/", pathNot: layer("model") },
    },
    {
      name: "nothing-up-to-entries",
      severity: "error",
      comment: "No module imports the entries.",
      from: { path: "^src/.+/" },
      to: { path: "^src/[^/]+\\.ts$" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // Type-only imports count: a layer that needs another's types depends on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types"],
      extensions: [".ts", ".js", ".mjs", ".d.ts", ".json"],
    },
    exclude: { path: "node_modules" },
  },
};
