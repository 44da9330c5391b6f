// Bundles the Action (dist/index.js) and the CLI (dist/cli.js) as ESM with
// esbuild. `--outdir DIR` builds elsewhere, which the dist freshness test uses.
import { build } from "esbuild";
import { chmodSync } from "node:fs";
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
  minify: false,
  sourcemap: false,
  logLevel: "warning",
};

await build({ ...common, entryPoints: ["src/index.ts"], outfile: join(outdir, "index.js"), banner: { js: banner } });
await build({ ...common, entryPoints: ["src/bin.ts"], outfile: join(outdir, "cli.js"), banner: { js: banner } });
chmodSync(join(outdir, "cli.js"), 0o755);

// action.yml, the GitLab component and the README's option table come from
// the same option table as the CLI flags.
if (outIndex < 0) {
  const { execFileSync } = await import("node:child_process");
  execFileSync(process.execPath, ["--import", "tsx", "scripts/write-action-yml.ts"], { stdio: "inherit" });
  execFileSync(process.execPath, ["--import", "tsx", "scripts/write-component.ts"], { stdio: "inherit" });
  execFileSync(process.execPath, ["--import", "tsx", "scripts/write-readme-options.ts"], { stdio: "inherit" });
}
