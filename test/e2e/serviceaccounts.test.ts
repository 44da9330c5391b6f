// ServiceAccounts and namespace selection end to end, and the RBAC examples:
// the tool works with exactly the documented Role granted to a limited user,
// and fails clearly without it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import yaml from "js-yaml";
import type { PolicyRule } from "../support/kube/index.ts";
import {
  kubeBackends,
  leaks,
  NAMESPACES,
  PROJECT,
  ROOT,
  startWorld,
  type Captured,
  type World,
} from "../support/world.ts";
import { stopSharedControlPlane } from "../support/kube-real.ts";

const SECRET = "regcred";

function rotateArgs(w: World, extra: string[]): string[] {
  return [
    "rotate",
    "--gitlab-url",
    w.gitlab.url,
    "--project",
    PROJECT.path,
    "--secret-name",
    SECRET,
    "--kubeconfig",
    w.kubeconfig,
    ...w.verifyFlags(),
    ...extra,
  ];
}

function pullSecrets(w: World, ns: string, sa: string): string[] {
  return (w.kube.getObject("serviceaccounts", ns, sa)?.imagePullSecrets ?? []).map((e: { name: string }) => e.name);
}

/**
 * The RBAC rules of an example file: Roles bound in `namespaces`, ClusterRoles everywhere.
 * `namespaces` undefined binds a Role's rules cluster-wide (what a namespace that does not exist yet needs).
 */
function rulesFrom(file: string, namespaces: string[] | undefined): PolicyRule[] {
  const docs = yaml.loadAll(readFileSync(join(ROOT, "examples", "rbac", file), "utf8")) as any[];
  return docs
    .filter((d) => d?.kind === "Role" || d?.kind === "ClusterRole")
    .flatMap((d) =>
      (d.rules as any[]).map((r) => ({
        apiGroups: r.apiGroups,
        resources: r.resources,
        verbs: r.verbs,
        ...(d.kind === "Role" && namespaces ? { namespaces } : {}),
      })),
    );
}

after(stopSharedControlPlane);

