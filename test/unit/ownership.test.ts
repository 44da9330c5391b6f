// The pure ownership rules: which token names are this target's, and which
// held tokens a run may revoke. The same rules run end to end in
// test/e2e/ownership.test.ts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseConfig } from "../../src/config/inputs.js";
import { clusterKey, isClusterKey, parseTokenName, targetId, tokenName } from "../../src/model/naming.js";
import { assessOwnership, claimOf, overlapMessage } from "../../src/model/ownership.js";
import type { ExistingSecret, ResolvedOwner } from "../../src/model/ports.js";
import { targetOf } from "../../src/commands/target.js";

const UID_A = "0f0f0f0f-0000-4000-8000-00000000000a";
const UID_B = "0f0f0f0f-0000-4000-8000-00000000000b";
const OWNER: ResolvedOwner = {
  kind: "project",
  id: 42,
  path: "grp/app",
  registryImagePrefix: undefined,
  registryAccessLevel: undefined,
};
const NOW = new Date("2026-11-23T08:30:00Z");
const config = (namespaces: string[]) =>
  parseConfig({ project: "grp/app", namespaces, secretName: "pull" }, { GITLAB_TOKEN: "glpat-x" }, "cli");
const named = (uidOrContext: string, namespaces: string[], id: number): string => {
  const cluster = isClusterKey(`cluster-${uidOrContext}`) ? clusterKey(uidOrContext) : uidOrContext;
  return tokenName("gitlab-pull-secret", targetId(cluster, "pull", namespaces), NOW, id.toString(16).padStart(6, "0"));
};
const secret = (namespace: string, annotations: Record<string, string>): ExistingSecret => ({
  namespace,
  type: "kubernetes.io/dockerconfigjson",
  labels: { "app.kubernetes.io/managed-by": "gitlab-pull-secret" },
  annotations: { "gitlab-pull-secret.io/owner": "project/42", ...annotations },
  resourceVersion: "1",
});
const live = (id: number, name: string) => ({
  id,
  name,
  expiresAt: "2026-12-01T00:00:00.000Z",
  revoked: false,
  scopes: ["read_registry"],
});

describe("token names carry the cluster", () => {
  test("parse from the end, so legacy context names with '/' still read", () => {
    const legacy = tokenName("gitlab-pull-secret", targetId("platform/agents:prod", "pull", ["a"]), NOW, "abc123");
    assert.deepEqual(parseTokenName("gitlab-pull-secret", legacy), {
      cluster: "platform/agents:prod",
      secretName: "pull",
      set: targetId("x", "pull", ["a"]).split("/")[2],
      id: targetId("platform/agents:prod", "pull", ["a"]),
    });
    assert.equal(
      parseTokenName("gitlab-pull-secret", "gitlab-pull-secret/render/pull/20261123T083000Z-abc123"),
      undefined,
      "render's names are not a target's",
    );
    assert.equal(parseTokenName("gitlab-pull-secret", "made-by-hand"), undefined);
    assert.ok(isClusterKey(clusterKey(UID_A)));
    assert.ok(!isClusterKey("current-context"));
  });

  test("claims: ours, legacy, another cluster's, another target's, unproven", () => {
    const t = targetOf(config(["a", "b"]), ["a", "b"], UID_A);
    assert.equal(claimOf("gitlab-pull-secret", t, named(UID_A, ["b", "a"], 1)).kind, "ours");
    assert.equal(claimOf("gitlab-pull-secret", t, named("current-context", ["a", "b"], 2)).kind, "legacy");
    assert.equal(claimOf("gitlab-pull-secret", t, named(UID_B, ["a", "b"], 3)).kind, "other-cluster");
    assert.equal(claimOf("gitlab-pull-secret", t, named(UID_A, ["b", "c"], 4)).kind, "other-target");
    assert.equal(claimOf("gitlab-pull-secret", t, "made-by-hand").kind, "unproven");
    // Before the first rotation no Lease exists: nothing is "ours" by name.
    assert.equal(
      claimOf("gitlab-pull-secret", targetOf(config(["a", "b"]), ["a", "b"], undefined), named(UID_A, ["a", "b"], 1))
        .kind,
      "other-cluster",
    );
  });
});

