// The npm package as users get it: `npm pack`, then `npm install -g --prefix`
// of the tarball, offline with an empty cache, so the install can fetch
// nothing: a bundled dist/ must need no dependency.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./world.ts";

export interface Installed {
  tarball: string;
  prefix: string;
  /** The installed command, as npm links it: PREFIX/bin/gitlab-pull-secret. */
  bin: string;
  /** What npm printed for the install. */
  installLog: string;
}

/**
 * npm's own environment: this machine's, for npm's registry and CA settings
 * (NODE_EXTRA_CA_CERTS here names the system bundle npm needs). A test that
 * trusts a stand-in's CA must never hand that bundle to npm.
 */
export function npmEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const k of ["GITLAB_TOKEN", "REGISTRY_PASSWORD", "GITLAB_PULL_SECRET_TOKEN"]) delete env[k];
  return { ...env, ...extra };
}

export function npm(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): string {
  return execFileSync("npm", args, {
    cwd: opts.cwd ?? ROOT,
    env: npmEnv(opts.env),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

export function packAndInstall(dir: string): Installed {
  const packDir = join(dir, "pack");
  const prefix = join(dir, "prefix");
  const cache = join(dir, "npm-cache");
  for (const d of [packDir, prefix, cache]) mkdirSync(d, { recursive: true });
  const [packed] = JSON.parse(npm(["pack", "--json", "--pack-destination", packDir])) as Array<{ filename: string }>;
  const tarball = join(packDir, packed!.filename);
  // --offline with an empty cache: anything beyond the tarball itself would fail the install.
  const installLog = npm(
    ["install", "-g", "--prefix", prefix, "--offline", "--cache", cache, "--no-audit", "--no-fund", tarball],
    { cwd: dir },
  );
  return { tarball, prefix, bin: join(prefix, "bin", "gitlab-pull-secret"), installLog };
}
