import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UsageError } from "../../src/errors.js";
import { parseConfig } from "../../src/inputs.js";
import type { RawSettings } from "../../src/options.js";

const TOKEN = "glpat-unit-secret-value";
const good: RawSettings = { project: "grp/app", namespaces: ["team-a", "team-b"] };
const env = { GITLAB_TOKEN: TOKEN };

describe("a good configuration", () => {
  test("applies documented defaults", () => {
    const c = parseConfig(good, env, "cli");
    assert.equal(c.gitlabUrl, "https://gitlab.com");
    assert.equal(c.secretName, "gitlab-pull-secret");
    assert.equal(c.expiresInMs, 7 * 86400_000);
    assert.equal(c.tokenNamePrefix, "gitlab-pull-secret");
    assert.deepEqual(c.owner, { kind: "project", ref: "grp/app" });
    assert.deepEqual(c.namespaces, ["team-a", "team-b"]);
    assert.equal(c.dryRun, false);
    assert.equal(c.gitlabToken.reveal(), TOKEN);
  });
  test("takes GitLab CI's predefined variables", () => {
    const c = parseConfig({ namespaces: "a,b" }, { ...env, CI_SERVER_URL: "https://gitlab.example.com/", CI_PROJECT_ID: "42" }, "cli");
    assert.equal(c.gitlabUrl, "https://gitlab.example.com");
    assert.deepEqual(c.owner, { kind: "project", ref: "42" });
    assert.deepEqual(c.namespaces, ["a", "b"]);
  });
  test("an explicit group wins over $CI_PROJECT_ID", () => {
    const c = parseConfig({ group: "grp", registry: "registry.example.com", namespaces: ["a"], verifyImage: "grp/app:latest" }, { ...env, CI_PROJECT_ID: "42" }, "cli");
    assert.deepEqual(c.owner, { kind: "group", ref: "grp" });
  });
  test("allows plain http on loopback, elsewhere only when asked explicitly", () => {
    assert.equal(parseConfig({ ...good, gitlabUrl: "http://127.0.0.1:8080" }, env, "cli").gitlabUrl, "http://127.0.0.1:8080");
    assert.equal(parseConfig({ ...good, gitlabUrl: "http://gitlab.lan", allowInsecureHttp: true }, env, "cli").gitlabUrl, "http://gitlab.lan");
  });
  test("accepts Action booleans and multiline lists", () => {
    const c = parseConfig({ project: "1", namespaces: ["a", "b"], dryRun: "true", adopt: "False" }, env, "action");
    assert.equal(c.dryRun, true);
    assert.equal(c.adopt, false);
  });
});

