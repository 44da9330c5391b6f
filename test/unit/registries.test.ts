// Registries and tokens against in-memory ports: static credentials (applied,
// compared by SHA-256, never minted or revoked, no GitLab call), the Secret
// type chosen with --secret-type and its immutability, registry aliases. The
// same flows run against real kubectl, the stand-ins and skopeo in
// test/e2e/registries.test.ts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { configFor, type CommandName } from "../../src/faces/commands.js";
import { SecretTypeError, UsageError } from "../../src/model/errors.js";
import type { Config } from "../../src/config/inputs.js";
import { Annotations } from "../../src/model/naming.js";
import type { RawSettings } from "../../src/config/options.js";
import { rotationDue, staticDue } from "../../src/model/plan.js";
import type { ExistingSecret, KubePort, ResolvedOwner, LockPort, Ports } from "../../src/model/ports.js";
import { buildPlan } from "../../src/commands/plan.js";
import { planLines } from "../../src/faces/plan-view.js";
import { renderCredentials } from "../../src/commands/render.js";
import { jobSummary, summaryLines, actionOutputs } from "../../src/faces/report.js";
import { rotate } from "../../src/commands/rotate.js";
import { Secret } from "../../src/model/secret.js";
import { assessStatus } from "../../src/commands/status.js";
import { healthyApiToken, idleTimer, quietKube, quietLock } from "../support/port-defaults.ts";
import { teardown } from "../../src/commands/revoke.js";
import { statusLines } from "../../src/faces/status-view.js";

const OWNER: ResolvedOwner = {
  kind: "project",
  id: 42,
  path: "grp/app",
  registryImagePrefix: "registry.example.com:5005/grp/app",
  registryAccessLevel: "enabled",
};
/** A target as target.ts makes it; static credentials hold no token, so its parts never match. */
const REF = {
  cluster: undefined,
  earlier: [],
  secretName: "s",
  set: "00000000",
  id: undefined,
  describe: "namespaces a",
};
const NOW = new Date("2026-11-23T08:30:00Z");
const STATIC: RawSettings = { namespaces: ["a", "b"], username: "robot", registry: "harbor.example.com" };

const cfg = (command: CommandName, raw: RawSettings, env: Record<string, string> = {}): Config =>
  configFor(command, raw, env, "cli");
const staticConfig = (patch: RawSettings = {}, password = "pw-one"): Config =>
  cfg("rotate", { ...STATIC, ...patch }, { REGISTRY_PASSWORD: password });
const tokenConfig = (patch: RawSettings = {}): Config =>
  cfg("rotate", { project: "grp/app", namespaces: ["a", "b"], ...patch }, { GITLAB_TOKEN: "glpat-unit" });

interface Applied {
  namespace: string;
  type: string;
  data: Record<string, string>;
  annotations: Record<string, string>;
}

