// The import rules (.dependency-cruiser.cjs) can fail: `npm run lint:deps`
// checks src/ with them in `npm test`; here the same rules run on small trees
// in the shape of src/, each breaking one rule, and must name exactly it.
// The trees are cruised through dependency-cruiser's API, in this process, with
// the options and TypeScript settings its CLI would read; one test runs the CLI
// itself, as `npm run lint:deps` does, to show that a broken rule fails it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { cruise, type ICruiseResult } from "dependency-cruiser";
import extractDepcruiseOptions from "dependency-cruiser/config-utl/extract-depcruise-options";
import extractTSConfig from "dependency-cruiser/config-utl/extract-ts-config";

const root = new URL("../../", import.meta.url).pathname;
const depcruise = join(root, "node_modules", ".bin", "depcruise");
const config = join(root, ".dependency-cruiser.cjs");
const trees: string[] = [];
after(() => trees.forEach((t) => rmSync(t, { recursive: true, force: true })));

/** A clean tree in the shape of src/: every layer imports only downward. */
const CLEAN: Record<string, string> = {
  "src/bin.ts": 'import { run } from "./faces/cli.js";\nrun();\n',
  "src/faces/cli.ts":
    'import { rotate } from "../commands/rotate.js";\nimport { port } from "../adapters/kube.js";\nexport const run = () => rotate(port);\n',
  "src/commands/rotate.ts":
    'import type { Port } from "../model/ports.js";\nimport { limit } from "../config/options.js";\nexport const rotate = (p: Port) => p.go(limit);\n',
  "src/adapters/kube.ts":
    'import type { Port } from "../model/ports.js";\nimport { limit } from "../config/options.js";\nexport const port: Port = { go: (n) => n + limit };\n',
  "src/config/options.ts": 'import { unit } from "../model/ports.js";\nexport const limit = unit;\n',
  "src/model/ports.ts": "export interface Port { go(n: number): number }\nexport const unit = 1;\n",
};

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "gps-layers-"));
  trees.push(dir);
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        module: "NodeNext",
        moduleResolution: "NodeNext",
        allowImportingTsExtensions: true,
        noEmit: true,
      },
    }),
  );
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** The names of the rules broken in `dir`: `depcruise src --config <ours>` run from `dir`, as its result. */
// Our rules and options, read once for every tree.
const ours = extractDepcruiseOptions(config);

async function broken(dir: string): Promise<string[]> {
  const options = await ours;
  // The CLI reads the tsconfig the options name, relative to where it runs: the tree's.
  const tsConfigFile = join(dir, options.tsConfig?.fileName ?? "tsconfig.json");
  const result = await cruise(
    ["src"],
    { ...options, baseDir: dir, tsConfig: { fileName: tsConfigFile }, outputType: "json" },
    {},
    { tsConfig: extractTSConfig(tsConfigFile) },
  );
  const out = (typeof result.output === "string" ? JSON.parse(result.output) : result.output) as ICruiseResult;
  return [...new Set(out.summary.violations.map((v) => v.rule.name))].sort();
}

test("a tree that keeps the rules passes them", async () => {
  assert.deepEqual(await broken(tree(CLEAN)), []);
});

test("the check `npm test` runs exits non-zero on a broken rule", () => {
  const dir = tree({
    ...CLEAN,
    "src/model/ports.ts": CLEAN["src/model/ports.ts"] + 'import "../commands/rotate.js";\n',
  });
  const r = spawnSync(depcruise, ["src", "--config", config], { cwd: dir, encoding: "utf8" });
  assert.notEqual(r.status, 0);
  assert.match(r.stdout, /error model-to-nothing-of-ours: src\/model\/ports\.ts → src\/commands\/rotate\.ts/);
});

const cases: Array<[string, Record<string, string>, string[]]> = [
  [
    "an upward import from the model",
    { "src/model/ports.ts": CLEAN["src/model/ports.ts"] + 'import "../faces/cli.js";\n' },
    ["model-to-nothing-of-ours", "no-circular"],
  ],
  [
    "a command reaching an adapter",
    { "src/commands/rotate.ts": CLEAN["src/commands/rotate.ts"] + 'export { port } from "../adapters/kube.js";\n' },
    ["commands-not-to-faces-or-adapters"],
  ],
  [
    "an adapter reaching a command",
    { "src/adapters/kube.ts": CLEAN["src/adapters/kube.ts"] + 'import "../commands/rotate.js";\n' },
    ["adapters-not-to-commands-or-faces"],
  ],
  [
    "config reaching an adapter",
    { "src/config/options.ts": CLEAN["src/config/options.ts"] + 'import "../adapters/kube.js";\n' },
    ["config-only-to-model", "no-circular"],
  ],
  [
    "a circle inside one layer",
    {
      "src/commands/a.ts": 'import { b } from "./b.js";\nexport const a = () => b;\n',
      "src/commands/b.ts": 'import { a } from "./a.js";\nexport const b = () => a;\n',
      "src/faces/cli.ts": CLEAN["src/faces/cli.ts"] + 'import "../commands/a.js";\n',
    },
    ["no-circular"],
  ],
  [
    "a type-only import that goes up",
    {
      "src/model/ports.ts":
        CLEAN["src/model/ports.ts"] +
        'import type { limit } from "../config/options.js";\nexport type L = typeof limit;\n',
    },
    ["model-to-nothing-of-ours", "no-circular"],
  ],
  ["a module nothing imports", { "src/model/dead.ts": "export const dead = 1;\n" }, ["no-orphans"]],
  [
    "an import of nothing",
    { "src/model/ports.ts": CLEAN["src/model/ports.ts"] + 'import "./gone.js";\n' },
    ["not-to-unresolvable"],
  ],
];

for (const [what, change, rules] of cases) {
  test(`the rules fail on ${what}`, async () => {
    assert.deepEqual(await broken(tree({ ...CLEAN, ...change })), [...rules].sort());
  });
}
