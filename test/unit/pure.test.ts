import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  credentialsFor,
  dockercfg,
  dockerConfigJson,
  payloadSha256,
  pullSecretPayload,
  registryHosts,
  secretForms,
  secretTypeOf,
} from "../../src/model/dockerconfig.js";
import { UsageError } from "../../src/model/errors.js";
import { durationForm, expiryDateFor, formatDuration, parseDuration } from "../../src/config/duration.js";
import { parseConfig } from "../../src/config/inputs.js";
import { OPTIONS } from "../../src/config/options.js";
import { recordAnnotations, secretList, secretRefs, staticAnnotations } from "../../src/model/manifests.js";
import { Annotations, mintedAt, ownsTokenName, targetId, tokenName } from "../../src/model/naming.js";
import { errorLines, namespacesInErrors, parseSecrets } from "../../src/adapters/kubectl.js";
import { Secret, redact } from "../../src/model/secret.js";
import { inspect } from "node:util";
import { scrubKubeconfigError } from "../../src/adapters/kubeconfig-check.js";

describe("durations", () => {
  test("parses the documented units", () => {
    assert.equal(parseDuration("36h"), 36 * 3600_000);
    assert.equal(parseDuration("7d"), 7 * 86400_000);
    assert.equal(parseDuration("2w"), 14 * 86400_000);
    assert.equal(parseDuration("10m"), 600_000);
  });
  test("rejects other forms", () => {
    for (const bad of ["", "7", "d", "1.5d", "-1d", "7 days", "1y", "7D"])
      assert.equal(parseDuration(bad), undefined, bad);
  });
  test("expiry date is the first UTC midnight at or after now + lifetime", () => {
    const now = new Date("2026-11-23T08:30:00Z");
    assert.equal(expiryDateFor(now, 7 * 86400_000), "2026-12-01");
    assert.equal(expiryDateFor(now, 36 * 3600_000), "2026-11-25");
    // Exactly midnight needs no extra day.
    assert.equal(expiryDateFor(new Date("2026-11-23T00:00:00Z"), 86400_000), "2026-11-24");
    // The token never lives less than asked.
    for (const h of [1, 5, 23, 24, 25, 47, 168]) {
      const d = expiryDateFor(now, h * 3600_000);
      const life = Date.parse(`${d}T00:00:00Z`) - now.getTime();
      assert.ok(life >= h * 3600_000 && life < h * 3600_000 + 86400_000, `${h}h -> ${d}`);
    }
  });
});

describe("duration limits", () => {
  test("--expires-in 365d gives a date at most 365 days out, whatever the time of day", () => {
    for (const at of ["2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z", "2026-06-15T12:00:00Z", "2026-12-31T23:59:59Z"]) {
      const now = new Date(at);
      const d = expiryDateFor(now, 365 * 86400_000);
      const today = Date.parse(`${at.slice(0, 10)}T00:00:00Z`);
      assert.ok(Date.parse(`${d}T00:00:00Z`) - today <= 365 * 86400_000, `${at} -> ${d}`);
    }
    // Below the limit the date is still rounded up: the token lives at least as long as asked.
    assert.equal(expiryDateFor(new Date("2026-01-01T10:00:00Z"), 364 * 86400_000), "2027-01-01");
  });
  test("each duration option's error gives only examples that option accepts", () => {
    const duration = OPTIONS.filter((o) =>
      [
        "expiresIn",
        "rotateBefore",
        "sweepGrace",
        "lockTimeout",
        "lockLeaseDuration",
        "requestTimeout",
        "retryFor",
        "warnWithin",
      ].includes(o.key),
    );
    for (const o of duration) {
      let message = "";
      try {
        parseConfig(
          { project: "grp/app", namespaces: ["a"], expiresIn: "365d", [o.key]: "7y" },
          { GITLAB_TOKEN: "glpat-x" },
          "cli",
        );
      } catch (err) {
        message = (err as Error).message;
      }
      const examples = /\(e\.g\. ([^)]*)\)/.exec(message)?.[1]?.split(", ") ?? [];
      assert.ok(examples.length > 0, `${o.key}: ${message}`);
      for (const e of examples) {
        let accepted = true;
        try {
          parseConfig(
            { project: "grp/app", namespaces: ["a"], expiresIn: "365d", [o.key]: e },
            { GITLAB_TOKEN: "glpat-x" },
            "cli",
          );
        } catch {
          accepted = false;
        }
        assert.ok(accepted, `${o.key}'s message suggests ${e}, which it refuses: ${message}`);
      }
    }
  });
  test("formats bounds in the largest whole unit", () => {
    assert.equal(formatDuration(3_600_000), "1h");
    assert.equal(formatDuration(365 * 86400_000), "365d");
    assert.equal(formatDuration(15_000), "15s");
    assert.equal(durationForm(3_600_000), "a whole number followed by s, m, h, d or w (e.g. 36h, 7d, 2w)");
  });
});

