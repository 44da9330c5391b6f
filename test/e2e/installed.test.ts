// The npm package as users install it (the component and the CronJob example
// install the CLI from npm): what `npm publish` would upload, and the CLI that
// `npm install -g` of the packed tarball puts on PATH, rotating end to end.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { VERSION } from "../../src/config/version.ts";
import { npm, packAndInstall, type Installed } from "../support/package.ts";
import { leaks, NAMESPACES, PAT, PROJECT, run, startWorld, type Captured, type World } from "../support/world.ts";

let world: World;
let installed: Installed;
const runs: Captured[] = [];

before(async () => {
  world = await startWorld();
  installed = packAndInstall(join(world.dir, "npm"));
});
after(async () => {
  await world?.close();
});

test("npm publish --dry-run lists only the bundled CLI, the README, the licence and package.json", () => {
  const [report] = Object.values(JSON.parse(npm(["publish", "--dry-run", "--json", "--offline"]))) as Array<{
    files: Array<{ path: string }>;
  }>;
  assert.deepEqual(report!.files.map((f) => f.path).sort(), ["LICENSE", "README.md", "dist/cli.js", "package.json"]);
  const pkg = JSON.parse(
    readFileSync(join(installed.prefix, "lib", "node_modules", "gitlab-pull-secret", "package.json"), "utf8"),
  );
  assert.equal(pkg.dependencies, undefined, "dist/ is bundled: a published package depends on nothing");
  assert.equal(pkg.repository.url, "git+https://github.com/gitlab-pull-secret/gitlab-pull-secret.git");
  assert.ok(pkg.homepage && pkg.bugs?.url && pkg.keywords?.length > 0);
});

test("npm install -g of the tarball, offline with an empty cache, installs the CLI and nothing else", () => {
  const pkgDir = join(installed.prefix, "lib", "node_modules", "gitlab-pull-secret");
  assert.deepEqual(readdirSync(join(installed.prefix, "lib", "node_modules")), ["gitlab-pull-secret"]);
  assert.equal(existsSync(join(pkgDir, "node_modules")), false, "no dependency installed");
  assert.match(installed.installLog, /added 1 package/);
  assert.ok(existsSync(installed.bin));
});

test("the installed gitlab-pull-secret rotates end to end, twice, and the Secrets pull", async () => {
  const version = await run(installed.bin, ["--version"], world.baseEnv());
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout.trim(), VERSION);

  const args = [
    "rotate",
    "--gitlab-url",
    world.gitlab.url,
    "--project",
    PROJECT.path,
    "--kubeconfig",
    world.kubeconfig,
    "--namespace",
    NAMESPACES.join(","),
    ...world.verifyFlags(),
    "--json",
  ];
  const env = { ...world.baseEnv(), GITLAB_TOKEN: PAT };
  const ids: number[] = [];
  for (const round of [1, 2]) {
    const r = await run(installed.bin, args, env);
    runs.push(r);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    ids.push(report.token.id);
    for (const ns of NAMESPACES) {
      assert.equal(
        world.kube.getObject("secrets", ns, "gitlab-pull-secret").metadata.annotations[
          "gitlab-pull-secret.io/token-id"
        ],
        String(report.token.id),
      );
    }
    assert.deepEqual(report.revokedTokenIds, round === 1 ? [] : [ids[0]]);
    if (world.registry) {
      const pulled = await world.pull(world.authfileFromSecret("team-b", "gitlab-pull-secret"));
      assert.ok(pulled.ok, pulled.stderr);
    }
  }
  assert.equal(world.gitlab.isLive(ids[0]!), false, "the first token is revoked");
  assert.equal(world.gitlab.isLive(ids[1]!), true);
  assert.deepEqual(leaks(world, runs), []);
});