/** A cluster that keeps what is applied, and a GitLab that must not be called for static credentials. */
function fakes(opts: { existing?: ExistingSecret[] } = {}) {
  const events: string[] = [];
  const applied = new Map<string, Applied>();
  let secrets: ExistingSecret[] = [...(opts.existing ?? [])];
  const gitlab: Ports["gitlab"] = {
    ...healthyApiToken,
    async resolveOwner() {
      events.push("gitlab resolve");
      return {
        kind: "project",
        id: 42,
        path: "grp/app",
        registryImagePrefix: "registry.example.com:5005/grp/app",
        registryAccessLevel: "enabled",
      };
    },
    async listDeployTokens() {
      events.push("gitlab list");
      return [];
    },
    async createDeployToken(_o, req) {
      events.push("gitlab mint");
      return {
        id: 100,
        name: req.name,
        username: "gitlab+deploy-token-100",
        expiresAt: `${req.expiresAt}T00:00:00.000Z`,
        token: new Secret("gldt-100"),
      };
    },
    async revokeDeployToken(_o, id) {
      events.push(`gitlab revoke ${id}`);
      return "revoked";
    },
  };
  const kube: KubePort = {
    ...quietKube,
    async readTarget(namespaces) {
      events.push("read");
      return { secrets: secrets.filter((s) => namespaces.includes(s.namespace)), serviceAccounts: [] };
    },
    async readSecrets(namespaces) {
      events.push("read-secrets");
      return secrets.filter((s) => namespaces.includes(s.namespace));
    },
    async replaceServiceAccounts() {
      return "ok";
    },
    async listNamespaces() {
      return [];
    },
    async applyNamespaces() {
      return [];
    },
    async dryRunSecrets() {
      events.push("dry-apply");
    },
    async applySecrets(list) {
      events.push("apply");
      for (const item of JSON.parse(list.reveal()).items) {
        const md = item.metadata;
        applied.set(md.namespace, {
          namespace: md.namespace,
          type: item.type,
          data: item.data,
          annotations: md.annotations,
        });
        secrets = [
          ...secrets.filter((s) => s.namespace !== md.namespace),
          {
            namespace: md.namespace,
            type: item.type,
            labels: md.labels,
            annotations: md.annotations,
            resourceVersion: "2",
          },
        ];
      }
    },
    async forbiddenSecretDeletes() {
      return [];
    },
    async deleteSecrets(namespaces) {
      events.push(`delete ${namespaces.join(",")}`);
      secrets = secrets.filter((s) => !namespaces.includes(s.namespace));
    },
  };
  const lock: LockPort = {
    ...quietLock,
    async readLease() {
      return undefined;
    },
    async createLease(_ns, _name, holder) {
      return {
        holder,
        renewTime: "",
        durationSeconds: 300,
        resourceVersion: "1",
        uid: "0f0f0f0f-0000-4000-8000-000000000042",
      };
    },
    async claimLease() {
      return undefined;
    },
    async releaseLease() {},
  };
  const secretsLogged: string[] = [];
  const ports: Ports = {
    gitlab,
    kube,
    lock,
    verifier: {
      async verifyPull(req) {
        events.push(
          `verify ${req.registry}/${req.repository} as ${req.username} (${req.credentials ?? "deploy-token"})`,
        );
        return { digest: "sha256:abc" };
      },
    },
    clock: { now: () => NOW },
    sleep: async () => {},
    log: { info: () => {}, warn: (m) => events.push(`warn ${m.slice(0, 40)}`), secret: (v) => secretsLogged.push(v) },
    nonce: () => "abcdef",
    timer: idleTimer,
  };
  return { ports, events, applied, secrets: () => secrets, secretsLogged };
}

const decode = (a: Applied | undefined, key: string): any =>
  JSON.parse(Buffer.from(a!.data[key]!, "base64").toString());

