// plan, status, revoke and render end to end through the built CLI: real
// kubectl against the Kubernetes stand-in (and a real kube-apiserver when
// GPS_KUBE_ASSETS is set), the GitLab stand-in, and the real registry pulled
// from by skopeo. Every test ends with a leak scan; render's
// stdout, the one output that holds a secret on purpose, is the only stream
// left out of it.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import yaml from "js-yaml";
import { Annotations, clusterKey, targetId } from "../../src/model/naming.ts";
import type { PolicyRule } from "../support/kube/index.ts";
import { stopSharedControlPlane } from "../support/kube-real.ts";
import { haveRegistryTools } from "../support/registry.ts";
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

const SECRET = "regcred";
const PREFIX = "gitlab-pull-secret";
const skipRegistry =
  !haveRegistryTools() && !registryRequired()
    ? "docker-registry/skopeo not installed (CI=true makes this fail)"
    : false;

function cli(
  w: World,
  command: string,
  extra: string[] = [],
  opts: { verify?: boolean; cluster?: boolean } = {},
): string[] {
  return [
    command,
    "--gitlab-url",
    w.gitlab.url,
    "--project",
    PROJECT.path,
    "--secret-name",
    SECRET,
    ...(opts.cluster === false ? [] : ["--kubeconfig", w.kubeconfig, "--namespace", NAMESPACES.join(",")]),
    ...(opts.verify ? w.verifyFlags() : []),
    ...extra,
  ];
}

function liveOurs(w: World): number[] {
  return w.gitlab.tokens.filter((t) => t.name.startsWith(`${PREFIX}/`) && w.gitlab.isLive(t.id)).map((t) => t.id);
}

function secretVersions(w: World): Array<string | undefined> {
  return NAMESPACES.map((ns) => w.kube.getObject("secrets", ns, SECRET)?.metadata.resourceVersion);
}

/** Every request that could have changed the cluster: anything but reads, server dry runs and access reviews. */
function clusterWrites(w: World): string[] {
  return w.kube.requests
    .filter((r) => r.method !== "GET" && !/dryRun=All/.test(r.query) && !r.path.endsWith("/selfsubjectaccessreviews"))
    .map((r) => `${r.method} ${r.path}`);
}

/** The cluster part of this target's token names: the uid of the Lease the first rotation kept in team-a. */
function clusterOf(w: World): string {
  return clusterKey(w.kube.getObject("leases", "team-a", `gitlab-pull-secret-${SECRET}`).metadata.uid);
}

function assertNoLeaks(w: World, runs: Captured[]): void {
  assert.deepEqual(leaks(w, runs), [], "a secret form leaked");
}

/** What revoke needs in every target namespace (examples/rbac/role.yaml, with delete on Secrets), but no delete in `withoutDelete`. */
function rulesWithoutDelete(withoutDelete: string): PolicyRule[] {
  return [
    { apiGroups: [""], resources: ["namespaces"], verbs: ["get"] },
    ...NAMESPACES.flatMap((ns): PolicyRule[] => [
      {
        apiGroups: [""],
        resources: ["secrets"],
        verbs: ["get", "list", "create", "patch", ...(ns === withoutDelete ? [] : ["delete"])],
        namespaces: [ns],
      },
      { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["get", "update"], namespaces: [ns] },
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        verbs: ["get", "list", "create", "update", "delete"],
        namespaces: [ns],
      },
    ]),
  ];
}

after(stopSharedControlPlane);

