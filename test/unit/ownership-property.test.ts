// The ownership invariant over generated fleets (issue 21): 1–3 clusters, 2–4
// pipelines on one project with lists, selectors, selectors plus lists and
// exclusions, shared Secret names, three RBAC levels, namespaces created,
// deleted and relabelled between runs, runs with --force, --rotate-before,
// --keep-previous and --missing-namespace, some killed between two port calls.
// After every run: every Secret of ours holds a token nobody revoked; after a
// quiet run, the pipeline's unreferenced tokens older than the grace are swept.
//
// GPS_PROPERTY_RUNS sets how many histories (default 2000); a failure prints
// the seed and path, and GPS_PROPERTY_SEED / GPS_PROPERTY_PATH replay it.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { historyArbitrary, play } from "../support/fleet-history.js";

const runs = Number(process.env.GPS_PROPERTY_RUNS ?? 2000);
const seed = process.env.GPS_PROPERTY_SEED === undefined ? undefined : Number(process.env.GPS_PROPERTY_SEED);
const path = process.env.GPS_PROPERTY_PATH;

test(`no token of ours dies while a Secret holds it, and orphans are swept (${runs} generated histories)`, async () => {
  const property = fc.asyncProperty(historyArbitrary(), async (history) => {
    const outcome = await play(history);
    assert.equal(outcome.violation, null, outcome.violation ?? "");
  });
  await fc.assert(property, {
    numRuns: runs,
    ...(seed === undefined ? {} : { seed }),
    ...(path === undefined ? {} : { path }),
    endOnFailure: false,
    includeErrorInReport: true,
  });
});

// The property proves nothing about a dimension its histories never reach: a fixed sample must reach every one.
test("the generated histories reach every dimension the property is about", async () => {
  const histories = fc.sample(historyArbitrary(), { numRuns: 400, seed: 21 });
  const seen = new Map<string, number>();
  const count = (what: string, yes: boolean) => yes && seen.set(what, (seen.get(what) ?? 0) + 1);
  for (const h of histories) {
    count("several clusters", h.clusters.length > 1);
    count(
      "a shared Secret name",
      new Set(h.pipelines.map((p) => `${p.cluster}/${p.secret}`)).size < h.pipelines.length,
    );
    for (const p of h.pipelines) {
      count(
        p.spec.kind === "list"
          ? "a list"
          : p.spec.list.length
            ? "a selector plus a list"
            : p.spec.exclude.length
              ? "a selector with exclusions"
              : "a selector",
        true,
      );
      count(`cluster-wide list ${p.rbac.clusterList}`, true);
      count(`get namespaces ${p.rbac.getNamespaces}`, true);
    }
    for (const s of h.steps)
      if (s.op === "run")
        for (const flag of [
          `force ${s.force}`,
          `rotate-before ${s.rotateBefore}`,
          `keep ${s.keepPrevious}`,
          `missing ${s.missing}`,
        ])
          count(flag, true);
    for (const line of (await play(h)).trace) {
      for (const [what, re] of [
        ["killed", /killed at/],
        ["minted", /minted/],
        ["revoked", /revoked \d/],
        ["swept", /swept \d/],
        ["filled", /filled/],
        ["refused", /: exit [12]/],
        ["create", /: create /],
        ["delete", /: delete /],
        ["relabel", /: relabel /],
      ] as const)
        count(what, re.test(line));
    }
  }
  const wanted = [
    "several clusters",
    "a shared Secret name",
    "a list",
    "a selector",
    "a selector plus a list",
    "a selector with exclusions",
    "cluster-wide list true",
    "cluster-wide list false",
    "get namespaces true",
    "get namespaces false",
    "force true",
    "rotate-before none",
    "rotate-before 1d",
    "rotate-before 6d",
    "keep 1",
    "missing skip",
    "missing fail",
    "missing create",
    "killed",
    "minted",
    "revoked",
    "swept",
    "filled",
    "refused",
    "create",
    "delete",
    "relabel",
  ];
  assert.deepEqual(
    wanted.filter((w) => !seen.get(w)),
    [],
    JSON.stringify(Object.fromEntries(seen)),
  );
});
