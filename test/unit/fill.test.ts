// The pure fill decision (model/fill.ts), the docker config read back
// (credentialsIn), and the ownership of a namespace list that grew. End to
// end in test/e2e/fill.test.ts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseConfig } from "../../src/config/inputs.js";
import { credentialsFor, credentialsIn, dockerConfigJson, dockercfg } from "../../src/model/dockerconfig.js";
import { fillAnnotations, rotationDecision } from "../../src/model/fill.js";
import { clusterKey, targetId, tokenName } from "../../src/model/naming.js";
import { assessOwnership, supersededList } from "../../src/model/ownership.js";
import type { ExistingSecret, ResolvedOwner } from "../../src/model/ports.js";
import { Secret } from "../../src/model/secret.js";
import { targetOf } from "../../src/commands/target.js";

const UID = "0f0f0f0f-0000-4000-8000-00000000000a";
const OTHER_UID = "0f0f0f0f-0000-4000-8000-00000000000b";
const OWNER: ResolvedOwner = {
  kind: "project",
  id: 42,
  path: "grp/app",
  registryImagePrefix: undefined,
  registryAccessLevel: undefined,
};
const NOW = new Date("2026-11-23T08:30:00Z");
const HOSTS = ["registry.example.com:5005"];
const PREFIX = "gitlab-pull-secret";
const listConfig = (namespaces: string[]) =>
  parseConfig({ project: "grp/app", namespaces, secretName: "pull" }, { GITLAB_TOKEN: "glpat-x" }, "cli");
const selectorConfig = parseConfig(
  { project: "grp/app", namespaceSelector: "team=x", secretName: "pull" },
  { GITLAB_TOKEN: "glpat-x" },
  "cli",
);
const SEL = targetOf(selectorConfig, ["a", "b", "c"], UID);
const nameFor = (spec: string[], uid = UID, secret = "pull") =>
  tokenName(PREFIX, targetId(clusterKey(uid), secret, spec), NOW, "abc123");
const SEL_NAME = nameFor(["selector=team=x"]);

const secret = (
  namespace: string,
  annotations: Record<string, string> = {},
  labels: Record<string, string> = { "app.kubernetes.io/managed-by": "gitlab-pull-secret" },
): ExistingSecret => ({
  namespace,
  type: "kubernetes.io/dockerconfigjson",
  labels,
  annotations: {
    "gitlab-pull-secret.io/token-id": "7",
    "gitlab-pull-secret.io/owner": "project/42",
    "gitlab-pull-secret.io/registry": HOSTS[0]!,
    "gitlab-pull-secret.io/registry-aliases": "",
    "gitlab-pull-secret.io/expires-at": "2026-12-01T00:00:00.000Z",
    ...annotations,
  },
  resourceVersion: "1",
});

function decide(patch: Partial<Parameters<typeof rotationDecision>[0]> = {}) {
  return rotationDecision({
    namespaces: ["a", "b", "c"],
    existing: [secret("a"), secret("b")],
    owner: OWNER,
    hosts: HOSTS,
    liveIds: new Set([7]),
    now: NOW,
    rotateBeforeMs: 2 * 86_400_000,
    force: false,
    scopes: ["read_registry"],
    tokens: [
      { id: 7, name: SEL_NAME, expiresAt: "2026-12-01T00:00:00.000Z", revoked: false, scopes: ["read_registry"] },
    ],
    prefix: PREFIX,
    target: SEL,
    ...patch,
  });
}

