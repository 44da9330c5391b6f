// Bundles the Action (dist/index.js) and the CLI (dist/cli.js) as ESM with
// esbuild. `--outdir DIR` builds elsewhere, which the dist freshness test uses.
import { build } from "esbuild";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const outIndex = process.argv.indexOf("--outdir");
const outdir = outIndex > 0 ? process.argv[outIndex + 1] : "dist";

// Some dependencies are CommonJS and require() Node built-ins; an ESM bundle
// needs a real require for them.
const banner =
  "import { createRequire as __gpsCreateRequire } from 'node:module';\nconst require = __gpsCreateRequire(import.meta.url);";

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  legalComments: "none",
  charset: "ascii",
  minify: false,
  sourcemap: false,
  logLevel: "warning",
};

/**
 * V8 keeps a source holding any non-ASCII character as UTF-16, which it decodes and scans at about twice the
 * cost: some 25 ms of every start of the CLI. esbuild's charset "ascii" escapes strings, templates and names;
 * what it leaves as written (the dependencies' comments, regular expression literals) is escaped here as
 * \uXXXX, which means the same character in a regular expression and is only text in a comment.
 */
function asciiOnly(file) {
  const text = readFileSync(file, "utf8");
  const escaped = text.replace(/[^\0-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  if (escaped !== text) writeFileSync(file, escaped);
}

for (const [entry, file] of [
  ["src/index.ts", "index.js"],
  ["src/bin.ts", "cli.js"],
]) {
  await build({ ...common, entryPoints: [entry], outfile: join(outdir, file), banner: { js: banner } });
  asciiOnly(join(outdir, file));
}
chmodSync(join(outdir, "cli.js"), 0o755);

// action.yml, the GitLab component and the README's option table come from
// the same option table as the CLI flags.
if (outIndex < 0) {
  const { execFileSync } = await import("node:child_process");
  execFileSync(process.execPath, ["--import", "tsx", "scripts/write-action-yml.ts"], { stdio: "inherit" });
  execFileSync(process.execPath, ["--import", "tsx", "scripts/write-component.ts"], { stdio: "inherit" });
  execFileSync(process.execPath, ["--import", "tsx", "scripts/write-readme-options.ts"], { stdio: "inherit" });
}
