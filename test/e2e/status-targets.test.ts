// status says which target holds what (issue 21), through the built CLI on
// every backend: a subset of one target's namespaces is part of that target,
// not "written by two targets", and a token held only outside the target
// names the Secrets that hold it. It exits 3 only when something needs
// attention.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { stopSharedControlPlane } from "../support/kube-real.ts";
import { kubeBackends, leaks, PROJECT, startWorld, type Captured, type World } from "../support/world.ts";

after(stopSharedControlPlane);

for (const backend of kubeBackends()) {
  describe(`status names the target that holds each token (${backend})`, () => {
    let w: World;
    const runs: Captured[] = [];
    const cli = async (name: string, namespaces: string[], secret: string, extra: string[] = []) => {
      const r = await w.runCli([
        name,
        "--gitlab-url",
        w.gitlab.url,
        "--project",
        PROJECT.path,
        "--secret-name",
        secret,
        "--kubeconfig",
        w.kubeconfig,
        "--namespace",
        namespaces.join(","),
        "--json",
        ...extra,
      ]);
      runs.push(r);
      return r;
    };

    before(async () => {
      w = await startWorld({ backend });
      for (const ns of ["st-a", "st-b", "st-c", "st-mirror"]) w.kube.createNamespace(ns);
    });
    after(async () => {
      await w?.close();
    });

    test("status on part of a target's list: that target, no overlap, exit 0", async () => {
      const rotated = await cli("rotate", ["st-a", "st-b", "st-c"], "sub", w.verifyFlags());
      assert.equal(rotated.code, 0, rotated.stderr);
      const r = await cli("status", ["st-a", "st-b"], "sub", ["--warn-within", "1d"]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const out = JSON.parse(r.stdout);
      assert.deepEqual(
        out.findings.map((f: { kind: string }) => f.kind),
        ["part-of-target"],
      );
      assert.match(
        out.findings[0].message,
        /part of target cluster-[0-9a-f-]+\/sub\/[0-9a-f]{8} \(namespaces st-a,st-b,st-c\)/,
      );
      assert.doesNotMatch(r.stdout + r.stderr, /written by two targets/);
      assert.deepEqual(leaks(w, runs), []);
    });

    test("a token a managed copy outside the target still holds: USED BY names that Secret", async () => {
      const first = JSON.parse((await cli("rotate", ["st-a"], "cp", w.verifyFlags())).stdout).token.id as number;
      const copy = structuredClone(w.kube.getObject("secrets", "st-a", "cp"));
      copy.metadata = {
        name: "cp",
        namespace: "st-mirror",
        labels: copy.metadata.labels,
        annotations: copy.metadata.annotations,
      };
      w.kube.putObject("secrets", copy);
      assert.equal((await cli("rotate", ["st-a"], "cp", w.verifyFlags())).code, 0);
      const r = await cli("status", ["st-a"], "cp", ["--sweep-grace", "0s"]);
      const out = JSON.parse(r.stdout);
      const token = out.tokens.find((t: { id: number }) => t.id === first);
      assert.deepEqual([token.role, token.usedBy], ["held-elsewhere", ["st-mirror/cp"]], JSON.stringify(out.tokens));
      const text = await w.runCli([
        "status",
        "--gitlab-url",
        w.gitlab.url,
        "--project",
        PROJECT.path,
        "--secret-name",
        "cp",
        "--kubeconfig",
        w.kubeconfig,
        "--namespace",
        "st-a",
        "--sweep-grace",
        "0s",
      ]);
      runs.push(text);
      assert.match(
        text.stdout + text.stderr,
        new RegExp(`\\n${first} +live +held-elsewhere +\\S+ +\\S+ +st-mirror/cp `),
      );
      assert.equal(r.code, 0, "nothing needs attention: the copy is alive and held");
      assert.deepEqual(leaks(w, runs), []);
    });
  });
}