describe("rotate, fill or leave alone", () => {
  test("fill: nothing due for the Secrets there are, and the token's name proves this target in this cluster", () => {
    assert.deepEqual(decide(), {
      action: "fill",
      reason: "deploy token 7 has 7d left, more than --rotate-before",
      namespaces: ["c"],
      tokenId: 7,
      source: "a",
    });
    assert.deepEqual(decide({ namespaces: ["c", "a", "d", "b"] }), {
      action: "fill",
      reason: "deploy token 7 has 7d left, more than --rotate-before",
      namespaces: ["c", "d"],
      tokenId: 7,
      source: "a",
    });
  });

  test("none: every namespace holds the current token", () => {
    assert.equal(decide({ existing: [secret("a"), secret("b"), secret("c")] }).action, "none");
  });

  const rotateCases: Array<[string, Partial<Parameters<typeof rotationDecision>[0]>, RegExp]> = [
    ["--force", { force: true }, /^--force$/],
    ["no --rotate-before: every run rotates", { rotateBeforeMs: undefined }, /every run rotates/],
    ["no namespace holds a Secret yet", { existing: [] }, /no namespace holds a Secret yet \(a, b, c\)/],
    [
      "the token is no longer live in GitLab",
      { liveIds: new Set() },
      /deploy token 7 in a is no longer live in GitLab/,
    ],
    [
      "the Secrets disagree",
      { existing: [secret("a"), secret("b", { "gitlab-pull-secret.io/token-id": "8" })], liveIds: new Set([7, 8]) },
      /the Secrets hold different tokens \(7, 8\)/,
    ],
    ["another registry host", { hosts: ["other.example.com"] }, /the Secret in a is not for other.example.com/],
    [
      "other aliases",
      { hosts: [...HOSTS, "alias.example.com"] },
      /is not for registry.example.com:5005, alias.example.com/,
    ],
    [
      "another owner",
      { existing: [secret("a", { "gitlab-pull-secret.io/owner": "project/99" }), secret("b")] },
      /the Secret in a holds a token of another owner/,
    ],
    [
      "static credentials",
      { existing: [secret("a", { "gitlab-pull-secret.io/owner": "static" }), secret("b")] },
      /holds static credentials/,
    ],
    ["within --rotate-before", { rotateBeforeMs: 30 * 86_400_000 }, /the token expires in 7d, within --rotate-before/],
    [
      "an unmanaged Secret (adopt) is not a fill",
      { existing: [secret("a"), secret("b", {}, {})] },
      /no managed Secret in b/,
    ],
    [
      "another target's token",
      {
        tokens: [
          {
            id: 7,
            name: nameFor(["a", "b"]),
            expiresAt: "2026-12-01T00:00:00.000Z",
            revoked: false,
            scopes: ["read_registry"],
          },
        ],
      },
      /deploy token 7 cannot be copied there: its name does not prove/,
    ],
    [
      "another cluster's token",
      {
        tokens: [
          {
            id: 7,
            name: nameFor(["selector=team=x"], OTHER_UID),
            expiresAt: "2026-12-01T00:00:00.000Z",
            revoked: false,
            scopes: ["read_registry"],
          },
        ],
      },
      /cannot be copied there/,
    ],
    [
      "another Secret name's token",
      {
        tokens: [
          {
            id: 7,
            name: nameFor(["selector=team=x"], UID, "other"),
            expiresAt: "2026-12-01T00:00:00.000Z",
            revoked: false,
            scopes: ["read_registry"],
          },
        ],
      },
      /cannot be copied there/,
    ],
    [
      "a legacy name (a context, not a cluster)",
      {
        tokens: [
          {
            id: 7,
            name: tokenName(PREFIX, targetId("prod", "pull", ["selector=team=x"]), NOW, "abc123"),
            expiresAt: "2026-12-01T00:00:00.000Z",
            revoked: false,
            scopes: ["read_registry"],
          },
        ],
      },
      /cannot be copied there/,
    ],
    [
      "a name not ours",
      {
        tokens: [
          {
            id: 7,
            name: "made-by-hand",
            expiresAt: "2026-12-01T00:00:00.000Z",
            revoked: false,
            scopes: ["read_registry"],
          },
        ],
      },
      /cannot be copied there/,
    ],
    [
      "the cluster not known (no Lease)",
      { target: targetOf(selectorConfig, ["a", "b", "c"], undefined) },
      /cannot be copied there/,
    ],
  ];
  for (const [what, patch, reason] of rotateCases) {
    test(`rotate instead: ${what}`, () => {
      const d = decide(patch);
      assert.equal(d.action, "rotate");
      assert.match(d.reason, reason);
    });
  }

  test("the reason of a list that grew names the list the token was minted for", () => {
    const t = targetOf(listConfig(["a", "b", "c"]), ["a", "b", "c"], UID);
    const d = decide({
      target: t,
      existing: [secret("a", { "gitlab-pull-secret.io/target-spec": "namespaces a,b" }), secret("b")],
      tokens: [
        {
          id: 7,
          name: nameFor(["a", "b"]),
          expiresAt: "2026-12-01T00:00:00.000Z",
          revoked: false,
          scopes: ["read_registry"],
        },
      ],
    });
    assert.equal(d.action, "rotate");
    assert.match(
      d.reason,
      /no managed Secret in c, and deploy token 7 cannot be copied there: it was minted for namespaces a,b, and its name does not prove it was minted for this target in this cluster \(namespaces a,b,c\)/,
    );
  });

  test("a filled Secret carries the source's record, only our annotations", () => {
    const s = secret("a", {
      "gitlab-pull-secret.io/target": "x",
      "gitlab-pull-secret.io/kept-token-ids": "5",
      "someone.else/note": "keep out",
    });
    const a = fillAnnotations(s);
    assert.equal(a["gitlab-pull-secret.io/token-id"], "7");
    assert.equal(a["gitlab-pull-secret.io/kept-token-ids"], "5");
    assert.equal(a["gitlab-pull-secret.io/target"], "x");
    assert.equal(a["someone.else/note"], undefined);
  });
});

