// The orchestration against in-memory ports: order of effects and rollback.
// The same flows run against real kubectl and the stand-ins in test/e2e.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KubeError, RotationError, UnmanagedSecretError, UsageError } from "../../src/errors.js";
import { parseConfig, type Config } from "../../src/inputs.js";
import type { ExistingSecret, GitLabPort, KubePort, ResolvedOwner } from "../../src/ports.js";
import { rotate } from "../../src/rotate.js";
import { Secret } from "../../src/secret.js";

const OWNER: ResolvedOwner = { kind: "project", id: 42, path: "grp/app", registryImagePrefix: "registry.example.com:5005/grp/app", registryAccessLevel: "enabled" };

function world(opts: { existing?: ExistingSecret[]; failApply?: "dry" | "real"; partial?: string[]; failRevoke?: boolean } = {}) {
  const events: string[] = [];
  let nextId = 100;
  let secrets = opts.existing ?? [];
  const gitlab: GitLabPort = {
    async resolveOwner() {
      events.push("resolve");
      return OWNER;
    },
    async createDeployToken(_o, req) {
      const id = nextId++;
      events.push(`mint ${id} ${req.expiresAt}`);
      return { id, name: req.name, username: `gitlab+deploy-token-${id}`, expiresAt: `${req.expiresAt}T00:00:00.000Z`, token: new Secret(`gldt-${id}`) };
    },
    async revokeDeployToken(_o, id) {
      events.push(`revoke ${id}`);
      if (opts.failRevoke) throw new Error("HTTP 500");
      return "revoked";
    },
  };
  const kube: KubePort = {
    async readSecrets() {
      events.push("read");
      return secrets;
    },
    async applySecrets(list, { dryRun }) {
      events.push(dryRun ? "dry-apply" : "apply");
      if (opts.failApply === (dryRun ? "dry" : "real")) {
        const items = JSON.parse(list.reveal()).items as Array<{ metadata: { namespace: string; annotations: Record<string, string>; labels: Record<string, string> } }>;
        if (opts.partial) {
          secrets = items.filter((i) => opts.partial!.includes(i.metadata.namespace)).map((i) => ({ namespace: i.metadata.namespace, type: "kubernetes.io/dockerconfigjson", labels: i.metadata.labels, annotations: i.metadata.annotations, resourceVersion: "9" }));
        }
        throw new KubeError("applying the Secrets", 'secrets "p" is forbidden', ["b"]);
      }
    },
  };
  const logs: string[] = [];
  const ports = {
    gitlab,
    kube,
    clock: { now: () => new Date("2026-11-23T08:30:00Z") },
    log: { info: (m: string) => logs.push(m), warn: (m: string) => logs.push(`warn ${m}`), secret: () => {} },
    nonce: () => "abcdef",
  };
  return { ports, events, logs };
}

const config = (patch: Record<string, unknown> = {}): Config =>
  parseConfig({ project: "grp/app", namespaces: ["a", "b"], ...patch }, { GITLAB_TOKEN: "glpat-x" }, "cli");

const managed = (ns: string, tokenId: number, owner = "project/42"): ExistingSecret => ({
  namespace: ns,
  type: "kubernetes.io/dockerconfigjson",
  labels: { "app.kubernetes.io/managed-by": "gitlab-pull-secret" },
  annotations: { "gitlab-pull-secret.io/token-id": String(tokenId), "gitlab-pull-secret.io/owner": owner },
  resourceVersion: "1",
});

describe("rotate", () => {
  test("first run: checks, mints, applies; nothing to revoke", async () => {
    const w = world();
    const r = await rotate(config(), w.ports);
    assert.deepEqual(w.events, ["resolve", "read", "dry-apply", "mint 100 2026-12-01", "apply"]);
    assert.equal(r.changed, true);
    assert.deepEqual(r.created, ["a", "b"]);
    assert.equal(r.registry, "registry.example.com:5005");
    assert.deepEqual(r.token, { id: 100, username: "gitlab+deploy-token-100", expiresAt: "2026-12-01T00:00:00.000Z" });
  });

  test("second run revokes every distinct previous token of this owner, after apply", async () => {
    const w = world({ existing: [managed("a", 7), managed("b", 8), managed("c", 7), managed("d", 9, "project/99")] });
    const r = await rotate(config(), w.ports);
    assert.deepEqual(w.events.slice(-3), ["apply", "revoke 7", "revoke 8"]);
    assert.deepEqual(r.revokedTokenIds, [7, 8]);
    assert.deepEqual(r.created, []);
  });

  test("an unmanaged Secret is refused before anything changes, unless adopted", async () => {
    const foreign = { ...managed("b", 1), labels: {} };
    const w = world({ existing: [foreign] });
    await assert.rejects(rotate(config(), w.ports), UnmanagedSecretError);
    assert.deepEqual(w.events, ["resolve", "read"]);
    const w2 = world({ existing: [foreign] });
    const r = await rotate(config({ adopt: true }), w2.ports);
    assert.equal(r.changed, true);
    assert.deepEqual(r.revokedTokenIds, [], "a foreign Secret's token is not ours to revoke");
  });

  test("a cluster that refuses the dry run gets no token minted", async () => {
    const w = world({ failApply: "dry" });
    await assert.rejects(rotate(config(), w.ports), KubeError);
    assert.ok(!w.events.some((e) => e.startsWith("mint")));
  });

  test("a failed apply revokes the new token and keeps the old ones", async () => {
    const w = world({ existing: [managed("a", 7)], failApply: "real" });
    const err = await rotate(config(), w.ports).catch((e) => e);
    assert.ok(err instanceof RotationError);
    assert.match(err.message, /new deploy token 100 revoked/);
    assert.deepEqual(w.events.slice(-3), ["apply", "read", "revoke 100"]);
  });

  test("a partly applied rotation keeps the new token alive", async () => {
    const w = world({ existing: [managed("a", 7)], failApply: "real", partial: ["a"] });
    const err = await rotate(config(), w.ports).catch((e) => e);
    assert.ok(err instanceof RotationError);
    assert.match(err.message, /in a already hold new deploy token 100/);
    assert.ok(!w.events.includes("revoke 100") && !w.events.includes("revoke 7"));
  });

  test("dry run mints and changes nothing", async () => {
    const w = world({ existing: [managed("a", 7)] });
    const r = await rotate(config({ dryRun: true }), w.ports);
    assert.deepEqual(w.events, ["resolve", "read", "dry-apply"]);
    assert.equal(r.changed, false);
    assert.equal(r.token, null);
    assert.deepEqual(r.previousTokenIds, [7]);
  });

  test("a failed revoke of the old token is reported, the rotation stands", async () => {
    const w = world({ existing: [managed("a", 7)], failRevoke: true });
    const r = await rotate(config(), w.ports);
    assert.equal(r.changed, true);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0]!, /deploy token 7/);
  });

  test("a project without a registry needs --registry", async () => {
    const w = world();
    w.ports.gitlab.resolveOwner = async () => ({ ...OWNER, registryImagePrefix: undefined });
    await assert.rejects(rotate(config(), w.ports), UsageError);
  });
});
