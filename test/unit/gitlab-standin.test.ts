// The GitLab stand-in must follow GitLab's documented REST API to the letter:
// these tests pin the documented semantics the tool's own tests rely on.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createPublicKey, verify as cryptoVerify } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Gitlab } from "@gitbeaker/rest";
import { libtrustKeyId } from "../support/certs.ts";
import { startGitLabStandIn, type GitLabStandIn } from "../support/gitlab-standin.ts";

const ADMIN = "glpat-admin-0000000000";
const MAINT = "glpat-maint-0000000000";
const READ_API = "glpat-readapi-00000000";
const DEV = "glpat-dev-000000000000";
const GOWNER = "glpat-gowner-000000000";
const GMAINT = "glpat-gmaint-000000000";
const OUTSIDER = "glpat-outsider-0000000";

let gl: GitLabStandIn;
let dir: string;
let clock = new Date("2026-06-01T12:00:00.000Z");

interface Res {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

async function api(
  method: string,
  path: string,
  o: { token?: string; bearer?: string; json?: unknown; form?: string; signal?: AbortSignal } = {},
): Promise<Res> {
  const headers: Record<string, string> = {};
  if (o.token) headers["private-token"] = o.token;
  if (o.bearer) headers.authorization = `Bearer ${o.bearer}`;
  let body: string | undefined;
  if (o.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(o.json);
  } else if (o.form !== undefined) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = o.form;
  }
  const r = await fetch(`${gl.url}${path}`, { method, headers, body, signal: o.signal });
  const text = await r.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: r.status, headers: r.headers, text, body: parsed };
}

async function jwtAuth(query: string, basic?: { user: string; pass: string }): Promise<Res> {
  const headers: Record<string, string> = {};
  if (basic) headers.authorization = `Basic ${Buffer.from(`${basic.user}:${basic.pass}`).toString("base64")}`;
  const r = await fetch(`${gl.url}/jwt/auth?${query}`, { headers });
  const text = await r.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: r.status, headers: r.headers, text, body: parsed };
}

function decodeJwt(jwt: string): { header: any; claims: any; valid: boolean } {
  const [h, c, s] = jwt.split(".");
  const pub = createPublicKey(readFileSync(gl.jwt.signingCertPath, "utf8"));
  const valid = cryptoVerify("sha256", Buffer.from(`${h}.${c}`), pub, Buffer.from(s!, "base64url"));
  return {
    header: JSON.parse(Buffer.from(h!, "base64url").toString()),
    claims: JSON.parse(Buffer.from(c!, "base64url").toString()),
    valid,
  };
}

const create = (path: string, json: unknown, token = MAINT): Promise<Res> => api("POST", path, { token, json });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "gl-standin-test-"));
  gl = await startGitLabStandIn({ dir, now: () => clock });
  gl.addUser({ username: "root", admin: true });
  gl.addUser({ username: "maint" });
  gl.addUser({ username: "reader" });
  gl.addUser({ username: "dev" });
  gl.addUser({ username: "gowner" });
  gl.addUser({ username: "gmaint" });
  gl.addUser({ username: "outsider" });
  gl.addPersonalAccessToken("root", ADMIN, ["api"]);
  gl.addPersonalAccessToken("maint", MAINT, ["api"]);
  gl.addPersonalAccessToken("reader", READ_API, ["read_api"]);
  gl.addPersonalAccessToken("dev", DEV, ["api"]);
  gl.addPersonalAccessToken("gowner", GOWNER, ["api"]);
  gl.addPersonalAccessToken("gmaint", GMAINT, ["api"]);
  gl.addPersonalAccessToken("outsider", OUTSIDER, ["api"]);
  gl.addProject({ id: 10, path: "grp/App", members: { maint: "maintainer", reader: "maintainer", dev: "developer" } });
  gl.addProject({ id: 11, path: "grp/sub/deep" });
  gl.addProject({ id: 12, path: "other/thing", members: { maint: "maintainer" } });
  gl.addProject({ id: 13, path: "grp/noreg", registryEnabled: false, members: { maint: "maintainer" } });
  gl.addProject({ id: 14, path: "many/tokens", members: { maint: "maintainer" } });
  gl.addGroup({ id: 100, path: "grp", members: { gowner: "owner", gmaint: "maintainer" } });
  gl.addGroup({ id: 101, path: "grp/sub" });
  gl.setRegistry({ host: "registry.example.test:5005" });
});

