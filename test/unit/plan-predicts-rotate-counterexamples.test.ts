// What the plan-predicts-rotate property found (shrunk histories), kept as
// plain tests. Each failed before its fix: plan (rotate's dry run) said exit 1
// where rotate then succeeded.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { play, type History } from "../support/fleet-history.js";

const run = (pipeline: number, missing: "skip" | "create") =>
  ({
    op: "run",
    pipeline,
    force: false,
    rotateBefore: "none",
    keepPrevious: 0,
    missing,
    killAt: null,
    afterMinutes: 6,
  }) as const;
const namespaced = { clusterList: false, getNamespaces: false };

describe("plan predicts rotate: counterexamples, each with its fix", () => {
  test("1. the first listed namespace is gone, its RoleBinding with it: plan reads the Lease in the next one, as rotate takes it there", async () => {
    const h: History = {
      clusters: [[{ ns: "c", team: "x" }]],
      pipelines: [
        {
          cluster: 0,
          secret: "s",
          spec: { kind: "list", list: ["c", "a"] },
          rbac: { clusterList: false, getNamespaces: true },
        },
      ],
      steps: [run(0, "skip")],
    };
    const outcome = await play(h, undefined, { predict: true });
    assert.equal(outcome.violation, null, outcome.violation ?? "");
    assert.match(outcome.trace[0]!, /ok minted/);
  });

  test("2. --create-namespace with namespaced rights and no get on namespaces: plan reads nothing in the namespace rotate would create", async () => {
    const h: History = {
      clusters: [[{ ns: "a", team: "x" }]],
      pipelines: [{ cluster: 0, secret: "s", spec: { kind: "list", list: ["c"] }, rbac: namespaced }],
      steps: [run(0, "create")],
    };
    const outcome = await play(h, undefined, { predict: true });
    assert.equal(outcome.violation, null, outcome.violation ?? "");
    assert.match(outcome.trace[0]!, /ok minted/);
  });

  test("3. --create-namespace beside namespaces that hold the Secret: the server's dry run skips the namespace not made yet", async () => {
    const h: History = {
      clusters: [[{ ns: "a", team: "x" }]],
      pipelines: [
        {
          cluster: 0,
          secret: "s",
          spec: { kind: "selector", team: "x", list: ["d"], exclude: [] },
          rbac: { clusterList: false, getNamespaces: true },
        },
      ],
      steps: [run(0, "skip"), run(0, "create")],
    };
    const outcome = await play(h, undefined, { predict: true });
    assert.equal(outcome.violation, null, outcome.violation ?? "");
    assert.match(outcome.trace[1]!, /ok minted \d+ revoked/);
  });
});
