// The ownership property (test/unit/ownership-property.test.ts) on a real
// kube-apiserver: a smaller sample of generated histories, one cluster each,
// every run through the live kubectl adapter as the pipeline's own user with
// real Roles, namespaces really created, deleted (emptied by the namespace
// controller) and relabelled. Only with GPS_KUBE_ASSETS (the stand-in
// backend is what the unit property already models).
//
// GPS_PROPERTY_REAL_RUNS sets the sample (default 10); a failure prints the
// seed and path, and GPS_PROPERTY_SEED / GPS_PROPERTY_PATH replay it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { historyArbitrary, play } from "../support/fleet-history.ts";
import { realHarness, tagged } from "../support/fleet-real.ts";
import { stopSharedControlPlane } from "../support/kube-real.ts";
import { kubeBackends, startWorld, type World } from "../support/world.ts";

const real = kubeBackends({
  realBecause:
    "the ownership model checked against what a real server does with selectors, deleted namespaces and RBAC",
}).includes("real");
const runs = Number(process.env.GPS_PROPERTY_REAL_RUNS ?? 10);
const seed = process.env.GPS_PROPERTY_SEED === undefined ? undefined : Number(process.env.GPS_PROPERTY_SEED);
const path = process.env.GPS_PROPERTY_PATH;

let w: World | undefined;
before(async () => {
  if (real) w = await startWorld({ backend: "real", registry: false });
});
after(async () => {
  await w?.close();
  await stopSharedControlPlane();
});

test(
  `the ownership property on a real API server (${runs} histories)`,
  { skip: real ? false : "needs GPS_KUBE_ASSETS (a real kube-apiserver)" },
  async () => {
    let n = 0;
    const property = fc.asyncProperty(historyArbitrary({ maxClusters: 1, maxSteps: 5 }), async (history) => {
      const h = tagged(history, `h${++n}`);
      const outcome = await play(h, await realHarness(w!, h, `h${n}`));
      assert.equal(outcome.violation, null, outcome.violation ?? "");
    });
    await fc.assert(property, {
      numRuns: runs,
      ...(seed === undefined ? {} : { seed }),
      ...(path === undefined ? {} : { path }),
      includeErrorInReport: true,
    });
  },
);
