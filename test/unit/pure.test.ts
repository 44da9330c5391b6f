import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { dockerConfigJson, secretForms } from "../../src/dockerconfig.js";
import { expiryDateFor, parseDuration } from "../../src/duration.js";
import { recordAnnotations, secretList, secretRefs } from "../../src/manifests.js";
import { Annotations, mintedAt, ownsTokenName, targetId, tokenName } from "../../src/naming.js";
import { errorLines, namespacesInErrors, parseSecrets, childEnv } from "../../src/kubectl.js";
import { Secret, redact } from "../../src/secret.js";
import { inspect } from "node:util";

describe("durations", () => {
  test("parses the documented units", () => {
    assert.equal(parseDuration("36h"), 36 * 3600_000);
    assert.equal(parseDuration("7d"), 7 * 86400_000);
    assert.equal(parseDuration("2w"), 14 * 86400_000);
    assert.equal(parseDuration("10m"), 600_000);
  });
  test("rejects other forms", () => {
    for (const bad of ["", "7", "d", "1.5d", "-1d", "7 days", "1y", "7D"]) assert.equal(parseDuration(bad), undefined, bad);
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

describe("docker config", () => {
  const creds = [{ host: "gitlab.example.com:5005", username: "gitlab+deploy-token-7", password: new Secret("gldt-abc") }];
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
    for (const f of ["gldt-abc", "gitlab+deploy-token-7:gldt-abc", Buffer.from("gitlab+deploy-token-7:gldt-abc").toString("base64"), config, Buffer.from(config).toString("base64")]) {
      assert.ok(forms.includes(f), f.slice(0, 12));
    }
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
    const annotations = recordAnnotations({ id: 7, username: "u", expiresAt: "2026-12-01T00:00:00.000Z", owner: "project/42", registry: "r:5005", rotatedAt: "2026-11-23T08:30:00.000Z" });
    const list = JSON.parse(secretList({ namespaces: ["a", "b"], secretName: "pull", dockerConfigJson: new Secret('{"auths":{}}'), annotations }).reveal());
    assert.equal(list.kind, "List");
    assert.deepEqual(list.items.map((i: any) => i.metadata.namespace), ["a", "b"]);
    const item = list.items[0];
    assert.equal(item.type, "kubernetes.io/dockerconfigjson");
    assert.equal(Buffer.from(item.data[".dockerconfigjson"], "base64").toString(), '{"auths":{}}');
    assert.equal(item.metadata.labels["app.kubernetes.io/managed-by"], "gitlab-pull-secret");
    assert.equal(item.metadata.annotations[Annotations.tokenId], "7");
    assert.equal(item.metadata.annotations[Annotations.owner], "project/42");
  });
  test("refs name the Secret in each namespace without data", () => {
    const refs = JSON.parse(secretRefs(["a", "b"], "pull"));
    assert.deepEqual(refs.items.map((i: any) => [i.metadata.namespace, i.metadata.name, i.data]), [["a", "pull", undefined], ["b", "pull", undefined]]);
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
    const one = { kind: "Secret", type: "kubernetes.io/dockerconfigjson", metadata: { namespace: "a", resourceVersion: "5", labels: { x: "y" } } };
    assert.equal(parseSecrets(JSON.stringify(one))[0]!.namespace, "a");
    const list = { kind: "List", items: [one, { ...one, metadata: { namespace: "b" } }] };
    assert.deepEqual(parseSecrets(JSON.stringify(list)).map((s) => s.namespace), ["a", "b"]);
  });
  test("finds the namespaces an API error names", () => {
    const stderr = 'Error from server (Forbidden): secrets "p" is forbidden: User "ci" cannot patch resource "secrets" in API group "" in the namespace "team-b"\nError from server (NotFound): namespaces "gone" not found\n';
    assert.deepEqual(namespacesInErrors(stderr), ["team-b", "gone"]);
    assert.equal(errorLines(stderr).split("\n").length, 2);
  });
  test("children get an allow-listed environment without any token", () => {
    const env = childEnv({ PATH: "/bin", HOME: "/root", GITLAB_TOKEN: "glpat-x", "INPUT_GITLAB-TOKEN": "glpat-x", KUBECONFIG: "/k" });
    assert.deepEqual(env, { PATH: "/bin", HOME: "/root", KUBECONFIG: "/k" });
  });
});
