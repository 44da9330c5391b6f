// Every counterexample the ownership property (ownership-property.test.ts)
// found, shrunk, kept as a plain test: each broke "no token dies while a
// Secret holds it" or "a quiet run sweeps its orphans" before its fix.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { play, type History, type Step } from "../support/fleet-history.js";
import type { Rbac } from "../support/fleet.js";

type Run = Extract<Step, { op: "run" }>;
const run = (pipeline: number, over: Partial<Run> = {}): Run => ({
  op: "run",
  pipeline,
  force: false,
  rotateBefore: "none",
  keepPrevious: 0,
  missing: "skip",
  killAt: null,
  afterMinutes: 6,
  ...over,
});
const LEAST: Rbac = { clusterList: false, getNamespaces: false };
const GET_NS: Rbac = { clusterList: false, getNamespaces: true };

async function holds(h: History): Promise<ReturnType<typeof play>> {
  const outcome = await play(h);
  assert.equal(outcome.violation, null, outcome.violation ?? "");
  return outcome;
}

describe("ownership counterexamples, each with its fix", () => {
  test("P/Q/P: two selectors with a list each are two targets (the identity covers the whole spec)", async () => {
    const { fleet } = await holds({
      clusters: [
        [
          { ns: "a", team: "x" },
          { ns: "y", team: null },
          { ns: "z", team: null },
        ],
      ],
      pipelines: [
        { cluster: 0, secret: "s", spec: { kind: "selector", team: "x", list: ["y"], exclude: [] }, rbac: LEAST },
        { cluster: 0, secret: "s", spec: { kind: "selector", team: "x", list: ["z"], exclude: [] }, rbac: LEAST },
      ],
      steps: [run(0, { force: true }), run(1, { force: true }), run(0, { force: true })],
    });
    const held = (ns: string) =>
      Number(fleet.clusters[0]!.secrets.get(`${ns}/s`)!.annotations["gitlab-pull-secret.io/token-id"]);
    assert.ok(fleet.isLive(held("y")) && fleet.isLive(held("z")));
  });

  test("a namespace relabelled out of the selector keeps a live token (the Lease records where the target wrote)", async () => {
    const { fleet } = await holds({
      clusters: [
        [
          { ns: "b", team: "x" },
          { ns: "a", team: "x" },
        ],
      ],
      pipelines: [
        { cluster: 0, secret: "s", spec: { kind: "selector", team: "x", list: [], exclude: [] }, rbac: LEAST },
        { cluster: 0, secret: "s", spec: { kind: "selector", team: "x", list: ["a"], exclude: [] }, rbac: LEAST },
      ],
      steps: [run(0), { op: "relabel", cluster: 0, ns: "a", team: "y" }, run(0)],
    });
    const left = Number(fleet.clusters[0]!.secrets.get("a/s")!.annotations["gitlab-pull-secret.io/token-id"]);
    assert.ok(fleet.isLive(left), "a still pulls with the token it holds");
    // The record keeps a while its Secret holds one of the target's tokens.
    const records = [...fleet.clusters[0]!.leases.values()].flatMap((l) =>
      Object.entries(l.annotations ?? {}).filter(([k]) => k.startsWith("written.gitlab-pull-secret.io/")),
    );
    assert.ok(
      records.some(([, v]) => v.split(";")[1]!.split(",").includes("a")),
      JSON.stringify(records),
    );
  });

  test("the namespace holding a selector's Lease is deleted: the record is lost, said, and nothing it cannot account for dies", async () => {
    await holds({
      clusters: [[{ ns: "a", team: "x" }], [{ ns: "a", team: "x" }]],
      pipelines: [
        { cluster: 1, secret: "s", spec: { kind: "selector", team: "x", list: ["e", "a"], exclude: [] }, rbac: GET_NS },
        { cluster: 0, secret: "s", spec: { kind: "selector", team: "x", list: [], exclude: [] }, rbac: LEAST },
      ],
      steps: [run(0, { missing: "create" }), { op: "delete", cluster: 1, ns: "a" }, run(0, { afterMinutes: 10 })],
    });
  });

  test("every namespace of a list deleted and made again: nothing in the cluster remembers it, so its old token is left to expire", async () => {
    const { fleet } = await holds({
      clusters: [[{ ns: "a", team: "x" }]],
      pipelines: [
        { cluster: 0, secret: "s", spec: { kind: "list", list: ["d"] }, rbac: LEAST },
        { cluster: 0, secret: "s", spec: { kind: "selector", team: "x", list: [], exclude: ["a"] }, rbac: LEAST },
      ],
      steps: [
        run(0, { missing: "create" }),
        { op: "delete", cluster: 0, ns: "d" },
        run(0, { missing: "create", afterMinutes: 10 }),
      ],
    });
    // Another cluster with the same list could hold it: only its own cluster could tell.
    assert.ok(fleet.isLive(100));
  });

  test("a new first namespace moves the lock: the identity comes from the Secrets, even another target's", async () => {
    await holds({
      clusters: [[{ ns: "a", team: "x" }], [{ ns: "b", team: "y" }], [{ ns: "a", team: "x" }]],
      pipelines: [
        { cluster: 1, secret: "t", spec: { kind: "list", list: ["b", "a"] }, rbac: GET_NS },
        { cluster: 1, secret: "t", spec: { kind: "selector", team: "y", list: [], exclude: [] }, rbac: LEAST },
      ],
      steps: [run(0), run(1), run(0, { missing: "create" }), run(0)],
    });
  });

  test("a run killed right after creating its Lease leaves it unsettled, not legacy: the next run still finds the identity", async () => {
    await holds({
      clusters: [[{ ns: "a", team: "x" }], [{ ns: "b", team: "x" }]],
      pipelines: [
        { cluster: 1, secret: "t", spec: { kind: "list", list: ["b", "a"] }, rbac: GET_NS },
        { cluster: 1, secret: "t", spec: { kind: "selector", team: "x", list: ["e"], exclude: [] }, rbac: LEAST },
      ],
      steps: [run(1, { missing: "create" }), run(0), run(0, { missing: "create", killAt: 5 }), run(1), run(0)],
    });
  });

  test("a run killed between mint and apply, then the lock moves: the earlier Lease is found in the target's namespaces", async () => {
    await holds({
      clusters: [[{ ns: "a", team: "x" }], [{ ns: "d", team: "x" }], [{ ns: "a", team: "x" }]],
      pipelines: [
        { cluster: 0, secret: "s", spec: { kind: "selector", team: "x", list: [], exclude: [] }, rbac: LEAST },
        { cluster: 1, secret: "s", spec: { kind: "list", list: ["d", "a"] }, rbac: GET_NS },
      ],
      steps: [run(1, { killAt: 13 }), run(1, { missing: "create", afterMinutes: 10 })],
    });
  });

  test("two targets with one Secret name share a namespace, and the lock of one moves: it keeps its own identity, not the other target's, and sweeps its orphan", async () => {
    // P0 overwrites e's Secret, so P2's token 100 is held nowhere. P2's next run creates c, and its Lease moves
    // there: its identity came from the Lease P0's Secret names (P0's identity of the cluster), not from its own
    // earlier Lease in e, and token 100, named with P2's identity, went unrecognised. Found by plan-predicts-rotate
    // (seed 1056246571).
    const { trace } = await holds({
      clusters: [[{ ns: "e", team: "x" }]],
      pipelines: [
        { cluster: 0, secret: "t", spec: { kind: "selector", team: "x", list: ["a"], exclude: [] }, rbac: LEAST },
        { cluster: 0, secret: "s", spec: { kind: "selector", team: "x", list: [], exclude: ["a"] }, rbac: LEAST },
        { cluster: 0, secret: "t", spec: { kind: "list", list: ["e", "c"] }, rbac: GET_NS },
      ],
      steps: [run(0, { missing: "create", killAt: 11 }), run(2), run(0), run(2, { missing: "create" })],
    });
    assert.match(trace[3]!, /ok minted \d+ swept 100$/);
  });

  test("a killed run's orphan, then the lock moves to a Lease another target made: the target still knows its earlier identity, and sweeps the orphan", async () => {
    // P1 (e,b; b missing) locks in e, mints 100 named with that Lease's identity, and is killed before it writes.
    // P0 creates b and a Lease there with an identity of its own. P1's next run locks in b, under P0's Lease and
    // identity: token 100, named with P1's earlier identity, went unrecognised, neither revoked nor swept. Found by
    // plan-predicts-rotate (seed 287740260).
    const { trace } = await holds({
      clusters: [[{ ns: "e", team: "x" }]],
      pipelines: [
        { cluster: 0, secret: "t", spec: { kind: "selector", team: "y", list: ["b"], exclude: [] }, rbac: LEAST },
        { cluster: 0, secret: "t", spec: { kind: "list", list: ["e", "b"] }, rbac: GET_NS },
      ],
      steps: [run(1, { killAt: 14 }), run(0, { missing: "create" }), run(1)],
    });
    assert.match(trace[2]!, /ok minted \d+ swept 100$/);
  });
});