describe("static credentials", () => {
  test("applied to every namespace with no GitLab call; the Secret records static and the docker config's SHA-256", async () => {
    const f = fakes();
    const r = await rotate(staticConfig(), f.ports);
    assert.deepEqual(f.events, ["read", "dry-apply", "apply"], "no GitLab call, no pull check without --verify-image");
    assert.equal(r.changed, true);
    assert.equal(r.token, null);
    assert.equal(r.owner, null);
    assert.deepEqual(r.static, { username: "robot", applied: true });
    const a = f.applied.get("b")!;
    assert.equal(a.type, "kubernetes.io/dockerconfigjson");
    const entry = decode(a, ".dockerconfigjson").auths["harbor.example.com"];
    assert.equal(Buffer.from(entry.auth, "base64").toString(), "robot:pw-one");
    assert.equal(a.annotations[Annotations.tokenId], "static");
    assert.equal(a.annotations[Annotations.owner], "static");
    assert.match(a.annotations[Annotations.configSha256]!, /^[0-9a-f]{64}$/);
    assert.equal(a.annotations[Annotations.expiresAt], undefined);
    assert.ok(
      f.secretsLogged.includes("pw-one") && f.secretsLogged.includes(Buffer.from("robot:pw-one").toString("base64")),
      "every form is registered for masking",
    );
    assert.match(
      summaryLines(r)[0]!,
      /^Applied the static credentials of robot to Secret "gitlab-pull-secret" in a, b \(created in a, b\)$/,
    );
    assert.equal(jobSummary(r).rows[0]![3], "static");
    assert.equal(actionOutputs(r)["token-id"], "");
    assert.equal(actionOutputs(r)["token-username"], "robot");
  });

  test("a re-run with the same password changes nothing; a new password or alias re-applies; --force always does", async () => {
    const f = fakes();
    await rotate(staticConfig(), f.ports);
    f.events.length = 0;
    const same = await rotate(staticConfig(), f.ports);
    assert.equal(same.changed, false);
    assert.deepEqual(f.events, ["read"], "nothing checked, written or called");
    assert.match(same.reason, /already holds these credentials/);

    const other = await rotate(staticConfig({}, "pw-two"), f.ports);
    assert.equal(other.changed, true);
    assert.match(other.reason, /holds other credentials/);
    assert.equal(
      Buffer.from(
        decode(f.applied.get("a"), ".dockerconfigjson").auths["harbor.example.com"].auth,
        "base64",
      ).toString(),
      "robot:pw-two",
    );

    const alias = await rotate(staticConfig({ registryAliases: ["harbor.internal:8443"] }, "pw-two"), f.ports);
    assert.equal(alias.changed, true);
    assert.deepEqual(Object.keys(decode(f.applied.get("a"), ".dockerconfigjson").auths), [
      "harbor.example.com",
      "harbor.internal:8443",
    ]);
    assert.equal(f.applied.get("a")!.annotations[Annotations.registryAliases], "harbor.internal:8443");
    f.events.length = 0;
    assert.equal(
      (await rotate(staticConfig({ registryAliases: ["harbor.internal:8443"] }, "pw-two"), f.ports)).changed,
      false,
    );
    assert.ok(!f.events.some((e) => e.startsWith("gitlab")));
    assert.equal((await rotate(staticConfig({ force: true }, "pw-two"), f.ports)).reason, "--force");
  });

  test("--verify-image runs the registry token flow with the static credentials, not GitLab's API", async () => {
    const f = fakes();
    const r = await rotate(staticConfig({ verifyImage: "proj/app:1" }), f.ports);
    assert.deepEqual(f.events, ["read", "dry-apply", "verify harbor.example.com/proj/app as robot (static)", "apply"]);
    assert.deepEqual(r.verified, { repository: "proj/app", tag: "1", digest: "sha256:abc" });
  });

  test("replacing a Secret that held a deploy token warns that the token stays live, and revokes nothing", async () => {
    const minted: ExistingSecret = {
      namespace: "a",
      type: "kubernetes.io/dockerconfigjson",
      labels: { "app.kubernetes.io/managed-by": "gitlab-pull-secret" },
      annotations: { [Annotations.tokenId]: "7", [Annotations.owner]: "project/42" },
      resourceVersion: "1",
    };
    const f = fakes({ existing: [minted] });
    const r = await rotate(staticConfig(), f.ports);
    assert.equal(r.changed, true);
    assert.match(r.reason, /holds a deploy token of project\/42/);
    assert.ok(f.events.some((e) => e.startsWith("warn The Secret in a held deploy token 7")));
    assert.ok(!f.events.some((e) => e.startsWith("gitlab")));
  });

  test("plan, status, revoke and render with static credentials: no GitLab call", async () => {
    const f = fakes();
    await rotate(staticConfig(), f.ports);
    f.events.length = 0;
    const plan = buildPlan({
      config: staticConfig({}, "pw-two"),
      owner: null,
      hosts: ["harbor.example.com"],
      state: { secrets: f.secrets(), serviceAccounts: [] },
      tokens: [],
      now: NOW,
    });
    assert.equal(plan.due, true);
    assert.equal(plan.mint, null);
    assert.match(
      planLines(plan).join("\n"),
      /static credentials of robot.*apply, because the Secret in a holds other credentials/,
    );

    const status = assessStatus({
      owner: null,
      staticUsername: "robot",
      secretName: "gitlab-pull-secret",
      namespaces: ["a", "b"],
      target: REF,
      prefix: "p",
      existing: f.secrets(),
      tokens: [],
      now: NOW,
      warnWithinMs: 1,
      graceMs: 0,
    });
    assert.deepEqual(
      status.secrets.map((s) => [s.namespace, s.credentials, s.username]),
      [
        ["a", "static", "robot"],
        ["b", "static", "robot"],
      ],
    );
    assert.deepEqual(status.findings, []);
    assert.match(
      statusLines(status).join("\n"),
      /static credentials of robot[\s\S]*no deploy tokens \(GitLab was not asked\)/,
    );

    // revoke with --username needs no password and no --registry: it only deletes the Secrets holding static credentials.
    const torn = await teardown(cfg("revoke", { namespaces: ["a", "b"], username: "robot", yes: true }), f.ports, {
      confirm: true,
    });
    assert.deepEqual(torn.revoke, []);
    assert.deepEqual(torn.deletedSecrets, ["a", "b"]);
    assert.deepEqual(f.events, ["read", "delete a,b"]);

    const rendered = await renderCredentials(
      cfg("render", { ...STATIC, format: "secret", secretType: "dockercfg" }, { REGISTRY_PASSWORD: "pw-one" }),
      "secret",
      f.ports,
    );
    assert.equal(rendered.token, null);
    assert.match(rendered.content.reveal(), /type: kubernetes\.io\/dockercfg[\s\S]*\.dockercfg: /);
    assert.ok(!f.events.some((e) => e.startsWith("gitlab")));
  });

  test("status of a deploy-token target names a static Secret; a static status names a deploy-token Secret", () => {
    const st: ExistingSecret = {
      namespace: "a",
      type: "kubernetes.io/dockerconfigjson",
      labels: { "app.kubernetes.io/managed-by": "gitlab-pull-secret" },
      annotations: {
        [Annotations.tokenId]: "static",
        [Annotations.owner]: "static",
        [Annotations.tokenUsername]: "robot",
      },
      resourceVersion: "1",
    };
    const dt: ExistingSecret = {
      ...st,
      annotations: { [Annotations.tokenId]: "7", [Annotations.owner]: "project/42" },
    };
    const args = {
      secretName: "s",
      namespaces: ["a"],
      target: REF,
      prefix: "p",
      tokens: [],
      now: NOW,
      warnWithinMs: undefined,
      graceMs: 0,
    };
    const a = assessStatus({
      ...args,
      owner: {
        kind: "project",
        id: 42,
        path: "grp/app",
        registryImagePrefix: undefined,
        registryAccessLevel: undefined,
      },
      existing: [st],
    });
    assert.match(a.findings[0]!.message, /holds static credentials \(of robot\), not a deploy token of project\/42/);
    const b = assessStatus({ ...args, owner: null, existing: [dt] });
    assert.match(b.findings[0]!.message, /holds deploy token 7 of project\/42, not the static credentials/);
  });
});

