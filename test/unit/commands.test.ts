// The commands beside rotate (plan, status, revoke, render) and the Action's
// job summary: their pure decisions and formatting, and their orchestration
// against in-memory ports. The same flows run against real kubectl and the
// stand-ins in test/e2e/commands.test.ts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import yaml from "js-yaml";
import { COMMANDS, checkOptions, configFor, helpText, type CommandName } from "../../src/faces/commands.js";
import { RotationError, UsageError } from "../../src/model/errors.js";
import { parseConfig, type Config } from "../../src/config/inputs.js";
import { deleteReviews, parseDeleteReviews } from "../../src/adapters/kubectl.js";
import { Annotations, ownsTokenName } from "../../src/model/naming.js";
import { OPTIONS, type RawSettings } from "../../src/config/options.js";
import type { ExistingSecret, KubePort, ResolvedOwner, LeaseState, LockPort, Ports } from "../../src/model/ports.js";
import { buildPlan, planRotation } from "../../src/commands/plan.js";
import { planLines } from "../../src/faces/plan-view.js";
import { configJson, renderCredentials, renderTarget, secretManifests } from "../../src/commands/render.js";
import { escapeHtml, jobSummary, summaryLines, textTable } from "../../src/faces/report.js";
import { rotate } from "../../src/commands/rotate.js";
import { Secret } from "../../src/model/secret.js";
import type { ServiceAccountState } from "../../src/model/serviceaccounts.js";
import { assessStatus, daysLeft, statusNeedsAttention } from "../../src/commands/status.js";
import { coveringTarget } from "../../src/model/ownership.js";
import { DESCRIBE_NAMES_MAX, abbreviatedList, targetOf } from "../../src/commands/target.js";
import { healthyApiToken, idleTimer, quietKube, quietLock } from "../support/port-defaults.ts";
import { ConfirmationRequiredError, teardown, teardownPlan } from "../../src/commands/revoke.js";
import type { RotationReport } from "../../src/commands/rotation-report.js";
import { statusLines } from "../../src/faces/status-view.js";
import { readArgv } from "../../src/faces/cli.js";

const OWNER: ResolvedOwner = {
  kind: "project",
  id: 42,
  path: "grp/app",
  registryImagePrefix: "registry.example.com:5005/grp/app",
  registryAccessLevel: "enabled",
};
const NOW = new Date("2026-11-23T08:30:00Z");
const ENV = { GITLAB_TOKEN: "glpat-unit" };

const config = (patch: RawSettings = {}): Config =>
  parseConfig({ project: "grp/app", namespaces: ["a", "b"], ...patch }, ENV, "cli");
/** The uid of the fakes' Lease: the cluster's identity in token names. */
const LEASE_UID = "0f0f0f0f-0000-4000-8000-000000000042";
const target = (c: Config = config()): string => targetOf(c, c.namespaces, LEASE_UID).id!;
/** What rotate's dry run recalls of a target whose Lease has LEASE_UID and no record (plan.buildPlan input). */
const recallFor = (c: Config) => ({
  target: targetOf(c, c.namespaces, LEASE_UID),
  departed: [],
  unproven: undefined,
  sweepFrom: 0,
  patch: {},
  identity: {},
  settleNow: false,
});

interface FakeToken {
  id: number;
  name: string;
  username: string;
  expiresAt: string | null;
  revoked: boolean;
  scopes: readonly string[];
}

const ours = (
  id: number,
  opts: { c?: Config; minted?: string; expiresAt?: string | null; revoked?: boolean } = {},
): FakeToken => ({
  id,
  name: `gitlab-pull-secret/${target(opts.c)}/${opts.minted ?? "20261120T080000Z"}-abc123`,
  username: `gitlab+deploy-token-${id}`,
  expiresAt: opts.expiresAt === undefined ? "2026-12-01T00:00:00.000Z" : opts.expiresAt,
  revoked: opts.revoked ?? false,
  scopes: ["read_registry"],
});

const managed = (ns: string, tokenId: number, extra: Record<string, string> = {}): ExistingSecret => ({
  namespace: ns,
  type: "kubernetes.io/dockerconfigjson",
  labels: { "app.kubernetes.io/managed-by": "gitlab-pull-secret" },
  annotations: {
    [Annotations.tokenId]: String(tokenId),
    [Annotations.owner]: "project/42",
    [Annotations.expiresAt]: "2026-12-01T00:00:00.000Z",
    [Annotations.tokenUsername]: `gitlab+deploy-token-${tokenId}`,
    ...extra,
  },
  resourceVersion: "1",
});

const unmanaged = (ns: string): ExistingSecret => ({
  namespace: ns,
  type: "kubernetes.io/dockerconfigjson",
  labels: {},
  annotations: {},
  resourceVersion: "1",
});

const sa = (namespace: string, name: string, pullSecrets: string[], resourceVersion = "5"): ServiceAccountState => ({
  namespace,
  name,
  resourceVersion,
  pullSecrets,
  raw: {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { namespace, name, resourceVersion },
    imagePullSecrets: pullSecrets.map((n) => ({ name: n })),
  },
});

