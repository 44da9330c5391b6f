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
  await fc.assert(property, { numRuns: runs, ...(seed === undefined ? {} : { seed }), ...(path === undefined ? {} : { path }), endOnFailure: false, includeErrorInReport: true });
});