describe("Secret type", () => {
  const existing = (type: string): ExistingSecret => ({
    namespace: "b",
    type,
    labels: { "app.kubernetes.io/managed-by": "gitlab-pull-secret" },
    annotations: { [Annotations.tokenId]: "7", [Annotations.owner]: "project/42" },
    resourceVersion: "1",
  });

  test("--secret-type dockercfg writes kubernetes.io/dockercfg with the host map under .dockercfg", async () => {
    const f = fakes();
    await rotate(tokenConfig({ secretType: "dockercfg", noVerify: true }), f.ports);
    const a = f.applied.get("a")!;
    assert.equal(a.type, "kubernetes.io/dockercfg");
    assert.deepEqual(Object.keys(a.data), [".dockercfg"]);
    const map = decode(a, ".dockercfg");
    assert.equal(map.auths, undefined);
    assert.equal(
      Buffer.from(map["registry.example.com:5005"].auth, "base64").toString(),
      "gitlab+deploy-token-100:gldt-100",
    );
  });

  test("switching the type of an existing Secret fails from the read state, before a token is minted or the cluster asked", async () => {
    for (const [config, found] of [
      [tokenConfig({ secretType: "dockercfg" }), "kubernetes.io/dockerconfigjson"],
      [tokenConfig(), "kubernetes.io/dockercfg"],
      [staticConfig({ secretType: "dockercfg" }), "kubernetes.io/dockerconfigjson"],
    ] as const) {
      const f = fakes({ existing: [existing(found)] });
      const err = await rotate(config, f.ports).catch((e) => e);
      assert.ok(err instanceof SecretTypeError, String(err));
      assert.equal(err.exitCode, 2);
      assert.match(err.message, new RegExp(`in namespace\\(s\\) b \\(${found.replace(/\./g, "\\.")}\\)`));
      assert.match(err.message, /another --secret-name/);
      assert.ok(!f.events.some((e) => e === "gitlab mint" || e.endsWith("apply")), f.events.join(" "));
    }
  });

  test("status flags a Secret of the other type; render config.json refuses dockercfg", () => {
    const r = assessStatus({
      owner: null,
      secretName: "s",
      secretType: "dockercfg",
      namespaces: ["b"],
      target: REF,
      prefix: "p",
      existing: [existing("kubernetes.io/dockerconfigjson")],
      tokens: [],
      now: NOW,
      warnWithinMs: 1,
      graceMs: 0,
    });
    assert.ok(r.findings.some((x) => x.kind === "wrong-type" && /is not kubernetes\.io\/dockercfg/.test(x.message)));
    assert.throws(
      () =>
        cfg("render", { project: "grp/app", format: "config.json", secretType: "dockercfg" }, { GITLAB_TOKEN: "x" }),
      (e: unknown) => e instanceof UsageError && /--secret-type/.test(e.message),
    );
  });
});