/** In-memory GitLab and cluster that record every effect, in order. */
function fakes(
  opts: {
    secrets?: ExistingSecret[];
    tokens?: FakeToken[];
    accounts?: ServiceAccountState[];
    failRevoke?: number[];
    failVerify?: boolean;
    conflicts?: number;
    denyDelete?: string[];
  } = {},
) {
  const events: string[] = [];
  let secrets = [...(opts.secrets ?? [])];
  let accounts = [...(opts.accounts ?? [])];
  const tokens = [...(opts.tokens ?? [])];
  let conflicts = opts.conflicts ?? 0;
  let nextId = 100;
  const gitlab: Ports["gitlab"] = {
    ...healthyApiToken,
    async resolveOwner() {
      events.push("resolve");
      return OWNER;
    },
    async listDeployTokens() {
      events.push("list");
      return tokens.map((t) => ({ ...t }));
    },
    async createDeployToken(_o, req) {
      const id = nextId++;
      events.push(`mint ${id}`);
      tokens.push({
        id,
        name: req.name,
        username: `gitlab+deploy-token-${id}`,
        expiresAt: `${req.expiresAt}T00:00:00.000Z`,
        revoked: false,
        scopes: [...req.scopes],
      });
      return {
        id,
        name: req.name,
        username: `gitlab+deploy-token-${id}`,
        expiresAt: `${req.expiresAt}T00:00:00.000Z`,
        token: new Secret(`gldt-secret-${id}`),
      };
    },
    async revokeDeployToken(_o, id) {
      events.push(`revoke ${id}`);
      if (opts.failRevoke?.includes(id)) throw new Error("HTTP 500");
      const i = tokens.findIndex((t) => t.id === id);
      if (i < 0) return "already-gone";
      tokens.splice(i, 1);
      return "revoked";
    },
  };
  const kube: KubePort = {
    ...quietKube,
    async readTarget(namespaces) {
      events.push("read");
      return {
        secrets: secrets.filter((s) => namespaces.includes(s.namespace)),
        serviceAccounts: accounts.filter((a) => namespaces.includes(a.namespace)),
      };
    },
    async readSecrets(namespaces) {
      events.push("read-secrets");
      return secrets.filter((s) => namespaces.includes(s.namespace));
    },
    async replaceServiceAccounts(objects) {
      if (conflicts > 0) {
        conflicts--;
        events.push("sa-conflict");
        // Someone else touched them: bump the version the next read sees.
        accounts = accounts.map((a) => ({ ...a, resourceVersion: `${a.resourceVersion}x` }));
        return "conflict";
      }
      events.push(
        `sa ${objects.map((o) => `${(o.metadata as { namespace: string }).namespace}/${(o.metadata as { name: string }).name}`).join(",")}`,
      );
      for (const o of objects) {
        const md = o.metadata as { namespace: string; name: string };
        const list = ((o.imagePullSecrets as Array<{ name: string }> | undefined) ?? []).map((e) => e.name);
        accounts = accounts.map((a) =>
          a.namespace === md.namespace && a.name === md.name ? sa(a.namespace, a.name, list) : a,
        );
      }
      return "ok";
    },
    async listNamespaces() {
      events.push("list-namespaces");
      return ["sel-1", "sel-2"];
    },
    async applyNamespaces() {
      events.push("create-namespaces");
      return [];
    },
    async dryRunNamespaces() {
      events.push("create-namespaces");
      return [];
    },
    async applySecrets() {
      events.push("apply");
    },
    async dryRunSecrets() {
      events.push("dry-apply");
    },
    async forbiddenSecretDeletes(namespaces) {
      events.push(`can-delete ${namespaces.join(",")}`);
      return namespaces.filter((ns) => opts.denyDelete?.includes(ns));
    },
    async deleteSecrets(namespaces) {
      events.push(`delete ${namespaces.join(",")}`);
      secrets = secrets.filter((s) => !namespaces.includes(s.namespace));
    },
  };
  // One Lease, free between runs; what a run records on it (renewLease) stays for the next.
  let free: LeaseState = { holder: "", renewTime: "", durationSeconds: 0, resourceVersion: "1", uid: LEASE_UID };
  const lock: LockPort = {
    ...quietLock,
    async readLease() {
      return free;
    },
    async createLease() {
      return undefined;
    },
    async claimLease(_ns, _name, holder) {
      events.push("lock");
      return { ...free, holder, resourceVersion: "2" };
    },
    async renewLease(_ns, _name, held) {
      free = {
        ...free,
        annotations: { ...held.annotations },
        resourceVersion: String(Number(held.resourceVersion) + 1),
      };
      return { ...held, resourceVersion: free.resourceVersion };
    },
    async releaseLease() {
      events.push("unlock");
    },
  };
  const ports: Ports & { kube: typeof kube } = {
    gitlab,
    kube,
    lock,
    verifier: {
      async verifyPull() {
        events.push("verify");
        if (opts.failVerify) throw new Error("registry said no");
        return { digest: "sha256:abc" };
      },
    },
    clock: { now: () => NOW },
    sleep: async () => {},
    log: { info: () => {}, warn: () => {}, secret: () => {} },
    nonce: () => "abcdef",
    timer: idleTimer,
  };
  return { ports, events, tokens, secrets: () => secrets, accounts: () => accounts };
}

