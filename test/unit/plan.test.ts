import assert from "node:assert/strict";
import { test } from "node:test";
import { formatDuration, isLiveToken, revocationPlan, rotationDue } from "../../src/model/plan.js";
import { Annotations } from "../../src/model/naming.js";
import type { ExistingSecret, ResolvedOwner } from "../../src/model/ports.js";
import { orderedScopes, sameScopes } from "../../src/model/scopes.js";
import { isStale, leaseName, lockNamespace } from "../../src/commands/lock.js";

test("a token is dead from 00:00 UTC of its expiry date, whatever `expired` says", () => {
  const t = { id: 1, name: "n", expiresAt: "2026-11-24T00:00:00.000Z", revoked: false, scopes: ["read_registry"] };
  assert.equal(isLiveToken(t, new Date("2026-11-23T23:59:59Z")), true);
  assert.equal(isLiveToken(t, new Date("2026-11-24T00:00:00Z")), false);
  assert.equal(isLiveToken({ ...t, revoked: true }, new Date("2026-11-01T00:00:00Z")), false);
  assert.equal(isLiveToken({ ...t, expiresAt: null }, new Date("2999-01-01T00:00:00Z")), true);
});

test("revocation keeps the newest N previous tokens", () => {
  const live = new Set([5, 6, 7, 8, 9, 10]);
  assert.deepEqual(revocationPlan({ current: [9], kept: [8, 7], pending: [] }, 10, 0, live), {
    keep: [],
    revoke: [9, 8, 7],
  });
  assert.deepEqual(revocationPlan({ current: [9], kept: [8, 7], pending: [5] }, 10, 2, live), {
    keep: [9, 8],
    revoke: [7, 5],
  });
  assert.deepEqual(
    revocationPlan({ current: [9, 10], kept: [], pending: [] }, 10, 0, live),
    { keep: [], revoke: [9] },
    "never the new token",
  );
  assert.deepEqual(
    revocationPlan({ current: [9], kept: [4], pending: [3] }, 10, 1, live),
    { keep: [9], revoke: [] },
    "gone tokens need no call",
  );
});

test("durations read well", () => {
  assert.equal(formatDuration(3 * 86400_000), "3d");
  assert.equal(formatDuration(30 * 3600_000), "30h");
  assert.equal(formatDuration(90_000), "1m");
  assert.equal(formatDuration(-1), "no time");
});

test("the lock: one name and namespace per target, stale after its duration", () => {
  assert.equal(lockNamespace(["team-b", "team-a"]), "team-a");
  assert.equal(leaseName("regcred"), "gitlab-pull-secret-regcred");
  const lease = {
    holder: "x",
    renewTime: "2026-11-23T08:00:00.000000Z",
    durationSeconds: 300,
    resourceVersion: "1",
    uid: "u",
  };
  assert.equal(isStale(lease, new Date("2026-11-23T08:04:59Z")), false);
  assert.equal(isStale(lease, new Date("2026-11-23T08:05:01Z")), true);
  assert.equal(isStale({ ...lease, renewTime: "" }, new Date()), true);
});

test("--scope: a current token with other scopes is due, like one for other hosts; the same set in any order is not", () => {
  const owner: ResolvedOwner = {
    kind: "group",
    id: 7,
    path: "grp",
    registryImagePrefix: undefined,
    registryAccessLevel: undefined,
  };
  const secret = (ns: string): ExistingSecret => ({
    namespace: ns,
    type: "kubernetes.io/dockerconfigjson",
    labels: { "app.kubernetes.io/managed-by": "gitlab-pull-secret" },
    annotations: {
      [Annotations.tokenId]: "12",
      [Annotations.owner]: "group/7",
      [Annotations.expiresAt]: "2026-12-20T00:00:00.000Z",
      [Annotations.registry]: "gitlab.example.com",
      [Annotations.registryAliases]: "",
    },
    resourceVersion: "1",
  });
  const due = (have: string[], want: string[]) =>
    rotationDue({
      namespaces: ["a", "b"],
      existing: [secret("a"), secret("b")],
      owner,
      hosts: ["gitlab.example.com"],
      liveIds: new Set([12]),
      tokens: [{ id: 12, name: "t", expiresAt: "2026-12-20T00:00:00.000Z", revoked: false, scopes: have }],
      scopes: want,
      now: new Date("2026-12-01T00:00:00Z"),
      rotateBeforeMs: 86_400_000,
      force: false,
    });
  assert.deepEqual(due(["read_registry"], ["read_registry"]), {
    due: false,
    reason: "deploy token 12 has 19d left, more than --rotate-before",
  });
  assert.deepEqual(due(["read_registry"], ["read_registry", "read_virtual_registry"]), {
    due: true,
    reason: "deploy token 12 has scopes read_registry, not read_registry, read_virtual_registry (--scope)",
  });
  // Fewer scopes are a change too: the Secret would go on holding more than it was asked for.
  assert.deepEqual(due(["read_registry", "read_virtual_registry"], ["read_registry"]), {
    due: true,
    reason: "deploy token 12 has scopes read_registry, read_virtual_registry, not read_registry (--scope)",
  });
  assert.equal(due(["read_virtual_registry", "read_registry"], ["read_registry", "read_virtual_registry"]).due, false);
  assert.equal(sameScopes(["a", "a"], ["a"]), true);
  assert.deepEqual(orderedScopes(["write_virtual_registry", "zz", "read_registry", "read_registry"]), [
    "read_registry",
    "write_virtual_registry",
    "zz",
  ]);
});