describe("registry aliases", () => {
  test("every alias gets the minted token; an alias equal to the registry GitLab reports is refused before minting", async () => {
    const f = fakes();
    const r = await rotate(
      tokenConfig({ registryAliases: ["gitlab.example.com:443", "proxy.example.com"], noVerify: true }),
      f.ports,
    );
    assert.deepEqual(r.registryAliases, ["gitlab.example.com:443", "proxy.example.com"]);
    assert.deepEqual(Object.keys(decode(f.applied.get("a"), ".dockerconfigjson").auths), [
      "registry.example.com:5005",
      "gitlab.example.com:443",
      "proxy.example.com",
    ]);
    const g = fakes();
    await assert.rejects(
      rotate(tokenConfig({ registryAliases: ["Registry.example.com:5005"] }), g.ports),
      (e: unknown) => e instanceof UsageError && /--registry-alias/.test(e.message),
    );
    assert.deepEqual(g.events, ["gitlab resolve"]);
  });

  test("with --rotate-before, another host set makes a rotation due although the token has time left", () => {
    const s: ExistingSecret = {
      namespace: "a",
      type: "kubernetes.io/dockerconfigjson",
      labels: { "app.kubernetes.io/managed-by": "gitlab-pull-secret" },
      annotations: {
        [Annotations.tokenId]: "7",
        [Annotations.owner]: "project/42",
        [Annotations.expiresAt]: "2026-12-20T00:00:00.000Z",
        [Annotations.registry]: "r:5005",
        [Annotations.registryAliases]: "",
      },
      resourceVersion: "1",
    };
    const args = {
      namespaces: ["a"],
      existing: [s],
      owner: OWNER,
      liveIds: new Set([7]),
      tokens: [{ id: 7, name: "t", expiresAt: "2026-12-20T00:00:00.000Z", revoked: false, scopes: ["read_registry"] }],
      scopes: ["read_registry"],
      now: NOW,
      rotateBeforeMs: 86_400_000,
      force: false,
    };
    assert.equal(rotationDue({ ...args, hosts: ["r:5005"] }).due, false);
    assert.match(rotationDue({ ...args, hosts: ["r:5005", "proxy"] }).reason, /is not for r:5005, proxy/);
    assert.equal(rotationDue({ ...args, hosts: ["other:5005"] }).due, true);
    assert.equal(
      staticDue({ namespaces: ["a"], existing: [s], configSha256: "x", force: false }).due,
      true,
      "a minted Secret is no static one",
    );
  });
});