describe("command options and help", () => {
  test("rotate takes every option but the other commands' own; plan takes rotate's but its outputs (--dotenv, metrics, Events, the recovery file)", () => {
    for (const o of OPTIONS) {
      assert.equal(COMMANDS.rotate.options(o.key), !["warnWithin", "yes", "format"].includes(o.key), o.key);
      assert.equal(
        COMMANDS.plan.options(o.key),
        COMMANDS.rotate.options(o.key) &&
          !["dotenv", "metricsFile", "pushgatewayUrl", "events", "apiTokenRecoveryFile"].includes(o.key),
        o.key,
      );
    }
  });

  test("an option the command does not use is a usage error naming it, not silently ignored", () => {
    assert.throws(
      () => checkOptions("status", { adopt: true }, "cli"),
      (e: unknown) => e instanceof UsageError && /--adopt: not an option of status/.test(e.message),
    );
    assert.throws(() => checkOptions("render", { kubeconfig: "/k" }, "cli"), /--kubeconfig: not an option of render/);
    assert.throws(() => checkOptions("rotate", { yes: true }, "cli"), /--yes: not an option of rotate/);
    assert.throws(() => checkOptions("plan", { dotenv: "x.env" }, "cli"), /--dotenv/);
    checkOptions("revoke", { yes: true, serviceAccounts: ["default"] }, "cli");
    checkOptions("status", { warnWithin: "3d", namespaceSelector: "team=a" }, "cli");
  });

  test("render needs --format; config.json needs no namespace, a Secret manifest does", () => {
    assert.throws(
      () => configFor("render", { project: "grp/app", namespaces: ["a"] }, ENV, "cli"),
      /--format: required for render/,
    );
    assert.throws(
      () => configFor("render", { project: "grp/app", format: "yaml", namespaces: ["a"] }, ENV, "cli"),
      /--format: invalid value "yaml"; expected secret .* or config\.json/,
    );
    assert.throws(
      () => configFor("render", { project: "grp/app", format: "secret" }, ENV, "cli"),
      /--namespace: required for render --format secret/,
    );
    const c = configFor("render", { project: "grp/app", format: "config.json" }, ENV, "cli");
    assert.equal(c.renderFormat, "config.json");
    assert.deepEqual(c.namespaces, []);
    assert.deepEqual(
      configFor("render", { project: "grp/app", format: "secret", namespaces: ["a"] }, ENV, "cli").namespaces,
      ["a"],
    );
  });

  test("render --format config.json refuses what only a Secret manifest uses: --namespace, --secret-type", () => {
    assert.throws(
      () => configFor("render", { project: "grp/app", format: "config.json", namespaces: ["x"] }, ENV, "cli"),
      /--namespace: not used by render --format config\.json/,
    );
    assert.throws(
      () =>
        configFor("render", { project: "grp/app", format: "config.json", secretType: "dockerconfigjson" }, ENV, "cli"),
      /--secret-type: .*only with --format secret/,
    );
  });

  test("an empty value on the command line is refused for every option with a value, never read as 'use the default'", () => {
    for (const o of OPTIONS) {
      if (!o.flag || o.kind === "boolean") continue;
      for (const empty of ["", "  "]) {
        assert.throws(
          () => readArgv(["rotate", `--${o.flag}`, empty]),
          (e: unknown) => e instanceof UsageError && e.message.startsWith(`--${o.flag}: an empty value`),
          o.flag,
        );
      }
    }
    assert.throws(() => readArgv(["rotate", "--namespace", "", "--namespace", " "]), /--namespace: an empty value/);
    assert.deepEqual(
      readArgv(["rotate", "--namespace", "", "--namespace", "a"]).raw.namespaces,
      ["", "a"],
      "a list with a value in it is checked by the option",
    );
  });

  test("--rotate-before must be shorter than --expires-in, where rotate and plan mint; status takes no --expires-in", () => {
    assert.throws(
      () =>
        configFor(
          "rotate",
          { project: "grp/app", namespaces: ["a"], rotateBefore: "10d", expiresIn: "7d" },
          ENV,
          "cli",
        ),
      /--rotate-before and --expires-in: invalid value "10d, 7d"; expected --rotate-before shorter than --expires-in: .*every run would rotate/,
    );
    assert.throws(
      () => configFor("plan", { project: "grp/app", namespaces: ["a"], rotateBefore: "7d" }, ENV, "cli"),
      /--rotate-before and --expires-in/,
    );
    assert.equal(
      configFor("rotate", { project: "grp/app", namespaces: ["a"], rotateBefore: "6d" }, ENV, "cli").rotateBeforeMs,
      6 * 86_400_000,
    );
    assert.equal(
      configFor("status", { project: "grp/app", namespaces: ["a"], rotateBefore: "10d" }, ENV, "cli").rotateBeforeMs,
      10 * 86_400_000,
    );
  });

  test("--warn-within and --yes are parsed into the Config", () => {
    assert.equal(
      configFor("status", { project: "grp/app", namespaces: ["a"], warnWithin: "3d" }, ENV, "cli").warnWithinMs,
      3 * 86_400_000,
    );
    assert.equal(configFor("status", { project: "grp/app", namespaces: ["a"] }, ENV, "cli").warnWithinMs, undefined);
    assert.throws(
      () => configFor("status", { project: "grp/app", namespaces: ["a"], warnWithin: "soon" }, ENV, "cli"),
      /--warn-within: invalid value "soon"/,
    );
    assert.equal(configFor("revoke", { project: "grp/app", namespaces: ["a"], yes: true }, ENV, "cli").yes, true);
    assert.equal(configFor("revoke", { project: "grp/app", namespaces: ["a"] }, ENV, "cli").yes, false);
  });

  test("every command's --help lists only its options and its exit codes", () => {
    for (const name of Object.keys(COMMANDS) as CommandName[]) {
      const text = helpText("9.9.9", name);
      assert.match(text, new RegExp(`Usage: gitlab-pull-secret ${name} \\[options\\]`));
      assert.match(text, /Exit codes:\n {2}0 /);
      assert.match(text, /\n {2}2 /);
      assert.match(text, /--json/);
    }
    assert.match(helpText("9.9.9", "status"), /\n {2}3 {2}with --warn-within/);
    assert.doesNotMatch(helpText("9.9.9", "status"), /--adopt|--expires-in/);
    assert.doesNotMatch(helpText("9.9.9", "render"), /--kubeconfig|--context/);
    assert.match(helpText("9.9.9", "render"), /RISK: this prints a live registry credential/);
    assert.match(helpText("9.9.9", "revoke"), /Without --yes it only shows what it would do and exits 2/);
    const overview = helpText("9.9.9");
    for (const name of Object.keys(COMMANDS)) assert.match(overview, new RegExp(`\\n  ${name} `));
  });
});