describe("docker config", () => {
  const creds = [
    { host: "gitlab.example.com:5005", username: "gitlab+deploy-token-7", password: new Secret("gldt-abc") },
  ];
  test("carries username, password and auth = base64(username:password) under auths", () => {
    const cfg = JSON.parse(dockerConfigJson(creds).reveal());
    const entry = cfg.auths["gitlab.example.com:5005"];
    assert.equal(entry.username, "gitlab+deploy-token-7");
    assert.equal(entry.password, "gldt-abc");
    assert.equal(Buffer.from(entry.auth, "base64").toString(), "gitlab+deploy-token-7:gldt-abc");
  });
  test("secret forms cover token, user:token, both base64s and the config", () => {
    const forms = secretForms(creds);
    const config = dockerConfigJson(creds).reveal();
    for (const f of [
      "gldt-abc",
      "gitlab+deploy-token-7:gldt-abc",
      Buffer.from("gitlab+deploy-token-7:gldt-abc").toString("base64"),
      config,
      Buffer.from(config).toString("base64"),
    ]) {
      assert.ok(forms.includes(f), f.slice(0, 12));
    }
  });
});

describe("docker config shapes: dockercfg, aliases, static credentials", () => {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const hosts = registryHosts("gitlab.example.com:5005", ["gitlab.example.com:443", "proxy.example.com"]);
  const creds = credentialsFor(hosts, "gitlab+deploy-token-7", new Secret("gldt-abc"));

  test(".dockercfg is the host map WITHOUT auths; .dockerconfigjson wraps the same map in auths", () => {
    const legacy = JSON.parse(dockercfg(creds).reveal());
    const modern = JSON.parse(dockerConfigJson(creds).reveal());
    assert.equal(legacy.auths, undefined);
    assert.deepEqual(Object.keys(legacy), hosts);
    assert.deepEqual(modern, { auths: legacy });
    assert.equal(pullSecretPayload("dockercfg", creds).reveal(), dockercfg(creds).reveal());
    assert.equal(pullSecretPayload("dockerconfigjson", creds).reveal(), dockerConfigJson(creds).reveal());
  });
  test("every alias gets the same username, password and auth = base64(username:password)", () => {
    const map = JSON.parse(dockercfg(creds).reveal());
    for (const host of hosts) {
      assert.deepEqual(map[host], {
        username: "gitlab+deploy-token-7",
        password: "gldt-abc",
        auth: b64("gitlab+deploy-token-7:gldt-abc"),
      });
    }
  });
  test("static credentials: any username (iamapikey, a Harbor robot with $ and +), a password with colons and spaces", () => {
    for (const [user, pass] of [
      ["iamapikey", "a:b c"],
      ["robot$proj+ci", "p@ss"],
    ] as const) {
      const cfg = JSON.parse(dockerConfigJson(credentialsFor(["us.icr.io"], user, new Secret(pass))).reveal());
      assert.equal(Buffer.from(cfg.auths["us.icr.io"].auth, "base64").toString(), `${user}:${pass}`);
      // containers/image splits at the first colon: the username must have none, the password may.
      assert.equal(Buffer.from(cfg.auths["us.icr.io"].auth, "base64").toString().split(":")[0], user);
    }
  });
  test("registry hosts: lowercased, each once, never the registry again", () => {
    assert.deepEqual(registryHosts("R.example.com", ["P.example.com"]), ["r.example.com", "p.example.com"]);
    assert.throws(
      () => registryHosts("r.example.com:5005", ["R.example.com:5005"]),
      (e: unknown) => e instanceof UsageError && /--registry-alias: invalid value "R.example.com:5005"/.test(e.message),
    );
    assert.throws(() => registryHosts("r", ["p", "p"]), UsageError);
  });
  test("the secret forms cover both shapes and their base64; the SHA-256 changes with the password, not with the call", () => {
    const forms = secretForms(creds);
    for (const payload of [dockercfg(creds).reveal(), dockerConfigJson(creds).reveal()]) {
      assert.ok(forms.includes(payload) && forms.includes(b64(payload)));
    }
    const again = credentialsFor(hosts, "gitlab+deploy-token-7", new Secret("gldt-abc"));
    const other = credentialsFor(hosts, "gitlab+deploy-token-7", new Secret("gldt-abd"));
    assert.equal(payloadSha256(dockercfg(creds)), payloadSha256(dockercfg(again)));
    assert.notEqual(payloadSha256(dockercfg(creds)), payloadSha256(dockercfg(other)));
    assert.match(payloadSha256(dockercfg(creds)), /^[0-9a-f]{64}$/);
    assert.ok(!forms.includes(payloadSha256(dockercfg(creds))), "the digest is not a form of the secret");
  });
  test("secret types map to the Kubernetes type and data key", () => {
    const list = JSON.parse(
      secretList({
        namespaces: ["a"],
        secretName: "p",
        secretType: "dockercfg",
        payload: dockercfg(creds),
        annotations: {},
      }).reveal(),
    );
    assert.equal(list.items[0].type, "kubernetes.io/dockercfg");
    assert.deepEqual(Object.keys(list.items[0].data), [".dockercfg"]);
    assert.equal(secretTypeOf("kubernetes.io/dockercfg"), "dockercfg");
    assert.equal(secretTypeOf("Opaque"), undefined);
  });
  test("static Secrets record static instead of a token id, no expiry, and the docker config's SHA-256", () => {
    const a = staticAnnotations({
      username: "robot",
      registry: "r",
      aliases: ["p"],
      configSha256: "ab".repeat(32),
      rotatedAt: "2026-11-23T08:30:00.000Z",
    });
    assert.equal(a[Annotations.tokenId], "static");
    assert.equal(a[Annotations.owner], "static");
    assert.equal(a[Annotations.tokenUsername], "robot");
    assert.equal(a[Annotations.registryAliases], "p");
    assert.equal(a[Annotations.configSha256], "ab".repeat(32));
    assert.equal(a[Annotations.expiresAt], undefined);
  });
});

