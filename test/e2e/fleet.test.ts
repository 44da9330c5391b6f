// Fleets scale out as one job per cluster (GitLab parallel:matrix, GitHub
// strategy.matrix): each cluster gets its own token, the jobs run side by
// side, and no cluster's sweep ever touches another cluster's token.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import yaml from "js-yaml";
import type { KubeStandIn } from "../support/kube/index.ts";
import { stopSharedControlPlane } from "../support/kube-real.ts";
import {
  kubeBackends,
  leaks,
  NAMESPACES,
  PROJECT,
  startKube,
  startWorld,
  type Captured,
  type World,
} from "../support/world.ts";

after(stopSharedControlPlane);

/** Two clusters: on the real backend, two control planes. */
for (const backend of kubeBackends()) {
  describe(`fleet (${backend})`, () => {
    let w: World;
    let second: KubeStandIn;
    const runs: Captured[] = [];

    /** A kubeconfig whose cluster and context are named for its cluster, as a fleet's kubeconfigs are. */
    function kubeconfigFor(kube: KubeStandIn, context: string): string {
      const path = kube.writeKubeconfig(join(w.dir, `kube-${context}`));
      const cfg = yaml.load(readFileSync(path, "utf8")) as any;
      for (const c of [...cfg.clusters, ...cfg.contexts]) c.name = context;
      cfg.contexts[0].context.cluster = context;
      cfg["current-context"] = context;
      writeFileSync(path, yaml.dump(cfg));
      return path;
    }

    before(async () => {
      w = await startWorld({ backend });
      second = await startKube(backend, join(w.dir, "kube-2"));
    });
    after(async () => {
      await second?.close();
      await w?.close();
    });

    test("two clusters in parallel: one token each, and sweeps stay in their own cluster", async () => {
      const clusters = [
        { kube: w.kube, context: "prod-eu" },
        { kube: second, context: "prod-us" },
      ].map((c) => ({ ...c, kubeconfig: kubeconfigFor(c.kube, c.context) }));
      const job = (c: (typeof clusters)[number], extra: string[] = []) =>
        w.runCli([
          "rotate",
          "--gitlab-url",
          w.gitlab.url,
          "--project",
          PROJECT.path,
          "--kubeconfig",
          c.kubeconfig,
          "--context",
          c.context,
          "--namespace",
          NAMESPACES.join(","),
          "--service-account",
          "default",
          ...w.verifyFlags(),
          "--json",
          ...extra,
        ]);

      for (const round of [1, 2]) {
        // The matrix jobs start together; the second round sweeps with no grace at all.
        const results = await Promise.all(clusters.map((c) => job(c, round === 2 ? ["--sweep-grace", "0s"] : [])));
        runs.push(...results);
        for (const r of results) assert.equal(r.code, 0, r.stderr);
        const ids = results.map((r) => JSON.parse(r.stdout).token.id as number);
        assert.notEqual(ids[0], ids[1], "one token per cluster");
        for (const [i, c] of clusters.entries()) {
          for (const ns of NAMESPACES) {
            assert.equal(
              c.kube.getObject("secrets", ns, "gitlab-pull-secret").metadata.annotations[
                "gitlab-pull-secret.io/token-id"
              ],
              String(ids[i]),
            );
            assert.ok(
              (c.kube.getObject("serviceaccounts", ns, "default").imagePullSecrets ?? []).some(
                (e: { name: string }) => e.name === "gitlab-pull-secret",
              ),
            );
          }
        }
        const live = w.gitlab.tokens
          .filter((t) => w.gitlab.isLive(t.id))
          .map((t) => t.id)
          .sort((a, b) => a - b);
        assert.deepEqual(
          live,
          [...ids].sort((a, b) => a - b),
          `round ${round}: exactly the two clusters' tokens are live`,
        );
        for (const r of results) assert.deepEqual(JSON.parse(r.stdout).revokedTokenIds.length, round === 1 ? 0 : 1);
      }
      assert.deepEqual(leaks(w, runs), []);
    });
  });
}
