// plan --create-namespace (and --missing-namespace create) through the built
// CLI, on the stand-in and, with GPS_KUBE_ASSETS, a real kube-apiserver: a
// listed namespace that does not exist yet is planned as "create namespace"
// + "create Secret", its creation checked by a server dry run, and nothing
// on the cluster changes. Every test ends with the leak scan.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { stopSharedControlPlane } from "../support/kube-real.ts";
import { kubeBackends, leaks, NAMESPACES, PROJECT, startWorld, type Captured, type World } from "../support/world.ts";

const SECRET = "regcred";
const NEW = "team-new";

function cli(w: World, command: string, namespaces: string[], extra: string[] = []): string[] {
  return [
    command,
    "--gitlab-url",
    w.gitlab.url,
    "--project",
    PROJECT.path,
    "--secret-name",
    SECRET,
    "--kubeconfig",
    w.kubeconfig,
    "--namespace",
    namespaces.join(","),
    ...w.verifyFlags(),
    ...extra,
  ];
}

/** Every request that could have changed the cluster: anything but reads, server dry runs and access reviews. */
function clusterWrites(w: World): string[] {
  return w.kube.requests
    .filter((r) => r.method !== "GET" && !/dryRun=All/.test(r.query) && !r.path.endsWith("/selfsubjectaccessreviews"))
    .map((r) => `${r.method} ${r.path}`);
}

/** The resourceVersions of everything plan must leave alone: the Secrets and the Lease. */
function versions(w: World): Array<string | undefined> {
  return [
    ...NAMESPACES.map((ns) => w.kube.getObject("secrets", ns, SECRET)?.metadata.resourceVersion),
    w.kube.getObject("leases", NAMESPACES[0]!, `gitlab-pull-secret-${SECRET}`)?.metadata.resourceVersion,
  ];
}

after(stopSharedControlPlane);

for (const backend of kubeBackends({
  realBecause: "only the real server says what its dry run of a namespace it would create returns",
})) {
  describe(`plan --create-namespace (${backend})`, () => {
    let w: World;
    const runs: Captured[] = [];

    before(async () => {
      w = await startWorld({ backend });
      const r = await w.runCli(cli(w, "rotate", NAMESPACES));
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
    });
    after(async () => {
      await w?.close();
    });

    test("a namespace that does not exist yet is planned as create namespace + create Secret; nothing changes", async () => {
      const before = versions(w);
      const tokens = w.gitlab.tokens.length;
      w.kube.resetRequests();
      const listed = [...NAMESPACES, NEW];
      const r = await w.runCli(cli(w, "plan", listed, ["--create-namespace", "--json"]));
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      const plan = JSON.parse(r.stdout);
      assert.deepEqual(plan.namespaces, [
        ...NAMESPACES.map((namespace) => ({ namespace, action: "update" })),
        { namespace: NEW, action: "create", createNamespace: true },
      ]);
      assert.equal(plan.due, true);

      // The creation was put to the API server as a dry run; nothing was kept.
      const nsDryRuns = w.kube.requests.filter((q) => q.path === `/api/v1/namespaces/${NEW}` && q.method === "PATCH");
      assert.ok(
        nsDryRuns.length > 0 && nsDryRuns.every((q) => /dryRun=All/.test(q.query)),
        "the namespace's creation was a server dry run",
      );
      assert.deepEqual(clusterWrites(w), []);
      assert.equal(w.kube.getObject("namespaces", undefined, NEW), undefined, "the namespace was not created");
      assert.deepEqual(versions(w), before, "Secrets and Lease untouched");
      assert.equal(w.gitlab.tokens.length, tokens, "nothing minted");

      const text = await w.runCli(cli(w, "plan", listed, ["--missing-namespace", "create"]));
      runs.push(text);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, new RegExp(`\\n  ${NEW}\\s+create namespace \\+ create Secret\\n`));
      assert.match(text.stdout, new RegExp(`\\n  ${NAMESPACES[0]}\\s+update\\n`));
      assert.match(
        text.stdout,
        /the API server accepted creating them \(server dry run\), but a dry-run namespace is not kept, so the check of the Secret inside \(quota, admission\) runs when rotate creates them/,
      );
      assert.match(text.stdout, /Nothing was changed: no token minted, no Lease taken, no Secret written\./);
      assert.equal(w.kube.getObject("namespaces", undefined, NEW), undefined);
      assert.deepEqual(versions(w), before);
      assert.deepEqual(leaks(w, runs), [], "a secret form leaked");
    });

    test("without create the same namespace is one rotate would skip, and nothing asks to create it", async () => {
      w.kube.resetRequests();
      const r = await w.runCli(cli(w, "plan", [...NAMESPACES, NEW], ["--json"]));
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).namespaces.at(-1), { namespace: NEW, action: "skip", reason: "missing" });
      assert.ok(!w.kube.requests.some((q) => q.path === `/api/v1/namespaces/${NEW}` && q.method === "PATCH"));
      assert.deepEqual(clusterWrites(w), []);
      assert.deepEqual(leaks(w, runs), [], "a secret form leaked");
    });

    test("then rotate --create-namespace creates it and writes its Secret, as planned", async () => {
      const r = await w.runCli(cli(w, "rotate", [...NAMESPACES, NEW], ["--create-namespace", "--json"]));
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(w.kube.getObject("namespaces", undefined, NEW));
      assert.equal(
        w.kube.getObject("secrets", NEW, SECRET).metadata.annotations["gitlab-pull-secret.io/token-id"],
        String(JSON.parse(r.stdout).token.id),
      );
      assert.deepEqual(leaks(w, runs), [], "a secret form leaked");
    });
  });
}