describe("plan", () => {
  test("due: per-namespace create/update, the token to mint, what to keep, revoke and sweep, and why", () => {
    const c = config({ namespaces: ["a", "b", "c"], keepPrevious: "1", sweepGrace: "10m" });
    const p = buildPlan({
      config: c,
      owner: OWNER,
      hosts: ["registry.example.com:5005"],
      state: {
        secrets: [managed("a", 7, { [Annotations.keptTokenIds]: "5" }), managed("b", 7)],
        serviceAccounts: [sa("a", "default", []), sa("b", "default", ["regcred", "gitlab-pull-secret"])],
      },
      tokens: [ours(7, { c }), ours(5, { c }), ours(9, { c }), ours(3, { c, expiresAt: "2026-11-01T00:00:00.000Z" })],
      now: NOW,
      recall: recallFor(c),
    });
    assert.equal(p.due, true);
    assert.equal(p.reason, "every run rotates (no --rotate-before)");
    assert.deepEqual(p.namespaces, [
      { namespace: "a", action: "update" },
      { namespace: "b", action: "update" },
      { namespace: "c", action: "create" },
    ]);
    assert.deepEqual(p.mint, {
      namePattern: `gitlab-pull-secret/${target(c)}/<UTC timestamp>-<nonce>`,
      expiresAt: "2026-12-01",
      scopes: ["read_registry"],
    });
    assert.deepEqual(p.current, [7]);
    assert.deepEqual(
      p.keep.map((t) => t.id),
      [7],
    );
    assert.deepEqual(
      p.revoke.map((t) => t.id),
      [5],
    );
    // 9: ours, live, unreferenced, past the grace. 3: expired, nothing to sweep.
    assert.deepEqual(
      p.sweep.map((t) => t.id),
      [9],
    );
    assert.deepEqual(p.serviceAccounts, []);
    const withSa = buildPlan({
      config: config({ namespaces: ["a", "b"], serviceAccounts: ["default"] }),
      owner: OWNER,
      hosts: ["r"],
      state: { secrets: [], serviceAccounts: [sa("a", "default", []), sa("b", "default", ["gitlab-pull-secret"])] },
      tokens: [],
      now: NOW,
      recall: recallFor(config({ namespaces: ["a", "b"], serviceAccounts: ["default"] })),
    });
    assert.deepEqual(withSa.serviceAccounts, ["a/default"]);
  });

  test("nothing due: every namespace unchanged, no mint, pending revokes still named", () => {
    const c = config({ rotateBefore: "2d" });
    const p = buildPlan({
      config: c,
      owner: OWNER,
      hosts: ["r"],
      state: { secrets: [managed("a", 7, { [Annotations.revokePending]: "6" }), managed("b", 7)], serviceAccounts: [] },
      tokens: [ours(7, { c }), ours(6, { c })],
      now: NOW,
      recall: recallFor(c),
    });
    assert.equal(p.due, false);
    assert.match(p.reason, /deploy token 7 has 7d left, more than --rotate-before/);
    assert.deepEqual(
      p.namespaces.map((n) => n.action),
      ["unchanged", "unchanged"],
    );
    assert.equal(p.mint, null);
    assert.deepEqual(
      p.revoke.map((t) => t.id),
      [6],
    );
    const text = planLines(p).join("\n");
    assert.match(text, /nothing due, because deploy token 7 has 7d left/);
    assert.match(text, /Mint: {4}nothing \(the Secrets keep deploy token 7\)/);
    assert.match(text, /Revoke: {2}6 \(/);
    assert.match(text, /Nothing was changed/);
  });

  test("planRotation runs rotate's checks through ports that refuse every mutation", async () => {
    const c = config({ keepPrevious: "0" });
    const f = fakes({ secrets: [managed("a", 7)], tokens: [ours(7, { c })] });
    const p = await planRotation(c, f.ports);
    assert.deepEqual(f.events, ["resolve", "read", "dry-apply", "list"]);
    assert.equal(p.due, true);
    assert.deepEqual(p.namespaces, [
      { namespace: "a", action: "update" },
      { namespace: "b", action: "create" },
    ]);
    assert.deepEqual(
      p.revoke.map((t) => t.id),
      [7],
    );
    assert.equal(f.tokens.length, 1);
  });

  test("plan resolves a namespace selector as rotate does", async () => {
    const c = parseConfig({ project: "grp/app", namespaceSelector: "team=x" }, ENV, "cli");
    const f = fakes();
    const p = await planRotation(c, f.ports);
    assert.deepEqual(
      p.namespaces.map((n) => n.namespace),
      ["sel-1", "sel-2"],
    );
    assert.match(p.mint!.namePattern, /\/cluster-[0-9a-f-]{36}\/gitlab-pull-secret\/[0-9a-f]{8}\/<UTC timestamp>/);
  });
});

describe("target ids", () => {
  const cases: Array<[string, RawSettings]> = [
    ["a namespace list", { namespaces: ["b", "a"] }],
    ["a selector with exclusions", { namespaceSelector: "team=x", excludeNamespaces: ["sel-2"] }],
  ];
  for (const [name, raw] of cases) {
    test(`status and revoke recognise the token rotate mints for ${name}`, async () => {
      const c = parseConfig({ project: "grp/app", ...raw }, ENV, "cli");
      const f = fakes();
      await rotate(c, f.ports);
      const minted = f.tokens.at(-1)!;
      const resolved = c.namespaceSelector ? ["sel-1"] : c.namespaces;
      assert.ok(ownsTokenName(c.tokenNamePrefix, targetOf(c, resolved, LEASE_UID).id!, minted.name), minted.name);
    });
  }

  test("a target's description stays short however many namespaces it has (it goes into every Secret)", () => {
    const few = parseConfig({ project: "grp/app", namespaces: ["b", "a"] }, ENV, "cli");
    assert.equal(targetOf(few, few.namespaces, LEASE_UID).describe, "namespaces a,b");
    const names = Array.from({ length: 1000 }, (_, i) => `bench-${String(i).padStart(4, "0")}`);
    const many = parseConfig({ project: "grp/app", namespaces: names }, ENV, "cli");
    const d = targetOf(many, many.namespaces, LEASE_UID).describe;
    assert.ok(
      d.length <= "namespaces ".length + DESCRIBE_NAMES_MAX + " (1000 in all)".length + 2,
      `${d.length} characters`,
    );
    assert.match(d, /^namespaces bench-0000,bench-0001,.*,… \(1000 in all\)$/);
    // The id still hashes every name: the short description does not merge two targets.
    const other = parseConfig({ project: "grp/app", namespaces: [...names.slice(0, 999), "bench-x"] }, ENV, "cli");
    assert.notEqual(targetOf(other, other.namespaces, LEASE_UID).id, targetOf(many, many.namespaces, LEASE_UID).id);
  });

  test("abbreviatedList keeps whole names and counts them all", () => {
    assert.equal(abbreviatedList(["a", "b", "c"], 5), "a,b,c");
    assert.equal(abbreviatedList(["aa", "bb", "cc"], 6), "aa,bb,… (3 in all)");
  });
});

describe("status", () => {
  const base = (over: Partial<Parameters<typeof assessStatus>[0]> = {}) =>
    assessStatus({
      owner: OWNER,
      secretName: "gitlab-pull-secret",
      namespaces: ["a", "b"],
      target: targetOf(config(), config().namespaces, LEASE_UID),
      prefix: "gitlab-pull-secret",
      existing: [managed("a", 7), managed("b", 7)],
      tokens: [ours(7)],
      now: NOW,
      warnWithinMs: undefined,
      graceMs: 600_000,
      ...over,
    });

  test("a healthy target: every Secret with its token, days left and type; nothing needs attention", () => {
    const r = base({ warnWithinMs: 3 * 86_400_000 });
    assert.deepEqual(r.secrets[0], {
      namespace: "a",
      present: true,
      managed: true,
      type: "kubernetes.io/dockerconfigjson",
      credentials: "deploy-token",
      owner: "project/42",
      tokenId: 7,
      username: "gitlab+deploy-token-7",
      expiresAt: "2026-12-01T00:00:00.000Z",
      daysLeft: 7.6,
      tokenState: "live",
      fillWith: null,
      namespaceState: null,
    });
    assert.deepEqual(
      r.tokens.map((t) => [t.id, t.role, t.usedBy]),
      [[7, "current", ["a", "b"]]],
    );
    assert.deepEqual(r.findings, []);
    assert.equal(statusNeedsAttention(r), false);
  });

  test("expiring within --warn-within needs attention; without --warn-within it only reports", () => {
    const soon = [ours(7, { expiresAt: "2026-11-25T00:00:00.000Z" })];
    const watched = base({ tokens: soon, warnWithinMs: 3 * 86_400_000 });
    assert.deepEqual(
      watched.findings.map((f) => f.kind),
      ["expiring"],
    );
    assert.match(
      watched.findings[0]!.message,
      /deploy token 7 in a, b expires in 39h \(2026-11-25 00:00 UTC\), within --warn-within/,
    );
    assert.equal(statusNeedsAttention(watched), true);
    const unwatched = base({ tokens: soon });
    assert.deepEqual(unwatched.findings, []);
    assert.equal(statusNeedsAttention(unwatched), false);
  });

  test("orphans past the grace need attention; younger ones are a note; stale ones too", () => {
    const r = base({
      warnWithinMs: 0,
      tokens: [
        ours(7),
        ours(8, { minted: "20261123T070000Z" }),
        ours(9, { minted: "20261123T082500Z" }),
        ours(6, { revoked: true }),
        { ...ours(5), name: "made-by-hand" },
      ],
    });
    assert.deepEqual(
      r.tokens.map((t) => [t.id, t.role, t.state]),
      [
        [9, "in-flight", "live"],
        [8, "orphan", "live"],
        [7, "current", "live"],
        [6, "stale", "revoked"],
      ],
    );
    assert.deepEqual(
      r.findings.map((f) => [f.kind, f.severity, f.tokenId]),
      [
        ["orphan", "attention", 8],
        ["in-flight", "info", 9],
        ["stale", "info", 6],
      ],
    );
    assert.equal(statusNeedsAttention(r), true);
  });

  test("Secrets holding dead tokens, missing and unmanaged Secrets need attention", () => {
    const gone = base({ tokens: [], warnWithinMs: 0 });
    assert.deepEqual(
      gone.secrets.map((s) => s.tokenState),
      ["gone", "gone"],
    );
    assert.match(
      gone.findings[0]!.message,
      /the Secret in a, b holds deploy token 7, which cannot pull: GitLab no longer has it/,
    );
    const expired = base({ tokens: [ours(7, { expiresAt: "2026-11-23T00:00:00.000Z" })] });
    assert.equal(expired.secrets[0]!.tokenState, "expired");
    assert.equal(expired.secrets[0]!.daysLeft, -0.4);
    assert.deepEqual(
      expired.findings.map((f) => f.kind),
      ["dead-token"],
    );
    const odd = base({ existing: [unmanaged("a")], tokens: [ours(7)] });
    assert.deepEqual(odd.findings.map((f) => f.kind).sort(), ["missing-secret", "orphan", "unmanaged-secret"]);
    assert.equal(odd.secrets[1]!.present, false);
  });

  test("a subset of one target's list is part of that target: no overlap, nothing needs attention (issue 21)", () => {
    const whole = config({ namespaces: ["a", "b", "c"] });
    const wrote = {
      [Annotations.target]: targetOf(whole, whole.namespaces, LEASE_UID).id!,
      [Annotations.targetSpec]: "namespaces a,b,c",
    };
    const existing = [managed("a", 7, wrote), managed("b", 7, wrote)];
    const asked = targetOf(config(), ["a", "b"], LEASE_UID);
    const before = base({ existing, tokens: [ours(7, { c: whole })], target: asked, warnWithinMs: 0 });
    assert.deepEqual(
      before.findings.map((f) => f.kind),
      ["overlap", "overlap"],
      "what status said before it looked for the covering target",
    );
    const covering = coveringTarget(existing, OWNER, asked, ["a", "b"]);
    assert.equal(covering?.id, wrote[Annotations.target]);
    assert.equal(covering?.partial, true);
    const r = base({
      existing,
      tokens: [ours(7, { c: whole }), ours(8, { c: whole })],
      target: covering!,
      partOf: covering,
      warnWithinMs: 0,
    });
    assert.deepEqual(
      r.findings.map((f) => [f.kind, f.severity]),
      [["part-of-target", "info"]],
    );
    assert.deepEqual(
      r.tokens.map((t) => [t.id, t.role]),
      [[7, "current"]],
      "8 may be held in c: not called an orphan",
    );
    assert.equal(statusNeedsAttention(r), false);
    // A list that lacks one of them, or Secrets of two targets, are not covered.
    assert.equal(coveringTarget(existing, OWNER, targetOf(config(), ["a", "d"], LEASE_UID), ["a", "d"]), undefined);
    assert.equal(
      coveringTarget(
        [...existing, managed("c", 9, { [Annotations.target]: "x/gitlab-pull-secret/0000000f" })],
        OWNER,
        asked,
        ["a", "b", "c"],
      ),
      undefined,
    );
  });

  test("status never promises rotate replaces a Secret rotate refuses (another type)", () => {
    const staticOther = {
      ...managed("a", 7, { [Annotations.owner]: "static", [Annotations.tokenId]: "static" }),
      type: "kubernetes.io/dockercfg",
    };
    const r = base({ existing: [staticOther, managed("b", 7)], warnWithinMs: 0 });
    const other = r.findings.find((f) => f.kind === "other-owner")!;
    assert.match(other.message, /rotate refuses it, since it is kubernetes\.io\/dockercfg/);
    assert.doesNotMatch(other.message, /rotate replaces it/);
    assert.ok(r.findings.some((f) => f.kind === "wrong-type"));
    const sameType = base({
      existing: [managed("a", 7, { [Annotations.owner]: "static", [Annotations.tokenId]: "static" }), managed("b", 7)],
      warnWithinMs: 0,
    });
    assert.match(sameType.findings.find((f) => f.kind === "other-owner")!.message, /rotate replaces it$/);
  });

  test("render's live tokens are listed as render's: never an orphan, nothing needs attention", () => {
    const rendered = { ...ours(11), name: "gitlab-pull-secret/render/gitlab-pull-secret/20261120T080000Z-abc123" };
    const dead = {
      ...ours(10, { revoked: true }),
      name: "gitlab-pull-secret/render/gitlab-pull-secret/20261101T080000Z-abc123",
    };
    const r = base({ tokens: [ours(7), rendered, dead], warnWithinMs: 0 });
    assert.deepEqual(
      r.tokens.map((t) => [t.id, t.role]),
      [
        [11, "render"],
        [7, "current"],
      ],
    );
    assert.deepEqual(
      r.findings.map((f) => [f.kind, f.severity, f.tokenId]),
      [["render", "info", 11]],
    );
    assert.match(r.findings[0]!.message, /minted by render .* rotate never revokes or sweeps it/);
    assert.equal(statusNeedsAttention(r), false);
  });

  test("a token held only outside the target says who holds it", () => {
    const r = base({
      existing: [managed("a", 7, { [Annotations.keptTokenIds]: "6" }), managed("b", 7)],
      tokens: [ours(7), ours(6)],
      managed: [{ namespace: "mirror", name: "gitlab-pull-secret", owner: "project/42", tokenId: "6", kept: "" }],
    });
    assert.deepEqual(
      r.tokens.map((t) => [t.id, t.role, t.usedBy]),
      [
        [7, "current", ["a", "b"]],
        [6, "kept", ["mirror/gitlab-pull-secret"]],
      ],
    );
  });

  test("days left and the text report", () => {
    assert.equal(daysLeft(null, NOW), null);
    assert.equal(daysLeft("2026-11-24T08:30:00.000Z", NOW), 1);
    const text = statusLines(base({ tokens: [ours(7), ours(8)], warnWithinMs: 0 })).join("\n");
    assert.match(text, /NAMESPACE +TYPE +TOKEN +EXPIRES +DAYS LEFT +TOKEN STATE/);
    assert.match(text, /\na +kubernetes\.io\/dockerconfigjson +7 +2026-12-01 +7\.6 +live/);
    assert.match(text, /\n8 +live +orphan +2026-12-01/);
    assert.match(text, /attention: deploy token 8 .* is an orphan/);
  });
});

describe("revoke (teardown)", () => {
  test("access reviews ask delete per namespace; a namespace without a yes is forbidden", () => {
    const items = JSON.parse(deleteReviews(["a", "b"], "regcred")).items;
    assert.deepEqual(items[1], {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectAccessReview",
      spec: { resourceAttributes: { namespace: "b", verb: "delete", resource: "secrets", name: "regcred" } },
    });
    assert.deepEqual(parseDeleteReviews("a true\nb false\n", ["a", "b", "c"]), ["b", "c"]);
    assert.deepEqual(parseDeleteReviews("a true\nb true", ["a", "b"]), []);
  });

  test("the plan: our tokens for the target, managed Secrets only, gone ids noted", () => {
    const c = config({ namespaces: ["a", "b", "c"] });
    const p = teardownPlan({
      owner: OWNER,
      secretName: "gitlab-pull-secret",
      target: targetOf(c, c.namespaces, LEASE_UID),
      namespaces: c.namespaces,
      prefix: "gitlab-pull-secret",
      existing: [
        managed("a", 7, { [Annotations.keptTokenIds]: "5", [Annotations.revokePending]: "4,3" }),
        unmanaged("b"),
        managed("c", 7, { [Annotations.owner]: "project/9" }),
      ],
      tokens: [
        ours(7, { c }),
        { ...ours(5, { c }), name: "renamed-prefix/x" },
        ours(4, { c }),
        ours(8, { c, expiresAt: "2026-11-01T00:00:00.000Z" }),
        { ...ours(2), name: "made-by-hand" },
      ],
      now: NOW,
    });
    // 5: recorded as kept, but its name does not prove it is this target's: left alive, and said so.
    assert.deepEqual(
      p.revoke.map((t) => [t.id, t.why, t.state]),
      [
        [8, "named", "expired"],
        [7, "current", "live"],
        [4, "pending", "live"],
      ],
    );
    assert.deepEqual(
      p.spared.map((t) => [t.id, t.why]),
      [[5, "unproven"]],
    );
    assert.deepEqual(p.deleteSecrets, ["a"]);
    assert.deepEqual(p.unmanaged, ["b"]);
    assert.deepEqual(p.otherOwner, ["c"]);
    assert.deepEqual(p.alreadyGone, [3]);
  });

  test("without --yes: the checks run, nothing changes, and it asks for --yes", async () => {
    const f = fakes({ secrets: [managed("a", 7), managed("b", 7)], tokens: [ours(7)] });
    await assert.rejects(teardown(config(), f.ports, { confirm: false }), (e: unknown) => {
      assert.ok(e instanceof ConfirmationRequiredError);
      assert.equal(e.exitCode, 2);
      assert.match(
        e.message,
        /--yes: required to revoke; nothing was changed. It would revoke deploy token\(s\) 7, delete Secret "gitlab-pull-secret" in a, b/,
      );
      return true;
    });
    assert.deepEqual(f.events, ["resolve", "read", "list", "can-delete a,b"]);
    assert.equal(f.tokens.length, 1);
    assert.equal(f.secrets().length, 2);
  });

  test("nothing left: no --yes needed, exit 0", async () => {
    const f = fakes({ secrets: [unmanaged("a")] });
    const r = await teardown(config(), f.ports, { confirm: false });
    assert.equal(r.applied, false);
    assert.deepEqual(r.unmanaged, ["a"]);
    assert.deepEqual(r.problems, []);
  });

  test("with --yes: under the Lease, deletes authorized first, tokens revoked, ServiceAccounts cleaned, Secrets deleted last", async () => {
    const f = fakes({
      secrets: [managed("a", 7), managed("b", 7), unmanaged("c")],
      tokens: [ours(7, { c: config({ namespaces: ["a", "b", "c"] }) })],
      accounts: [
        sa("a", "default", ["other", "gitlab-pull-secret"]),
        sa("b", "default", ["other"]),
        sa("c", "default", ["gitlab-pull-secret"]),
      ],
      conflicts: 1,
    });
    const r = await teardown(config({ namespaces: ["a", "b", "c"], serviceAccounts: ["default"] }), f.ports, {
      confirm: true,
    });
    assert.deepEqual(f.events, [
      "resolve",
      "lock",
      "read",
      "list",
      "can-delete a,b",
      "revoke 7",
      "sa-conflict",
      "read",
      "sa a/default",
      "delete a,b",
      "unlock",
    ]);
    assert.deepEqual(r.revokedTokenIds, [7]);
    assert.deepEqual(r.deletedSecrets, ["a", "b"]);
    assert.deepEqual(r.serviceAccounts, ["a/default"]);
    // Entries of others stay; c's Secret is not ours, so its ServiceAccount keeps pointing at it.
    assert.deepEqual(
      f.accounts().map((a) => [a.namespace, a.pullSecrets]),
      [
        ["a", ["other"]],
        ["b", ["other"]],
        ["c", ["gitlab-pull-secret"]],
      ],
    );
    assert.deepEqual(
      f.secrets().map((s) => s.namespace),
      ["c"],
    );
    assert.deepEqual(r.problems, []);
  });

  test("a delete the cluster would refuse stops everything before a token is revoked", async () => {
    const f = fakes({ secrets: [managed("a", 7), managed("b", 7)], tokens: [ours(7)], denyDelete: ["b"] });
    await assert.rejects(
      teardown(config(), f.ports, { confirm: true }),
      /Kubernetes: checking the permission to delete Secret "gitlab-pull-secret" failed in namespace\(s\) b: not allowed. Nothing was changed. revoke needs the verb delete on secrets/,
    );
    assert.deepEqual(f.events, ["resolve", "lock", "read", "list", "can-delete a,b", "unlock"]);
    assert.equal(f.tokens.length, 1);
  });

  test("a failed revoke keeps the Secrets as the record of what is left", async () => {
    const c = config({ namespaces: ["a"] });
    const f = fakes({
      secrets: [managed("a", 7, { [Annotations.keptTokenIds]: "5" })],
      tokens: [ours(7, { c }), ours(5, { c })],
      failRevoke: [5],
    });
    const r = await teardown(config({ namespaces: ["a"] }), f.ports, { confirm: true });
    assert.deepEqual(r.revokedTokenIds, [7]);
    assert.deepEqual(r.deletedSecrets, []);
    assert.equal(f.secrets().length, 1);
    assert.match(r.problems.join("\n"), /Could not revoke deploy token 5: HTTP 500[\s\S]*Kept the Secrets/);
    assert.ok(f.events.includes("unlock"));
  });
});

describe("render", () => {
  const creds = [
    { host: "registry.example.com:5005", username: "gitlab+deploy-token-7", password: new Secret("gldt-abc") },
  ];

  test("a Secret manifest per namespace, YAML, without the managed-by label", () => {
    const text = secretManifests({
      namespaces: ["a", "b"],
      secretName: "regcred",
      secretType: "dockerconfigjson",
      payload: new Secret('{"auths":{}}'),
      annotations: { k: "v" },
    }).reveal();
    const docs = yaml.loadAll(text) as any[];
    assert.equal(docs.length, 2);
    assert.deepEqual(
      docs.map((d) => [d.kind, d.type, d.metadata.namespace, d.metadata.name]),
      [
        ["Secret", "kubernetes.io/dockerconfigjson", "a", "regcred"],
        ["Secret", "kubernetes.io/dockerconfigjson", "b", "regcred"],
      ],
    );
    assert.equal(Buffer.from(docs[0].data[".dockerconfigjson"], "base64").toString(), '{"auths":{}}');
    assert.equal(docs[0].metadata.labels, undefined);
  });

  test("a docker config.json with auth = base64(username:token)", () => {
    const cfg = JSON.parse(configJson(creds).reveal());
    assert.equal(
      Buffer.from(cfg.auths["registry.example.com:5005"].auth, "base64").toString(),
      "gitlab+deploy-token-7:gldt-abc",
    );
  });

  test("mints through the GitLab port and the pull check, never touching the cluster; rotate's sweep cannot match its name", async () => {
    const c = config({ format: "secret" });
    const f = fakes();
    const r = await renderCredentials(c, "secret", f.ports);
    assert.deepEqual(f.events, ["resolve", "mint 100", "verify"]);
    assert.ok(r.token);
    assert.match(r.token.name, /^gitlab-pull-secret\/render\/gitlab-pull-secret\/20261123T083000Z-abcdef$/);
    assert.ok(!ownsTokenName(c.tokenNamePrefix, target(c), r.token.name));
    assert.ok(!ownsTokenName(c.tokenNamePrefix, targetOf(c, c.namespaces, LEASE_UID).id!, r.token.name));
    assert.ok(ownsTokenName(c.tokenNamePrefix, renderTarget(c.secretName), r.token.name));
    assert.match(r.content.reveal(), /gitlab-pull-secret\.io\/token-id: '100'/);
    assert.equal(`${r.content}`, "[redacted]");
  });

  test("a failed pull check revokes the new token and prints nothing", async () => {
    const f = fakes({ failVerify: true });
    await assert.rejects(
      renderCredentials(config(), "config.json", f.ports),
      (e: unknown) => e instanceof RotationError && /new deploy token 100 revoked; nothing was printed/.test(e.message),
    );
    assert.deepEqual(f.events, ["resolve", "mint 100", "verify", "revoke 100"]);
  });
});

describe("reports", () => {
  const report = (patch: Partial<RotationReport> = {}): RotationReport => ({
    changed: true,
    dryRun: false,
    secretName: "regcred",
    namespaces: ["a", "b"],
    skipped: [],
    created: ["b"],
    reason: "--force",
    token: { id: 12, username: "gitlab+deploy-token-12", expiresAt: "2026-12-01T00:00:00.000Z" },
    previousTokenIds: [11],
    keptTokenIds: [],
    revokedTokenIds: [11],
    sweptTokenIds: [],
    verified: { repository: "grp/app", tag: "latest", digest: "sha256:d" },
    serviceAccountsUpdated: [],
    owner: { kind: "project", id: 42, path: "grp/app" },
    static: null,
    registry: "r:5005",
    registryAliases: [],
    problems: [],
    ...patch,
  });

  test("the job summary table: one row per namespace with change, token, username, expiry, revoked ids; then the reason", () => {
    const s = jobSummary(report());
    assert.equal(s.heading, "gitlab-pull-secret: rotated");
    assert.deepEqual(s.header, [
      "Namespace",
      "Secret",
      "Change",
      "Token id",
      "Username",
      "Expires",
      "Revoked token ids",
    ]);
    assert.deepEqual(s.rows, [
      ["a", "regcred", "updated", "12", "gitlab+deploy-token-12", "2026-12-01T00:00:00.000Z", "11"],
      ["b", "regcred", "created", "12", "gitlab+deploy-token-12", "2026-12-01T00:00:00.000Z", "11"],
    ]);
    assert.deepEqual(s.notes.slice(0, 3), [
      "Reason: --force",
      "Owner: project grp/app (id 42); registry r:5005",
      "Pull check: grp/app:latest (sha256:d)",
    ]);
  });

  test("an unchanged run says so and shows the token the Secrets keep; the log lines do not crash", () => {
    const r = report({
      changed: false,
      token: null,
      created: [],
      revokedTokenIds: [],
      verified: null,
      reason: "deploy token 11 has 5d left, more than --rotate-before",
    });
    const s = jobSummary(r);
    assert.equal(s.heading, "gitlab-pull-secret: unchanged");
    assert.deepEqual(s.rows[0], ["a", "regcred", "unchanged", "11", "-", "-", "none"]);
    assert.equal(s.notes[0], "Reason: deploy token 11 has 5d left, more than --rotate-before");
    assert.deepEqual(summaryLines(r), ["Unchanged: deploy token 11 has 5d left, more than --rotate-before"]);
  });

  test("problems reach the summary escaped; text tables align", () => {
    assert.equal(escapeHtml(`<b a="x">&'`), "&lt;b a=&quot;x&quot;&gt;&amp;&#39;");
    assert.match(
      jobSummary(report({ problems: ["Could not revoke 11"] })).notes.at(-1)!,
      /^Warning: Could not revoke 11$/,
    );
    assert.deepEqual(
      textTable([
        ["A", "BB", "C"],
        ["aaa", "b", "c"],
      ]),
      ["A    BB  C", "aaa  b   c"],
    );
  });
});

describe("help texts say what each command does", () => {
  test("no command's help names a flag it refuses; render's exit 1 is not the cluster's; --group names --verify-image", () => {
    for (const name of Object.keys(COMMANDS) as CommandName[]) {
      const text = helpText("9.9.9", name);
      const options = text.split("\nOptions:\n")[1]!.split("\nExit codes:")[0]!;
      for (const m of options.matchAll(/--([a-z][a-z-]*)/g)) {
        const o = OPTIONS.find((x) => x.flag === m[1] || ("fileFlag" in x && x.fileFlag === m[1]));
        if (o && m[1] !== "help")
          assert.ok(COMMANDS[name].options(o.key), `${name} --help names --${m[1]}, which ${name} refuses`);
      }
    }
    assert.doesNotMatch(helpText("9.9.9", "revoke"), /--registry/);
    assert.match(helpText("9.9.9", "render"), /\n {2}1 {2}GitLab or the registry failed/);
    assert.doesNotMatch(helpText("9.9.9", "render"), /the cluster failed/);
    assert.match(helpText("9.9.9", "rotate"), /--group VALUE .*--verify-image .*or --no-verify/);
  });
});
