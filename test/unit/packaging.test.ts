// What ships must match the source: dist/ rebuilt, action.yml from the option
// table, the version in one place.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import yaml from "js-yaml";
import { actionYaml } from "../../src/faces/action-metadata.js";
import { OPTIONS, OUTPUTS } from "../../src/config/options.js";
import { withOptionsTable } from "../../src/faces/options-doc.js";
import { VERSION } from "../../src/config/version.js";

const root = new URL("../../", import.meta.url).pathname;

test("the committed dist/ is what `npm run build` makes from src/", () => {
  const out = mkdtempSync(join(tmpdir(), "gps-dist-"));
  try {
    execFileSync(process.execPath, ["scripts/build.mjs", "--outdir", out], { cwd: root });
    for (const file of ["index.js", "cli.js"]) {
      const fresh = readFileSync(join(out, file), "utf8");
      const committed = readFileSync(join(root, "dist", file), "utf8");
      assert.ok(fresh === committed, `dist/${file} is stale: run npm run build and commit dist/`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("action.yml is generated from the option table", () => {
  assert.equal(readFileSync(join(root, "action.yml"), "utf8"), actionYaml(), "action.yml drifted: run npm run build");
  const meta = yaml.load(readFileSync(join(root, "action.yml"), "utf8")) as any;
  assert.deepEqual(Object.keys(meta.inputs).sort(), OPTIONS.flatMap((o) => (o.input ? [o.input] : [])).sort());
  assert.deepEqual(Object.keys(meta.outputs).sort(), OUTPUTS.map((o) => o.name).sort());
  assert.equal(meta.runs.using, "node24");
  assert.equal(meta.runs.main, "dist/index.js");
});

test("the option table in docs/options.md is generated from the option table, and only there", () => {
  const doc = readFileSync(join(root, "docs", "options.md"), "utf8");
  assert.equal(doc, withOptionsTable(doc), "docs/options.md option table drifted: run npm run build");
  for (const o of OPTIONS)
    if (o.flag) assert.ok(doc.includes(`\`--${o.flag}\``), `docs/options.md documents --${o.flag}`);
  // One place: a second copy elsewhere would drift unchecked.
  const others = [
    "README.md",
    ...readdirSync(join(root, "docs"))
      .filter((f) => f.endsWith(".md") && f !== "options.md")
      .map((f) => join("docs", f)),
  ];
  for (const f of others)
    assert.ok(
      !readFileSync(join(root, f), "utf8").includes("<!-- options:begin"),
      `${f} holds a copy of the option table`,
    );
});

test("the version is package.json's", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  assert.equal(VERSION, pkg.version);
  assert.equal(pkg.bin["gitlab-pull-secret"], "dist/cli.js");
});

test("the package has no runtime dependency and publishes only the bundled CLI", () => {
  // dist/cli.js bundles every package it uses; test/e2e/installed.test.ts proves it by
  // installing the packed tarball offline and rotating with it.
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  assert.equal(pkg.dependencies, undefined, "runtime packages belong in devDependencies: dist/ is bundled");
  assert.deepEqual(pkg.files, ["dist/cli.js"]);
});
