import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { UsageError } from "../../src/model/errors.js";
import { parseConfig } from "../../src/config/inputs.js";
import { readVariables } from "../../src/config/variables.js";

import { BAD, TOKEN, env, good } from "../support/bad-inputs.ts";

describe("a good configuration", () => {
  test("applies documented defaults", () => {
    const c = parseConfig(good, env, "cli");
    assert.equal(c.gitlabUrl, "https://gitlab.com");
    assert.equal(c.secretName, "gitlab-pull-secret");
    assert.equal(c.expiresInMs, 7 * 86400_000);
    assert.equal(c.tokenNamePrefix, "gitlab-pull-secret");
    assert.equal(c.credentials.kind, "deploy-token");
    assert.ok(c.credentials.kind === "deploy-token");
    assert.deepEqual(c.credentials.owner, { kind: "project", ref: "grp/app" });
    assert.deepEqual(c.namespaces, ["team-a", "team-b"]);
    assert.equal(c.dryRun, false);
    assert.equal(c.credentials.gitlabToken.reveal(), TOKEN);
    assert.equal(c.secretType, "dockerconfigjson");
    assert.deepEqual(c.registryAliases, []);
    assert.deepEqual(c.scopes, ["read_registry"]);
  });
  test("takes GitLab CI's predefined variables", () => {
    const c = parseConfig(
      { namespaces: "a,b" },
      { ...env, CI_SERVER_URL: "https://gitlab.example.com/", CI_PROJECT_ID: "42" },
      "cli",
    );
    assert.equal(c.gitlabUrl, "https://gitlab.example.com");
    assert.deepEqual(c.credentials.kind === "deploy-token" && c.credentials.owner, { kind: "project", ref: "42" });
    assert.deepEqual(c.namespaces, ["a", "b"]);
  });
  test("an explicit group wins over $CI_PROJECT_ID", () => {
    const c = parseConfig(
      { group: "grp", registry: "registry.example.com", namespaces: ["a"], verifyImage: "grp/app:latest" },
      { ...env, CI_PROJECT_ID: "42" },
      "cli",
    );
    assert.deepEqual(c.credentials.kind === "deploy-token" && c.credentials.owner, { kind: "group", ref: "grp" });
  });
  test("allows plain http on loopback, elsewhere only when asked explicitly", () => {
    assert.equal(
      parseConfig({ ...good, gitlabUrl: "http://127.0.0.1:8080" }, env, "cli").gitlabUrl,
      "http://127.0.0.1:8080",
    );
    assert.equal(
      parseConfig({ ...good, gitlabUrl: "http://gitlab.lan", allowInsecureHttp: true }, env, "cli").gitlabUrl,
      "http://gitlab.lan",
    );
  });
  test("--secret-type dockercfg and registry aliases, lowercased like --registry", () => {
    const c = parseConfig(
      {
        ...good,
        secretType: "dockercfg",
        registry: "Gitlab.example.com:5005",
        registryAliases: ["Proxy.example.com", "gitlab.example.com"],
      },
      env,
      "cli",
    );
    assert.equal(c.secretType, "dockercfg");
    assert.equal(c.registry, "gitlab.example.com:5005");
    assert.deepEqual(
      c.registryAliases,
      ["proxy.example.com", "gitlab.example.com"],
      "the same host without the port is another name",
    );
  });
  test("static credentials: --username with the password from REGISTRY_PASSWORD, no GitLab token, no project", () => {
    const c = parseConfig(
      { namespaces: ["a"], username: "iamapikey", registry: "us.icr.io" },
      { REGISTRY_PASSWORD: " pass word \n", CI_PROJECT_ID: "42", CI_SERVER_URL: "https://gitlab.example.com" },
      "cli",
    );
    assert.equal(c.credentials.kind, "static");
    assert.ok(c.credentials.kind === "static");
    assert.equal(c.credentials.username, "iamapikey");
    assert.equal(c.credentials.password?.reveal(), " pass word ", "only the trailing line break is dropped");
    assert.equal(c.verify, false, "no pull check unless --verify-image");
    assert.equal(c.registry, "us.icr.io");
  });
  test("static credentials: the password from the face (--password-file, Action input) wins; Action defaults are not 'given'", () => {
    const c = parseConfig(
      {
        namespaces: ["a"],
        username: "robot$proj+ci",
        registry: "harbor.example.com",
        registryPassword: "from-file\n",
        expiresIn: "7d",
        tokenName: "gitlab-pull-secret",
        verifyImage: "proj/app:1",
      },
      { REGISTRY_PASSWORD: "from-env" },
      "action",
    );
    assert.ok(c.credentials.kind === "static");
    assert.equal(c.credentials.password?.reveal(), "from-file");
    assert.deepEqual(c.verify, { repository: "proj/app", tag: "1" });
  });
  test("status and revoke need neither the password nor --registry with --username", () => {
    const c = parseConfig({ namespaces: ["a"], username: "robot" }, {}, "cli", { writesCredentials: false });
    assert.ok(c.credentials.kind === "static");
    assert.equal(c.credentials.password, undefined);
  });
  test("REGISTRY_PASSWORD in the environment is ignored without --username", () => {
    const c = parseConfig(good, { ...env, REGISTRY_PASSWORD: "unrelated" }, "cli");
    assert.equal(c.credentials.kind, "deploy-token");
  });
  test("accepts Action booleans and multiline lists", () => {
    const c = parseConfig({ project: "1", namespaces: ["a", "b"], dryRun: "true", adopt: "False" }, env, "action");
    assert.equal(c.dryRun, true);
    assert.equal(c.adopt, false);
  });
});

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
      if (shown !== undefined)
        assert.ok(caught.message.includes(JSON.stringify(shown)), `message shows the value: ${caught.message}`);
      assert.ok(caught.accepted.length > 10, "says what is accepted");
      for (const secret of [TOKEN, "hunter2"]) assert.ok(!caught.message.includes(secret), "never shows a secret");
    });
  }
  test("Action inputs are named as inputs", () => {
    assert.throws(() => parseConfig({ ...good, secretName: "Bad_Name" }, env, "action"), /input 'secret-name'/);
  });
});

