import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { childEnv, inputVariable, secretVariables } from "../../src/adapters/childenv.js";
import { credentialsFor, secretForms } from "../../src/model/dockerconfig.js";
import { credentialPluginLines, hintsFor } from "../../src/adapters/kubectl.js";
import { OPTIONS, type OptionSpec } from "../../src/config/options.js";
import { Secret, Redactor } from "../../src/model/secret.js";

const PAT = "glpat-unitTestSecret0001";
const nothing = (): boolean => false;

describe("kubectl's environment", () => {
  test("the secret variables come from the option table: env names and the Action's INPUT_ form", () => {
    const names = secretVariables();
    for (const name of ["GITLAB_TOKEN", "REGISTRY_PASSWORD", "INPUT_GITLAB-TOKEN", "INPUT_REGISTRY-PASSWORD"]) {
      assert.ok(names.includes(name), name);
    }
    // Every secret option contributes, and no other option does.
    const secretOptions = (OPTIONS as readonly OptionSpec[]).filter((o) => o.secret);
    assert.equal(
      names.length,
      secretOptions.reduce((n, o) => n + (o.env?.length ?? 0) + (o.input ? 1 : 0), 0),
    );
    assert.ok(!names.includes("CI_SERVER_URL"));
    // A secret option added to the table is dropped without touching childenv.ts.
    const added: OptionSpec = {
      key: "x",
      kind: "string",
      flag: null,
      input: "vault token",
      env: ["VAULT_TOKEN"],
      secret: true,
      description: "",
    };
    assert.deepEqual(secretVariables([added]), ["VAULT_TOKEN", "INPUT_VAULT_TOKEN"]);
    assert.equal(inputVariable("gitlab-token"), "INPUT_GITLAB-TOKEN");
  });

  test("inherits everything else: cloud credentials for plugins, proxies, in-cluster config", () => {
    const env = {
      PATH: "/bin",
      HOME: "/root",
      KUBECONFIG: "/k",
      AWS_ROLE_ARN: "arn:aws:iam::1:role/ci",
      AWS_WEB_IDENTITY_TOKEN_FILE: "/t",
      AWS_SESSION_TOKEN: "FwoGZX",
      GOOGLE_APPLICATION_CREDENTIALS: "/g.json",
      CLOUDSDK_CORE_PROJECT: "p",
      AZURE_CLIENT_ID: "c",
      AZURE_FEDERATED_TOKEN_FILE: "/a",
      HTTPS_PROXY: "http://proxy:3128",
      NO_PROXY: "10.0.0.0/8",
      KUBERNETES_SERVICE_HOST: "10.0.0.1",
      ACTIONS_ID_TOKEN_REQUEST_URL: "https://x",
    };
    assert.deepEqual(childEnv(env, nothing), env);
  });

  test("passes the proxy variables as they are, credentials included, though the redactor knows them", () => {
    const redactor = new Redactor();
    redactor.add("proxyUser:proxyPass");
    redactor.add("proxyPass");
    const env = {
      PATH: "/bin",
      HTTPS_PROXY: "http://proxyUser:proxyPass@proxy:3128",
      http_proxy: "http://proxyUser:proxyPass@proxy:3128",
      NOT_A_PROXY: "http://proxyUser:proxyPass@proxy:3128",
    };
    assert.deepEqual(childEnv(env, redactor.holds), {
      PATH: "/bin",
      HTTPS_PROXY: "http://proxyUser:proxyPass@proxy:3128",
      http_proxy: "http://proxyUser:proxyPass@proxy:3128",
    });
  });

  test("drops the variables secrets are read from and every Action input, whatever their value", () => {
    const env = childEnv(
      {
        PATH: "/bin",
        GITLAB_TOKEN: "anything",
        REGISTRY_PASSWORD: "x",
        "INPUT_GITLAB-TOKEN": "y",
        "INPUT_REGISTRY-PASSWORD": "z",
        INPUT_NAMESPACES: "team-a",
        INPUT_KUBECONFIG: "/k",
        // Windows' environment ignores case; so does the filter.
        gitlab_token: "w",
        "input_gitlab-token": "v",
      },
      nothing,
    );
    assert.deepEqual(env, { PATH: "/bin" });
  });

  test("drops any variable holding a form of a secret the run holds, under any name", () => {
    const redactor = new Redactor();
    redactor.add(PAT);
    const creds = credentialsFor(
      ["registry.example.com:5005"],
      "gitlab+deploy-token-7",
      new Secret("gldt-deploySecret"),
    );
    for (const form of secretForms(creds)) redactor.add(form);
    const auth = Buffer.from("gitlab+deploy-token-7:gldt-deploySecret").toString("base64");
    const config = JSON.stringify({
      auths: {
        "registry.example.com:5005": { username: "gitlab+deploy-token-7", password: "gldt-deploySecret", auth },
      },
    });
    const env = childEnv(
      {
        PATH: "/bin",
        GITLAB_PULL_SECRET_TOKEN: PAT, // the component's renamed token variable
        NOTES: `call with ${PAT} please`,
        DEPLOY_PASSWORD: "gldt-deploySecret",
        USER_TOKEN: "gitlab+deploy-token-7:gldt-deploySecret",
        BASIC: `Basic ${auth}`,
        DOCKER_AUTH_CONFIG: config,
        CONFIG_B64: Buffer.from(config).toString("base64"),
        [`NAME_${PAT}`]: "1",
        AWS_REGION: "eu-west-1",
      },
      redactor.holds,
    );
    assert.deepEqual(env, { PATH: "/bin", AWS_REGION: "eu-west-1" });
  });

  test("forms registered later count for later children", () => {
    const redactor = new Redactor();
    const env = { PATH: "/bin", LATER: "gldt-minted" };
    assert.deepEqual(childEnv(env, redactor.holds), env);
    redactor.add("gldt-minted");
    assert.deepEqual(childEnv(env, redactor.holds), { PATH: "/bin" });
  });

  test("skips unset variables", () => {
    assert.deepEqual(childEnv({ PATH: "/bin", GONE: undefined }, nothing), { PATH: "/bin" });
  });
});

describe("a failed credential plugin", () => {
  // kubectl v1.32's stderr when the exec plugin exits 254: the plugin's line once per attempt, then kubectl's.
  const stderr = [
    "An error occurred (ExpiredTokenException) when calling the AssumeRoleWithWebIdentity operation: Token expired",
    "An error occurred (ExpiredTokenException) when calling the AssumeRoleWithWebIdentity operation: Token expired",
    'E1130 03:43:17.821061   15751 memcache.go:265] "Unhandled Error" err="couldn\'t get current server API group list: getting credentials: exec: executable aws failed with exit code 254"',
    'error: error validating "STDIN": error validating data: failed to download openapi: Get "https://127.0.0.1:1/openapi/v2?timeout=32s": getting credentials: exec: executable aws failed with exit code 254',
    "",
  ].join("\n");

  test("its own words are kept, once, without kubectl's lines", () => {
    assert.deepEqual(credentialPluginLines(stderr), [
      "An error occurred (ExpiredTokenException) when calling the AssumeRoleWithWebIdentity operation: Token expired",
    ]);
    assert.match(hintsFor(stderr).join("\n"), /credential plugin \(exec\) failed/);
  });

  test("other kubectl failures have no plugin lines", () => {
    assert.deepEqual(credentialPluginLines("some warning\nError from server (Forbidden): secrets is forbidden\n"), []);
    assert.ok(!hintsFor("Error from server (Forbidden): x").join("").includes("plugin"));
  });
});