after(async () => {
  await gl.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("projects and groups (§2)", () => {
  it("GET /projects/:id by id and by URL-encoded path, with the registry prefix lowercased", async () => {
    const byId = await api("GET", "/api/v4/projects/10", { token: MAINT });
    assert.equal(byId.status, 200);
    assert.equal(byId.body.id, 10);
    assert.equal(byId.body.path_with_namespace, "grp/App");
    assert.equal(byId.body.name, "App");
    assert.equal(byId.body.container_registry_image_prefix, "registry.example.test:5005/grp/app");
    assert.equal(byId.body.container_registry_access_level, "enabled");
    assert.equal(byId.body.container_registry_enabled, true);
    const byPath = await api("GET", `/api/v4/projects/${encodeURIComponent("grp/app")}`, { bearer: MAINT });
    assert.equal(byPath.status, 200);
    assert.equal(byPath.body.id, 10);
    const inherited = await api("GET", `/api/v4/projects/${encodeURIComponent("grp/sub/deep")}`, { token: GMAINT });
    assert.equal(inherited.status, 200, "group members see subgroup projects");
  });

  it("project registry disabled, and registry disabled instance-wide (no prefix field)", async () => {
    const noreg = await api("GET", "/api/v4/projects/13", { token: MAINT });
    assert.equal(noreg.body.container_registry_access_level, "disabled");
    assert.equal(noreg.body.container_registry_enabled, false);
    gl.setRegistry(null);
    try {
      const off = await api("GET", "/api/v4/projects/10", { token: MAINT });
      assert.equal(off.status, 200);
      assert.equal("container_registry_image_prefix" in off.body, false);
    } finally {
      gl.setRegistry({ host: "registry.example.test:5005" });
    }
  });

  it("404 for invisible or unknown projects, 401 for a bad token", async () => {
    for (const [path, token] of [
      ["/api/v4/projects/10", OUTSIDER],
      ["/api/v4/projects/999", ADMIN],
      ["/api/v4/projects/10", undefined],
    ] as const) {
      const r = await api("GET", path, { token });
      assert.equal(r.status, 404, `${path} ${token}`);
      assert.deepEqual(r.body, { message: "404 Not found" });
    }
    const bad = await api("GET", "/api/v4/projects/10", { token: "glpat-nope" });
    assert.equal(bad.status, 401);
    assert.deepEqual(bad.body, { message: "401 Unauthorized" });
  });

  it("GET /groups/:id", async () => {
    const g = await api("GET", `/api/v4/groups/${encodeURIComponent("grp/sub")}`, { token: GOWNER });
    assert.equal(g.status, 200);
    assert.equal(g.body.id, 101);
    assert.equal(g.body.full_path, "grp/sub");
    assert.equal(g.body.name, "sub");
    assert.equal((await api("GET", "/api/v4/groups/100", { token: OUTSIDER })).status, 404);
  });
});

describe("deploy tokens REST API (§1)", () => {
  it("create returns 201 with the token once; get and list never show it", async () => {
    const r = await create("/api/v4/projects/10/deploy_tokens", {
      name: "gps/prod",
      scopes: ["read_registry"],
      expires_at: "2026-12-31",
    });
    assert.equal(r.status, 201);
    assert.match(r.body.token, /^gldt-/);
    assert.match(r.body.username, /^gitlab\+deploy-token-\d+$/);
    assert.equal(r.body.username, `gitlab+deploy-token-${r.body.id}`);
    assert.deepEqual(Object.keys(r.body).sort(), [
      "expired",
      "expires_at",
      "id",
      "name",
      "revoked",
      "scopes",
      "token",
      "username",
    ]);
    assert.equal(r.body.expires_at, "2026-12-31T00:00:00.000Z");
    assert.deepEqual(r.body.scopes, ["read_registry"]);
    assert.equal(r.body.revoked, false);
    assert.equal(r.body.expired, false);
    const one = await api("GET", `/api/v4/projects/10/deploy_tokens/${r.body.id}`, { token: READ_API });
    assert.equal(one.status, 200);
    assert.equal("token" in one.body, false);
    const { token, ...rest } = r.body;
    assert.deepEqual(one.body, rest);
    const st = gl.tokens.find((t) => t.id === r.body.id)!;
    assert.equal(st.token, token);
    assert.deepEqual(st.owner, { kind: "project", id: 10 });
    assert.equal(gl.isLive(st.id), true);
  });

  it("expires_at: omitted -> null, date-time honoured, custom username, comma-separated scopes, form body", async () => {
    const never = await create("/api/v4/projects/10/deploy_tokens", {
      name: "n",
      scopes: "read_registry,read_repository",
      username: "ci.pull+x_y-z",
    });
    assert.equal(never.status, 201);
    assert.equal(never.body.expires_at, null);
    assert.equal(never.body.username, "ci.pull+x_y-z");
    assert.deepEqual(never.body.scopes, ["read_repository", "read_registry"]);
    const dt = await create("/api/v4/projects/10/deploy_tokens", {
      name: "t",
      scopes: ["read_registry"],
      expires_at: "2026-06-02T01:30:00+02:00",
    });
    assert.equal(dt.body.expires_at, "2026-06-01T23:30:00.000Z");
    const form = await api("POST", "/api/v4/projects/10/deploy_tokens", {
      token: MAINT,
      form: "name=f&scopes[]=read_registry&expires_at=2027-01-01",
    });
    assert.equal(form.status, 201);
    assert.deepEqual(form.body.scopes, ["read_registry"]);
  });

  it("400 bodies: Grape parameter errors and model validation", async () => {
    const cases: Array<[unknown, unknown]> = [
      [{ scopes: ["read_registry"] }, { error: "name is missing" }],
      [{}, { error: "name is missing, scopes is missing" }],
      [{ name: "x", scopes: ["read_registry", "api"] }, { error: "scopes does not have a valid value" }],
      [{ name: "x", scopes: [] }, { message: "Scopes can't be blank" }],
      [{ name: "x", scopes: "" }, { message: "Scopes can't be blank" }],
      [
        { name: "x", scopes: ["read_registry"], username: "bad user!" },
        { message: "Username can contain only letters, digits, '_', '-', '+', and '.'" },
      ],
      [
        { name: "x", scopes: ["read_registry"], expires_at: "31/12/2026" },
        { message: "Expires at must be in ISO 8601 format" },
      ],
      [
        { name: "x", scopes: ["read_registry"], expires_at: "2026-02-30" },
        { message: "Expires at must be in ISO 8601 format" },
      ],
      [
        { name: "x".repeat(256), scopes: ["read_registry"] },
        { message: "Name is too long (maximum is 255 characters)" },
      ],
    ];
    const before = gl.tokens.length;
    for (const [json, expected] of cases) {
      const r = await create("/api/v4/projects/10/deploy_tokens", json);
      assert.equal(r.status, 400, JSON.stringify(json));
      assert.deepEqual(r.body, expected, JSON.stringify(json));
    }
    assert.equal(gl.tokens.length, before, "nothing created");
  });

  it("401 without or with a bad credential; 403 for role and for read_api on writes", async () => {
    const none = await api("GET", "/api/v4/projects/10/deploy_tokens");
    assert.equal(none.status, 401);
    assert.deepEqual(none.body, { message: "401 Unauthorized" });
    assert.equal(
      (await create("/api/v4/projects/10/deploy_tokens", { name: "x", scopes: ["read_registry"] }, "gldt-not-a-pat"))
        .status,
      401,
    );

    const dev = await api("GET", "/api/v4/projects/10/deploy_tokens", { token: DEV });
    assert.equal(dev.status, 403);
    assert.deepEqual(dev.body, { message: "403 Forbidden" });

    const scopeBody = {
      error: "insufficient_scope",
      error_description: "The request requires higher privileges than provided by the access token.",
      scope: "api",
    };
    assert.equal((await api("GET", "/api/v4/projects/10/deploy_tokens", { token: READ_API })).status, 200);
    const post = await create("/api/v4/projects/10/deploy_tokens", { name: "x", scopes: ["read_registry"] }, READ_API);
    assert.equal(post.status, 403);
    assert.deepEqual(post.body, scopeBody);
    const del = await api("DELETE", "/api/v4/projects/10/deploy_tokens/1", { token: READ_API });
    assert.equal(del.status, 403);
    assert.deepEqual(del.body, scopeBody);

    const invisible = await api("GET", "/api/v4/projects/10/deploy_tokens", { token: OUTSIDER });
    assert.equal(invisible.status, 404);
    assert.deepEqual(invisible.body, { message: "404 Not found" });
  });

  it("group tokens: Maintainer lists, only Owner creates/deletes; group list excludes project tokens", async () => {
    const denied = await create("/api/v4/groups/100/deploy_tokens", { name: "g", scopes: ["read_registry"] }, GMAINT);
    assert.equal(denied.status, 403);
    assert.deepEqual(denied.body, { message: "403 Forbidden" });
    const ok = await create(
      `/api/v4/groups/${encodeURIComponent("grp")}/deploy_tokens`,
      { name: "g", scopes: ["read_registry"] },
      GOWNER,
    );
    assert.equal(ok.status, 201);
    const list = await api("GET", "/api/v4/groups/100/deploy_tokens", { token: GMAINT });
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.map((t: any) => t.id),
      [ok.body.id],
    );
    assert.equal(
      (await api("DELETE", `/api/v4/groups/100/deploy_tokens/${ok.body.id}`, { token: GMAINT })).status,
      403,
    );
    assert.equal(
      (await api("DELETE", `/api/v4/groups/100/deploy_tokens/${ok.body.id}`, { token: GOWNER })).status,
      204,
    );
    // Group owners are Owners of the group's projects.
    assert.equal((await api("GET", "/api/v4/projects/10/deploy_tokens", { token: GOWNER })).status, 200);
  });

  it("DELETE is a hard delete: 204 empty, then 404; other project's token id is 404", async () => {
    const r = await create("/api/v4/projects/10/deploy_tokens", { name: "del", scopes: ["read_registry"] });
    const d1 = await api("DELETE", `/api/v4/projects/10/deploy_tokens/${r.body.id}`, { token: MAINT });
    assert.equal(d1.status, 204);
    assert.equal(d1.text, "");
    const d2 = await api("DELETE", `/api/v4/projects/10/deploy_tokens/${r.body.id}`, { token: MAINT });
    assert.equal(d2.status, 404);
    assert.deepEqual(d2.body, { message: "404 Not found" });
    assert.equal((await api("GET", `/api/v4/projects/10/deploy_tokens/${r.body.id}`, { token: MAINT })).status, 404);
    const st = gl.tokens.find((t) => t.id === r.body.id)!;
    assert.equal(st.deleted, true);
    assert.equal(gl.isLive(st.id), false);
    const list = await api("GET", "/api/v4/projects/10/deploy_tokens?per_page=100", { token: MAINT });
    assert.equal(
      list.body.some((t: any) => t.id === r.body.id),
      false,
    );
    const foreign = await create("/api/v4/projects/12/deploy_tokens", { name: "other", scopes: ["read_registry"] });
    assert.equal(
      (await api("DELETE", `/api/v4/projects/10/deploy_tokens/${foreign.body.id}`, { token: MAINT })).status,
      404,
    );
  });

  it("pagination over 45 tokens: headers, Link, per_page max 100; gitbeaker follows it", async () => {
    const ids: number[] = [];
    for (let i = 0; i < 45; i++) {
      const r = await create("/api/v4/projects/14/deploy_tokens", { name: `p${i}`, scopes: ["read_registry"] });
      ids.push(r.body.id);
    }
    const p1 = await api("GET", "/api/v4/projects/14/deploy_tokens", { token: MAINT });
    assert.equal(p1.body.length, 20);
    assert.equal(p1.headers.get("x-page"), "1");
    assert.equal(p1.headers.get("x-per-page"), "20");
    assert.equal(p1.headers.get("x-next-page"), "2");
    assert.equal(p1.headers.get("x-prev-page"), "");
    assert.equal(p1.headers.get("x-total"), "45");
    assert.equal(p1.headers.get("x-total-pages"), "3");
    const link = p1.headers.get("link")!;
    assert.match(
      link,
      /<http:\/\/127\.0\.0\.1:\d+\/api\/v4\/projects\/14\/deploy_tokens\?page=2&per_page=20>; rel="next"/,
    );
    assert.match(link, /page=1&per_page=20>; rel="first"/);
    assert.match(link, /page=3&per_page=20>; rel="last"/);
    assert.doesNotMatch(link, /rel="prev"/);

    const p3 = await api("GET", "/api/v4/projects/14/deploy_tokens?page=3", { token: MAINT });
    assert.equal(p3.body.length, 5);
    assert.equal(p3.headers.get("x-next-page"), "");
    assert.equal(p3.headers.get("x-prev-page"), "2");
    assert.match(p3.headers.get("link")!, /page=2&per_page=20>; rel="prev"/);
    assert.doesNotMatch(p3.headers.get("link")!, /rel="next"/);

    const all: number[] = [];
    for (let page = 1; ;) {
      const r = await api("GET", `/api/v4/projects/14/deploy_tokens?page=${page}`, { token: MAINT });
      all.push(...r.body.map((t: any) => t.id));
      const next = r.headers.get("x-next-page");
      if (!next) break;
      page = Number(next);
    }
    assert.deepEqual(all, ids);

    const big = await api("GET", "/api/v4/projects/14/deploy_tokens?per_page=500", { token: MAINT });
    assert.equal(big.body.length, 45);
    assert.equal(big.headers.get("x-per-page"), "100");
    const bad = await api("GET", "/api/v4/projects/14/deploy_tokens?page=abc", { token: MAINT });
    assert.equal(bad.status, 400);
    assert.deepEqual(bad.body, { error: "page is invalid" });

    const client = new Gitlab({ host: gl.url, token: MAINT });
    const viaGitbeaker = await client.DeployTokens.all({ projectId: "many/tokens" });
    assert.equal(viaGitbeaker.length, 45);
  });

  it("active filter: revoked = false AND expires_at >= NOW(); `expired` is a day comparison", async () => {
    clock = new Date("2026-06-01T12:00:00.000Z");
    const mk = async (name: string, expires_at?: string): Promise<number> =>
      (
        await create("/api/v4/projects/12/deploy_tokens", {
          name,
          scopes: ["read_registry"],
          ...(expires_at ? { expires_at } : {}),
        })
      ).body.id;
    const future = await mk("future", "2026-06-02");
    const today = await mk("today-midnight", "2026-06-01"); // already past at 12:00
    const never = await mk("never");
    const revoked = await mk("revoked", "2027-01-01");
    gl.revokeToken(revoked);
    const hour = await mk("until-13h", "2026-06-01T13:00:00Z");
    const yesterday = await mk("yesterday", "2026-05-31");

    const list = async (q: string): Promise<any[]> =>
      (await api("GET", `/api/v4/projects/12/deploy_tokens?per_page=100${q}`, { token: MAINT })).body;
    const activeIds = (await list("&active=true")).map((t) => t.id);
    assert.deepEqual(
      activeIds.filter((id) => [future, today, never, revoked, hour, yesterday].includes(id)),
      [future, never, hour],
    );
    const allIds = (await list("")).map((t) => t.id);
    const falseIds = (await list("&active=false")).map((t) => t.id);
    for (const id of [future, today, never, revoked, hour, yesterday]) {
      assert.ok(allIds.includes(id));
      assert.ok(falseIds.includes(id), "active=false is not an inactive-only filter");
    }
    const byId = new Map((await list("")).map((t) => [t.id, t]));
    assert.equal(byId.get(today).expired, false, "day comparison: still false on day D");
    assert.equal(gl.isLive(today), false, "but it no longer authenticates");
    assert.equal(byId.get(yesterday).expired, true);
    assert.equal(byId.get(revoked).revoked, true);
    assert.equal(gl.isLive(hour), true);
    clock = new Date("2026-06-01T13:00:01.000Z");
    assert.equal(gl.isLive(hour), false, "a time of day is honoured");
    assert.equal(
      (await list("&active=true")).some((t) => t.id === hour),
      false,
    );
    clock = new Date("2026-06-01T12:00:00.000Z");
  });

  it("unknown routes and methods", async () => {
    const r = await api("GET", "/api/v4/nope", { token: MAINT });
    assert.equal(r.status, 404);
    assert.deepEqual(r.body, { error: "404 Not Found" });
    const m = await api("PUT", "/api/v4/projects/10/deploy_tokens/1", { token: MAINT, json: {} });
    assert.equal(m.status, 405);
  });
});

describe("faults (§4)", () => {
  it("429 carries plain-text `Retry later` and RateLimit-* / Retry-After headers, `times` bounds it", async () => {
    gl.fault({
      method: "GET",
      path: /^\/api\/v4\/projects\/10$/,
      times: 1,
      kind: "status",
      status: 429,
      retryAfter: 7,
    });
    const r = await api("GET", "/api/v4/projects/10", { token: MAINT });
    assert.equal(r.status, 429);
    assert.equal(r.text.trim(), "Retry later");
    assert.match(r.headers.get("content-type")!, /^text\/plain/);
    assert.equal(r.headers.get("retry-after"), "7");
    assert.equal(r.headers.get("ratelimit-remaining"), "0");
    assert.equal(r.headers.get("ratelimit-name"), "throttle_authenticated_api");
    assert.ok(r.headers.get("ratelimit-limit"));
    assert.ok(r.headers.get("ratelimit-observed"));
    assert.equal(Number(r.headers.get("ratelimit-reset")), Math.ceil(clock.getTime() / 1000) + 7, "epoch seconds");
    assert.equal(
      r.headers.get("ratelimit-resettime"),
      new Date((Math.ceil(clock.getTime() / 1000) + 7) * 1000).toUTCString(),
    );
    assert.equal((await api("GET", "/api/v4/projects/10", { token: MAINT })).status, 200, "times: 1");
  });

  it("an application-level 429 (rateLimitHeaders: false) has no RateLimit headers", async () => {
    gl.fault({ path: /^\/api\/v4\/projects\/10$/, times: 1, kind: "status", status: 429, rateLimitHeaders: false });
    const r = await api("GET", "/api/v4/projects/10", { token: MAINT });
    assert.equal(r.status, 429);
    for (const h of ["retry-after", "ratelimit-limit", "ratelimit-reset", "ratelimit-resettime"])
      assert.equal(r.headers.get(h), null, h);
    assert.deepEqual(r.body, {
      message: { error: "This endpoint has been requested too many times. Try again later." },
    });
  });

  it("status faults do not perform the operation; clearFaults removes unlimited faults", async () => {
    const before = gl.tokens.length;
    gl.fault({ method: "POST", path: /deploy_tokens$/, kind: "status", status: 502 });
    for (let i = 0; i < 2; i++) {
      const r = await create("/api/v4/projects/10/deploy_tokens", { name: "x", scopes: ["read_registry"] });
      assert.equal(r.status, 502);
      assert.deepEqual(r.body, { message: "502 Bad Gateway" });
    }
    gl.clearFaults();
    assert.equal(gl.tokens.length, before);
    assert.equal(
      (await create("/api/v4/projects/10/deploy_tokens", { name: "x", scopes: ["read_registry"] })).status,
      201,
    );
  });

  it("lostResponse performs the create, then drops the connection", async () => {
    const before = gl.tokens.length;
    gl.resetRequests();
    gl.fault({ method: "POST", path: /\/projects\/10\/deploy_tokens$/, times: 1, kind: "lostResponse" });
    await assert.rejects(create("/api/v4/projects/10/deploy_tokens", { name: "lost-one", scopes: ["read_registry"] }));
    assert.equal(gl.tokens.length, before + 1);
    const t = gl.tokens[gl.tokens.length - 1]!;
    assert.equal(t.name, "lost-one");
    assert.equal(gl.isLive(t.id), true);
    assert.deepEqual(
      gl.requests.map((r) => [r.method, r.status, r.fault, r.auth]),
      [["POST", 201, "lostResponse", "maint"]],
    );
    const listed = await api("GET", "/api/v4/projects/10/deploy_tokens?per_page=100", { token: MAINT });
    assert.ok(
      listed.body.some((x: any) => x.name === "lost-one"),
      "repairable by listing by name",
    );
  });

  it("drop does not perform the operation; timeout never answers", async () => {
    const before = gl.tokens.length;
    gl.fault({ method: "POST", path: /deploy_tokens$/, times: 1, kind: "drop" });
    await assert.rejects(create("/api/v4/projects/10/deploy_tokens", { name: "dropped", scopes: ["read_registry"] }));
    assert.equal(gl.tokens.length, before);
    gl.fault({ path: /^\/api\/v4\/projects\/10$/, times: 1, kind: "timeout" });
    await assert.rejects(
      api("GET", "/api/v4/projects/10", { token: MAINT, signal: AbortSignal.timeout(300) }),
      /abort|timeout/i,
    );
    assert.equal((await api("GET", "/api/v4/projects/10", { token: MAINT })).status, 200);
  });

  it("requests are recorded with the caller's username, never the secret", async () => {
    gl.resetRequests();
    await api("GET", "/api/v4/projects/10?x=1", { token: MAINT });
    assert.deepEqual(gl.requests, [
      { method: "GET", path: "/api/v4/projects/10", query: "x=1", status: 200, auth: "maint" },
    ]);
    assert.equal(JSON.stringify(gl.requests).includes(MAINT), false);
  });
});

describe("/jwt/auth (§3)", () => {
  let tok: { id: number; username: string; token: string };
  before(async () => {
    const r = await create("/api/v4/projects/10/deploy_tokens", {
      name: "pull",
      scopes: ["read_registry"],
      expires_at: "2026-06-10",
    });
    tok = r.body;
  });
  const pull = "service=container_registry&scope=repository:grp/app:pull";

  it("200 with an RS256 JWT: libtrust kid, iss, string aud, iat/nbf/exp(+5 min), jti, access with meta, no sub", async () => {
    const r = await jwtAuth(pull, { user: tok.username, pass: tok.token });
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body), ["token"]);
    const { header, claims, valid } = decodeJwt(r.body.token);
    assert.ok(valid, "signature verifies with the signing cert");
    assert.equal(header.alg, "RS256");
    assert.equal(header.kid, libtrustKeyId(readFileSync(gl.jwt.signingCertPath, "utf8")));
    assert.match(header.kid, /^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    assert.equal(claims.iss, "gitlab-issuer");
    assert.equal(claims.aud, "container_registry");
    assert.equal(typeof claims.aud, "string");
    assert.equal(claims.exp - claims.iat, 300);
    assert.ok(claims.nbf <= claims.iat);
    assert.ok(Math.abs(claims.iat - Date.now() / 1000) < 60, "registry JWTs use the wall clock");
    assert.match(claims.jti, /^[0-9a-f-]{36}$/);
    assert.equal(claims.auth_type, "deploy_token");
    assert.equal("sub" in claims, false);
    assert.deepEqual(claims.access, [
      {
        type: "repository",
        name: "grp/app",
        actions: ["pull"],
        meta: { project_path: "grp/app", project_id: 10, root_namespace_id: 100 },
      },
    ]);
    const user = decodeJwt(claims.user);
    assert.deepEqual(user.claims.user_info, {
      token_type: "deploy_token",
      username: tok.username,
      deploy_token_id: tok.id,
    });
  });

  it("several scope parameters and space-separated scopes; push dropped for read_registry", async () => {
    const r = await jwtAuth(
      `service=container_registry&scope=${encodeURIComponent("repository:grp/app:pull,push repository:grp/app/sub/img:pull")}&scope=repository:other/thing:pull`,
      { user: tok.username, pass: tok.token },
    );
    assert.equal(r.status, 200);
    const { claims } = decodeJwt(r.body.token);
    assert.deepEqual(
      claims.access.map((a: any) => [a.name, a.actions]),
      [
        ["grp/app", ["pull"]],
        ["grp/app/sub/img", ["pull"]],
      ],
    );
  });

  it("401 for wrong username (case-sensitive), wrong token, empty login, deleted, revoked or expired tokens", async () => {
    const body401 = (b: any): void => {
      assert.equal(b.errors.length, 1);
      assert.equal(b.errors[0].code, "UNAUTHORIZED");
      assert.match(
        b.errors[0].message,
        /^HTTP Basic: Access denied\. If a password was provided for Git authentication, the password was incorrect or you're required to use a token instead of a password\. If a token was provided, it was either incorrect, expired, or improperly scoped\. See http/,
      );
    };
    for (const basic of [
      { user: tok.username.toUpperCase(), pass: tok.token },
      { user: "pull", pass: tok.token }, // the token name is never the login
      { user: tok.username, pass: "gldt-wrong" },
      { user: "", pass: tok.token },
    ]) {
      const r = await jwtAuth(pull, basic);
      assert.equal(r.status, 401, basic.user);
      body401(r.body);
    }
    const mk = async (): Promise<any> =>
      (
        await create("/api/v4/projects/10/deploy_tokens", {
          name: "x",
          scopes: ["read_registry"],
          expires_at: "2026-06-10",
        })
      ).body;
    const del = await mk();
    await api("DELETE", `/api/v4/projects/10/deploy_tokens/${del.id}`, { token: MAINT });
    const rev = await mk();
    gl.revokeToken(rev.id);
    for (const t of [del, rev]) body401((await jwtAuth(pull, { user: t.username, pass: t.token })).body);
    clock = new Date("2026-06-10T00:00:00.001Z");
    try {
      const r = await jwtAuth(pull, { user: tok.username, pass: tok.token });
      assert.equal(r.status, 401, "stops authenticating at D 00:00:00Z");
    } finally {
      clock = new Date("2026-06-01T12:00:00.000Z");
    }
  });

  it("403 DENIED without a registry scope; 404 UNAVAILABLE when the registry is off; 404 empty for unknown service", async () => {
    const repo = (await create("/api/v4/projects/10/deploy_tokens", { name: "r", scopes: ["read_repository"] })).body;
    const denied = await jwtAuth(pull, { user: repo.username, pass: repo.token });
    assert.equal(denied.status, 403);
    assert.deepEqual(denied.body, { errors: [{ code: "DENIED", message: "access forbidden" }] });
    // The Dependency Proxy's scopes open no container registry repository: only read_registry does.
    const proxy = (
      await create("/api/v4/projects/10/deploy_tokens", {
        name: "p",
        scopes: ["read_virtual_registry", "write_virtual_registry"],
      })
    ).body;
    assert.deepEqual(proxy.scopes, ["read_virtual_registry", "write_virtual_registry"]);
    const notForTheRegistry = await jwtAuth(pull, { user: proxy.username, pass: proxy.token });
    assert.equal(notForTheRegistry.status, 403);
    assert.deepEqual(notForTheRegistry.body, { errors: [{ code: "DENIED", message: "access forbidden" }] });

    gl.setRegistry(null);
    try {
      const off = await jwtAuth(pull, { user: tok.username, pass: tok.token });
      assert.equal(off.status, 404);
      assert.deepEqual(off.body, { errors: [{ code: "UNAVAILABLE", message: "registry not enabled" }] });
    } finally {
      gl.setRegistry({ host: "registry.example.test:5005" });
    }
    const svc = await jwtAuth("service=other&scope=repository:grp/app:pull", { user: tok.username, pass: tok.token });
    assert.equal(svc.status, 404);
    assert.equal(svc.text, "");
  });

  it("200 with access [] when the repo is not reachable (other project, project registry off, unknown)", async () => {
    for (const repo of ["other/thing", "grp/noreg", "no/such"]) {
      const r = await jwtAuth(`service=container_registry&scope=repository:${repo}:pull`, {
        user: tok.username,
        pass: tok.token,
      });
      assert.equal(r.status, 200, repo);
      assert.deepEqual(decodeJwt(r.body.token).claims.access, [], repo);
    }
    const anon = await jwtAuth(pull);
    assert.equal(anon.status, 200);
    assert.deepEqual(decodeJwt(anon.body.token).claims.access, []);
    const login = await jwtAuth("service=container_registry", { user: tok.username, pass: tok.token });
    assert.equal(login.status, 200, "docker login: no scope");
  });

  it("group tokens reach subgroup projects; write_registry gives push; admin PAT gets push+pull", async () => {
    const g = (
      await create(
        "/api/v4/groups/100/deploy_tokens",
        { name: "g", scopes: ["read_registry", "write_registry"] },
        GOWNER,
      )
    ).body;
    const r = await jwtAuth(
      "service=container_registry&scope=repository:grp/sub/deep:pull,push&scope=repository:other/thing:pull",
      { user: g.username, pass: g.token },
    );
    assert.deepEqual(
      decodeJwt(r.body.token).claims.access.map((a: any) => [a.name, a.actions]),
      [["grp/sub/deep", ["pull", "push"]]],
    );
    const admin = await jwtAuth("service=container_registry&scope=repository:other/thing:pull,push", {
      user: "root",
      pass: ADMIN,
    });
    const c = decodeJwt(admin.body.token).claims;
    assert.deepEqual(c.access[0].actions, ["pull", "push"]);
    assert.equal(c.sub, "root");
    const dev = await jwtAuth("service=container_registry&scope=repository:grp/app:pull,push", {
      user: "dev",
      pass: DEV,
    });
    assert.deepEqual(decodeJwt(dev.body.token).claims.access[0].actions, ["pull", "push"]);
    const out = await jwtAuth("service=container_registry&scope=repository:grp/app:pull", {
      user: "outsider",
      pass: OUTSIDER,
    });
    assert.deepEqual(decodeJwt(out.body.token).claims.access, []);
  });
});