describe("what a run may revoke", () => {
  const target = targetOf(config(["a", "b"]), ["a", "b"], UID_A);
  const tokens = [
    live(1, named(UID_A, ["a", "b"], 1)),
    live(2, named(UID_A, ["b", "c"], 2)),
    live(3, named("current-context", ["a", "b"], 3)),
    live(4, named(UID_B, ["a", "b"], 4)),
  ];

  test("its own, its legacy and its moved-Lease tokens that our Secrets hold; another target's is spared and the overlap named", () => {
    const existing = [
      secret("a", { "gitlab-pull-secret.io/token-id": "1", "gitlab-pull-secret.io/kept-token-ids": "3,4" }),
      secret("b", { "gitlab-pull-secret.io/token-id": "2", "gitlab-pull-secret.io/target-spec": "namespaces b,c" }),
    ];
    const own = assessOwnership({
      existing,
      owner: OWNER,
      tokens,
      prefix: "gitlab-pull-secret",
      target,
      namespaces: ["a", "b"],
      managed: undefined,
    });
    // 4 carries another Lease uid, but this cluster's Secret of this target holds it: the Lease moved.
    assert.deepEqual(own.revocable, { current: [1], kept: [4, 3], pending: [] });
    assert.deepEqual(
      own.spared.map((s) => [s.id, s.why, s.namespaces]),
      [[2, "other-target", ["b"]]],
    );
    assert.deepEqual(
      own.overlaps.map((o) => [o.namespace, o.tokenId, o.otherSpec]),
      [["b", 2, "namespaces b,c"]],
    );
    assert.match(
      overlapMessage(own.overlaps[0]!, "pull", target),
      /namespace b is written by two targets.*\(namespaces b,c\), and this run's target is cluster-.*\(namespaces a,b\).*--secret-name/,
    );
  });

  test("a token a managed Secret outside the target holds is spared; another owner's Secret does not count", () => {
    const existing = [secret("a", { "gitlab-pull-secret.io/token-id": "1" })];
    const managed = [
      { namespace: "mirror", name: "pull", owner: "project/42", tokenId: "1", kept: "" },
      { namespace: "a", name: "pull", owner: "project/42", tokenId: "1", kept: "" },
      { namespace: "x", name: "pull", owner: "project/7", tokenId: "3", kept: "" },
    ];
    const own = assessOwnership({
      existing,
      owner: OWNER,
      tokens,
      prefix: "gitlab-pull-secret",
      target,
      namespaces: ["a", "b"],
      managed,
    });
    assert.deepEqual(own.revocable.current, []);
    assert.deepEqual(
      own.spared.map((s) => [s.id, s.why, s.elsewhere]),
      [[1, "held-elsewhere", ["mirror/pull"]]],
    );
    assert.deepEqual([...own.heldElsewhere], [1]);
  });
});

describe("a target is its cluster, its Secret name and its whole spec", () => {
  const spec = (raw: Record<string, unknown>) =>
    parseConfig({ project: "grp/app", secretName: "pull", ...raw }, { GITLAB_TOKEN: "glpat-x" }, "cli");
  const id = (raw: Record<string, unknown>, resolved: string[] = []) => {
    const c = spec(raw);
    return targetOf(c, resolved.length ? resolved : c.namespaces, UID_A).id;
  };

  test("a selector with different lists beside it names different targets (P/Q/P)", () => {
    const p = id({ namespaceSelector: "team=x", namespaces: ["y"] }, ["x-1", "y"]);
    const q = id({ namespaceSelector: "team=x", namespaces: ["z"] }, ["x-1", "z"]);
    assert.notEqual(p, q);
    assert.notEqual(p, id({ namespaceSelector: "team=x" }, ["x-1", "y"]), "the selector alone is a third target");
  });

  test("what matches today does not name the target; the order of a selector's requirements does not either", () => {
    assert.equal(
      id({ namespaceSelector: "team=x,env in (a,b)" }, ["x-1"]),
      id({ namespaceSelector: " env in (a,b) , team=x" }, ["x-1", "x-2"]),
    );
    assert.notEqual(
      id({ namespaceSelector: "team=x" }),
      id({ namespaceSelector: "team=x", excludeNamespaces: ["x-2"] }),
    );
  });

  test("a plain list and a plain selector keep the names older versions minted", () => {
    assert.equal(id({ namespaces: ["b", "a"] }), targetId(clusterKey(UID_A), "pull", ["a", "b"]));
    assert.equal(
      id({ namespaceSelector: "team=x", excludeNamespaces: ["q"] }),
      targetId(clusterKey(UID_A), "pull", ["selector=team=x", "exclude=q"]),
    );
  });
});
