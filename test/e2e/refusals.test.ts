// Refusals a real API server makes, the run lock, and runs side by side, on
// every backend this run has (the stand-in; a real kube-apiserver too when
// GPS_KUBE_ASSETS is set). A refusal that is there before the run is caught by
// the server dry run: nothing is minted. One that appears while the run is
// minting (held there by a GitLab create that times out once) lands in the
// apply: the Secrets already written keep the new token, the rest keep theirs,
// and a plain re-run repairs. Quotas and terminating namespaces exist only on
// a real server; the stand-in has no ResourceQuota or namespace lifecycle.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Annotations } from "../../src/model/naming.ts";
import type { PolicyRule } from "../support/kube/index.ts";
import { stopSharedControlPlane, type RealKube } from "../support/kube-real.ts";
import {
  kubeBackends,
  leaks,
  NAMESPACES,
  PROJECT,
  startWorld,
  waitFor,
  type Captured,
  type World,
} from "../support/world.ts";

const SECRET = "regcred";
const CREATE = /\/projects\/42\/deploy_tokens$/;

function args(w: World, extra: string[] = [], kubeconfig = w.kubeconfig): string[] {
  return [
    "rotate",
    "--gitlab-url",
    w.gitlab.url,
    "--project",
    PROJECT.path,
    "--secret-name",
    SECRET,
    "--kubeconfig",
    kubeconfig,
    "--namespace",
    NAMESPACES.join(","),
    ...w.verifyFlags(),
    ...extra,
  ];
}

const live = (w: World) => w.gitlab.tokens.filter((t) => w.gitlab.isLive(t.id)).map((t) => t.id);
const tokenIn = (w: World, ns: string) =>
  w.kube.getObject("secrets", ns, SECRET)?.metadata.annotations?.[Annotations.tokenId] as string | undefined;
const versions = (w: World) =>
  NAMESPACES.map((ns) => w.kube.getObject("secrets", ns, SECRET)?.metadata.resourceVersion);

/** examples/rbac/role.yaml in each namespace, with the Secret verbs given per namespace. */
function role(secretVerbs: (ns: string) => string[]): PolicyRule[] {
  return NAMESPACES.flatMap((ns) => [
    { apiGroups: [""], resources: ["secrets"], verbs: secretVerbs(ns), namespaces: [ns] },
    {
      apiGroups: ["coordination.k8s.io"],
      resources: ["leases"],
      verbs: ["get", "list", "create", "update", "delete"],
      namespaces: [ns],
    },
  ]);
}

/** Each Secret holds a live token, and every live token is one a Secret holds or keeps. */
function invariant(w: World): string[] {
  const problems: string[] = [];
  const referenced = new Set<number>();
  for (const ns of NAMESPACES) {
    const a = w.kube.getObject("secrets", ns, SECRET)?.metadata.annotations ?? {};
    const id = Number(a[Annotations.tokenId]);
    if (!w.gitlab.isLive(id)) problems.push(`Secret in ${ns} holds dead token ${id}`);
    for (const k of [Annotations.tokenId, Annotations.keptTokenIds, Annotations.revokePending]) {
      for (const x of String(a[k] ?? "")
        .split(",")
        .filter(Boolean))
        referenced.add(Number(x));
    }
  }
  for (const id of live(w)) if (!referenced.has(id)) problems.push(`live token ${id} is referenced by no Secret`);
  return problems;
}

/** Starts a rotation that stops at its GitLab create for about 2 s, runs `change` there, and returns the finished run. */
async function changeWhileMinting(w: World, kubeconfig: string, change: () => void): Promise<Captured> {
  w.gitlab.resetRequests();
  w.gitlab.fault({ method: "POST", path: CREATE, kind: "timeout", times: 1 });
  const running = w.startCli(args(w, ["--request-timeout", "2s"], kubeconfig));
  await waitFor(
    () => w.gitlab.requests.some((r) => r.method === "POST" && CREATE.test(r.path)),
    "the run to reach its GitLab create",
  );
  change();
  return running.done;
}

after(stopSharedControlPlane);

