// End to end through the built CLI and the bundled Action: real kubectl
// against the Kubernetes stand-in, the GitLab stand-in, and a real registry
// pulled from by a real client (skopeo). Every test ends with a leak scan.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { join } from "node:path";
import {
  kubeBackends,
  leaks,
  NAMESPACES,
  PROJECT,
  registryRequired,
  startWorld,
  type Captured,
  type World,
} from "../support/world.ts";
import { stopSharedControlPlane } from "../support/kube-real.ts";
import type { PolicyRule } from "../support/kube/index.ts";
import { haveRegistryTools } from "../support/registry.ts";

const SECRET = "regcred";
const common = ["--gitlab-url", "", "--project", PROJECT.path, "--secret-name", SECRET];

function cliArgs(world: World, extra: string[] = []): string[] {
  const args = [
    ...common,
    "--kubeconfig",
    world.kubeconfig,
    "--namespace",
    NAMESPACES.join(","),
    ...world.verifyFlags(),
    ...extra,
  ];
  args[1] = world.gitlab.url;
  return ["rotate", ...args];
}

function liveOurs(world: World): number[] {
  return world.gitlab.tokens.filter((t) => world.gitlab.isLive(t.id)).map((t) => t.id);
}

function secretTokenIds(world: World): Array<string | undefined> {
  return NAMESPACES.map(
    (ns) => world.kube.getObject("secrets", ns, SECRET)?.metadata.annotations?.["gitlab-pull-secret.io/token-id"],
  );
}

function assertNoLeaks(world: World, runs: Captured[]): void {
  assert.deepEqual(leaks(world, runs), [], "a secret form leaked");
}

const skipRegistry =
  !haveRegistryTools() && !registryRequired()
    ? "docker-registry/skopeo not installed (CI=true makes this fail)"
    : false;

/** What examples/rbac/role.yaml grants in `namespaces`, less `patch` on Secrets in `withoutPatch`: a real RBAC refusal on both backends. */
function rulesWithoutSecretPatch(namespaces: string[], withoutPatch: string): PolicyRule[] {
  const role = (secretVerbs: string[], ns: string[]): PolicyRule[] => [
    { apiGroups: [""], resources: ["secrets"], verbs: secretVerbs, namespaces: ns },
    { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["get", "update"], namespaces: ns },
    {
      apiGroups: ["coordination.k8s.io"],
      resources: ["leases"],
      verbs: ["get", "list", "create", "update", "delete"],
      namespaces: ns,
    },
  ];
  return [
    ...role(
      ["get", "create", "patch"],
      namespaces.filter((n) => n !== withoutPatch),
    ),
    ...role(["get", "create"], [withoutPatch]),
  ];
}

after(stopSharedControlPlane);

