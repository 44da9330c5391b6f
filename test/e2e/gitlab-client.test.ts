// gitlabPort against the GitLab stand-in: our retry policy instead of gitbeaker's,
// a create that is never blindly repeated, pagination, error hints, and no leak of
// the caller's token. Short deadlines and delays keep the file fast.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { createServer as createNetServer } from "node:net";
import { createServer as createHttpsServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { inspect } from "node:util";
import { readApiToken } from "../../src/commands/apitoken.js";
import { GitLabError } from "../../src/model/errors.js";
import { gitlabPort, OrphanedTokenError, type GitLabPortOptions } from "../../src/adapters/gitlab.js";
import type { GitLabPort, ResolvedOwner } from "../../src/model/ports.js";
import { Secret } from "../../src/model/secret.js";
import { issueServerCert, makeCA } from "../support/certs.ts";
import { startGitLabStandIn, type GitLabStandIn } from "../support/gitlab-standin.ts";

const PAT = "glpat-e2e-caller-secret-0123456789";
const READ_API_PAT = "glpat-e2e-read-api-only-98765";
const DEV_PAT = "glpat-e2e-developer-555555";
const PROJECT: ResolvedOwner = {
  kind: "project",
  id: 42,
  path: "grp/app",
  registryImagePrefix: undefined,
  registryAccessLevel: undefined,
};
const GROUP: ResolvedOwner = {
  kind: "group",
  id: 7,
  path: "grp",
  registryImagePrefix: undefined,
  registryAccessLevel: undefined,
};
const EXPIRES = "2099-01-01";
/** Fast schedule: 20 ms base, 100 ms cap, 3 s deadline, 2 s per request. */
const FAST = { retry: { baseDelayMs: 20, maxDelayMs: 100, deadlineMs: 3000 }, requestTimeoutMs: 2000 };

let gl: GitLabStandIn;
let seq = 0;

before(async () => {
  gl = await startGitLabStandIn();
  gl.addUser({ username: "maintainer" });
  gl.addUser({ username: "dev" });
  gl.addPersonalAccessToken("maintainer", PAT, ["api"]);
  gl.addPersonalAccessToken("maintainer", READ_API_PAT, ["read_api"]);
  gl.addPersonalAccessToken("dev", DEV_PAT, ["api"]);
  gl.addGroup({ id: GROUP.id, path: GROUP.path, members: { maintainer: "owner" } });
  gl.addProject({ id: PROJECT.id, path: PROJECT.path, members: { dev: "developer" } });
});
after(async () => {
  await gl.close();
});
beforeEach(() => {
  gl.clearFaults();
  gl.resetRequests();
});

function port(patch: Partial<GitLabPortOptions> = {}, token = PAT): GitLabPort {
  return gitlabPort({ url: gl.url, token: new Secret(token), ...FAST, ...patch });
}
const uniqueName = (): string => `gitlab-pull-secret/e2e/${process.pid}-${++seq}`;
const api = (method: string, re: RegExp) => gl.requests.filter((r) => r.method === method && re.test(r.path));
const TOKENS = /\/deploy_tokens$/;
const ONE_TOKEN = /\/deploy_tokens\/\d+$/;
const liveNamed = (name: string) => gl.tokens.filter((t) => t.name === name && gl.isLive(t.id));
/** The request log as "METHOD status[/fault]" lines, to assert the exact sequence. */
const trace = (): string[] =>
  gl.requests.map(
    (r) =>
      `${r.method} ${TOKENS.test(r.path) ? "list" : ONE_TOKEN.test(r.path) ? "one" : r.path} ${r.fault && r.fault !== "status" ? r.fault : r.status}`,
  );

/** Awaits the rejection, checks it is a GitLabError that shows no secret, and returns it. */
async function gitLabFailure(p: Promise<unknown>): Promise<GitLabError> {
  const err = await p.then(
    () => assert.fail("expected a GitLabError"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof GitLabError, `not a GitLabError: ${inspect(err)}`);
  for (const secret of [PAT, READ_API_PAT, DEV_PAT]) {
    assert.ok(!err.message.includes(secret), "the caller's token is in the message");
    assert.ok(!inspect(err, { depth: 10 }).includes(secret), "the caller's token is in the error object");
    assert.ok(!JSON.stringify(err).includes(secret), "the caller's token is in the error's JSON");
  }
  return err;
}

describe("create is never blindly repeated", () => {
  test("429 + Retry-After 1: waits the advertised second, then exactly one more POST", async () => {
    const name = uniqueName();
    gl.fault({ method: "POST", path: TOKENS, kind: "status", status: 429, retryAfter: 1, times: 1 });
    const t0 = performance.now();
    const minted = await port().createDeployToken(PROJECT, { name, expiresAt: EXPIRES, scopes: ["read_registry"] });
    const waited = performance.now() - t0;
    assert.equal(api("POST", TOKENS).length, 2);
    assert.deepEqual(trace(), ["POST list 429", "POST list 201"]); // 429 = not processed: no listing needed
    assert.ok(waited >= 1000, `waited only ${waited} ms`);
    assert.deepEqual(
      liveNamed(name).map((t) => t.id),
      [minted.id],
    );
  });

  test("502 on create: lists the tokens, finds none, creates again; one live token", async () => {
    const name = uniqueName();
    gl.fault({ method: "POST", path: TOKENS, kind: "status", status: 502, times: 1 });
    const minted = await port().createDeployToken(PROJECT, { name, expiresAt: EXPIRES, scopes: ["read_registry"] });
    assert.deepEqual(trace(), ["POST list 502", "GET list 200", "POST list 201"]);
    assert.deepEqual(
      liveNamed(name).map((t) => t.id),
      [minted.id],
    );
    assert.equal(minted.token.reveal(), gl.tokens.find((t) => t.id === minted.id)!.token);
  });

  test("lost response on create: the unseen token is found by name and deleted; the returned token is the one live", async () => {
    const name = uniqueName();
    gl.fault({ method: "POST", path: TOKENS, kind: "lostResponse", times: 1 });
    const minted = await port().createDeployToken(PROJECT, { name, expiresAt: EXPIRES, scopes: ["read_registry"] });
    assert.deepEqual(trace(), ["POST list lostResponse", "GET list 200", "DELETE one 204", "POST list 201"]);
    const named = gl.tokens.filter((t) => t.name === name);
    assert.equal(named.length, 2, "the stand-in minted twice");
    assert.ok(named[0]!.deleted, "the orphan is deleted");
    assert.deepEqual(
      liveNamed(name).map((t) => t.id),
      [minted.id],
    );
    assert.equal(minted.id, named[1]!.id);
    assert.equal(minted.token.reveal(), named[1]!.token);
  });

  test("timeout on create (per-request timeout): checked by listing, then created; one live token", async () => {
    const name = uniqueName();
    gl.fault({ method: "POST", path: TOKENS, kind: "timeout", times: 1 });
    const t0 = performance.now();
    const minted = await port({ requestTimeoutMs: 300 }).createDeployToken(PROJECT, {
      name,
      expiresAt: EXPIRES,
      scopes: ["read_registry"],
    });
    assert.ok(performance.now() - t0 >= 300, "the timeout did not apply");
    assert.deepEqual(trace(), ["POST list timeout", "GET list 200", "POST list 201"]);
    assert.deepEqual(
      liveNamed(name).map((t) => t.id),
      [minted.id],
    );
  });

  test("dropped connection on create: checked by listing, then created", async () => {
    const name = uniqueName();
    gl.fault({ method: "POST", path: TOKENS, kind: "drop", times: 1 });
    const minted = await port().createDeployToken(GROUP, { name, expiresAt: EXPIRES, scopes: ["read_registry"] });
    assert.deepEqual(trace(), ["POST list drop", "GET list 200", "POST list 201"]);
    assert.deepEqual(
      liveNamed(name).map((t) => t.id),
      [minted.id],
    );
    assert.equal(gl.tokens.find((t) => t.id === minted.id)!.owner.kind, "group");
  });

  test("lost response, then the listing itself fails twice: still exactly one live token", async () => {
    const name = uniqueName();
    gl.fault({ method: "POST", path: TOKENS, kind: "lostResponse", times: 1 });
    gl.fault({ method: "GET", path: TOKENS, kind: "status", status: 503, times: 1 });
    gl.fault({ method: "GET", path: TOKENS, kind: "drop", times: 1 });
    const minted = await port().createDeployToken(PROJECT, { name, expiresAt: EXPIRES, scopes: ["read_registry"] });
    assert.deepEqual(trace(), [
      "POST list lostResponse",
      "GET list 503",
      "GET list drop",
      "GET list 200",
      "DELETE one 204",
      "POST list 201",
    ]);
    assert.deepEqual(
      liveNamed(name).map((t) => t.id),
      [minted.id],
    );
  });

  test("the orphan cannot be deleted: a GitLabError names its id", async () => {
    const name = uniqueName();
    gl.fault({ method: "POST", path: TOKENS, kind: "lostResponse", times: 1 });
    gl.fault({ method: "DELETE", path: ONE_TOKEN, kind: "status", status: 403 });
    const err = await gitLabFailure(
      port().createDeployToken(PROJECT, { name, expiresAt: EXPIRES, scopes: ["read_registry"] }),
    );
    const orphan = gl.tokens.find((t) => t.name === name)!;
    assert.ok(err instanceof OrphanedTokenError);
    assert.equal(err.orphanTokenId, orphan.id);
    assert.match(err.message, new RegExp(`deploy token ${orphan.id}\\b.*deleting it failed \\(HTTP 403`));
    assert.match(err.message, new RegExp(`Delete deploy token ${orphan.id} of project grp/app`));
    assert.equal(api("POST", TOKENS).length, 1, "no second create while an orphan remains");
  });

  test("persistent 503 on create: repairs between tries, gives up at the deadline, leaves no token", async () => {
    const name = uniqueName();
    gl.fault({ method: "POST", path: TOKENS, kind: "status", status: 503 });
    const t0 = performance.now();
    const err = await gitLabFailure(
      port({ retry: { baseDelayMs: 20, maxDelayMs: 100, deadlineMs: 800 } }).createDeployToken(PROJECT, {
        name,
        expiresAt: EXPIRES,
        scopes: ["read_registry"],
      }),
    );
    const elapsed = performance.now() - t0;
    const posts = api("POST", TOKENS).length;
    assert.ok(posts >= 3, `only ${posts} POSTs`);
    assert.equal(api("GET", TOKENS).length, posts, "every unknown outcome was checked");
    assert.ok(elapsed < 800 + 1000, `took ${elapsed} ms`); // the deadline bounds waits, not a request in flight
    assert.equal(err.status, 503);
    assert.match(
      err.message,
      new RegExp(
        `^GitLab: creating the deploy token failed \\(HTTP 503\\): gave up after ${posts} attempts .*\\(last: HTTP 503\\).*0\\.8 s deadline`,
      ),
    );
    assert.equal(liveNamed(name).length, 0);
  });
});

describe("idempotent calls are retried", () => {
  for (const kind of ["500", "502", "503", "drop"] as const) {
    test(`${kind} on list and on delete → retried to success`, async () => {
      const gitlab = port();
      const name = uniqueName();
      const minted = await gitlab.createDeployToken(PROJECT, { name, expiresAt: EXPIRES, scopes: ["read_registry"] });
      gl.resetRequests();
      const fault = kind === "drop" ? ({ kind: "drop" } as const) : ({ kind: "status", status: Number(kind) } as const);
      gl.fault({ method: "GET", path: TOKENS, times: 2, ...fault });
      gl.fault({ method: "DELETE", path: ONE_TOKEN, times: 2, ...fault });

      const listed = await gitlab.listDeployTokens(PROJECT);
      assert.ok(listed.some((t) => t.id === minted.id && t.name === name));
      assert.equal(await gitlab.revokeDeployToken(PROJECT, minted.id), "revoked");
      assert.ok(!gl.isLive(minted.id));
      const expect = kind === "drop" ? "drop" : kind;
      assert.deepEqual(trace(), [
        `GET list ${expect}`,
        `GET list ${expect}`,
        "GET list 200",
        `DELETE one ${expect}`,
        `DELETE one ${expect}`,
        "DELETE one 204",
      ]);
    });
  }

  test("a DELETE whose answer was lost reads as already gone on the retry", async () => {
    const gitlab = port();
    const minted = await gitlab.createDeployToken(PROJECT, {
      name: uniqueName(),
      expiresAt: EXPIRES,
      scopes: ["read_registry"],
    });
    gl.fault({ method: "DELETE", path: ONE_TOKEN, kind: "lostResponse", times: 1 });
    assert.equal(await gitlab.revokeDeployToken(PROJECT, minted.id), "already-gone");
    assert.ok(!gl.isLive(minted.id));
  });

  test("revoke: 404 means already gone, after one request", async () => {
    gl.resetRequests();
    assert.equal(await port().revokeDeployToken(PROJECT, 999_999), "already-gone");
    assert.equal(gl.requests.length, 1);
  });

  test("persistent 503 on list: fails after the deadline with attempts and last status", async () => {
    gl.fault({ method: "GET", path: TOKENS, kind: "status", status: 503 });
    const t0 = performance.now();
    const err = await gitLabFailure(
      port({ retry: { baseDelayMs: 20, maxDelayMs: 100, deadlineMs: 600 } }).listDeployTokens(PROJECT),
    );
    const elapsed = performance.now() - t0;
    const attempts = api("GET", TOKENS).length;
    assert.ok(attempts >= 4, `only ${attempts} attempts`);
    assert.ok(elapsed < 600 + 1000, `took ${elapsed} ms`);
    assert.equal(err.status, 503);
    assert.equal(
      err.message.replace(/in [\d.]+ s/, "in T s").replace(/, [\d.]+ s later/, ", W s later"),
      `GitLab: listing the deploy tokens failed (HTTP 503): gave up after ${attempts} attempts in T s (last: HTTP 503); ` +
        "the next try, W s later, would pass the 0.6 s deadline. GitLab is unavailable or overloaded; try again later",
    );
  });

  test("a refused connection is retried until the deadline, then named", async () => {
    const closed = createNetServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const { port: p } = closed.address() as { port: number };
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await gitLabFailure(
      gitlabPort({
        url: `http://127.0.0.1:${p}`,
        token: new Secret(PAT),
        retry: { baseDelayMs: 20, maxDelayMs: 50, deadlineMs: 300 },
      }).listDeployTokens(PROJECT),
    );
    assert.match(err.message, /gave up after \d+ attempts .*\(last: ECONNREFUSED\)/);
  });
});

describe("failures that retrying cannot fix: one request, the documented hint", () => {
  test("401: wrong token", async () => {
    const err = await gitLabFailure(port({}, "glpat-not-a-real-token-xyz").listDeployTokens(PROJECT));
    assert.equal(err.status, 401);
    assert.equal(
      err.message,
      "GitLab: listing the deploy tokens failed (HTTP 401): 401 Unauthorized. The GitLab token is missing, wrong, expired or revoked",
    );
    assert.equal(gl.requests.length, 1);
  });
  test("403: token without the api scope", async () => {
    const err = await gitLabFailure(
      port({}, READ_API_PAT).createDeployToken(PROJECT, {
        name: uniqueName(),
        expiresAt: EXPIRES,
        scopes: ["read_registry"],
      }),
    );
    assert.equal(err.status, 403);
    assert.match(
      err.message,
      /^GitLab: creating the deploy token failed \(HTTP 403\): insufficient_scope: The request requires higher privileges/,
    );
    assert.match(
      err.message,
      /The GitLab token needs the api scope, held by a Maintainer of project grp\/app \(Owner for group deploy tokens\)$/,
    );
    assert.equal(gl.requests.length, 1);
  });
  test("403: role too low", async () => {
    const err = await gitLabFailure(port({}, DEV_PAT).revokeDeployToken(PROJECT, 1));
    assert.equal(err.status, 403);
    assert.match(err.message, /\(HTTP 403\): 403 Forbidden\. The GitLab token needs the api scope/);
    assert.equal(gl.requests.length, 1);
  });
  test("404: project not visible", async () => {
    const err = await gitLabFailure(port().resolveOwner({ kind: "project", ref: "grp/nope" } as never));
    assert.equal(err.status, 404);
    assert.equal(
      err.message,
      "GitLab: reading the project failed (HTTP 404): 404 Not found. project grp/nope does not exist, or the GitLab token cannot see it",
    );
    assert.equal(gl.requests.length, 1);
  });
  test("400 on create is not retried", async () => {
    const err = await gitLabFailure(
      port().createDeployToken(PROJECT, { name: uniqueName(), expiresAt: "not-a-date", scopes: ["read_registry"] }),
    );
    assert.equal(err.status, 400);
    assert.match(err.message, /Expires at must be in ISO 8601 format/);
    assert.equal(gl.requests.length, 1);
  });
  test("an echo of the caller's token in GitLab's answer is scrubbed", async () => {
    gl.fault({
      method: "GET",
      path: TOKENS,
      kind: "status",
      status: 400,
      body: JSON.stringify({ message: `bad token ${PAT}` }),
    });
    const err = await gitLabFailure(port().listDeployTokens(PROJECT));
    assert.match(err.message, /bad token \*\*\*/);
  });
});

test("resolveOwner reads the project and the group (retried like any GET)", async () => {
  gl.fault({ method: "GET", path: /^\/api\/v4\/projects\/[^/]+$/, kind: "status", status: 502, times: 1 });
  const p = await port({}, DEV_PAT).resolveOwner({ kind: "project", ref: "grp/app" } as never);
  assert.equal(p.id, PROJECT.id);
  assert.equal(p.path, "grp/app");
  const g = await port().resolveOwner({ kind: "group", ref: "grp" } as never);
  assert.equal(g.id, GROUP.id);
  assert.equal(gl.requests.length, 3);
});

test("listDeployTokens follows every page (250 tokens, 100 per page), revoked and expired included", async () => {
  const owner: ResolvedOwner = { ...PROJECT, id: 43, path: "grp/many" };
  gl.addProject({ id: owner.id, path: owner.path, members: { maintainer: "maintainer" } });
  const gitlab = port();
  const made: number[] = [];
  for (let i = 0; i < 250; i++)
    made.push(
      (
        await gitlab.createDeployToken(owner, {
          name: `many-${i}`,
          expiresAt: i === 0 ? "2000-01-01" : EXPIRES,
          scopes: ["read_registry"],
        })
      ).id,
    );
  gl.revokeToken(made[1]!);
  gl.resetRequests();
  const listed = await gitlab.listDeployTokens(owner);
  assert.deepEqual(
    listed.map((t) => t.id),
    made,
  );
  assert.equal(new Set(listed.map((t) => t.name)).size, 250);
  assert.deepEqual(listed[0], {
    id: made[0],
    name: "many-0",
    username: `gitlab+deploy-token-${made[0]}`,
    expiresAt: "2000-01-01T00:00:00.000Z",
    revoked: false,
    scopes: ["read_registry"],
  });
  assert.equal(listed[1]!.revoked, true);
  const pages = gl.requests.map((r) => new URLSearchParams(r.query));
  assert.equal(pages.length, 3);
  assert.deepEqual(
    pages.map((q) => q.get("per_page")),
    ["100", "100", "100"],
  );
  assert.ok(
    pages.every((q) => !q.has("active")),
    "active must not be set",
  );
});

test("expires_at null (never expires) is kept as null", async () => {
  const owner: ResolvedOwner = { ...PROJECT, id: 44, path: "grp/forever" };
  gl.addProject({ id: owner.id, path: owner.path, members: { maintainer: "maintainer" } });
  const res = await fetch(`${gl.url}/api/v4/projects/44/deploy_tokens`, {
    method: "POST",
    headers: { "private-token": PAT, "content-type": "application/json" },
    body: JSON.stringify({ name: "forever", scopes: ["read_registry"] }),
  });
  assert.equal(res.status, 201);
  const [t] = await port().listDeployTokens(owner);
  assert.equal(t!.expiresAt, null);
});

describe("TLS with an extra CA (caPem → gitbeaker's agent)", () => {
  let dir: string;
  let proxy: Server;
  let url: string;
  let caPem: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "gitlab-client-tls-"));
    const ca = makeCA(dir);
    caPem = ca.cert;
    const cert = issueServerCert(dir, ca, "gitlab");
    const target = new URL(gl.url);
    // TLS in front of the stand-in, passing requests through unchanged.
    proxy = createHttpsServer({ key: cert.key, cert: cert.cert }, (req, res) => {
      const up = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      up.on("error", () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    url = `https://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  });
  after(async () => {
    proxy.closeAllConnections();
    await new Promise<void>((r) => proxy.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  test("without the CA: refused at once, with a hint, nothing reaches GitLab", async () => {
    const err = await gitLabFailure(gitlabPort({ url, token: new Secret(PAT), ...FAST }).listDeployTokens(PROJECT));
    assert.match(
      err.message,
      /the connection to GitLab failed \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\).*--ca-file/,
    );
    assert.equal(gl.requests.length, 0);
  });
  test("with the CA: works", async () => {
    const name = uniqueName();
    const minted = await gitlabPort({ url, token: new Secret(PAT), caPem, ...FAST }).createDeployToken(PROJECT, {
      name,
      expiresAt: EXPIRES,
      scopes: ["read_registry"],
    });
    assert.deepEqual(
      liveNamed(name).map((t) => t.id),
      [minted.id],
    );
  });
});

describe("the API token's own details (GET /personal_access_tokens/self)", () => {
  const SELF = /^\/api\/v4\/personal_access_tokens\/self$/;

  test("read through the port: name, scopes, the expiry date, asked as the caller", async () => {
    const t = await port().apiTokenSelf!();
    assert.deepEqual(
      { name: t.name, scopes: t.scopes, expiresAt: t.expiresAt },
      { name: "maintainer token", scopes: ["api"], expiresAt: null },
    );
    const status = await readApiToken(port(), new Date());
    assert.deepEqual(status, {
      checked: true,
      name: "maintainer token",
      scopes: ["api"],
      expiresAt: null,
      daysLeft: null,
    });
    assert.deepEqual(
      gl.requests.map((r) => `${r.method} ${r.path} ${r.status} ${r.auth}`),
      [
        "GET /api/v4/personal_access_tokens/self 200 maintainer",
        "GET /api/v4/personal_access_tokens/self 200 maintainer",
      ],
    );
  });

  // Each refusal GitLab can give, with its body: final at once, said in words, never an exception.
  for (const [status, body, who] of [
    [
      400,
      JSON.stringify({ message: "400 Bad request - This endpoint requires token type to be a personal access token" }),
      "an OAuth token",
    ],
    [401, JSON.stringify({ message: "401 Unauthorized" }), "GitLab 15.1-15.4, a user"],
    [403, JSON.stringify({ message: "403 Forbidden" }), "a proxy or policy in front of GitLab"],
    [404, JSON.stringify({ message: "404 Not found" }), "GitLab 15.3-15.4, an administrator"],
    [404, JSON.stringify({ error: "404 Not Found" }), "GitLab before 15.1"],
  ] as const) {
    test(`HTTP ${status} (${who}): not checked, asked once, the reason names the answer`, async () => {
      gl.fault({ kind: "status", path: SELF, status, body });
      const r = await readApiToken(port(), new Date());
      assert.equal(r?.checked, false);
      const detail = JSON.parse(body).message ?? JSON.parse(body).error;
      assert.ok(
        r.reason.startsWith(
          `GitLab refused GET /personal_access_tokens/self (HTTP ${status}: ${detail}): GitLab before 15.5`,
        ),
        r.reason,
      );
      assert.equal(api("GET", SELF).length, 1, "a refusal is not retried");
    });
  }

  test("GitLab unavailable throughout: retried under the policy, then not checked, without an exception", async () => {
    gl.fault({ kind: "status", path: SELF, status: 503 });
    const r = await readApiToken(port({ retry: { baseDelayMs: 5, maxDelayMs: 10, deadlineMs: 300 } }), new Date());
    assert.equal(r?.checked, false);
    assert.match(
      r.reason,
      /^GitLab did not answer GET \/personal_access_tokens\/self \(HTTP 503: .*\)\. The API token's expiry is not checked this time$/,
    );
    assert.ok(api("GET", SELF).length > 1, "retried");
  });
});

describe("scopes", () => {
  test("the mint sends the scopes it is given; the list reads them back as GitLab stores them", async () => {
    const name = uniqueName();
    const minted = await port().createDeployToken(GROUP, {
      name,
      expiresAt: EXPIRES,
      scopes: ["read_registry", "read_virtual_registry", "write_virtual_registry"],
    });
    assert.deepEqual(
      [...gl.tokens.find((t) => t.id === minted.id)!.scopes],
      ["read_registry", "read_virtual_registry", "write_virtual_registry"],
    );
    const listed = (await port().listDeployTokens(GROUP)).find((t) => t.id === minted.id);
    assert.deepEqual(listed?.scopes, ["read_registry", "read_virtual_registry", "write_virtual_registry"]);
  });
});