for (const backend of kubeBackends()) {
  describe(`plan, status, revoke and render through the CLI (${backend})`, () => {
    let w: World;
    const runs: Captured[] = [];
    let firstToken: number;

    before(async () => {
      w = await startWorld({ backend });
      const r = await w.runCli(cli(w, "rotate", ["--json"], { verify: true }));
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      firstToken = JSON.parse(r.stdout).token.id;
    });
    after(async () => {
      await w?.close();
    });

    test("plan shows what rotate would do, and mints, locks and writes nothing", async () => {
      const tokensBefore = w.gitlab.tokens.length;
      const versions = secretVersions(w);
      w.kube.resetRequests();
      const r = await w.runCli(cli(w, "plan", ["--json", "--expires-in", "60d", "--rotate-before", "30d"]));
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      const plan = JSON.parse(r.stdout);
      assert.equal(plan.command, "plan");
      assert.equal(plan.due, true);
      assert.match(plan.reason, /the token expires in \d+d, within --rotate-before/);
      assert.deepEqual(
        plan.namespaces,
        NAMESPACES.map((namespace) => ({ namespace, action: "update" })),
      );
      assert.equal(
        plan.mint.namePattern.split("/")[1],
        clusterOf(w),
        "named for this cluster: the uid of the target's Lease",
      );
      assert.match(
        plan.mint.namePattern,
        /^gitlab-pull-secret\/cluster-[0-9a-f-]{36}\/regcred\/[0-9a-f]{8}\/<UTC timestamp>-<nonce>$/,
      );
      assert.match(plan.mint.expiresAt, /^\d{4}-\d{2}-\d{2}$/);
      assert.deepEqual(plan.current, [firstToken]);
      assert.deepEqual(
        plan.revoke.map((t: { id: number }) => t.id),
        [firstToken],
      );
      assert.deepEqual(plan.sweep, []);
      // No mutation: the same tokens, the same Secrets, no Lease, only reads and a server dry run.
      assert.equal(w.gitlab.tokens.length, tokensBefore);
      assert.deepEqual(secretVersions(w), versions);
      assert.deepEqual(clusterWrites(w), []);
      assert.ok(
        !w.kube.requests.some((q) => q.path.includes("/leases") && q.method !== "GET"),
        "no Lease taken (only read, for the cluster's identity)",
      );
      assert.ok(
        w.kube.requests.some((q) => q.method === "PATCH" && /dryRun=All/.test(q.query)),
        "the apply was checked as a server dry run",
      );

      const text = await w.runCli(cli(w, "plan", ["--rotate-before", "1d"]));
      runs.push(text);
      assert.equal(text.code, 0, text.stderr);
      assert.match(
        text.stdout,
        /Plan for Secret "regcred" \(project grp\/app, registry [^)]+\): nothing due, because deploy token \d+ has \d+d left/,
      );
      assert.match(text.stdout, /team-a +unchanged/);
      assert.equal(w.gitlab.tokens.length, tokensBefore);
      assertNoLeaks(w, runs);
    });

    test("status: every Secret and token of the target, exit 0 when all is well", async () => {
      const r = await w.runCli(cli(w, "status", ["--json", "--warn-within", "3d"]));
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout);
      assert.deepEqual(Object.keys(s).sort(), [
        "apiToken",
        "attention",
        "checkedAt",
        "command",
        "findings",
        "owner",
        "secretName",
        "secretType",
        "secrets",
        "static",
        "tokens",
        "warnWithinSeconds",
      ]);
      assert.equal(s.warnWithinSeconds, 3 * 86400);
      // The world's API token predates GitLab 16.0: it never expires.
      assert.deepEqual(s.apiToken, {
        checked: true,
        name: "maintainer token",
        scopes: ["api"],
        expiresAt: null,
        daysLeft: null,
      });
      assert.deepEqual(s.owner, { kind: "project", id: PROJECT.id, path: PROJECT.path });
      assert.equal(s.secrets.length, NAMESPACES.length);
      for (const [i, ns] of NAMESPACES.entries()) {
        const sec = s.secrets[i];
        assert.equal(sec.namespace, ns);
        assert.equal(sec.type, "kubernetes.io/dockerconfigjson");
        assert.equal(sec.tokenId, firstToken);
        assert.equal(sec.tokenState, "live");
        assert.ok(sec.daysLeft > 6 && sec.daysLeft <= 8, String(sec.daysLeft));
        assert.match(sec.username, /^gitlab\+deploy-token-\d+$/);
      }
      assert.deepEqual(
        s.tokens.map((t: { id: number; role: string; usedBy: string[] }) => [t.id, t.role, t.usedBy]),
        [[firstToken, "current", NAMESPACES]],
      );
      assert.deepEqual(s.findings, []);
      assert.equal(s.attention, false);
      assertNoLeaks(w, runs);
    });

    test("status --warn-within exits 3 for an orphan and a token about to expire, and reads only", async () => {
      // An orphan: ours by name, live, referenced by no Secret, minted long ago (a run that died after minting).
      const target = targetId(clusterOf(w), SECRET, NAMESPACES);
      w.gitlab.tokens.push({
        id: 9001,
        name: `${PREFIX}/${target}/20260101T000000Z-dead01`,
        username: "gitlab+deploy-token-9001",
        token: "gldt-orphanSecretValue0001",
        scopes: ["read_registry"],
        expires_at: "2099-01-01T00:00:00.000Z",
        revoked: false,
        deleted: false,
        owner: { kind: "project", id: PROJECT.id },
        createdAt: new Date("2026-01-01T00:00:00Z"),
      });
      const current = w.gitlab.tokens.find((t) => t.id === firstToken)!;
      const expiry = current.expires_at;
      current.expires_at = new Date(Date.now() + 86_400_000).toISOString();
      try {
        w.kube.resetRequests();
        w.gitlab.resetRequests();
        const r = await w.runCli(cli(w, "status", ["--json", "--warn-within", "3d"]));
        runs.push(r);
        assert.equal(r.code, 3, r.stderr);
        const s = JSON.parse(r.stdout);
        assert.equal(s.attention, true);
        assert.deepEqual(
          s.findings.map((f: { kind: string; tokenId?: number }) => [f.kind, f.tokenId]),
          [
            ["expiring", firstToken],
            ["orphan", 9001],
          ],
        );
        assert.deepEqual(s.tokens.find((t: { id: number }) => t.id === 9001).role, "orphan");
        // One kubectl read of the Secrets; GitLab: the project, the API token's own details, then the token listing.
        assert.deepEqual(clusterWrites(w), []);
        assert.deepEqual(
          w.gitlab.requests.map((q) => `${q.method} ${q.path}`),
          [
            `GET /api/v4/projects/${encodeURIComponent(PROJECT.path)}`,
            "GET /api/v4/personal_access_tokens/self",
            `GET /api/v4/projects/${PROJECT.id}/deploy_tokens`,
          ],
        );

        // Without --warn-within the same findings are reported, and the exit code stays 0.
        const plain = await w.runCli(cli(w, "status"));
        runs.push(plain);
        assert.equal(plain.code, 0, plain.stderr);
        assert.match(plain.stdout, /attention: deploy token 9001 .* is an orphan/);
        assert.match(plain.stdout, /NAMESPACE +TYPE +TOKEN +EXPIRES +DAYS LEFT +TOKEN STATE/);
      } finally {
        current.expires_at = expiry;
      }
      assertNoLeaks(w, runs);
    });

    test("render --format config.json prints a docker config that pulls, and never contacts the cluster", async () => {
      const kubectlBefore = w.kubectlCalls().length;
      w.kube.resetRequests();
      const r = await w.runCli(cli(w, "render", ["--format", "config.json"], { verify: true, cluster: false }));
      assert.equal(r.code, 0, r.stderr);
      const cfg = JSON.parse(r.stdout);
      const [host, entry] = Object.entries(cfg.auths)[0] as [string, { auth: string; username: string }];
      const minted = w.gitlab.tokens.at(-1)!;
      assert.equal(host, w.registry?.host ?? "registry.test:5005");
      assert.equal(Buffer.from(entry.auth, "base64").toString(), `${minted.username}:${minted.token}`);
      assert.deepEqual(minted.scopes, ["read_registry"]);
      assert.match(minted.name, /^gitlab-pull-secret\/render\/regcred\/\d{8}T\d{6}Z-[0-9a-f]{6}$/);
      assert.match(r.stderr, /holds a live credential/);
      assert.equal(w.kubectlCalls().length, kubectlBefore, "no kubectl ran");
      assert.deepEqual(w.kube.requests, []);
      if (!skipRegistry) {
        const authfile = join(w.dir, "rendered-config.json");
        writeFileSync(authfile, r.stdout, { mode: 0o600 });
        const pulled = await w.pull(authfile);
        assert.ok(pulled.ok, pulled.stderr);
      }
      // The rendered token lives in a repository now: a rotation that sweeps without grace leaves it alone.
      const sweep = await w.runCli(cli(w, "rotate", ["--sweep-grace", "0s", "--json"], { verify: true }));
      runs.push(sweep);
      assert.equal(sweep.code, 0, sweep.stderr);
      assert.ok(w.gitlab.isLive(minted.id), "rotate did not sweep the rendered token");
      assert.ok(JSON.parse(sweep.stdout).revokedTokenIds.includes(firstToken));
      // Only render's stdout may hold the secret.
      assertNoLeaks(w, [...runs, { ...r, stdout: "" }]);
    });

    test("render --format secret prints Secret manifests (YAML), one per namespace", async () => {
      const kubectlBefore = w.kubectlCalls().length;
      const r = await w.runCli(
        cli(w, "render", ["--format", "secret", "--namespace", "team-a,team-b", "--no-verify"], { cluster: false }),
      );
      assert.equal(r.code, 0, r.stderr);
      const docs = yaml.loadAll(r.stdout) as any[];
      assert.deepEqual(
        docs.map((d) => [d.kind, d.type, d.metadata.name, d.metadata.namespace]),
        [
          ["Secret", "kubernetes.io/dockerconfigjson", SECRET, "team-a"],
          ["Secret", "kubernetes.io/dockerconfigjson", SECRET, "team-b"],
        ],
      );
      const minted = w.gitlab.tokens.at(-1)!;
      assert.equal(docs[0].metadata.annotations[Annotations.tokenId], String(minted.id));
      assert.equal(docs[0].metadata.labels, undefined, "the GitOps tool owns it, not rotate");
      const cfg = JSON.parse(Buffer.from(docs[0].data[".dockerconfigjson"], "base64").toString());
      const entry = Object.values(cfg.auths)[0] as { auth: string };
      assert.equal(Buffer.from(entry.auth, "base64").toString(), `${minted.username}:${minted.token}`);
      assert.equal(w.kubectlCalls().length, kubectlBefore, "no kubectl ran");
      assert.doesNotMatch(r.stderr, new RegExp(minted.token));
      assertNoLeaks(w, [...runs, { ...r, stdout: "" }]);
    });

    test("revoke without --yes changes nothing and exits 2; with --yes it tears the target down, leaving others alone", async () => {
      const target = targetId(clusterOf(w), SECRET, NAMESPACES);
      w.gitlab.tokens.push({
        id: 9002,
        name: `${PREFIX}/${target}/20260101T000000Z-dead02`,
        username: "gitlab+deploy-token-9002",
        token: "gldt-orphanSecretValue0002",
        scopes: ["read_registry"],
        expires_at: "2099-01-01T00:00:00.000Z",
        revoked: false,
        deleted: false,
        owner: { kind: "project", id: PROJECT.id },
        createdAt: new Date("2026-01-01T00:00:00Z"),
      });
      // team-c's Secret was taken over by someone else; a ServiceAccount in team-a lists ours beside another.
      const c = w.kube.getObject("secrets", "team-c", SECRET);
      delete c.metadata.labels;
      w.kube.putObject("secrets", c);
      const cVersion = w.kube.getObject("secrets", "team-c", SECRET).metadata.resourceVersion;
      w.kube.putObject("serviceaccounts", {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "default", namespace: "team-a" },
        imagePullSecrets: [{ name: "other" }, { name: SECRET }],
      });
      const rendered = w.gitlab.tokens.filter((t) => t.name.includes("/render/")).map((t) => t.id);
      const ourLive = liveOurs(w).filter((id) => !rendered.includes(id));
      assert.ok(ourLive.includes(9002) && ourLive.length >= 2, String(ourLive));

      w.kube.resetRequests();
      const refused = await w.runCli(cli(w, "revoke", ["--service-account", "default"]));
      runs.push(refused);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /--yes: required to revoke; nothing was changed/);
      assert.match(refused.stdout, /Would tear down Secret "regcred"/);
      assert.match(refused.stdout, /left alone \(not managed by gitlab-pull-secret\): team-c/);
      assert.deepEqual(clusterWrites(w), []);
      assert.ok(
        w.kube.requests.some((q) => q.path.endsWith("/selfsubjectaccessreviews")),
        "the deletes were checked with access reviews",
      );
      assert.deepEqual(
        liveOurs(w).filter((id) => !rendered.includes(id)),
        ourLive,
      );

      // A Role without delete on secrets: found by the access reviews, before any token is revoked.
      w.kube.addUser("no-delete-b", rulesWithoutDelete("team-b"));
      const noDelete = cli(w, "revoke", ["--yes"]);
      noDelete[noDelete.indexOf("--kubeconfig") + 1] = w.kube.writeKubeconfig(
        join(w.dir, "kube-no-delete-b"),
        "no-delete-b",
      );
      // Without --yes, as docs/cli.md says: the plan, the grant it lacks, exit 2 (not a bare exit 1).
      const planOnly = await w.runCli(noDelete.filter((a) => a !== "--yes"));
      runs.push(planOnly);
      assert.equal(planOnly.code, 2, planOnly.stderr);
      assert.match(planOnly.stdout, /Would tear down Secret "regcred"/);
      assert.match(
        planOnly.stdout,
        /not allowed to delete the Secret \(RBAC; grant examples\/rbac\/role-revoke\.yaml\): team-b/,
      );
      assert.match(
        planOnly.stderr,
        /--yes: required to revoke; nothing was changed\..*RBAC does not allow deleting the Secret in team-b: grant examples\/rbac\/role-revoke\.yaml/,
      );
      const forbidden = await w.runCli(noDelete);
      runs.push(forbidden);
      assert.equal(forbidden.code, 1, forbidden.stderr);
      assert.match(
        forbidden.stderr,
        /checking the permission to delete Secret "regcred" failed in namespace\(s\) team-b: not allowed. Nothing was changed.*role-revoke\.yaml/,
      );
      assert.deepEqual(
        liveOurs(w).filter((id) => !rendered.includes(id)),
        ourLive,
      );
      assert.ok(w.kube.getObject("secrets", "team-b", SECRET));

      const r = await w.runCli(cli(w, "revoke", ["--service-account", "default", "--yes", "--json"]));
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(out.applied, true);
      assert.deepEqual([...out.revokedTokenIds].sort(), [...ourLive].sort());
      assert.deepEqual(out.deletedSecrets, ["team-a", "team-b"]);
      assert.deepEqual(out.unmanaged, ["team-c"]);
      assert.deepEqual(out.serviceAccounts, ["team-a/default"]);
      // Our tokens are gone; the rendered ones are not this target's.
      assert.deepEqual(
        liveOurs(w),
        rendered.filter((id) => w.gitlab.isLive(id)),
      );
      assert.equal(w.kube.getObject("secrets", "team-a", SECRET), undefined);
      assert.equal(w.kube.getObject("secrets", "team-b", SECRET), undefined);
      assert.equal(
        w.kube.getObject("secrets", "team-c", SECRET).metadata.resourceVersion,
        cVersion,
        "the unmanaged Secret is untouched",
      );
      assert.deepEqual(w.kube.getObject("serviceaccounts", "team-a", "default").imagePullSecrets, [{ name: "other" }]);
      // Ours only: a real server also keeps its own identity Leases (kube-system/apiserver-…), held.
      const ourLeases = w.kube.listObjects("leases").filter((l) => l.metadata.name.startsWith(`${PREFIX}-`));
      assert.ok(
        ourLeases.length > 0 && ourLeases.every((l) => !l.spec.holderIdentity),
        "the Lease was released (kept, no holder: the cluster's identity)",
      );

      // Again: nothing of the target is left, so no --yes is needed.
      const again = await w.runCli(cli(w, "revoke"));
      runs.push(again);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /Nothing of this target is left to tear down/);
      assertNoLeaks(w, runs);
    });

    test("usage errors exit 2 before anything remote: unknown command, foreign option, render without --format", async () => {
      w.gitlab.resetRequests();
      w.kube.resetRequests();
      for (const [args, message] of [
        [["nope"], /command: invalid value "nope"; expected one of rotate, plan, status, revoke, render/],
        [cli(w, "status", ["--adopt"]), /--adopt: not an option of status/],
        [cli(w, "render", [], { cluster: false }), /--format: required for render/],
        [cli(w, "status", ["--warn-within", "3 days"]), /--warn-within: invalid value "3 days"/],
      ] as const) {
        const r = await w.runCli([...args]);
        runs.push(r);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, message);
      }
      assert.equal(w.gitlab.requests.length, 0);
      assert.equal(w.kube.requests.length, 0);
      const help = await w.runCli(["render", "--help"]);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /RISK: this prints a live registry credential/);
      assertNoLeaks(w, runs);
    });
  });
}