for (const backend of kubeBackends()) {
  describe(`ServiceAccounts and namespaces (${backend})`, () => {
    let w: World;
    const runs: Captured[] = [];
    before(async () => {
      w = await startWorld({ backend });
    });
    after(async () => {
      await w?.close();
    });

    test("--service-account default adds our entry and keeps the ones already there", async () => {
      const sa = w.kube.getObject("serviceaccounts", "team-a", "default");
      w.kube.putObject("serviceaccounts", { ...sa, imagePullSecrets: [{ name: "other-pull" }] });
      const r = await w.runCli(rotateArgs(w, ["--namespace", NAMESPACES.join(","), "--service-account", "default"]));
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(pullSecrets(w, "team-a", "default"), ["other-pull", SECRET]);
      for (const ns of NAMESPACES.slice(1)) assert.deepEqual(pullSecrets(w, ns, "default"), [SECRET]);
      assert.match(
        r.stderr,
        /Added "regcred" to imagePullSecrets of team-a\/default, team-b\/default, team-c\/default/,
      );
    });

    test("a re-run rotates the token and leaves the ServiceAccounts alone", async () => {
      const versions = NAMESPACES.map(
        (ns) => w.kube.getObject("serviceaccounts", ns, "default").metadata.resourceVersion,
      );
      const before = w.kube.requests.length;
      const r = await w.runCli(rotateArgs(w, ["--namespace", NAMESPACES.join(","), "--service-account", "default"]));
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        NAMESPACES.map((ns) => w.kube.getObject("serviceaccounts", ns, "default").metadata.resourceVersion),
        versions,
      );
      // (kubectl replace also releases the Lease, so the API server's log tells the writes apart, not argv.)
      assert.ok(
        !w.kube.requests.slice(before).some((q) => q.method !== "GET" && q.path.includes("/serviceaccounts")),
        "no ServiceAccount write",
      );
    });

    test("someone else's change between our read and write is kept", async () => {
      // Another writer lands first: our replace gets 409 once, re-reads, and keeps their entry.
      for (const ns of NAMESPACES) {
        const sa = w.kube.getObject("serviceaccounts", ns, "builder") ?? {
          apiVersion: "v1",
          kind: "ServiceAccount",
          metadata: { name: "builder", namespace: ns },
        };
        w.kube.putObject("serviceaccounts", sa);
      }
      // Forcing our replace to lose the race is a stand-in fault; a real server still shows their entry is kept.
      if (backend === "standin")
        w.kube.fault({ method: "PUT", path: /\/serviceaccounts\/builder$/, status: 409, times: 1 });
      const sa = w.kube.getObject("serviceaccounts", "team-b", "builder");
      w.kube.putObject("serviceaccounts", { ...sa, imagePullSecrets: [{ name: "late-entry" }] });
      const r = await w.runCli(rotateArgs(w, ["--namespace", NAMESPACES.join(","), "--service-account", "builder"]));
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(pullSecrets(w, "team-b", "builder"), ["late-entry", SECRET]);
    });

    test("--service-account '*' covers every ServiceAccount of the namespaces", async () => {
      w.kube.putObject("serviceaccounts", {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "deployer", namespace: "team-c" },
      });
      const r = await w.runCli(
        rotateArgs(w, ["--namespace", "team-c", "--service-account", "*", "--secret-name", "star"]),
      );
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      for (const name of ["default", "builder", "deployer"])
        assert.ok(pullSecrets(w, "team-c", name).includes("star"), name);
      assert.ok(!pullSecrets(w, "team-a", "default").includes("star"), "other namespaces untouched");
    });

    test("a missing ServiceAccount is named and nothing is minted", async () => {
      const tokens = w.gitlab.tokens.length;
      const r = await w.runCli(rotateArgs(w, ["--namespace", NAMESPACES.join(","), "--service-account", "ghost"]));
      runs.push(r);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /not found: team-a\/ghost, team-b\/ghost, team-c\/ghost/);
      assert.equal(w.gitlab.tokens.length, tokens);
    });

    test("--namespace-selector with --exclude-namespace picks exactly the matching namespaces", async () => {
      for (const [ns, team] of [
        ["shop-web", "shop"],
        ["shop-api", "shop"],
        ["shop-legacy", "shop"],
        ["blog", "blog"],
      ] as const)
        w.kube.createNamespace(ns, { team });
      const r = await w.runCli(
        rotateArgs(w, [
          "--namespace-selector",
          "team=shop",
          "--exclude-namespace",
          "shop-legacy",
          "--secret-name",
          "shop-pull",
          "--json",
        ]),
      );
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).namespaces, ["shop-api", "shop-web"]);
      for (const ns of ["shop-api", "shop-web"]) assert.ok(w.kube.getObject("secrets", ns, "shop-pull"));
      for (const ns of ["shop-legacy", "blog"]) assert.equal(w.kube.getObject("secrets", ns, "shop-pull"), undefined);
    });

    test("--create-namespace creates a listed namespace that is missing", async () => {
      const r = await w.runCli(
        rotateArgs(w, ["--namespace", "brand-new", "--create-namespace", "--secret-name", "fresh"]),
      );
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(w.kube.getObject("namespaces", undefined, "brand-new"));
      assert.ok(w.kube.getObject("secrets", "brand-new", "fresh"));
      assert.deepEqual(leaks(w, runs), []);
    });
  });
}