describe("--scope", () => {
  const scoped = (scopes: string[], more: Record<string, unknown> = {}) =>
    parseConfig({ ...good, scopes, ...more }, env, "cli").scopes;
  const refusal = (scopes: string[], more: Record<string, unknown> = {}): string => {
    try {
      scoped(scopes, more);
    } catch (e) {
      assert.ok(e instanceof UsageError, String(e));
      assert.equal(e.exitCode, 2);
      return e.message;
    }
    return assert.fail(`${scopes.join(",")} was accepted`);
  };

  test("the pull scopes, each once, in GitLab's order, from a comma list or the flag repeated", () => {
    assert.deepEqual(scoped(["read_virtual_registry,read_registry"]), ["read_registry", "read_virtual_registry"]);
    assert.deepEqual(scoped(["write_virtual_registry", "read_registry", "read_virtual_registry", "read_registry"]), [
      "read_registry",
      "read_virtual_registry",
      "write_virtual_registry",
    ]);
    assert.deepEqual(scoped([" read_registry ", ""]), ["read_registry"]);
  });

  test("a write scope is refused, saying why", () => {
    const m = refusal(["read_registry", "write_registry"]);
    assert.match(m, /^--scope: invalid value "write_registry"/);
    assert.match(m, /push images to every container registry of the owner; a pull Secret never needs it/);
    assert.match(refusal(["write_package_registry"]), /publish packages; a pull Secret never needs write/);
    assert.match(refusal(["read_repository"]), /source code/);
  });

  test("an unknown scope is refused, naming the accepted ones", () => {
    const m = refusal(["api"]);
    assert.match(m, /invalid value "api"; expected read_registry, read_virtual_registry, write_virtual_registry/);
    assert.match(m, /not a deploy token scope/);
  });

  test("write_virtual_registry comes only with read_virtual_registry", () => {
    assert.match(refusal(["read_registry", "write_virtual_registry"]), /only together with read_virtual_registry/);
  });

  test("without read_registry the pull check cannot run: refused unless --no-verify", () => {
    const m = refusal(["read_virtual_registry", "write_virtual_registry"]);
    assert.match(
      m,
      /read_registry among them, or --no-verify: the pull check proves the token against the container registry/,
    );
    assert.deepEqual(scoped(["read_virtual_registry", "write_virtual_registry"], { noVerify: true }), [
      "read_virtual_registry",
      "write_virtual_registry",
    ]);
  });

  test("status and revoke mint nothing: no pull check to need read_registry", () => {
    const c = parseConfig({ ...good, scopes: ["read_virtual_registry"] }, env, "cli", { writesCredentials: false });
    assert.deepEqual(c.scopes, ["read_virtual_registry"]);
  });

  test("as an option variable (GitLab's array form) and as an Action input, named as given", () => {
    const { raw, labels } = readVariables({
      GITLAB_PULL_SECRET_OPT_SCOPES: '["read_virtual_registry", "read_registry"]',
    });
    const v = parseConfig({ ...good, ...raw }, env, "cli", { labels });
    assert.deepEqual(v.scopes, ["read_registry", "read_virtual_registry"]);
    const bad = readVariables({ GITLAB_PULL_SECRET_OPT_SCOPES: "write_registry" });
    assert.throws(
      () => parseConfig({ ...good, ...bad.raw }, env, "cli", { labels: bad.labels }),
      /^UsageError: \$GITLAB_PULL_SECRET_OPT_SCOPES: invalid value "write_registry"/,
    );
    assert.throws(
      () => parseConfig({ ...good, scopes: ["read_registry", "write_registry"] }, env, "action"),
      /^UsageError: input 'scopes': invalid value "write_registry"/,
    );
  });
});