for (const backend of kubeBackends()) {
  describe(`rotate through the CLI (${backend})`, () => {
    let world: World;
    const runs: Captured[] = [];
    before(async () => {
      world = await startWorld({ backend });
    });
    after(async () => {
      await world?.close();
    });

    test("first rotation creates the Secret in three namespaces and prints one JSON object", async () => {
      const r = await world.runCli(cliArgs(world, ["--json"]));
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      const live = liveOurs(world);
      assert.equal(live.length, 1);
      assert.deepEqual(Object.keys(out).sort(), [
        "changed",
        "dryRun",
        "filledNamespaces",
        "namespaces",
        "revokedTokenIds",
        "secretName",
        "skippedNamespaces",
        "token",
      ]);
      assert.deepEqual(out.filledNamespaces, []);
      assert.deepEqual(out.skippedNamespaces, []);
      assert.equal(out.changed, true);
      assert.equal(out.dryRun, false);
      assert.equal(out.secretName, SECRET);
      assert.deepEqual(out.namespaces, NAMESPACES);
      assert.equal(out.token.id, live[0]);
      assert.match(out.token.username, /^gitlab\+deploy-token-\d+$/);
      assert.deepEqual(out.revokedTokenIds, []);
      const minted = world.gitlab.tokens.find((t) => t.id === live[0])!;
      assert.deepEqual(minted.scopes, ["read_registry"]);
      // The cluster part is the uid of the Lease kept in the first namespace, released (no holder) between runs.
      const lease = world.kube.getObject("leases", "team-a", "gitlab-pull-secret-regcred");
      assert.equal(lease.spec.holderIdentity, undefined, "the Lease is kept, with its holder cleared");
      assert.equal(minted.name.split("/")[1], `cluster-${lease.metadata.uid}`);
      assert.match(
        minted.name,
        /^gitlab-pull-secret\/cluster-[0-9a-f-]{36}\/regcred\/[0-9a-f]{8}\/\d{8}T\d{6}Z-[0-9a-f]{6}$/,
      );
      for (const ns of NAMESPACES) {
        const s = world.kube.getObject("secrets", ns, SECRET);
        assert.equal(s.type, "kubernetes.io/dockerconfigjson");
        assert.equal(s.metadata.labels["app.kubernetes.io/managed-by"], "gitlab-pull-secret");
        assert.equal(s.metadata.annotations["gitlab-pull-secret.io/token-id"], String(live[0]));
        assert.equal(s.metadata.annotations["gitlab-pull-secret.io/owner"], `project/${PROJECT.id}`);
        const cfg = JSON.parse(Buffer.from(s.data[".dockerconfigjson"], "base64").toString());
        const entry = Object.values(cfg.auths)[0] as { auth: string; username: string };
        assert.equal(Buffer.from(entry.auth, "base64").toString(), `${minted.username}:${minted.token}`);
      }
      // Human logs go to stderr and name what happened.
      assert.match(r.stderr, /Rotated Secret "regcred" in team-a, team-b, team-c/);
      assertNoLeaks(world, runs);
    });

    test("a real client pulls with the Secret's docker config", { skip: skipRegistry }, async () => {
      const pulled = await world.pull(world.authfileFromSecret("team-b", SECRET));
      assert.ok(pulled.ok, pulled.stderr);
    });

    test("second rotation replaces all three, revokes the first token; the old config no longer pulls", async () => {
      const [firstId] = liveOurs(world);
      const oldAuthfile = world.authfileFromSecret("team-a", SECRET);
      const r = await world.runCli(cliArgs(world, ["--json"]));
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.deepEqual(out.revokedTokenIds, [firstId]);
      assert.ok(!world.gitlab.isLive(firstId!), "the first token is gone from GitLab");
      assert.deepEqual(liveOurs(world), [out.token.id]);
      assert.deepEqual(
        secretTokenIds(world),
        NAMESPACES.map(() => String(out.token.id)),
      );
      if (!skipRegistry) {
        const old = await world.pull(oldAuthfile);
        assert.equal(old.ok, false, "the revoked token must not pull");
        const fresh = await world.pull(world.authfileFromSecret("team-c", SECRET));
        assert.ok(fresh.ok, fresh.stderr);
      }
      assertNoLeaks(world, runs);
    });

    test("kubectl got the manifests on stdin: no secret in argv or env, one apply for all namespaces", () => {
      const calls = world.kubectlCalls();
      const applies = calls.filter((c) => c.argv.includes("apply"));
      // Per run: one server dry run, one apply.
      assert.equal(applies.filter((c) => !c.argv.includes("--dry-run=server")).length, 2);
      for (const c of calls) {
        const writes = ["apply", "create", "replace"].some((verb) => c.argv.includes(verb));
        if (writes) assert.ok(c.argv.includes("-f") && c.argv.includes("-"), `stdin manifests: ${c.argv.join(" ")}`);
        assert.ok(!/GITLAB_TOKEN|INPUT_/.test(c.env), "no secret variable and no Action input reaches kubectl");
      }
      assertNoLeaks(world, runs);
    });

    test("a forbidden namespace leaves every Secret as it was and no new live token", async () => {
      const before = secretTokenIds(world);
      const liveBefore = liveOurs(world);
      const versions = NAMESPACES.map((ns) => world.kube.getObject("secrets", ns, SECRET).metadata.resourceVersion);
      world.kube.addUser("no-patch-b", rulesWithoutSecretPatch(NAMESPACES, "team-b"));
      const args = cliArgs(world);
      args[args.indexOf("--kubeconfig") + 1] = world.kube.writeKubeconfig(
        join(world.dir, "kube-no-patch-b"),
        "no-patch-b",
      );
      const r = await world.runCli(args);
      runs.push(r);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /server dry run\) failed in 1 namespace:\n {2}team-b: User "no-patch-b"/);
      assert.match(
        r.stderr,
        /User "no-patch-b" cannot patch resource "secrets" in API group "" in the namespace "team-b"/,
      );
      assert.deepEqual(secretTokenIds(world), before);
      assert.deepEqual(
        NAMESPACES.map((ns) => world.kube.getObject("secrets", ns, SECRET).metadata.resourceVersion),
        versions,
      );
      assert.deepEqual(liveOurs(world), liveBefore);
      assertNoLeaks(world, runs);
    });

    test("with --missing-namespace fail a missing namespace is an error naming it, and changes nothing", async () => {
      const before = secretTokenIds(world);
      const liveBefore = liveOurs(world);
      const args = cliArgs(world, ["--missing-namespace", "fail"]);
      args[args.indexOf("--namespace") + 1] = `${NAMESPACES.join(",")},no-such-ns`;
      const r = await world.runCli(args);
      runs.push(r);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /finding the namespaces failed in namespace\(s\) no-such-ns: no-such-ns \(does not exist\)\. Nothing was changed \(--missing-namespace fail\)/,
      );
      assert.deepEqual(secretTokenIds(world), before);
      assert.deepEqual(liveOurs(world), liveBefore);
      assertNoLeaks(world, runs);
    });

    test("an unmanaged Secret is refused without --adopt, taken over with it", async () => {
      world.kube.createNamespace("legacy");
      world.kube.putObject("secrets", {
        apiVersion: "v1",
        kind: "Secret",
        type: "kubernetes.io/dockerconfigjson",
        metadata: { name: SECRET, namespace: "legacy" },
        data: { ".dockerconfigjson": Buffer.from('{"auths":{}}').toString("base64") },
      });
      const liveBefore = liveOurs(world);
      const args = [
        "rotate",
        "--gitlab-url",
        world.gitlab.url,
        "--project",
        PROJECT.path,
        "--secret-name",
        SECRET,
        "--kubeconfig",
        world.kubeconfig,
        "--namespace",
        "legacy",
        ...world.verifyFlags(),
      ];
      const refused = await world.runCli(args);
      runs.push(refused);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /not managed by gitlab-pull-secret/);
      assert.match(refused.stderr, /--adopt/);
      assert.deepEqual(liveOurs(world), liveBefore);
      assert.equal(world.kube.getObject("secrets", "legacy", SECRET).metadata.labels, undefined);

      const adopted = await world.runCli([...args, "--adopt"]);
      runs.push(adopted);
      assert.equal(adopted.code, 0, adopted.stderr);
      assert.equal(
        world.kube.getObject("secrets", "legacy", SECRET).metadata.labels["app.kubernetes.io/managed-by"],
        "gitlab-pull-secret",
      );
      assertNoLeaks(world, runs);
    });

    test("bad input exits 2 before any request to GitLab or the cluster", async () => {
      world.gitlab.resetRequests();
      world.kube.resetRequests();
      const before = world.kubectlCalls().length;
      const r = await world.runCli([
        "rotate",
        "--gitlab-url",
        world.gitlab.url,
        "--project",
        PROJECT.path,
        "--kubeconfig",
        world.kubeconfig,
        "--namespace",
        "Bad_NS",
      ]);
      runs.push(r);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--namespace: invalid value "Bad_NS"/);
      assert.equal(world.gitlab.requests.length, 0);
      assert.equal(world.kube.requests.length, 0);
      assert.equal(world.kubectlCalls().length, before);
    });

    test("--dry-run mints nothing and changes nothing", async () => {
      const before = secretTokenIds(world);
      const tokensBefore = world.gitlab.tokens.length;
      const r = await world.runCli(cliArgs(world, ["--dry-run", "--json"]));
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.dryRun, true);
      assert.equal(out.changed, false);
      assert.equal(out.token, null);
      assert.equal(world.gitlab.tokens.length, tokensBefore);
      assert.deepEqual(secretTokenIds(world), before);
    });
  });

  describe(`rotate through the GitHub Action (${backend})`, () => {
    let world: World;
    before(async () => {
      world = await startWorld({ backend });
    });
    after(async () => {
      await world?.close();
    });

    test("runs as the runner runs it: inputs from env, outputs and summary files, every secret masked", async () => {
      const inputs = () => ({
        "gitlab-url": world.gitlab.url,
        "gitlab-token": "glpat-e2eMaintainerSecret0001",
        project: String(PROJECT.id),
        namespaces: NAMESPACES.join("\n"),
        "secret-name": SECRET,
        kubeconfig: world.kubeconfig,
        "expires-in": "2d",
        ...(world.verifyInputs("action") as Record<string, string>),
      });
      const first = await world.runAction(inputs());
      const second = await world.runAction(inputs());
      for (const r of [first, second]) assert.equal(r.code, 0, r.stdout + r.stderr);

      const outputs = parseGithubOutput(second.files.GITHUB_OUTPUT!);
      const firstOutputs = parseGithubOutput(first.files.GITHUB_OUTPUT!);
      const live = liveOurs(world);
      assert.deepEqual(live, [Number(outputs["token-id"])]);
      assert.equal(outputs.changed, "true");
      assert.equal(outputs["secret-name"], SECRET);
      assert.deepEqual(JSON.parse(outputs.namespaces!), NAMESPACES);
      assert.match(outputs["token-username"]!, /^gitlab\+deploy-token-\d+$/);
      assert.match(outputs["expires-at"]!, /^\d{4}-\d{2}-\d{2}T00:00:00\.000Z$/);
      assert.deepEqual(JSON.parse(outputs["revoked-token-ids"]!), [Number(firstOutputs["token-id"])]);

      const summary = second.files.GITHUB_STEP_SUMMARY!;
      for (const ns of NAMESPACES) assert.ok(summary.includes(`<td>${ns}</td>`), "summary table lists each namespace");
      assert.ok(summary.includes(outputs["token-id"]!));

      // The token, user:token, its base64 and the config's base64 were all registered before use.
      const token = world.gitlab.tokens.find((t) => t.id === live[0])!;
      const masks = second.stdout
        .split("\n")
        .filter((l) => l.startsWith("::add-mask::"))
        .map((l) => l.slice("::add-mask::".length));
      const userToken = `${token.username}:${token.token}`;
      const secretB64 = world.kube.getObject("secrets", "team-a", SECRET).data[".dockerconfigjson"];
      for (const form of [token.token, userToken, Buffer.from(userToken).toString("base64"), secretB64]) {
        assert.ok(masks.includes(form), "every secret form is masked");
      }
      assert.deepEqual(leaks(world, [first, second]), []);
    });

    test("bad input fails the step with the input's name", async () => {
      const r = await world.runAction({
        "gitlab-token": "glpat-e2eMaintainerSecret0001",
        project: "42",
        namespaces: "Team_A",
        "gitlab-url": world.gitlab.url,
      });
      assert.equal(r.code, 1);
      assert.match(r.stdout, /::error::input 'namespaces': invalid value "Team_A"/);
      assert.deepEqual(leaks(world, [r]), []);
    });
  });
}

function parseGithubOutput(text: string): Record<string, string> {
  // name<<DELIMITER\nvalue\nDELIMITER
  const out: Record<string, string> = {};
  const re = /^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  for (const m of text.matchAll(re)) out[m[1]!] = m[3]!;
  return out;
}