describe("Secret wrapper", () => {
  test("does not print its value", () => {
    const s = new Secret("gldt-hidden");
    assert.equal(`${s}`, "[redacted]");
    assert.equal(JSON.stringify({ s }), '{"s":"[redacted]"}');
    assert.ok(!inspect(s).includes("gldt-hidden"));
    assert.equal(s.reveal(), "gldt-hidden");
  });
  test("redact hides the longest form whole", () => {
    assert.equal(redact("a user:tok b tok c", ["tok", "user:tok"]), "a *** b *** c");
  });
});

describe("manifests", () => {
  test("one List with one dockerconfigjson Secret per namespace, labelled and annotated", () => {
    const annotations = recordAnnotations({
      id: 7,
      username: "u",
      expiresAt: "2026-12-01T00:00:00.000Z",
      owner: "project/42",
      registry: "r:5005",
      rotatedAt: "2026-11-23T08:30:00.000Z",
    });
    const list = JSON.parse(
      secretList({
        namespaces: ["a", "b"],
        secretName: "pull",
        secretType: "dockerconfigjson",
        payload: new Secret('{"auths":{}}'),
        annotations,
      }).reveal(),
    );
    assert.equal(list.kind, "List");
    assert.deepEqual(
      list.items.map((i: any) => i.metadata.namespace),
      ["a", "b"],
    );
    const item = list.items[0];
    assert.equal(item.type, "kubernetes.io/dockerconfigjson");
    assert.equal(Buffer.from(item.data[".dockerconfigjson"], "base64").toString(), '{"auths":{}}');
    assert.equal(item.metadata.labels["app.kubernetes.io/managed-by"], "gitlab-pull-secret");
    assert.equal(item.metadata.annotations[Annotations.tokenId], "7");
    assert.equal(item.metadata.annotations[Annotations.owner], "project/42");
  });
  test("refs name the Secret in each namespace without data", () => {
    const refs = JSON.parse(secretRefs(["a", "b"], "pull"));
    assert.deepEqual(
      refs.items.map((i: any) => [i.metadata.namespace, i.metadata.name, i.data]),
      [
        ["a", "pull", undefined],
        ["b", "pull", undefined],
      ],
    );
  });
});

