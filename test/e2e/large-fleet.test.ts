// A fleet past LIST_FROM_NAMESPACES: the target is read with one LIST per kind
// (where RBAC allows it; GETs where it does not), and the dry run and the
// apply each go to the API server as two kubectl processes at once. The run's
// kubectl count is fixed whatever the number of namespaces, and everything the
// small-fleet runs guarantee still holds: the dry run before minting, refusals
// that stop the run with nothing minted, the leak scan.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import yaml from "js-yaml";
import type { PolicyRule } from "../support/kube/index.ts";
import { stopSharedControlPlane } from "../support/kube-real.ts";
import { kubeBackends, leaks, PROJECT, startWorld, type Captured, type World } from "../support/world.ts";

after(stopSharedControlPlane);

const ROOT = new URL("../../", import.meta.url).pathname;
const N = 60;
const FLEET = Array.from({ length: N }, (_, i) => `fleet-${String(i).padStart(2, "0")}`);
const SECRET = "gitlab-pull-secret";

function rotateArgs(w: World, kubeconfig = w.kubeconfig): string[] {
  return [
    "rotate",
    "--gitlab-url",
    w.gitlab.url,
    "--project",
    PROJECT.path,
    "--kubeconfig",
    kubeconfig,
    "--namespace",
    FLEET.join(","),
    "--service-account",
    "default",
    ...w.verifyFlags(),
    "--json",
  ];
}

/**
 * kubectl calls since `from` that talk to the cluster, as argv arrays, without the global flags (--kubeconfig,
 * --request-timeout). The local kubeconfig check (`kubectl config view`, no request) is left out: it is one per run at any N.
 */
function callsSince(w: World, from: number): string[][] {
  return w
    .kubectlCalls()
    .slice(from)
    .filter((c) => !(c.argv.includes("config") && c.argv.includes("view")))
    .map((c) =>
      c.argv.filter(
        (a, i, all) => a !== "--kubeconfig" && all[i - 1] !== "--kubeconfig" && !a.startsWith("--request-timeout"),
      ),
    );
}

function assertRotated(w: World, tokenId: number): void {
  for (const ns of FLEET) {
    assert.equal(
      w.kube.getObject("secrets", ns, SECRET)?.metadata.annotations["gitlab-pull-secret.io/token-id"],
      String(tokenId),
      ns,
    );
    assert.ok(
      (w.kube.getObject("serviceaccounts", ns, "default").imagePullSecrets ?? []).some(
        (e: { name: string }) => e.name === SECRET,
      ),
      ns,
    );
  }
}

