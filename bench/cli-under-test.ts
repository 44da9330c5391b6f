// The CLI under test: dist/cli.js when it matches a fresh build of src/, otherwise the fresh
// build (other people edit src/ while dist/ lags).
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { DIST_CLI, DIST_INDEX, ROOT } from "./config.ts";
import { runProc } from "./lib.ts";
import type { ChosenCli } from "./measurements.ts";
import type { Session } from "./session.ts";

/** A file's size in bytes, NaN when it is missing. */
const size = (p: string) => (existsSync(p) ? statSync(p).size : NaN);

/** Sizes of dist/cli.js and dist/index.js as they are now. */
export const distSizes = (): { cli: number; index: number } => ({ cli: size(DIST_CLI), index: size(DIST_INDEX) });

export async function chooseCli(session: Session): Promise<ChosenCli> {
  const out = join(session.tmp, "build");
  const b = await runProc(process.execPath, [join(ROOT, "scripts", "build.mjs"), "--outdir", out], {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "",
  });
  if (b.code !== 0) {
    session.notes.push(
      `A fresh build of src/ failed (${b.stderr.trim().split("\n")[0] ?? ""}); measured dist/cli.js as it is.`,
    );
    return { cli: DIST_CLI, what: "dist/cli.js (could not check it against src/)", fresh: undefined };
  }
  const fresh = { cli: size(join(out, "cli.js")), index: size(join(out, "index.js")) };
  const same = (a: string, c: string) => existsSync(a) && readFileSync(a).equals(readFileSync(c));
  if (same(DIST_CLI, join(out, "cli.js")))
    return { cli: DIST_CLI, what: "dist/cli.js (identical to a fresh build of src/)", fresh };
  session.notes.push(
    "dist/cli.js differed from a fresh build of the current src/ (src/ is being edited and dist/ lags), " +
      "so the runs used a fresh `scripts/build.mjs --outdir` bundle of src/ in a temp dir; " +
      "bundle sizes of both are reported.",
  );
  return { cli: join(out, "cli.js"), what: "a fresh esbuild bundle of src/ (dist/cli.js was stale)", fresh };
}