describe("token names", () => {
  test("carry prefix and target, are unique per run, and are recognised", () => {
    const t = targetId("prod", "pull", ["b", "a"]);
    assert.equal(t, targetId("prod", "pull", ["a", "b"]), "namespace order does not matter");
    assert.notEqual(t, targetId("prod", "pull", ["a", "c"]), "another namespace set is another target");
    const name = tokenName("gitlab-pull-secret", t, new Date("2026-11-23T08:30:00.123Z"), "a1b2c3");
    assert.match(name, /^gitlab-pull-secret\/prod\/pull\/[0-9a-f]{8}\/20261123T083000Z-a1b2c3$/);
    assert.equal(mintedAt(name)?.toISOString(), "2026-11-23T08:30:00.000Z");
    assert.equal(mintedAt("hand-made"), undefined);
    assert.ok(ownsTokenName("gitlab-pull-secret", t, name));
    assert.ok(!ownsTokenName("gitlab-pull-secret", targetId("staging", "pull", ["a", "b"]), name));
    assert.ok(!ownsTokenName("gitlab-pull-secret", t, "hand-made"));
  });
  test("stay within GitLab's 255 characters and keep the unique tail", () => {
    const name = tokenName("p", targetId("x".repeat(300), "pull", ["a"]), new Date("2026-11-23T08:30:00Z"), "ffffff");
    assert.ok(name.length <= 255);
    assert.ok(name.endsWith("/20261123T083000Z-ffffff"));
  });
});

describe("kubectl output", () => {
  test("parses nothing, one object, or a List", () => {
    assert.deepEqual(parseSecrets(""), []);
    const one = {
      kind: "Secret",
      type: "kubernetes.io/dockerconfigjson",
      metadata: { namespace: "a", resourceVersion: "5", labels: { x: "y" } },
    };
    assert.equal(parseSecrets(JSON.stringify(one))[0]!.namespace, "a");
    const list = { kind: "List", items: [one, { ...one, metadata: { namespace: "b" } }] };
    assert.deepEqual(
      parseSecrets(JSON.stringify(list)).map((s) => s.namespace),
      ["a", "b"],
    );
  });
  test("finds the namespaces an API error names", () => {
    const stderr =
      'Error from server (Forbidden): secrets "p" is forbidden: User "ci" cannot patch resource "secrets" in API group "" in the namespace "team-b"\nError from server (NotFound): namespaces "gone" not found\n';
    assert.deepEqual(namespacesInErrors(stderr), ["team-b", "gone"]);
    assert.equal(errorLines(stderr).split("\n").length, 2);
  });
});

describe("kubeconfig errors", () => {
  test("kubectl's words keep the reason and drop anything quoted from the file", () => {
    assert.equal(
      scrubKubeconfigError(
        'error: error loading config file "/k": yaml: unmarshal errors:\n  line 3: cannot unmarshal !!str `glpat-in-file` into api.Config',
      ),
      "yaml: unmarshal errors:",
    );
    assert.equal(
      scrubKubeconfigError('error: error loading config file "/k": json: cannot unmarshal !!str `secret-value` into x'),
      "json: cannot unmarshal !!str `…` into x",
    );
    assert.equal(scrubKubeconfigError("error: cannot locate context nope"), "cannot locate context nope");
  });
});