for (const backend of kubeBackends({
  realBecause: "the real RBAC authorizer judges the documented Roles and ClusterRoles, not a model of it",
})) {
  describe(`the documented RBAC is enough, and nothing less works (${backend})`, () => {
    let w: World;
    const runs: Captured[] = [];
    before(async () => {
      w = await startWorld({ backend });
    });
    after(async () => {
      assert.deepEqual(leaks(w, runs), []);
      await w?.close();
    });

    function asUser(user: string, rules: PolicyRule[]): string {
      w.kube.addUser(user, rules);
      return w.kube.writeKubeconfig(join(w.dir, `kube-${user}`), user);
    }

    function run(kubeconfig: string, extra: string[]) {
      const args = rotateArgs(w, extra);
      args[args.indexOf("--kubeconfig") + 1] = kubeconfig;
      return w.runCli(args);
    }

    test("explicit namespaces with ServiceAccounts: examples/rbac/role.yaml", async () => {
      const kc = asUser("deployer", rulesFrom("role.yaml", NAMESPACES));
      for (const round of [1, 2]) {
        const r = await run(kc, ["--namespace", NAMESPACES.join(","), "--service-account", "default"]);
        runs.push(r);
        assert.equal(r.code, 0, `round ${round}: ${r.stderr}`);
      }
      for (const ns of NAMESPACES) assert.ok(pullSecrets(w, ns, "default").includes(SECRET));
      assert.ok(
        w.kube.requests.some((q) => q.user === "deployer"),
        "the limited user did the work",
      );
    });

    test("without the serviceaccounts rule it fails clearly, after the Secrets", async () => {
      const rules = rulesFrom("role.yaml", NAMESPACES).filter((r) => !r.resources.includes("serviceaccounts"));
      const kc = asUser("no-sa", rules);
      const r = await run(kc, [
        "--namespace",
        NAMESPACES.join(","),
        "--service-account",
        "default",
        "--secret-name",
        "other",
      ]);
      runs.push(r);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /User "no-sa" cannot get resource "serviceaccounts"/);
    });

    test("without the leases rule it fails before minting", async () => {
      const rules = rulesFrom("role.yaml", NAMESPACES).filter((r) => !r.resources.includes("leases"));
      const kc = asUser("no-lease", rules);
      const tokens = w.gitlab.tokens.length;
      const r = await run(kc, ["--namespace", NAMESPACES.join(",")]);
      runs.push(r);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /cannot get resource "leases"/);
      assert.equal(w.gitlab.tokens.length, tokens);
    });

    test("a namespace selector needs clusterrole-selector.yaml too", async () => {
      for (const ns of ["sel-a", "sel-b"]) w.kube.createNamespace(ns, { pull: "yes" });
      const roleOnly = asUser("sel-role-only", rulesFrom("role.yaml", ["sel-a", "sel-b"]));
      const denied = await run(roleOnly, ["--namespace-selector", "pull=yes"]);
      runs.push(denied);
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /cannot list resource "namespaces"/);
      // The cluster-scope grant is named by its file: the namespace Role cannot grant it.
      assert.match(denied.stderr, /Grant examples\/rbac\/clusterrole-selector\.yaml/);
      assert.doesNotMatch(denied.stderr, /role\.yaml \(secrets/);

      const both = asUser("sel-both", [
        ...rulesFrom("role.yaml", ["sel-a", "sel-b"]),
        ...rulesFrom("clusterrole-selector.yaml", []),
      ]);
      const ok = await run(both, ["--namespace-selector", "pull=yes"]);
      runs.push(ok);
      assert.equal(ok.code, 0, ok.stderr);
    });

    test("--create-namespace needs clusterrole-create-namespace.yaml, and role.yaml's rules bound cluster-wide", async () => {
      // A Role cannot exist before its namespace does, so for a namespace the run creates, role.yaml's rules come from a ClusterRole.
      const rules = [...rulesFrom("role.yaml", undefined), ...rulesFrom("clusterrole-create-namespace.yaml", [])];
      const kc = asUser("creator", rules);
      const r = await run(kc, ["--namespace", "made-here", "--create-namespace"]);
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(w.kube.getObject("secrets", "made-here", SECRET));
      assert.throws(() => w.kube.addUser("too-early", rulesFrom("role.yaml", ["made-there"])), /made-there/);
      const without = asUser("no-creator", rulesFrom("role.yaml", undefined));
      const refused = await run(without, ["--namespace", "made-there", "--create-namespace"]);
      runs.push(refused);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /namespaces/);
      assert.match(refused.stderr, /Grant examples\/rbac\/clusterrole-create-namespace\.yaml/);
    });

    test("--create-namespace, allowed to create the namespace but not to write Secrets: the namespace left behind is named", async () => {
      // clusterrole-create-namespace.yaml without role.yaml's secrets rules: the namespace is made, the Secret is refused.
      const rules = [
        ...rulesFrom("role.yaml", undefined).filter((r) => !r.resources.includes("secrets")),
        ...rulesFrom("clusterrole-create-namespace.yaml", []),
      ];
      const kc = asUser("half-creator", rules);
      const tokens = w.gitlab.tokens.length;
      const r = await run(kc, ["--namespace", "left-behind", "--create-namespace"]);
      runs.push(r);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /cannot (get|list|patch) resource "secrets"/);
      assert.match(
        r.stderr,
        /--create-namespace created namespace\(s\) left-behind before the run failed; they were left in place.*kubectl delete namespace left-behind/,
      );
      assert.equal(w.gitlab.tokens.length, tokens, "nothing minted");
    });

    test("--service-account '*' without clusterrole-all-serviceaccounts.yaml names that file", async () => {
      const kc = asUser("star-role-only", rulesFrom("role.yaml", ["team-b"]));
      const r = await run(kc, ["--namespace", "team-b", "--service-account", "*", "--secret-name", "everyone-b"]);
      runs.push(r);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /Grant examples\/rbac\/clusterrole-all-serviceaccounts\.yaml/);
    });

    test("--service-account '*' needs clusterrole-all-serviceaccounts.yaml", async () => {
      const kc = asUser("star", [
        ...rulesFrom("role.yaml", ["team-a"]),
        ...rulesFrom("clusterrole-all-serviceaccounts.yaml", []),
      ]);
      const r = await run(kc, ["--namespace", "team-a", "--service-account", "*", "--secret-name", "everyone"]);
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(pullSecrets(w, "team-a", "default").includes("everyone"));
    });
  });
}