for (const backend of kubeBackends({
  realBecause: "runs side by side race for the Lease through the real server's optimistic concurrency",
})) {
  describe(`refusals, the lock and concurrent runs (${backend})`, () => {
    let w: World;
    const runs: Captured[] = [];
    before(async () => {
      w = await startWorld({ backend });
      const first = await w.runCli(args(w));
      runs.push(first);
      assert.equal(first.code, 0, first.stderr);
    });
    after(async () => {
      assert.deepEqual(leaks(w, runs), [], "no secret form leaked");
      await w?.close();
    });

    test("RBAC refusal in the apply: written Secrets keep the new token, the refused one keeps its old one, a re-run repairs", async () => {
      w.kube.addUser(
        "ci",
        role(() => ["get", "create", "patch"]),
      );
      const kc = w.kube.writeKubeconfig(join(w.dir, "kube-ci"), "ci");
      const before = NAMESPACES.map((ns) => tokenIn(w, ns));
      const r = await changeWhileMinting(w, kc, () =>
        w.kube.addUser(
          "ci",
          role((ns) => (ns === "team-c" ? ["get", "create"] : ["get", "create", "patch"])),
        ),
      );
      runs.push(r);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /User "ci" cannot patch resource "secrets" in API group "" in the namespace "team-c"/);
      assert.match(r.stderr, /applying the Secrets failed[\s\S]*already hold new deploy token \d+, so it is kept/);
      assert.equal(tokenIn(w, "team-c"), before[2], "the refused Secret is unchanged");
      assert.notEqual(tokenIn(w, "team-a"), before[0]);
      assert.deepEqual(invariant(w), []);

      const repair = await w.runCli(args(w));
      runs.push(repair);
      assert.equal(repair.code, 0, repair.stderr);
      assert.deepEqual(invariant(w), []);
      assert.equal(
        new Set(NAMESPACES.map((ns) => tokenIn(w, ns))).size,
        1,
        "one token in every Secret after the repair",
      );
      assert.equal(live(w).length, 1);
    });

    test("the lock: a live Lease of another run makes this one wait and give up, changing nothing; a stale one is taken over", async () => {
      const name = `gitlab-pull-secret-${SECRET}`;
      const now = new Date().toISOString().replace(/Z$/, "000Z");
      w.kube.putObject("leases", {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name, namespace: "team-a" },
        spec: { holderIdentity: "another-run", leaseDurationSeconds: 300, acquireTime: now, renewTime: now },
      });
      const before = versions(w);
      const liveBefore = live(w);
      const held = await w.runCli(args(w, ["--lock-timeout", "2s"]));
      runs.push(held);
      assert.equal(held.code, 1, held.stderr);
      assert.match(held.stderr, /Lease team-a\/gitlab-pull-secret-regcred is held by another-run/);
      assert.deepEqual(versions(w), before);
      assert.deepEqual(live(w), liveBefore);

      const lease = w.kube.getObject("leases", "team-a", name);
      lease.spec.renewTime = "2020-01-01T00:00:00.000000Z";
      w.kube.putObject("leases", lease);
      const taken = await w.runCli(args(w, ["--lock-timeout", "2s"]));
      runs.push(taken);
      assert.equal(taken.code, 0, taken.stderr);
      assert.equal(
        w.kube.getObject("leases", "team-a", name).spec.holderIdentity,
        undefined,
        "released after the run (kept, no holder)",
      );
      assert.deepEqual(invariant(w), []);
    });

    test("three runs at once: all succeed, one token in every Secret, exactly one live", async () => {
      const results = await Promise.all(Array.from({ length: 3 }, () => w.runCli(args(w))));
      runs.push(...results);
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(invariant(w), []);
      assert.equal(new Set(NAMESPACES.map((ns) => tokenIn(w, ns))).size, 1);
      assert.equal(live(w).length, 1);
    });

    test(
      "ResourceQuota: a namespace with no room for the Secret is refused at the dry run, before anything is minted",
      { skip: backend !== "real" && "quotas need a real server" },
      async () => {
        const real = w.kube as RealKube;
        real.createNamespace("quota-full");
        const quota = {
          apiVersion: "v1",
          kind: "ResourceQuota",
          metadata: { name: "no-secrets", namespace: "quota-full" },
          spec: { hard: { "count/secrets": "0" } },
        };
        assert.equal(real.api("POST", "/api/v1/namespaces/quota-full/resourcequotas", quota).status, 201);
        // Admission only enforces a quota once the quota controller has recorded its usage.
        await waitFor(
          () =>
            real.api("GET", "/api/v1/namespaces/quota-full/resourcequotas/no-secrets").body?.status?.hard !== undefined,
          "quota status",
        );
        const tokens = w.gitlab.tokens.length;
        const before = versions(w);
        const a = args(w);
        a[a.indexOf("--namespace") + 1] = `${NAMESPACES.join(",")},quota-full`;
        const r = await w.runCli(a);
        runs.push(r);
        assert.equal(r.code, 1, r.stderr);
        // kubectl's line for it names the Secret and the quota, not the namespace (unlike an RBAC refusal); the request trace does.
        assert.match(
          r.stderr,
          /server dry run\) failed in 1 namespace:\n {2}quota-full: exceeded quota: no-secrets, requested: count\/secrets=1, used: count\/secrets=0, limited: count\/secrets=0\n/,
        );
        assert.doesNotMatch(
          r.stderr,
          /Error from server|round_trippers/,
          "kubectl's own line and its trace stay behind the parsed one",
        );
        assert.equal(w.gitlab.tokens.length, tokens, "nothing minted");
        assert.deepEqual(versions(w), before);
      },
    );

    test("a terminating namespace is skipped and named, the others rotate, exit 1", async () => {
      w.kube.createNamespace("doomed");
      w.kube.terminateNamespace("doomed");
      const a = args(w, ["--json"]);
      a[a.indexOf("--namespace") + 1] = `${NAMESPACES.join(",")},doomed`;
      const r = await w.runCli(a);
      runs.push(r);
      assert.equal(r.code, 1, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.deepEqual(out.skippedNamespaces, [{ namespace: "doomed", reason: "terminating" }]);
      assert.deepEqual(out.namespaces, [...NAMESPACES].sort());
      for (const ns of NAMESPACES) assert.equal(tokenIn(w, ns), String(out.token.id), ns);
      assert.match(r.stderr, /Skipped namespace\(s\) doomed \(is being deleted\)/);
      // The list grew by doomed: another target than the earlier runs', but one that includes their list,
      // so their token is this target's previous one and revoked, not left alive (docs/fleets.md).
      assert.doesNotMatch(r.stderr, /Left deploy token|written by two targets/);
      assert.equal(out.revokedTokenIds.length, 1);
    });
  });
}
