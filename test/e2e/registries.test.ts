// Registries and tokens end to end, through the built CLI (and the Action for
// the masking of a static password): group deploy tokens, the legacy
// kubernetes.io/dockercfg Secret, registry aliases, and static credentials for
// a registry the tool mints nothing for. The real kubectl against the
// Kubernetes stand-in, the GitLab stand-in, and the real registry pulled from
// by skopeo. Every test ends with the leak scan.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { haveRegistryTools, seedImage, skopeoInspect } from "../support/registry.ts";
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

const GROUP = { id: 7, path: "grp" };
const OTHER = { id: 43, path: "grp/other" };
const OWNER_PAT = "glpat-e2eGroupOwnerSecret003";
/** Static credentials: a registry user (here GitLab's, with read_registry PATs, as any registry account). */
const ROBOT = "robot";
const ROBOT_PW = ["glpat-e2eRobotPasswordOne04", "glpat-e2eRobotPasswordTwo05"] as const;
const ALIAS = "proxy.example.com:8443";

const skipRegistry =
  !haveRegistryTools() && !registryRequired()
    ? "docker-registry/skopeo not installed (CI=true makes this fail)"
    : false;

describe("registries and tokens", () => {
  let w: World;
  const runs: Captured[] = [];
  const cli = async (args: string[], env: Record<string, string> = {}): Promise<Captured> => {
    const r = await w.runCli([...args, "--kubeconfig", w.kubeconfig], { env });
    runs.push(r);
    return r;
  };
  const assertNoLeaks = () => assert.deepEqual(leaks(w, runs), [], "a secret form leaked");
  const host = () => w.registry?.host ?? "registry.test:5005";
  const caFlags = () => (w.registry ? ["--ca-file", w.registry.caPath] : []);
  const pull = async (image: string, ns: string, name: string) => {
    const r = await skopeoInspect(w.registry!, image, w.authfileFromSecret(ns, name));
    return { ok: r.ok, stderr: r.stderr };
  };
  const live = () => w.gitlab.tokens.filter((t) => w.gitlab.isLive(t.id));
  const versions = (name: string, namespaces = NAMESPACES) =>
    namespaces.map((ns) => w.kube.getObject("secrets", ns, name)?.metadata.resourceVersion);
  const annotation = (ns: string, name: string, key: string) =>
    w.kube.getObject("secrets", ns, name)?.metadata.annotations?.[`gitlab-pull-secret.io/${key}`];
  const config = (ns: string, name: string): any => {
    const s = w.kube.getObject("secrets", ns, name);
    return JSON.parse(
      Buffer.from(
        s.data[s.type === "kubernetes.io/dockercfg" ? ".dockercfg" : ".dockerconfigjson"],
        "base64",
      ).toString(),
    );
  };
  /** What the tool asked the API server to change (dry runs and access reviews change nothing). */
  const kubeWrites = () =>
    w.kube.requests.filter((q) => q.method !== "GET" && !/dryRun=All/.test(q.query) && !q.path.includes("/leases"));

  before(async () => {
    w = await startWorld();
    // A group above grp/app with a second project: an Owner may mint group deploy
    // tokens, the Maintainer (of the project and the group) may not.
    w.gitlab.addUser({ username: "group-owner" });
    w.gitlab.addPersonalAccessToken("group-owner", OWNER_PAT, ["api"]);
    w.gitlab.addUser({ username: ROBOT });
    for (const pw of ROBOT_PW) w.gitlab.addPersonalAccessToken(ROBOT, pw, ["read_registry"]);
    w.gitlab.addGroup({
      id: GROUP.id,
      path: GROUP.path,
      members: { "group-owner": "owner", maintainer: "maintainer", [ROBOT]: "reporter" },
    });
    w.gitlab.addProject({ id: OTHER.id, path: OTHER.path });
    if (w.registry) await seedImage(w.registry, OTHER.path, "latest", { username: "root", token: ADMIN_PAT });
    for (const pw of ROBOT_PW) w.addCredentials(ROBOT, pw);
  });
  after(async () => {
    await w?.close();
  });

  describe("group deploy tokens", () => {
    const SECRET = "group-pull";
    const args = () => [
      "rotate",
      "--gitlab-url",
      w.gitlab.url,
      "--group",
      GROUP.path,
      "--registry",
      host(),
      "--secret-name",
      SECRET,
      "--namespace",
      NAMESPACES.join(","),
      "--json",
      ...(w.registry ? [...caFlags(), "--verify-image", `${OTHER.path}:latest`] : ["--no-verify"]),
    ];

    test("an Owner rotates; one group token pulls images of every project of the group", async () => {
      const r = await cli(args(), { GITLAB_TOKEN: OWNER_PAT });
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      const token = w.gitlab.tokens.find((t) => t.id === out.token.id)!;
      assert.deepEqual(token.owner, { kind: "group", id: GROUP.id });
      assert.deepEqual(token.scopes, ["read_registry"]);
      for (const ns of NAMESPACES) assert.equal(annotation(ns, SECRET, "owner"), `group/${GROUP.id}`);
      if (!skipRegistry) {
        for (const image of [`${OTHER.path}:latest`, `${PROJECT.path}:latest`]) {
          const p = await pull(image, "team-b", SECRET);
          assert.ok(p.ok, `${image}: ${p.stderr}`);
        }
        assert.match(r.stderr, /Verified: the new token pulls grp\/other:latest/);
      }
      assertNoLeaks();
    });

    test("a Maintainer of the group is refused before the create (its role read from GitLab) with the Owner hint; nothing is minted or written", async () => {
      const before = { tokens: w.gitlab.tokens.length, versions: versions(SECRET) };
      w.gitlab.resetRequests();
      const r = await cli(args(), { GITLAB_TOKEN: PAT });
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /checking the API token's role failed: the GitLab API token's user is Maintainer of group grp; group deploy tokens need Owner/,
      );
      assert.match(r.stderr, /Group deploy tokens need the Owner role \(Maintainer is not enough\)/);
      assert.ok(!w.gitlab.requests.some((q) => q.method === "POST"), "no create was even tried");
      assert.equal(w.gitlab.tokens.length, before.tokens);
      assert.deepEqual(versions(SECRET), before.versions);
      assertNoLeaks();
    });

    test("the second rotation revokes the first group token; the old config no longer pulls", async () => {
      const [first] = live().filter((t) => t.owner.kind === "group");
      const oldAuthfile = w.authfileFromSecret("team-a", SECRET);
      const r = await cli(args(), { GITLAB_TOKEN: OWNER_PAT });
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.deepEqual(out.revokedTokenIds, [first!.id]);
      assert.ok(!w.gitlab.isLive(first!.id));
      assert.deepEqual(
        live()
          .filter((t) => t.owner.kind === "group")
          .map((t) => t.id),
        [out.token.id],
      );
      if (!skipRegistry) {
        assert.equal(
          (await skopeoInspect(w.registry!, `${OTHER.path}:latest`, oldAuthfile)).ok,
          false,
          "the revoked group token must not pull",
        );
        assert.ok((await pull(`${OTHER.path}:latest`, "team-c", SECRET)).ok);
      }
      assertNoLeaks();
    });
  });

  describe("--scope: the Dependency Proxy's scopes on a group token", () => {
    const SECRET = "proxy-pull";
    const PROXY_SCOPES = ["read_registry", "read_virtual_registry", "write_virtual_registry"];
    /** The Dependency Proxy answers on the GitLab host itself: images are <host>/<group>/dependency_proxy/containers/<image>. */
    const PROXY_HOST = "gitlab.example.com";
    const args = (command: string, extra: string[]) => [
      command,
      "--gitlab-url",
      w.gitlab.url,
      "--group",
      GROUP.path,
      "--registry",
      host(),
      "--registry-alias",
      PROXY_HOST,
      "--secret-name",
      SECRET,
      "--namespace",
      "team-a,team-b",
      ...(w.registry ? [...caFlags(), "--verify-image", `${OTHER.path}:latest`] : ["--no-verify"]),
      ...extra,
    ];
    const scopesOf = (id: number) => [...w.gitlab.tokens.find((t) => t.id === id)!.scopes];

    test("mints with the scopes asked for; the Secret names the proxy's host and pulls from the registry", async () => {
      const r = await cli(
        args("rotate", [
          "--scope",
          "read_virtual_registry,write_virtual_registry",
          "--scope",
          "read_registry",
          "--json",
        ]),
        {
          GITLAB_TOKEN: OWNER_PAT,
        },
      );
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.deepEqual(scopesOf(out.token.id), PROXY_SCOPES, "the stand-in stored what the mint sent");
      assert.match(
        r.stderr,
        new RegExp(
          `Minted deploy token ${out.token.id} \\(\\S+, scopes read_registry, read_virtual_registry, write_virtual_registry\\)`,
        ),
      );
      for (const ns of ["team-a", "team-b"])
        assert.deepEqual(Object.keys(config(ns, SECRET).auths), [host(), PROXY_HOST]);
      if (!skipRegistry) {
        assert.match(r.stderr, /Verified: the new token pulls grp\/other:latest/);
        assert.ok((await pull(`${OTHER.path}:latest`, "team-b", SECRET)).ok);
      }
      assertNoLeaks();
    });

    test("plan predicts it: the default scope makes the current token due although it has days left", async () => {
      const [current] = live().filter((t) => t.name.includes(`/${SECRET}/`));
      w.gitlab.resetRequests();
      const r = await cli(args("plan", ["--rotate-before", "1d"]), { GITLAB_TOKEN: OWNER_PAT });
      assert.equal(r.code, 0, r.stderr);
      const why = `deploy token ${current!.id} has scopes read_registry, read_virtual_registry, write_virtual_registry, not read_registry \\(--scope\\)`;
      assert.match(r.stdout + r.stderr, new RegExp(`: rotate, because ${why}`));
      assert.match(r.stdout + r.stderr, /Mint: {4}a deploy token with scopes read_registry named /);
      assert.ok(!w.gitlab.requests.some((q) => q.method !== "GET"), "plan changes nothing");
      assertNoLeaks();
    });

    test("the next run with the default scope rotates, saying why, and revokes the token with the proxy's scopes", async () => {
      const [current] = live().filter((t) => t.name.includes(`/${SECRET}/`));
      const r = await cli(args("rotate", ["--rotate-before", "1d", "--json"]), { GITLAB_TOKEN: OWNER_PAT });
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `Rotating: deploy token ${current!.id} has scopes read_registry, read_virtual_registry, write_virtual_registry, not read_registry \\(--scope\\)`,
        ),
      );
      const out = JSON.parse(r.stdout);
      assert.deepEqual(scopesOf(out.token.id), ["read_registry"]);
      assert.deepEqual(out.revokedTokenIds, [current!.id]);
      assert.ok(!w.gitlab.isLive(current!.id));
      // The same scopes again: nothing is due.
      const again = await cli(args("rotate", ["--rotate-before", "1d", "--json"]), { GITLAB_TOKEN: OWNER_PAT });
      assert.equal(again.code, 0, again.stderr);
      assert.equal(JSON.parse(again.stdout).changed, false);
      assert.match(again.stderr, /Nothing to do: deploy token \d+ has \d+d left, more than --rotate-before/);
      assertNoLeaks();
    });

    test("a write scope is refused before any request, saying why", async () => {
      w.gitlab.resetRequests();
      const r = await cli(args("rotate", ["--scope", "read_registry,write_registry"]), { GITLAB_TOKEN: OWNER_PAT });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--scope: invalid value "write_registry".*push images to every container registry/);
      assert.deepEqual(w.gitlab.requests, []);
      assertNoLeaks();
    });
  });

  describe("kubernetes.io/dockercfg and registry aliases", () => {
    const SECRET = "legacy-pull";
    const rotate = (extra: string[]) => [
      "rotate",
      "--gitlab-url",
      w.gitlab.url,
      "--project",
      PROJECT.path,
      "--secret-name",
      SECRET,
      "--namespace",
      "team-a,team-b",
      ...w.verifyFlags(),
      ...extra,
    ];

    test("--secret-type dockercfg: the host map under .dockercfg (no auths) for the registry and its alias, and it pulls", async () => {
      const r = await cli(rotate(["--secret-type", "dockercfg", "--registry-alias", ALIAS, "--json"]));
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      const token = w.gitlab.tokens.find((t) => t.id === out.token.id)!;
      for (const ns of ["team-a", "team-b"]) {
        const s = w.kube.getObject("secrets", ns, SECRET);
        assert.equal(s.type, "kubernetes.io/dockercfg");
        assert.deepEqual(Object.keys(s.data), [".dockercfg"]);
        const map = config(ns, SECRET);
        assert.equal(map.auths, undefined, "the legacy shape has no auths wrapper");
        assert.deepEqual(Object.keys(map), [host(), ALIAS]);
        for (const entry of Object.values(map) as Array<{ auth: string }>) {
          assert.equal(Buffer.from(entry.auth, "base64").toString(), `${token.username}:${token.token}`);
        }
        assert.equal(annotation(ns, SECRET, "registry-aliases"), ALIAS);
      }
      if (!skipRegistry) {
        // authfileFromSecret wraps the .dockercfg map as {"auths": map}, as the kubelet reads it.
        const p = await pull(`${PROJECT.path}:latest`, "team-a", SECRET);
        assert.ok(p.ok, p.stderr);
      }
      assertNoLeaks();
    });

    test("switching the type of the existing Secret fails before anything is minted or written, naming another --secret-name", async () => {
      const before = { tokens: w.gitlab.tokens.length, versions: versions(SECRET, ["team-a", "team-b"]) };
      w.kube.resetRequests();
      const r = await cli(rotate(["--secret-type", "dockerconfigjson", "--registry-alias", ALIAS]));
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /Secret "legacy-pull" already exists with another type in namespace\(s\) team-a \(kubernetes\.io\/dockercfg\), team-b/,
      );
      assert.match(r.stderr, /another --secret-name/);
      assert.equal(w.gitlab.tokens.length, before.tokens, "nothing minted");
      assert.deepEqual(kubeWrites(), [], "the cluster was not asked to change anything");
      assert.ok(
        !w.kube.requests.some((q) => /dryRun=All/.test(q.query)),
        "found in the read state, before the server dry run",
      );
      assert.deepEqual(versions(SECRET, ["team-a", "team-b"]), before.versions);
      assertNoLeaks();
    });

    test("status reads the dockercfg Secrets (and flags them when another type is asked); render --format secret honours the type", async () => {
      const base = [
        "--gitlab-url",
        w.gitlab.url,
        "--project",
        PROJECT.path,
        "--secret-name",
        SECRET,
        "--namespace",
        "team-a,team-b",
        "--json",
      ];
      const ok = await cli(["status", ...base, "--secret-type", "dockercfg", "--warn-within", "1h"]);
      assert.equal(ok.code, 0, ok.stderr);
      const status = JSON.parse(ok.stdout);
      assert.deepEqual(
        status.secrets.map((s: any) => [s.namespace, s.type, s.credentials]),
        [
          ["team-a", "kubernetes.io/dockercfg", "deploy-token"],
          ["team-b", "kubernetes.io/dockercfg", "deploy-token"],
        ],
      );
      const wrong = await cli(["status", ...base, "--warn-within", "1h"]);
      assert.equal(wrong.code, 3);
      assert.ok(JSON.parse(wrong.stdout).findings.some((f: any) => f.kind === "wrong-type"));

      // render never contacts the cluster, so no --kubeconfig.
      const rendered = await w.runCli([
        "render",
        "--gitlab-url",
        w.gitlab.url,
        "--project",
        PROJECT.path,
        "--format",
        "secret",
        "--secret-type",
        "dockercfg",
        "--namespace",
        "team-c",
        ...w.verifyFlags(),
      ]);
      assert.equal(rendered.code, 0, rendered.stderr);
      assert.match(rendered.stdout, /^type: kubernetes\.io\/dockercfg$/m);
      assert.match(rendered.stdout, /^ {2}\.dockercfg: /m);
      // render's stdout is the credential the user asked for: everything else is scanned.
      runs.push({ ...rendered, stdout: "" });
      assertNoLeaks();
    });
  });

  describe("static credentials", () => {
    const SECRET = "static-pull";
    const args = (extra: string[] = []) => [
      "rotate",
      "--username",
      ROBOT,
      "--registry",
      host(),
      "--secret-name",
      SECRET,
      "--namespace",
      NAMESPACES.join(","),
      "--service-account",
      "default",
      "--json",
      ...extra,
    ];

    test("applied to three namespaces and their default ServiceAccounts with zero GitLab requests, and they pull", async () => {
      w.gitlab.resetRequests();
      // GITLAB_TOKEN stays in the environment (world default): static runs ignore it.
      const r = await cli(args(), { REGISTRY_PASSWORD: ROBOT_PW[0] });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(w.gitlab.requests, [], "no GitLab request at all");
      const out = JSON.parse(r.stdout);
      assert.equal(out.changed, true);
      assert.equal(out.token, null);
      for (const ns of NAMESPACES) {
        assert.equal(annotation(ns, SECRET, "token-id"), "static");
        assert.equal(annotation(ns, SECRET, "owner"), "static");
        assert.match(annotation(ns, SECRET, "config-sha256"), /^[0-9a-f]{64}$/);
        assert.equal(annotation(ns, SECRET, "expires-at"), undefined);
        const entry = config(ns, SECRET).auths[host()];
        assert.equal(Buffer.from(entry.auth, "base64").toString(), `${ROBOT}:${ROBOT_PW[0]}`);
        assert.deepEqual(
          (w.kube.getObject("serviceaccounts", ns, "default").imagePullSecrets ?? []).map((e: any) => e.name),
          [SECRET],
        );
      }
      assert.match(
        r.stderr,
        /Static credentials of robot for .*: nothing is minted or revoked, GitLab is never called/,
      );
      if (!skipRegistry) {
        const p = await pull(`${PROJECT.path}:latest`, "team-c", SECRET);
        assert.ok(p.ok, p.stderr);
      }
      assertNoLeaks();
    });

    test("a re-run with the same password changes nothing", async () => {
      const before = versions(SECRET);
      w.gitlab.resetRequests();
      w.kube.resetRequests();
      const r = await cli(args(), { REGISTRY_PASSWORD: ROBOT_PW[0] });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).changed, false);
      assert.match(r.stderr, /Unchanged: every Secret already holds these credentials/);
      assert.deepEqual(versions(SECRET), before);
      assert.deepEqual(kubeWrites(), [], "no write, not even a dry run");
      assert.deepEqual(w.gitlab.requests, []);

      // plan with another password: it would apply, and says why; it changes nothing either.
      const plan = await cli(["plan", ...args().slice(1)], { REGISTRY_PASSWORD: ROBOT_PW[1] });
      assert.equal(plan.code, 0, plan.stderr);
      const p = JSON.parse(plan.stdout);
      assert.equal(p.due, true);
      assert.equal(p.mint, null);
      assert.deepEqual(p.static, { username: ROBOT });
      assert.match(p.reason, /holds other credentials/);
      assert.deepEqual(versions(SECRET), before);
      assert.deepEqual(w.gitlab.requests, []);
      assertNoLeaks();
    });

    test("a new password (from --password-file) re-applies, checked with --verify-image through the registry token flow only", async () => {
      const before = NAMESPACES.map((ns) => annotation(ns, SECRET, "config-sha256"));
      const file = `${w.dir}/registry-password`;
      (await import("node:fs")).writeFileSync(file, `${ROBOT_PW[1]}\n`, { mode: 0o600 });
      w.gitlab.resetRequests();
      const verify = w.registry ? [...caFlags(), "--verify-image", `${PROJECT.path}:latest`] : [];
      const r = await cli([...args(verify), "--password-file", file], { REGISTRY_PASSWORD: "" });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).changed, true);
      for (const [i, ns] of NAMESPACES.entries()) {
        assert.notEqual(annotation(ns, SECRET, "config-sha256"), before[i]);
        assert.equal(
          Buffer.from(config(ns, SECRET).auths[host()].auth, "base64").toString(),
          `${ROBOT}:${ROBOT_PW[1]}`,
        );
      }
      // The pull check asks the registry, which sends it to its token service; never GitLab's API.
      assert.ok(
        w.gitlab.requests.every((q) => q.path === "/jwt/auth"),
        w.gitlab.requests.map((q) => q.path).join(" "),
      );
      if (!skipRegistry) {
        assert.ok(w.gitlab.requests.length > 0, "the pull check ran");
        assert.ok((await pull(`${PROJECT.path}:latest`, "team-a", SECRET)).ok);
      }
      assertNoLeaks();
    });

    test("status and revoke --username need no password and make no GitLab call; revoke deletes the Secrets and the ServiceAccount entries", async () => {
      w.gitlab.resetRequests();
      const base = ["--username", ROBOT, "--secret-name", SECRET, "--namespace", NAMESPACES.join(","), "--json"];
      const status = await cli(["status", ...base, "--warn-within", "3d"], { REGISTRY_PASSWORD: "" });
      assert.equal(status.code, 0, status.stderr);
      const s = JSON.parse(status.stdout);
      assert.equal(s.owner, null);
      assert.deepEqual(
        s.secrets.map((x: any) => [x.credentials, x.username]),
        NAMESPACES.map(() => ["static", ROBOT]),
      );
      assert.deepEqual(s.tokens, []);

      const dry = await cli(["revoke", ...base, "--service-account", "default"], { REGISTRY_PASSWORD: "" });
      assert.equal(dry.code, 2, dry.stderr);
      const done = await cli(["revoke", ...base, "--service-account", "default", "--yes"], { REGISTRY_PASSWORD: "" });
      assert.equal(done.code, 0, done.stderr);
      assert.deepEqual(JSON.parse(done.stdout).deletedSecrets, NAMESPACES);
      for (const ns of NAMESPACES) {
        assert.equal(w.kube.getObject("secrets", ns, SECRET), undefined);
        assert.deepEqual(w.kube.getObject("serviceaccounts", ns, "default").imagePullSecrets ?? [], []);
      }
      assert.deepEqual(w.gitlab.requests, []);
      assertNoLeaks();
    });

    test("through the Action: the password is registered with core.setSecret in every form, no GitLab request", async () => {
      w.gitlab.resetRequests();
      const r = await w.runAction({
        username: ROBOT,
        "registry-password": ROBOT_PW[1],
        registry: host(),
        "registry-aliases": `${ALIAS}\n`,
        namespaces: "team-a",
        "secret-name": "static-action",
        kubeconfig: w.kubeconfig,
      });
      runs.push(r);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const masks = r.stdout
        .split("\n")
        .filter((l) => l.startsWith("::add-mask::"))
        .map((l) => l.slice("::add-mask::".length));
      const userPass = `${ROBOT}:${ROBOT_PW[1]}`;
      const data = w.kube.getObject("secrets", "team-a", "static-action").data[".dockerconfigjson"];
      for (const form of [ROBOT_PW[1], userPass, Buffer.from(userPass).toString("base64"), data])
        assert.ok(masks.includes(form), "every form is masked");
      assert.deepEqual(Object.keys(config("team-a", "static-action").auths), [host(), ALIAS]);
      assert.match(r.files.GITHUB_OUTPUT!, /token-username<<\S+\nrobot\n/);
      assert.deepEqual(w.gitlab.requests, []);
      assertNoLeaks();
    });
  });
});
