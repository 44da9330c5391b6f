// The orchestration against in-memory ports: order of effects and rollback.
// The same flows run against real kubectl and the stand-ins in test/e2e.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KubeError, RotationError, UnmanagedSecretError, UsageError } from "../../src/model/errors.js";
import { parseConfig, type Config } from "../../src/config/inputs.js";
import type { ExistingSecret, KubePort, ResolvedOwner, LeaseState, LockPort, Ports } from "../../src/model/ports.js";
import { rotate } from "../../src/commands/rotate.js";
import { Secret } from "../../src/model/secret.js";
import { clusterKey, targetId } from "../../src/model/naming.js";
import { healthyApiToken, idleTimer, quietKube } from "../support/port-defaults.ts";

/** The uid of the fakes' Lease: the cluster's identity in token names. */
const LEASE_UID = "0f0f0f0f-0000-4000-8000-000000000042";

const OWNER: ResolvedOwner = {
  kind: "project",
  id: 42,
  path: "grp/app",
  registryImagePrefix: "registry.example.com:5005/grp/app",
  registryAccessLevel: "enabled",
};

interface FakeToken {
  id: number;
  name: string;
  expiresAt: string | null;
  revoked: boolean;
  deleted: boolean;
  scopes?: readonly string[];
}

function world(
  opts: {
    data?: Record<string, string>;
    existing?: ExistingSecret[];
    failApply?: "dry" | "real";
    partial?: string[];
    failRevoke?: boolean;
    failVerify?: boolean;
    tokens?: FakeToken[];
    leaseHolder?: string;
  } = {},
) {
  const events: string[] = [];
  let nextId = 100;
  let secrets = opts.existing ?? [];
  const tokens: FakeToken[] = opts.tokens ?? [];
  const applied: string[] = [];
  const gitlab = {
    ...healthyApiToken,
    async resolveOwner() {
      events.push("resolve");
      return OWNER;
    },
    async listDeployTokens() {
      events.push("list");
      return tokens
        .filter((t) => !t.deleted)
        .map(({ id, name, expiresAt, revoked, scopes }) => ({
          id,
          name,
          expiresAt,
          revoked,
          scopes: scopes ?? ["read_registry"],
          username: `u${id}`,
        }));
    },
    async createDeployToken(_o: unknown, req: { name: string; expiresAt: string; scopes: readonly string[] }) {
      const id = nextId++;
      events.push(`mint ${id} ${req.expiresAt}`);
      tokens.push({
        id,
        name: req.name,
        expiresAt: `${req.expiresAt}T00:00:00.000Z`,
        revoked: false,
        deleted: false,
        scopes: req.scopes,
      });
      return {
        id,
        name: req.name,
        username: `gitlab+deploy-token-${id}`,
        expiresAt: `${req.expiresAt}T00:00:00.000Z`,
        token: new Secret(`gldt-${id}`),
      };
    },
    async revokeDeployToken(_o: unknown, id: number) {
      events.push(`revoke ${id}`);
      if (opts.failRevoke) throw new Error("HTTP 500");
      const t = tokens.find((x) => x.id === id);
      if (t) t.deleted = true;
      return "revoked" as const;
    },
  } satisfies Ports["gitlab"];
  const kube: KubePort = {
    ...quietKube,
    async readTarget() {
      events.push("read");
      return { secrets, serviceAccounts: [] };
    },
    async replaceServiceAccounts() {
      events.push("sa");
      return "ok";
    },
    async listNamespaces() {
      return [];
    },
    async applyNamespaces() {
      events.push("namespaces");
      return [];
    },
    async dryRunNamespaces() {
      events.push("namespaces");
      return [];
    },
    async readSecrets() {
      events.push("read");
      return secrets;
    },
    // The docker config each namespace's Secret holds (opts.data), for fill.
    async readSecretData(namespace) {
      events.push(`read-data ${namespace}`);
      const secret = secrets.find((s) => s.namespace === namespace);
      const text = opts.data?.[namespace];
      return secret && text !== undefined ? { secret, data: { ".dockerconfigjson": new Secret(text) } } : undefined;
    },
    applySecrets: (list, { force }) => apply(list, { dryRun: false, force }),
    dryRunSecrets: (list, { force }) => apply(list, { dryRun: true, force }),
  };
  async function apply(list: Secret, { dryRun }: { dryRun: boolean; force: boolean }): Promise<void> {
    events.push(dryRun ? "dry-apply" : "apply");
    if (!dryRun) applied.push(list.reveal());
    if (opts.failApply === (dryRun ? "dry" : "real")) {
      const items = JSON.parse(list.reveal()).items as Array<{
        metadata: { namespace: string; annotations: Record<string, string>; labels: Record<string, string> };
      }>;
      if (opts.partial) {
        secrets = items
          .filter((i) => opts.partial!.includes(i.metadata.namespace))
          .map((i) => ({
            namespace: i.metadata.namespace,
            type: "kubernetes.io/dockerconfigjson",
            labels: i.metadata.labels,
            annotations: i.metadata.annotations,
            resourceVersion: "9",
          }));
      }
      throw new KubeError("applying the Secrets", 'secrets "p" is forbidden', ["b"]);
    }
  }
  let lease: LeaseState | undefined = opts.leaseHolder
    ? {
        holder: opts.leaseHolder,
        renewTime: "2026-11-23T08:29:00.000000Z",
        durationSeconds: 300,
        resourceVersion: "1",
        uid: LEASE_UID,
      }
    : undefined;
  const lock: LockPort = {
    async readLease() {
      return lease;
    },
    async readLeases() {
      return new Map();
    },
    async renewLease(_ns, _name, held, now) {
      if (lease?.resourceVersion !== held.resourceVersion) return undefined;
      lease = { ...held, renewTime: now.toISOString(), resourceVersion: String(Number(held.resourceVersion) + 1) };
      return lease;
    },
    async createLease(_ns, _name, holder, durationSeconds, now) {
      events.push("lock");
      lease = { holder, renewTime: now.toISOString(), durationSeconds, resourceVersion: "2", uid: LEASE_UID };
      return lease;
    },
    async claimLease(_ns, _name, holder, durationSeconds, now, resourceVersion) {
      if (lease?.resourceVersion !== resourceVersion) return undefined;
      events.push("lock");
      lease = {
        holder,
        renewTime: now.toISOString(),
        durationSeconds,
        resourceVersion: String(Number(resourceVersion) + 1),
        uid: LEASE_UID,
      };
      return lease;
    },
    async releaseLease(_ns, _name, held) {
      events.push("unlock");
      if (lease?.resourceVersion === held.resourceVersion) lease = { ...lease, holder: "", renewTime: "" };
    },
  };
  const logs: string[] = [];
  let clock = new Date("2026-11-23T08:30:00Z").getTime();
  const ports: Ports = {
    gitlab,
    kube,
    lock,
    verifier: {
      async verifyPull(req) {
        events.push(`verify ${req.repository}`);
        if (opts.failVerify) throw new Error("registry said no");
        return { digest: "sha256:abc" };
      },
    },
    clock: { now: () => new Date(clock) },
    sleep: async (ms) => {
      clock += ms;
    },
    log: { info: (m: string) => logs.push(m), warn: (m: string) => logs.push(`warn ${m}`), secret: () => {} },
    nonce: () => "abcdef",
    timer: idleTimer,
  };
  const forms: string[] = [];
  ports.log.secret = (v: string) => forms.push(v);
  return { ports, events, logs, tokens, applied, forms };
}