describe("the docker config read back", () => {
  const hosts = ["r.example.com:5005", "alias.example.com"];
  const creds = credentialsFor(hosts, "gitlab+deploy-token-7", new Secret("gldt-seven"));

  test("both Secret types give back the credentials they were written with", () => {
    for (const [type, payload] of [
      ["dockerconfigjson", dockerConfigJson(creds)],
      ["dockercfg", dockercfg(creds)],
    ] as const) {
      const got = credentialsIn(type, payload, hosts);
      assert.ok(Array.isArray(got), String(got));
      assert.deepEqual(
        got.map((c) => [c.host, c.username, c.password.reveal()]),
        hosts.map((h) => [h, "gitlab+deploy-token-7", "gldt-seven"]),
      );
    }
  });

  test("anything else is refused, and the reason never holds the password", () => {
    const entry = (u: string, p: string) => ({
      username: u,
      password: p,
      auth: Buffer.from(`${u}:${p}`).toString("base64"),
    });
    const cases: Array<[string, RegExp]> = [
      ["{", /not JSON/],
      [JSON.stringify({ nope: 1 }), /no host entries/],
      [JSON.stringify({ auths: { "r.example.com:5005": entry("u", "gldt-seven") } }), /other hosts/],
      [
        JSON.stringify({
          auths: { "r.example.com:5005": entry("u", "gldt-seven"), "alias.example.com": entry("u", "gldt-other") },
        }),
        /different credentials/,
      ],
      [
        JSON.stringify({ auths: { "r.example.com:5005": { username: "u" }, "alias.example.com": { username: "u" } } }),
        /lacks a username or password/,
      ],
      [
        JSON.stringify({
          auths: {
            "r.example.com:5005": { ...entry("u", "gldt-seven"), auth: "bad" },
            "alias.example.com": entry("u", "gldt-seven"),
          },
        }),
        /different credentials/,
      ],
    ];
    for (const [text, why] of cases) {
      const got = credentialsIn("dockerconfigjson", new Secret(text), hosts);
      assert.equal(typeof got, "string", text);
      assert.match(got as string, why);
      assert.doesNotMatch(got as string, /gldt-/);
    }
    // The dockerconfigjson shape under .dockercfg is a host map without hosts.
    assert.match(credentialsIn("dockercfg", dockerConfigJson(creds), hosts) as string, /other hosts/);
  });
});

describe("a namespace list that grew", () => {
  const grown = targetOf(listConfig(["a", "b", "c"]), ["a", "b", "c"], UID);
  const oldId = targetId(clusterKey(UID), "pull", ["a", "b"]);

  test("superseded only when the recorded list hashes to the recorded id, in this cluster, and every namespace of it is now ours", () => {
    assert.ok(supersededList(grown, oldId, "namespaces a,b", ["a", "b", "c"]));
    assert.ok(!supersededList(grown, oldId, "namespaces a,x", ["a", "b", "c"]), "the spec does not hash to the id");
    assert.ok(
      !supersededList(grown, targetId(clusterKey(UID), "pull", ["a", "d"]), "namespaces a,d", ["a", "b", "c"]),
      "d is not ours: the list moved",
    );
    assert.ok(
      !supersededList(grown, targetId(clusterKey(OTHER_UID), "pull", ["a", "b"]), "namespaces a,b", ["a", "b", "c"]),
      "another cluster",
    );
    assert.ok(
      !supersededList(grown, targetId(clusterKey(UID), "other", ["a", "b"]), "namespaces a,b", ["a", "b", "c"]),
      "another Secret name",
    );
    assert.ok(!supersededList(grown, oldId, "selector team=x", ["a", "b", "c"]), "a selector names no list");
    assert.ok(!supersededList(grown, grown.id, "namespaces a,b,c", ["a", "b", "c"]), "this target itself");
    assert.ok(
      !supersededList(targetOf(listConfig(["a", "b", "c"]), ["a", "b", "c"], undefined), oldId, "namespaces a,b", [
        "a",
        "b",
        "c",
      ]),
      "no Lease, no cluster",
    );
  });

  test("its token is revocable and no overlap is reported; a list that shrank stays another target's", () => {
    const tokens = [
      {
        id: 7,
        name: nameFor(["a", "b"]),
        expiresAt: "2026-12-01T00:00:00.000Z",
        revoked: false,
        scopes: ["read_registry"],
      },
    ];
    const held = (spec: string, id: string) => [
      secret("a", { "gitlab-pull-secret.io/target": id, "gitlab-pull-secret.io/target-spec": spec }),
      secret("b", { "gitlab-pull-secret.io/target": id, "gitlab-pull-secret.io/target-spec": spec }),
    ];
    const own = assessOwnership({
      existing: held("namespaces a,b", oldId),
      owner: OWNER,
      tokens,
      prefix: PREFIX,
      target: grown,
      namespaces: ["a", "b", "c"],
      managed: undefined,
    });
    assert.deepEqual(own.revocable.current, [7]);
    assert.deepEqual(own.overlaps, []);
    assert.deepEqual(own.spared, []);

    const shrunk = targetOf(listConfig(["a"]), ["a"], UID);
    const own2 = assessOwnership({
      existing: held("namespaces a,b", oldId).slice(0, 1),
      owner: OWNER,
      tokens,
      prefix: PREFIX,
      target: shrunk,
      namespaces: ["a"],
      managed: undefined,
    });
    assert.deepEqual(own2.revocable.current, []);
    assert.deepEqual(
      own2.spared.map((s) => s.why),
      ["other-target"],
    );
    assert.equal(own2.overlaps.length, 1);
  });
});
