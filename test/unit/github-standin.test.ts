// The GitHub secrets stand-in answers as GitHub's REST API does (sealed
// values opened with the repository's or environment's key, 201/204, the
// error bodies and headers), and the github: store of rotate-api-token works
// against it: the proof writes the value back unchanged, the write is
// confirmed by updated_at, refusals say what the token needs.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import sodium from "libsodium-wrappers";
import { Agent, fetch } from "undici";
import { gitHubSecretStore } from "../../src/adapters/apitoken-store-github.ts";
import { sealTo } from "../../src/adapters/sealed-box.ts";
import { GitHubError } from "../../src/model/errors.ts";
import { Secret } from "../../src/model/secret.ts";
import { startGitHubStandIn, type GitHubStandIn } from "../support/github/server.ts";

const WRITER = "github_pat_writer0000000000000001";
const READER = "github_pat_reader0000000000000002";
const APP = "ghs_workflowToken000000000000003";

describe("GitHub secrets stand-in", () => {
  let gh: GitHubStandIn;
  let agent: Agent;
  before(async () => {
    gh = await startGitHubStandIn();
    agent = new Agent({ connect: { ca: readFileSync(gh.caPath, "utf8") } });
    gh.addRepo("acme/app", ["production"]);
    gh.addRepo("acme/other");
    gh.addToken(WRITER, { kind: "fine-grained", repos: ["acme/app"], secrets: "write", environments: "write" });
    gh.addToken(READER, { kind: "fine-grained", repos: ["acme/app"], secrets: "read", environments: "none" });
    gh.addToken(APP, { kind: "app", repos: ["acme/app"], secrets: "none", environments: "none" });
  });
  after(async () => {
    await agent?.close();
    await gh?.close();
  });

  async function call(token: string, method: string, path: string, body?: unknown) {
    const r = await fetch(`${gh.url}${path}`, {
      method,
      dispatcher: agent,
      headers: {
        authorization: `Bearer ${token}`,
        accept: "application/vnd.github+json",
        "x-github-api-version": "2022-11-28",
        ...(body ? { "content-type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    return { status: r.status, headers: r.headers, body: text === "" ? undefined : JSON.parse(text) };
  }

  test("a sealed value is opened with the repository's key: 201 created, then 204 updated; metadata never shows it", async () => {
    const key = await call(WRITER, "GET", "/repos/acme/app/actions/secrets/public-key");
    assert.equal(key.status, 200);
    assert.equal(key.body.key_id, gh.publicKey("acme/app").keyId);
    const sealed = await sealTo(key.body.key, new Secret("first-value"));
    const created = await call(WRITER, "PUT", "/repos/acme/app/actions/secrets/my_token", {
      encrypted_value: sealed,
      key_id: key.body.key_id,
    });
    assert.equal(created.status, 201);
    assert.equal(gh.secret("acme/app", "MY_TOKEN")!.value, "first-value");
    const updated = await call(WRITER, "PUT", "/repos/acme/app/actions/secrets/MY_TOKEN", {
      encrypted_value: await sealTo(key.body.key, new Secret("second-value")),
      key_id: key.body.key_id,
    });
    assert.equal(updated.status, 204);
    assert.equal(gh.secret("acme/app", "MY_TOKEN")!.value, "second-value");
    const meta = await call(READER, "GET", "/repos/acme/app/actions/secrets/MY_TOKEN");
    assert.deepEqual(Object.keys(meta.body).sort(), ["created_at", "name", "updated_at"]);
    assert.match(meta.body.updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // Sealed to another key (the environment's): refused, nothing stored.
    await sodium.ready;
    const wrong = await call(WRITER, "PUT", "/repos/acme/app/actions/secrets/MY_TOKEN", {
      encrypted_value: await sealTo(gh.publicKey("acme/app", "production").key, new Secret("x")),
      key_id: key.body.key_id,
    });
    assert.equal(wrong.status, 422);
    assert.equal(gh.secret("acme/app", "MY_TOKEN")!.value, "second-value");
    const missing = await call(WRITER, "PUT", "/repos/acme/app/actions/secrets/MY_TOKEN", { encrypted_value: sealed });
    assert.equal(missing.body.message, 'Invalid request.\n\n"key_id" wasn\'t supplied.');
  });

  test("GitHub's refusals: 401 Bad credentials, 404 for what the token cannot see, 403 in each kind's words", async () => {
    const bad = await call("ghp_unknown", "GET", "/repos/acme/app/actions/secrets/public-key");
    assert.equal(bad.status, 401);
    assert.deepEqual(bad.body, {
      message: "Bad credentials",
      documentation_url: "https://docs.github.com/rest",
      status: "401",
    });
    const unseen = await call(WRITER, "GET", "/repos/acme/other/actions/secrets/public-key");
    assert.equal(unseen.status, 404);
    assert.equal(unseen.body.message, "Not Found");
    const reader = await call(READER, "PUT", "/repos/acme/app/actions/secrets/MY_TOKEN", {
      encrypted_value: "x",
      key_id: "1",
    });
    assert.equal(reader.status, 403);
    assert.equal(reader.body.message, "Resource not accessible by personal access token");
    assert.equal(reader.body.status, "403");
    assert.equal(reader.headers.get("x-accepted-github-permissions"), "secrets=write");
    const app = await call(APP, "GET", "/repos/acme/app/actions/secrets/MY_TOKEN");
    assert.equal(app.body.message, "Resource not accessible by integration");
    // An environment secret needs the environments permission too.
    const env = await call(READER, "GET", "/repos/acme/app/environments/production/secrets/public-key");
    assert.equal(env.status, 403);
    assert.equal(env.headers.get("x-accepted-github-permissions"), "secrets=read,environments=read");
    const noEnv = await call(WRITER, "GET", "/repos/acme/app/environments/staging/secrets/public-key");
    assert.equal(noEnv.status, 404);
    assert.ok(gh.requests.every((r) => r.status > 0));
  });

  test("the github: store: read proves the secret exists, the proof writes the same value, the write is confirmed by updated_at", async () => {
    gh.putSecret("acme/app", "GITLAB_TOKEN", "glpat-current", "production");
    const store = (token: string) =>
      gitHubSecretStore(
        { kind: "github-secret", owner: "acme", repo: "app", name: "GITLAB_TOKEN", environment: "production" },
        {
          apiUrl: gh.url,
          token: new Secret(token),
          caPem: readFileSync(gh.caPath, "utf8"),
          requestTimeoutMs: 5000,
          retry: { deadlineMs: 0 },
        },
      );
    const s = store(WRITER);
    assert.equal(s.where, "Actions secret GITLAB_TOKEN of environment production of repository acme/app");
    assert.equal(await s.read(new Secret("glpat-current")), undefined);
    gh.resetRequests();
    await s.proveWritable(undefined, new Secret("glpat-current"));
    assert.equal(gh.secret("acme/app", "GITLAB_TOKEN", "production")!.value, "glpat-current");
    assert.deepEqual(
      gh.requests.map((r) => `${r.method} ${r.path} ${r.status}`),
      [
        "GET /repos/acme/app/environments/production/secrets/public-key 200",
        "PUT /repos/acme/app/environments/production/secrets/GITLAB_TOKEN 204",
      ],
    );
    for (const r of gh.requests) {
      assert.equal(r.accept, "application/vnd.github+json");
      assert.equal(r.apiVersion, "2022-11-28");
      assert.match(r.userAgent, /^gitlab-pull-secret\//);
    }
    const confirmation = await s.write(new Secret("glpat-rotated"), new Secret("glpat-rotated"));
    assert.match(confirmation!, /updated_at \S+ is not earlier than the write/);
    assert.equal(gh.secret("acme/app", "GITLAB_TOKEN", "production")!.value, "glpat-rotated");

    // Refusals name what the token needs; the token itself never shows.
    const refused = async (token: string, re: RegExp) => {
      const err = await store(token)
        .read(new Secret("x"))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(err instanceof GitHubError, String(err));
      assert.match(err.message, re);
      assert.ok(!err.message.includes(token));
    };
    await refused(APP, /HTTP 403\): Resource not accessible by integration\. .*GITHUB_TOKEN .*can never write secrets/);
    await refused(READER, /HTTP 403.*"Secrets: Read and write" and "Environments: Read and write" on acme\/app/);
    await refused("ghp_revoked0000000000", /HTTP 401\): Bad credentials\. GitHub refused the GitHub token itself/);
    gh.addToken("github_pat_other00000000000004", {
      kind: "fine-grained",
      repos: ["acme/other"],
      secrets: "write",
      environments: "write",
    });
    await refused("github_pat_other00000000000004", /HTTP 404\): Not Found\. Create the secret GITLAB_TOKEN first/);
  });
});