for (const backend of kubeBackends()) {
  describe(`a fleet of ${N} namespaces (${backend})`, () => {
    let w: World;
    const runs: Captured[] = [];
    before(async () => {
      w = await startWorld({ backend });
      for (const ns of FLEET) w.kube.createNamespace(ns);
    });
    after(async () => {
      await w?.close();
    });

    test("one LIST per kind, the dry run and the apply in two kubectl processes each: 10 kubectl in all, the same at every N", async () => {
      const first = await w.runCli(rotateArgs(w));
      runs.push(first);
      assert.equal(first.code, 0, first.stderr);
      assertRotated(w, JSON.parse(first.stdout).token.id);

      const from = w.kubectlCalls().length;
      const second = await w.runCli(rotateArgs(w));
      runs.push(second);
      assert.equal(second.code, 0, second.stderr);
      const report = JSON.parse(second.stdout);
      assertRotated(w, report.token.id);
      assert.deepEqual(report.revokedTokenIds, [JSON.parse(first.stdout).token.id]);

      const calls = callsSince(w, from);
      const lists = calls.filter((a) => a[0] === "get" && a.includes("--all-namespaces"));
      // The Secrets and the ServiceAccounts by name, and (a token is about to die) every managed Secret of the cluster (ownership).
      assert.deepEqual(lists.map((a) => a.slice(0, 5)).sort(), [
        ["get", "secrets", "--all-namespaces", "--field-selector", `metadata.name=${SECRET}`],
        ["get", "secrets", "--all-namespaces", "-l", "app.kubernetes.io/managed-by=gitlab-pull-secret"],
        ["get", "serviceaccounts", "--all-namespaces", "--field-selector", "metadata.name=default"],
      ]);
      assert.equal(calls.filter((a) => a.includes("-f") && a[0] === "get").length, 0, "no GET per object");
      const applies = calls.filter((a) => a[0] === "apply");
      assert.equal(applies.filter((a) => a.includes("--dry-run=server")).length, 2, "the dry run in two parts");
      assert.equal(applies.filter((a) => !a.includes("--dry-run=server")).length, 2, "the apply in two parts");
      // The Lease read and claim, three LISTs, the dry run and the apply in two parts each, the release.
      assert.equal(calls.length, 10, calls.map((a) => a.slice(0, 3).join(" ")).join("\n"));

      if (backend === "standin") {
        // Per object only writes: the PATCHes of the dry run and the apply, the first run's PUT of each ServiceAccount.
        const perObject = w.kube.requests.filter((r) =>
          /\/namespaces\/fleet-\d+\/(secrets|serviceaccounts)\//.test(r.path),
        );
        assert.equal(perObject.filter((r) => r.method === "PATCH").length, 4 * N);
        assert.deepEqual(
          perObject.filter((r) => r.method === "GET"),
          [],
          "no GET per namespace",
        );
      }
      assert.deepEqual(leaks(w, runs), []);
    });

    test(
      "the two parts of the apply are at the API server at the same time",
      { skip: backend !== "standin" && "the request order is seen inside the stand-in" },
      async () => {
        // Whether two processes' requests interleave is up to the scheduler: on busy cores one kubectl can send all
        // of its PATCHes before the other has even connected. So the stand-in holds the PATCHes of the apply (not
        // the dry run's) until one for a namespace of each half has arrived (at most 20 s): when the tool runs the
        // halves side by side, the first of one half waits for the first of the other, and they meet at the API
        // server; run one after the other, the first half's waits in vain and the halves cannot overlap.
        const half = (path: string) => FLEET.indexOf(path.split("/")[4]!) < N / 2;
        w.kube.hold({
          method: "PATCH",
          path: /^\/api\/v1\/namespaces\/[^/]+\/secrets\//,
          query: /^(?!.*dryRun=All)/,
          until: (arrived) => arrived.some(half) && arrived.some((p) => !half(p)),
          timeoutMs: 20_000,
        });
        w.kube.resetRequests();
        const r = await w.runCli(rotateArgs(w));
        w.kube.clearFaults();
        runs.push(r);
        assert.equal(r.code, 0, r.stderr);
        const patches = w.kube.requests
          .filter((q) => q.method === "PATCH" && !/dryRun=All/.test(q.query))
          .map((q) => FLEET.indexOf(q.path.split("/")[4]!));
        assert.equal(patches.length, N);
        const firstOfSecondHalf = patches.findIndex((i) => i >= N / 2);
        const lastOfFirstHalf = patches.map((i) => i < N / 2).lastIndexOf(true);
        assert.ok(firstOfSecondHalf < lastOfFirstHalf, `the halves overlap: ${patches.join(",")}`);
        assert.deepEqual(leaks(w, runs), []);
      },
    );

    test("namespaced Roles only (no LIST at cluster scope): the GETs are the fallback, and the rotation completes", async () => {
      const rules: PolicyRule[] = (
        yaml.loadAll(readFileSync(join(ROOT, "examples", "rbac", "role.yaml"), "utf8")) as any[]
      )
        .filter((d) => d?.kind === "Role")
        .flatMap((d) =>
          (d.rules as any[]).map((x) => ({
            apiGroups: x.apiGroups,
            resources: x.resources,
            verbs: x.verbs,
            namespaces: [...FLEET],
          })),
        );
      w.kube.addUser("deployer", rules);
      const kc = w.kube.writeKubeconfig(join(w.dir, "deployer"), "deployer");
      const from = w.kubectlCalls().length;
      const r = await w.runCli(rotateArgs(w, kc));
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      assertRotated(w, JSON.parse(r.stdout).token.id);
      const calls = callsSince(w, from);
      assert.ok(
        calls.some((a) => a[0] === "get" && a[1] === "secrets" && a.includes("--all-namespaces")),
        "tried the LIST",
      );
      assert.ok(
        calls.some((a) => a[0] === "get" && a.includes("-f")),
        "fell back to GETs",
      );
      assert.ok(calls.length <= 11, `${calls.length} kubectl calls`);
      assert.deepEqual(leaks(w, runs), []);
    });

    test(
      "a refusal in one namespace of the second part stops the run before minting, and names the namespace",
      { skip: backend !== "standin" && "deny is a stand-in rule" },
      async () => {
        const bad = FLEET[N - 3]!;
        w.kube.deny({ namespace: bad, verb: "patch", resource: "secrets" });
        const tokens = w.gitlab.tokens.length;
        try {
          const r = await w.runCli(rotateArgs(w));
          runs.push(r);
          assert.notEqual(r.code, 0, r.stderr);
          const message = JSON.parse(r.stdout).error.message as string;
          assert.match(message, new RegExp(`"${bad}"`));
          assert.match(message, /dry run/);
          assert.equal(w.gitlab.tokens.length, tokens, "nothing minted");
        } finally {
          w.kube.clearDenials();
        }
        assert.deepEqual(leaks(w, runs), []);
      },
    );
  });
}