/** A name of the default target (namespaces a, b) in the fakes' cluster. */
const oursNamed = (id: number): string =>
  `gitlab-pull-secret/${targetId(clusterKey(LEASE_UID), "gitlab-pull-secret", ["a", "b"])}/20261123T070000Z-${id.toString(16).padStart(6, "0")}`;
const live = (id: number, name = oursNamed(id), expiresAt: string | null = "2026-12-01T00:00:00.000Z"): FakeToken => ({
  id,
  name,
  expiresAt,
  revoked: false,
  deleted: false,
});

const config = (patch: Record<string, unknown> = {}): Config =>
  parseConfig({ project: "grp/app", namespaces: ["a", "b"], ...patch }, { GITLAB_TOKEN: "glpat-x" }, "cli");

const managed = (
  ns: string,
  tokenId: number,
  owner = "project/42",
  extra: Record<string, string> = {},
): ExistingSecret => ({
  namespace: ns,
  type: "kubernetes.io/dockerconfigjson",
  labels: { "app.kubernetes.io/managed-by": "gitlab-pull-secret" },
  annotations: {
    "gitlab-pull-secret.io/token-id": String(tokenId),
    "gitlab-pull-secret.io/owner": owner,
    "gitlab-pull-secret.io/expires-at": "2026-12-01T00:00:00.000Z",
    ...extra,
  },
  resourceVersion: "1",
});