describe("an access token's own details: GET /personal_access_tokens/self, by GitLab version", () => {
  const DUE = "glpat-due-00000000000000";
  const BOT = "glpat-bot-00000000000000";
  const REGONLY = "glpat-regonly-0000000000";
  before(() => {
    gl.addUser({ username: "project_10_bot_abc" });
    // 16.0 and later: every access token has an expiry date (at most 365 days).
    gl.addPersonalAccessToken("maint", DUE, ["api", "read_registry"], { name: "ci rotation", expiresAt: "2026-06-06" });
    gl.addPersonalAccessToken("project_10_bot_abc", BOT, ["api"], { name: "project token", expiresAt: "2027-05-01" });
    gl.addPersonalAccessToken("maint", REGONLY, ["read_registry"], { expiresAt: "2026-12-31" });
  });
  after(() => gl.setPatSelf("self"));

  it("15.5 and later: the token's entity, expires_at a date; project tokens too (bot users); any scope may ask", async () => {
    const r = await api("GET", "/api/v4/personal_access_tokens/self", { token: DUE });
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body), [
      "id",
      "name",
      "revoked",
      "created_at",
      "description",
      "scopes",
      "user_id",
      "last_used_at",
      "active",
      "expires_at",
      "last_used_ips",
    ]);
    assert.equal(r.body.name, "ci rotation");
    assert.deepEqual(r.body.scopes, ["api", "read_registry"]);
    assert.equal(r.body.expires_at, "2026-06-06");
    assert.equal(r.body.active, true);
    assert.equal(r.body.revoked, false);
    const bot = await api("GET", "/api/v4/personal_access_tokens/self", { token: BOT });
    assert.equal(bot.status, 200);
    assert.equal(bot.body.expires_at, "2027-05-01");
    const legacy = await api("GET", "/api/v4/personal_access_tokens/self", { token: MAINT });
    assert.equal(legacy.body.expires_at, null, "a token from before 16.0 may never expire");
    assert.equal((await api("GET", "/api/v4/personal_access_tokens/self", { token: REGONLY })).status, 200);
    // ...while other routes still need api or read_api.
    assert.equal((await api("GET", "/api/v4/projects/10", { token: REGONLY })).status, 403);
    assert.equal((await api("GET", "/api/v4/personal_access_tokens/self")).status, 401);
    assert.deepEqual((await api("GET", "/api/v4/personal_access_tokens/self", { token: "glpat-nope" })).body, {
      message: "401 Unauthorized",
    });
  });

  it("an access token stops working at 00:00 UTC of its expiry date: 401 invalid_token everywhere, and no registry login", async () => {
    clock = new Date("2026-06-05T23:59:59.000Z");
    assert.equal((await api("GET", "/api/v4/projects/10", { token: DUE })).status, 200);
    clock = new Date("2026-06-06T00:00:00.000Z");
    try {
      const r = await api("GET", "/api/v4/personal_access_tokens/self", { token: DUE });
      assert.equal(r.status, 401);
      assert.deepEqual(r.body, {
        error: "invalid_token",
        error_description: "Token is expired. You can either do re-authorization or token refresh.",
      });
      assert.equal((await api("GET", "/api/v4/projects/10", { token: DUE })).status, 401);
      const login = await jwtAuth("service=container_registry&scope=repository:grp/app:pull", {
        user: "maint",
        pass: DUE,
      });
      assert.equal(login.status, 401);
    } finally {
      clock = new Date("2026-06-01T12:00:00.000Z");
    }
  });

  it("15.1 to 15.4: only /:id exists, so self finds no token: 401 for a user, 404 for an administrator; own ids work", async () => {
    const ownId = (await api("GET", "/api/v4/personal_access_tokens/self", { token: DUE })).body.id;
    gl.setPatSelf("by-id");
    const user = await api("GET", "/api/v4/personal_access_tokens/self", { token: DUE });
    assert.equal(user.status, 401);
    assert.deepEqual(user.body, { message: "401 Unauthorized" });
    const admin = await api("GET", "/api/v4/personal_access_tokens/self", { token: ADMIN });
    assert.equal(admin.status, 404);
    assert.deepEqual(admin.body, { message: "404 Not found" });
    assert.equal(
      (await api("GET", `/api/v4/personal_access_tokens/${ownId}`, { token: DUE })).body.name,
      "ci rotation",
    );
    assert.equal(
      (await api("GET", `/api/v4/personal_access_tokens/${ownId}`, { token: OUTSIDER })).status,
      401,
      "another user's token",
    );
  });

  it("before 15.1: no route at all, GitLab's catch-all 404", async () => {
    gl.setPatSelf("absent");
    const r = await api("GET", "/api/v4/personal_access_tokens/self", { token: DUE });
    assert.equal(r.status, 404);
    assert.deepEqual(r.body, { error: "404 Not Found" });
  });
});