// [what, raw settings, env, option named in the message, bad value shown (or undefined)]
const BAD: Array<[string, RawSettings, Record<string, string>, string, string | undefined]> = [
  ["GitLab URL that is not a URL", { gitlabUrl: "gitlab.example.com" }, env, "--gitlab-url", "gitlab.example.com"],
  ["GitLab URL over plain http", { gitlabUrl: "http://gitlab.example.com" }, env, "--gitlab-url", "http://gitlab.example.com"],
  ["GitLab URL with another scheme", { gitlabUrl: "ftp://gitlab.example.com" }, env, "--gitlab-url", "ftp://gitlab.example.com"],
  ["GitLab URL with a query", { gitlabUrl: "https://gitlab.example.com/?x=1" }, env, "--gitlab-url", "https://gitlab.example.com/?x=1"],
  ["GitLab URL with credentials", { gitlabUrl: "https://user:hunter2@gitlab.example.com" }, env, "--gitlab-url", "https://***@gitlab.example.com"],
  ["no GitLab token", {}, {}, "GITLAB_TOKEN", undefined],
  ["GitLab token with whitespace", {}, { GITLAB_TOKEN: "two words" }, "GITLAB_TOKEN", undefined],
  ["both project and group", { group: "grp" }, env, "--project and --group", "grp/app, grp"],
  ["neither project nor group", { project: undefined }, env, "--project", undefined],
  ["project that is neither id nor path", { project: "app" }, env, "--project", "app"],
  ["project id zero", { project: "0" }, env, "--project", "0"],
  ["group with bad characters", { project: undefined, group: "grp/<x>", registry: "r.example.com" }, env, "--group", "grp/<x>"],
  ["group without registry", { project: undefined, group: "grp" }, env, "--registry", undefined],
  ["registry with a scheme", { registry: "https://registry.example.com" }, env, "--registry", "https://registry.example.com"],
  ["registry with a path", { registry: "registry.example.com/grp" }, env, "--registry", "registry.example.com/grp"],
  ["registry with a port out of range", { registry: "registry.example.com:70000" }, env, "--registry", "registry.example.com:70000"],
  ["no namespaces", { namespaces: [] }, env, "--namespace", undefined],
  ["namespaces that are only commas", { namespaces: [",,"] }, env, "--namespace", undefined],
  ["namespace with capitals", { namespaces: ["Team-A"] }, env, "--namespace", "Team-A"],
  ["namespace with a dot", { namespaces: ["team.a"] }, env, "--namespace", "team.a"],
  ["namespace longer than 63", { namespaces: ["a".repeat(64)] }, env, "--namespace", "a".repeat(64)],
  ["namespace ending in a dash", { namespaces: ["team-"] }, env, "--namespace", "team-"],
  ["duplicate namespaces", { namespaces: ["a", "b", "a"] }, env, "--namespace", "a"],
  ["Secret name with underscore", { secretName: "Bad_Name" }, env, "--secret-name", "Bad_Name"],
  ["Secret name too long", { secretName: "a".repeat(254) }, env, "--secret-name", "a".repeat(254)],
  ["unknown duration unit", { expiresIn: "7y" }, env, "--expires-in", "7y"],
  ["zero duration", { expiresIn: "0d" }, env, "--expires-in", "0d"],
  ["duration over 365d", { expiresIn: "366d" }, env, "--expires-in", "366d"],
  ["duration without unit", { expiresIn: "7" }, env, "--expires-in", "7"],
  ["token name gitlab-deploy-token", { tokenName: "gitlab-deploy-token" }, env, "--token-name", "gitlab-deploy-token"],
  ["token name with a slash", { tokenName: "a/b" }, env, "--token-name", "a/b"],
  ["boolean that is not true/false", { dryRun: "yes" }, env, "--dry-run", "yes"],
  ["context with whitespace", { context: "my context" }, env, "--context", "my context"],
  ["group without a verify image", { project: undefined, group: "grp", registry: "r.example.com" }, env, "--verify-image", undefined],
  ["verify image with a scheme", { verifyImage: "https://r/grp/app" }, env, "--verify-image", "https://r/grp/app"],
  ["verify image with capitals", { verifyImage: "Grp/App:latest" }, env, "--verify-image", "Grp/App:latest"],
  ["both --verify-image and --no-verify", { verifyImage: "grp/app", noVerify: true }, env, "--verify-image and --no-verify", "grp/app"],
  ["negative --keep-previous", { keepPrevious: "-1" }, env, "--keep-previous", "-1"],
  ["--keep-previous over 10", { keepPrevious: "11" }, env, "--keep-previous", "11"],
  ["--rotate-before without unit", { rotateBefore: "2" }, env, "--rotate-before", "2"],
  ["--sweep-grace over 7d", { sweepGrace: "8d" }, env, "--sweep-grace", "8d"],
  ["--lock-timeout in years", { lockTimeout: "1y" }, env, "--lock-timeout", "1y"],
  ["--request-timeout under a second", { requestTimeout: "0s" }, env, "--request-timeout", "0s"],
  ["plain http with a non-boolean escape hatch", { gitlabUrl: "http://gitlab.example.com", allowInsecureHttp: "maybe" }, env, "--allow-insecure-http", "maybe"],
];

describe("bad input fails with the option, the value and the accepted form", () => {
  for (const [what, patch, e, option, shown] of BAD) {
    test(what, () => {
      const raw = { ...good, ...patch };
      let caught: unknown;
      try {
        parseConfig(raw, e, "cli");
      } catch (err) {
        caught = err;
      }
      assert.ok(caught instanceof UsageError, `expected a UsageError, got ${String(caught)}`);
      assert.equal(caught.exitCode, 2);
      assert.ok(caught.message.includes(option), `message names ${option}: ${caught.message}`);
      if (shown !== undefined) assert.ok(caught.message.includes(JSON.stringify(shown)), `message shows the value: ${caught.message}`);
      assert.ok(caught.accepted.length > 10, "says what is accepted");
      for (const secret of [TOKEN, "hunter2"]) assert.ok(!caught.message.includes(secret), "never shows a secret");
    });
  }
  test("Action inputs are named as inputs", () => {
    assert.throws(() => parseConfig({ ...good, secretName: "Bad_Name" }, env, "action"), /input 'secret-name'/);
  });
});
