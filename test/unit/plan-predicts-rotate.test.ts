// plan says what rotate will do (issue 22): over generated fleets (the
// ownership property's histories: several clusters and pipelines, lists and
// selectors, RBAC levels, namespaces that come and go, --force,
// --rotate-before, --keep-previous, --missing-namespace), plan runs through
// readers of the same world just before every run, and the run then does what
// it predicted: the mint, the fill, the tokens revoked and swept, the skipped
// namespaces and the exit class. Both call the same decide (model/decide.ts).
//
// GPS_PLAN_RUNS sets how many histories (default 500); a failure prints the
// seed and path, and GPS_PROPERTY_SEED / GPS_PROPERTY_PATH replay it.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { historyArbitrary, play } from "../support/fleet-history.js";

const runs = Number(process.env.GPS_PLAN_RUNS ?? 500);
const seed = process.env.GPS_PROPERTY_SEED === undefined ? undefined : Number(process.env.GPS_PROPERTY_SEED);
const path = process.env.GPS_PROPERTY_PATH;

test(`plan predicts every run's mint, fill, revokes, sweeps, skips and exit class (${runs} generated histories)`, async () => {
  const property = fc.asyncProperty(historyArbitrary(), async (history) => {
    const outcome = await play(history, undefined, { predict: true });
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