describe("rotate", () => {
  test("first run: checks, mints, applies; nothing to revoke", async () => {
    const w = world();
    const r = await rotate(config(), w.ports);
    assert.deepEqual(w.events, [
      "resolve",
      "lock",
      "read",
      "dry-apply",
      "list",
      "mint 100 2026-12-01",
      "verify grp/app",
      "apply",
      "unlock",
    ]);
    assert.equal(r.changed, true);
    assert.deepEqual(r.created, ["a", "b"]);
    assert.equal(r.registry, "registry.example.com:5005");
    assert.deepEqual(r.token, { id: 100, username: "gitlab+deploy-token-100", expiresAt: "2026-12-01T00:00:00.000Z" });
  });

  test("second run revokes every distinct previous token of this owner, after apply", async () => {
    const w = world({
      existing: [managed("a", 7), managed("b", 8), managed("c", 7), managed("d", 9, "project/99")],
      tokens: [live(7), live(8), live(9, "made-by-hand")],
    });
    const r = await rotate(config(), w.ports);
    assert.deepEqual(w.events.slice(-4), ["apply", "revoke 8", "revoke 7", "unlock"]);
    assert.deepEqual(r.revokedTokenIds, [8, 7]);
    assert.deepEqual(r.created, []);
  });

  test("an unmanaged Secret is refused before anything changes, unless adopted", async () => {
    const foreign = { ...managed("b", 1), labels: {} };
    const w = world({ existing: [foreign] });
    await assert.rejects(rotate(config(), w.ports), UnmanagedSecretError);
    assert.deepEqual(w.events, ["resolve", "lock", "read", "unlock"]);
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
    assert.deepEqual(w.events.slice(-4), ["apply", "read", "revoke 100", "unlock"]);
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
    assert.deepEqual(w.events, ["resolve", "read", "dry-apply", "list"]);
    assert.equal(r.changed, false);
    assert.equal(r.token, null);
    assert.deepEqual(r.previousTokenIds, [7]);
  });

  test("a failed revoke of the old token is reported, the rotation stands", async () => {
    const w = world({ existing: [managed("a", 7)], failRevoke: true, tokens: [live(7)] });
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

  test("--rotate-before: nothing due means nothing minted, applied or revoked", async () => {
    const w = world({ existing: [managed("a", 7), managed("b", 7)], tokens: [live(7)] });
    const r = await rotate(config({ rotateBefore: "2d" }), w.ports);
    assert.equal(r.changed, false);
    assert.match(r.reason, /has 7d left/);
    assert.deepEqual(w.events, ["resolve", "lock", "read", "list", "unlock"]);
  });

  test("--rotate-before rotates when the token expires soon, is gone, or a namespace lacks the Secret", async () => {
    const soon = { "gitlab-pull-secret.io/expires-at": "2026-11-24T00:00:00.000Z" };
    for (const [existing, tokens, why] of [
      [[managed("a", 7, "project/42", soon), managed("b", 7, "project/42", soon)], [live(7)], /expires in 15h/],
      [[managed("a", 7), managed("b", 7)], [], /no longer live/],
      [
        [managed("a", 7)],
        [live(7, "made-by-hand")],
        /no managed Secret in b, and deploy token 7 cannot be copied there: its name does not prove/,
      ],
      [[], [live(7)], /no namespace holds a Secret yet \(a, b\)/],
    ] as const) {
      const w = world({ existing: [...existing], tokens: [...tokens] });
      const r = await rotate(config({ rotateBefore: "2d" }), w.ports);
      assert.equal(r.changed, true);
      assert.match(r.reason, why);
    }
    const forced = world({ existing: [managed("a", 7), managed("b", 7)], tokens: [live(7)] });
    assert.equal((await rotate(config({ rotateBefore: "2d", force: true }), forced.ports)).changed, true);
  });

  test("--keep-previous keeps the newest previous tokens and records them", async () => {
    const w = world({
      existing: [managed("a", 9, "project/42", { "gitlab-pull-secret.io/kept-token-ids": "8,7" }), managed("b", 9)],
      tokens: [live(7), live(8), live(9)],
    });
    const r = await rotate(config({ keepPrevious: "2" }), w.ports);
    assert.deepEqual(r.keptTokenIds, [9, 8]);
    assert.deepEqual(r.revokedTokenIds, [7]);
  });

  test("the sweep revokes our unreferenced tokens past the grace, never others", async () => {
    const w = world({ tokens: [] });
    const t = targetId(clusterKey(LEASE_UID), "gitlab-pull-secret", ["a", "b"]);
    w.tokens.push(
      live(50, `gitlab-pull-secret/${t}/20261123T080000Z-aaaaaa`), // orphan, 30 min old
      live(51, `gitlab-pull-secret/${t}/20261123T082500Z-bbbbbb`), // orphan inside the 10m grace
      live(52, `gitlab-pull-secret/other-context/gitlab-pull-secret/ffffffff/20261123T080000Z-cccccc`), // another target
      live(53, "made-by-hand"),
    );
    const r = await rotate(config(), w.ports);
    assert.deepEqual(r.sweptTokenIds, [50]);
    assert.ok(
      w.tokens.find((x) => x.id === 51 && !x.deleted) &&
        w.tokens.find((x) => x.id === 52 && !x.deleted) &&
        w.tokens.find((x) => x.id === 53 && !x.deleted),
    );
  });

  test("a failed pull check revokes the new token before the cluster is touched", async () => {
    const w = world({ failVerify: true });
    const err = await rotate(config(), w.ports).catch((e) => e);
    assert.ok(err instanceof RotationError);
    assert.match(err.message, /registry said no[\s\S]*new deploy token 100 revoked; the cluster was not touched/);
    assert.ok(!w.events.includes("apply"));
    assert.equal(w.events.at(-1), "unlock");
  });

  test("a lock held by another run is waited for, then gives up with a clear message", async () => {
    const w = world({ leaseHolder: "gps-other" });
    const err = await rotate(config({ lockTimeout: "1m" }), w.ports).catch((e) => e);
    assert.match(String(err.message), /held by gps-other[\s\S]*Nothing was changed/);
    assert.ok(!w.events.some((e) => e.startsWith("mint") || e === "read"));
  });
});

describe("fill: nothing due, a namespace without the Secret gets the current token", () => {
  const CFG = JSON.stringify({
    auths: {
      "registry.example.com:5005": {
        username: "gitlab+deploy-token-7",
        password: "gldt-seven",
        auth: Buffer.from("gitlab+deploy-token-7:gldt-seven").toString("base64"),
      },
    },
  });
  const record = {
    "gitlab-pull-secret.io/token-username": "gitlab+deploy-token-7",
    "gitlab-pull-secret.io/registry": "registry.example.com:5005",
    "gitlab-pull-secret.io/registry-aliases": "",
    "gitlab-pull-secret.io/target-spec": "namespaces a,b",
    "gitlab-pull-secret.io/rotated-at": "2026-11-20T00:00:00.000Z",
  };
  const three = () => config({ rotateBefore: "2d", namespaces: ["a", "b", "c"] });
  // The token was minted for a,b,c: the list is the target.
  const named = (id: number) =>
    `gitlab-pull-secret/${targetId(clusterKey(LEASE_UID), "gitlab-pull-secret", ["a", "b", "c"])}/20261123T070000Z-${id.toString(16).padStart(6, "0")}`;

  test("copies the source's docker config and record; nothing minted or revoked; the read credentials are checked and registered", async () => {
    const w = world({
      existing: [managed("a", 7, "project/42", record), managed("b", 7, "project/42", record)],
      tokens: [live(7, named(7))],
      data: { a: CFG },
    });
    const r = await rotate(three(), w.ports);
    assert.deepEqual(w.events, [
      "resolve",
      "lock",
      "read",
      "dry-apply",
      "list",
      "read-data a",
      "verify grp/app",
      "apply",
      "unlock",
    ]);
    assert.equal(r.changed, true);
    assert.deepEqual(r.filled, { namespaces: ["c"], tokenId: 7 });
    assert.equal(r.token, null);
    assert.deepEqual(r.revokedTokenIds, []);
    assert.match(r.reason, /deploy token 7 has 7d left/);
    const items = JSON.parse(w.applied[0]!).items;
    assert.deepEqual(
      items.map((i: { metadata: { namespace: string } }) => i.metadata.namespace),
      ["c"],
    );
    assert.equal(Buffer.from(items[0].data[".dockerconfigjson"], "base64").toString(), CFG);
    assert.deepEqual(items[0].metadata.annotations, {
      ...managed("a", 7, "project/42", record).annotations,
      "gitlab-pull-secret.io/lease": "a",
    });
    for (const form of ["gldt-seven", "gitlab+deploy-token-7:gldt-seven", CFG, Buffer.from(CFG).toString("base64")])
      assert.ok(w.forms.includes(form), `registered ${form.slice(0, 12)}`);
    assert.ok(w.logs.some((l) => /Filled Secret "gitlab-pull-secret" in c with deploy token 7/.test(l)));
  });

  test("a dry run (plan) reads and checks, writes nothing", async () => {
    // A dry run takes no Lease, it reads the one earlier runs kept (its uid proves the cluster).
    const w = world({
      existing: [managed("a", 7, "project/42", record), managed("b", 7, "project/42", record)],
      tokens: [live(7, named(7))],
      data: { a: CFG },
      leaseHolder: "gps-earlier",
    });
    const r = await rotate({ ...three(), dryRun: true }, w.ports);
    assert.deepEqual(r.filled, { namespaces: ["c"], tokenId: 7 });
    assert.equal(r.changed, false);
    assert.ok(!w.events.includes("apply") && !w.events.some((e) => e.startsWith("verify")));
  });

  test("a source whose data does not match its record makes the run rotate instead", async () => {
    for (const [data, why] of [
      [
        JSON.stringify({
          auths: { "other.example.com": { username: "gitlab+deploy-token-7", password: "gldt-seven" } },
        }),
        /names other hosts/,
      ],
      [
        JSON.stringify({
          auths: { "registry.example.com:5005": { username: "someone-else", password: "gldt-seven" } },
        }),
        /another username than gitlab\+deploy-token-7/,
      ],
      ["not json", /is not JSON/],
    ] as const) {
      const w = world({
        existing: [managed("a", 7, "project/42", record), managed("b", 7, "project/42", record)],
        tokens: [live(7, named(7))],
        data: { a: data },
      });
      const r = await rotate(three(), w.ports);
      assert.match(r.reason, why);
      assert.match(r.reason, /cannot be filled/);
      assert.equal(r.token?.id, 100);
      assert.equal(r.filled, undefined);
    }
  });

  test("a failed pull check of the read credentials writes nothing", async () => {
    const w = world({
      existing: [managed("a", 7, "project/42", record), managed("b", 7, "project/42", record)],
      tokens: [live(7, named(7))],
      data: { a: CFG },
      failVerify: true,
    });
    const err = await rotate(three(), w.ports).catch((e) => e);
    assert.ok(err instanceof RotationError);
    assert.match(err.message, /registry said no[\s\S]*nothing was minted or revoked, and c was not written/);
    assert.ok(!w.events.includes("apply") && !w.events.some((e) => e.startsWith("mint")));
  });
});
