// The GitLab stand-in's self-rotation and CI/CD variables (REFERENCE.md §11):
// the facts rotate-api-token's safety rests on, pinned so a stand-in that
// drifts from GitLab fails here first.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startGitLabStandIn, type GitLabStandIn } from "../support/gitlab-standin.ts";

let gl: GitLabStandIn;
const clock = new Date("2026-06-01T12:00:00.000Z");

async function api(
  method: string,
  path: string,
  token: string | undefined,
  json?: unknown,
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (token) headers["private-token"] = token;
  if (json !== undefined) headers["content-type"] = "application/json";
  const r = await fetch(`${gl.url}/api/v4/${path}`, {
    method,
    headers,
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await r.text();
  return { status: r.status, body: text === "" ? undefined : JSON.parse(text) };
}
const rotate = (path: string, token: string, json: unknown = {}) => api("POST", path, token, json);

before(async () => {
  gl = await startGitLabStandIn({ now: () => clock });
  gl.addUser({ username: "maint" });
  gl.addUser({ username: "owner" });
  gl.addUser({ username: "dev" });
  gl.addProject({ id: 10, path: "grp/app", members: { maint: "maintainer", dev: "developer" } });
  gl.addProject({ id: 11, path: "grp/other", members: { maint: "maintainer" } });
  gl.addGroup({ id: 100, path: "grp", members: { owner: "owner" } });
});
after(() => gl.close());

describe("self-rotation (§11)", () => {
  it("rotates a personal token: new token and expires_at, old one dead at once, new one alive", async () => {
    gl.addPersonalAccessToken("maint", "glpat-pat-rotate-0001", ["api"], { expiresAt: "2026-06-20" });
    const r = await rotate("personal_access_tokens/self/rotate", "glpat-pat-rotate-0001", { expires_at: "2026-07-01" });
    assert.equal(r.status, 200);
    assert.equal(r.body.expires_at, "2026-07-01");
    assert.equal(r.body.revoked, false);
    assert.equal(r.body.active, true);
    assert.deepEqual(r.body.scopes, ["api"]);
    assert.match(r.body.token, /^glpat-/);
    assert.notEqual(r.body.token, "glpat-pat-rotate-0001");
    const old = await api("GET", "user", "glpat-pat-rotate-0001");
    assert.equal(old.status, 401);
    assert.equal(old.body.error_description, "Token was revoked. You have to re-authorize from the user.");
    assert.equal((await api("GET", "user", r.body.token)).status, 200);
    // Reading the old token elsewhere is no reuse: the new one stays alive.
    assert.equal(gl.accessToken(r.body.token)!.active, true);
  });

  it("default expiry one week; expires_at beyond 365 days or malformed is 400 and rotates nothing", async () => {
    gl.addPersonalAccessToken("maint", "glpat-pat-default-01", ["api"]);
    const far = await rotate("personal_access_tokens/self/rotate", "glpat-pat-default-01", {
      expires_at: "2027-06-03",
    });
    assert.equal(far.status, 400);
    assert.match(far.body.message, /^400 Bad request - Expires at must be before /);
    const bad = await rotate("personal_access_tokens/self/rotate", "glpat-pat-default-01", { expires_at: "soon" });
    assert.equal(bad.status, 400);
    assert.equal(gl.accessToken("glpat-pat-default-01")!.active, true);
    const ok = await rotate("personal_access_tokens/self/rotate", "glpat-pat-default-01");
    assert.equal(ok.status, 200);
    assert.equal(ok.body.expires_at, "2026-06-08");
  });

  it("reuse detection: a rotated token presented to a rotate endpoint revokes the whole family (401)", async () => {
    gl.addPersonalAccessToken("maint", "glpat-pat-reuse-0001", ["api"]);
    const first = await rotate("personal_access_tokens/self/rotate", "glpat-pat-reuse-0001");
    assert.equal(first.status, 200);
    const again = await rotate("personal_access_tokens/self/rotate", "glpat-pat-reuse-0001");
    assert.equal(again.status, 401);
    assert.equal(again.body.error, "invalid_token");
    assert.equal(gl.accessToken(first.body.token)!.active, false);
    assert.equal((await api("GET", "user", first.body.token)).status, 401);
  });

  it("scopes: self_rotate may rotate itself, read_api may not (403 insufficient_scope)", async () => {
    gl.addPersonalAccessToken("maint", "glpat-pat-selfrot-01", ["self_rotate"]);
    gl.addPersonalAccessToken("maint", "glpat-pat-readapi-01", ["read_api"]);
    const ok = await rotate("personal_access_tokens/self/rotate", "glpat-pat-selfrot-01");
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body.scopes, ["self_rotate"]);
    const no = await rotate("personal_access_tokens/self/rotate", "glpat-pat-readapi-01");
    assert.equal(no.status, 403);
    assert.equal(no.body.error, "insufficient_scope");
    assert.equal(no.body.scope, "api self_rotate");
    assert.equal(gl.accessToken("glpat-pat-readapi-01")!.active, true);
  });

  it("project and group tokens rotate on their own endpoint with access_level; a PAT there is 405", async () => {
    gl.addResourceAccessToken({ kind: "project", id: 10 }, "glpat-proj-token-0001", ["api"], { role: "maintainer" });
    gl.addResourceAccessToken({ kind: "group", id: 100 }, "glpat-group-token-001", ["api"], { role: "owner" });
    gl.addPersonalAccessToken("maint", "glpat-pat-wrongtype-1", ["api"]);
    const wrongType = await rotate("projects/10/access_tokens/self/rotate", "glpat-pat-wrongtype-1");
    assert.equal(wrongType.status, 405);
    const otherProject = await rotate("projects/11/access_tokens/self/rotate", "glpat-proj-token-0001");
    assert.equal(otherProject.status, 404);
    const p = await rotate(
      `projects/${encodeURIComponent("grp/app")}/access_tokens/self/rotate`,
      "glpat-proj-token-0001",
    );
    assert.equal(p.status, 200);
    assert.equal(p.body.access_level, 40);
    const g = await rotate("groups/100/access_tokens/self/rotate", "glpat-group-token-001");
    assert.equal(g.status, 200);
    assert.equal(g.body.access_level, 50);
    assert.equal(gl.accessToken("glpat-group-token-001")!.revoked, true);
    assert.equal(gl.accessToken(g.body.token)!.active, true);
  });
});

describe("CI/CD variables (§11)", () => {
  const P = { kind: "project", id: 10 } as const;
  const G = { kind: "group", id: 100 } as const;
  before(() => {
    gl.addPersonalAccessToken("maint", "glpat-var-maint-0001", ["api"]);
    gl.addPersonalAccessToken("maint", "glpat-var-readapi-01", ["read_api"]);
    gl.addPersonalAccessToken("dev", "glpat-var-dev-000001", ["api"]);
    gl.addPersonalAccessToken("owner", "glpat-var-owner-0001", ["api"]);
    gl.addVariable(P, { key: "TOKEN", value: "old-value-123", masked: true, protected: true, raw: true });
    gl.addVariable(P, { key: "MULTI", value: "a-value-1", environmentScope: "production" });
    gl.addVariable(P, { key: "MULTI", value: "b-value-2", environmentScope: "staging" });
    gl.addVariable(P, { key: "HIDDEN", value: "hidden-value-1", masked: true, hidden: true });
    gl.addVariable(G, { key: "TOKEN", value: "group-value-1", masked: true });
  });

  it("GET and PUT by a Maintainer keep the flags they are not given", async () => {
    const got = await api("GET", "projects/10/variables/TOKEN", "glpat-var-maint-0001");
    assert.equal(got.status, 200);
    assert.equal(got.body.value, "old-value-123");
    const put = await api("PUT", "projects/10/variables/TOKEN", "glpat-var-maint-0001", { value: "new-value-456" });
    assert.equal(put.status, 200);
    assert.deepEqual(
      { masked: put.body.masked, protected: put.body.protected, raw: put.body.raw, hidden: put.body.hidden },
      { masked: true, protected: true, raw: true, hidden: false },
    );
    assert.equal(gl.variables(P, "TOKEN")[0]!.value, "new-value-456");
  });

  it("roles: a Developer is 403 even to read; read_api reads but cannot write; a group needs an Owner", async () => {
    assert.equal((await api("GET", "projects/10/variables/TOKEN", "glpat-var-dev-000001")).status, 403);
    assert.equal((await api("GET", "projects/10/variables/TOKEN", "glpat-var-readapi-01")).status, 200);
    const w = await api("PUT", "projects/10/variables/TOKEN", "glpat-var-readapi-01", { value: "x-value-999" });
    assert.equal(w.status, 403);
    assert.equal(w.body.error, "insufficient_scope");
    // maint sees the group (a project below it), but is no Owner.
    assert.equal((await api("PUT", "groups/100/variables/TOKEN", "glpat-var-maint-0001", { value: "y" })).status, 403);
    const g = await api("PUT", "groups/100/variables/TOKEN", "glpat-var-owner-0001", { value: "group-value-2" });
    assert.equal(g.status, 200);
    assert.equal(gl.variables(G, "TOKEN")[0]!.value, "group-value-2");
  });

  it("one key in several scopes: 409 without filter[environment_scope], the one scope with it; 404 none", async () => {
    const many = await api("PUT", "projects/10/variables/MULTI", "glpat-var-maint-0001", { value: "c-value-3" });
    assert.equal(many.status, 409);
    assert.equal(
      many.body.message,
      "There are multiple variables with provided parameters. Please use 'filter[environment_scope]'",
    );
    const one = await api(
      "PUT",
      "projects/10/variables/MULTI?filter%5Benvironment_scope%5D=staging",
      "glpat-var-maint-0001",
      { value: "c-value-3" },
    );
    assert.equal(one.status, 200);
    assert.deepEqual(
      gl.variables(P, "MULTI").map((v) => [v.environmentScope, v.value]),
      [
        ["production", "a-value-1"],
        ["staging", "c-value-3"],
      ],
    );
    const none = await api("GET", "projects/10/variables/NOPE", "glpat-var-maint-0001");
    assert.deepEqual([none.status, none.body], [404, { message: "404 Variable Not Found" }]);
  });

  it("masking rules: short, spaced or multi-line values are refused and nothing changes; hidden reads null", async () => {
    for (const value of ["short", "has space-inside", "two\nlines-here"]) {
      const r = await api("PUT", "projects/10/variables/TOKEN", "glpat-var-maint-0001", { value });
      assert.equal(r.status, 400, value);
      assert.deepEqual(r.body, { message: { value: ["is invalid"] } });
    }
    const notRaw = await api("PUT", "projects/10/variables/TOKEN", "glpat-var-maint-0001", {
      value: "abc$defgh",
      raw: false,
    });
    assert.equal(notRaw.status, 400);
    assert.equal(gl.variables(P, "TOKEN")[0]!.value, "new-value-456");
    assert.equal(gl.variables(P, "TOKEN")[0]!.raw, true);
    const h = await api("GET", "projects/10/variables/HIDDEN", "glpat-var-maint-0001");
    assert.equal(h.body.value, null);
    assert.equal(h.body.hidden, true);
  });
});
