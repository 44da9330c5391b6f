// A real distribution 2.8 registry with token auth against the GitLab stand-in,
// driven by a real client (skopeo) reading a docker config.json.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGitLabStandIn, type GitLabStandIn } from "../support/gitlab-standin.ts";
import {
  haveRegistryTools,
  seedImage,
  skopeoInspect,
  startRegistry,
  writeAuthFile,
  type Registry,
} from "../support/registry.ts";

const ADMIN_PAT = "glpat-registry-admin-000";
const MAINT_PAT = "glpat-registry-maint-000";
const skip = haveRegistryTools() ? false : "docker-registry and skopeo are not installed";

interface Minted {
  id: number;
  username: string;
  token: string;
}

describe("real registry (distribution 2.8) with GitLab token auth", { skip }, () => {
  let dir: string;
  let gl: GitLabStandIn;
  let reg: Registry;
  let n = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "gps-registry-test-"));
    gl = await startGitLabStandIn({ dir: join(dir, "gitlab") });
    gl.addUser({ username: "root", admin: true });
    gl.addPersonalAccessToken("root", ADMIN_PAT, ["api"]);
    gl.addUser({ username: "maint" });
    gl.addPersonalAccessToken("maint", MAINT_PAT, ["api"]);
    gl.addProject({ id: 1, path: "grp/app", members: { maint: "maintainer" } });
    gl.addProject({ id: 2, path: "grp/other", members: { maint: "maintainer" } });
    reg = await startRegistry({ gitlab: gl, dir: join(dir, "registry") });
    await seedImage(reg, "grp/app", "latest", { username: "root", token: ADMIN_PAT });
  });

  after(async () => {
    await reg?.close();
    await gl?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function mint(scopes: string[], projectId = 1): Promise<Minted> {
    const r = await fetch(`${gl.url}/api/v4/projects/${projectId}/deploy_tokens`, {
      method: "POST",
      headers: { "PRIVATE-TOKEN": MAINT_PAT, "content-type": "application/json" },
      body: JSON.stringify({
        name: `test-${++n}`,
        scopes,
        expires_at: new Date(Date.now() + 86_400_000).toISOString().slice(0, 10),
      }),
    });
    assert.equal(r.status, 201);
    return (await r.json()) as Minted;
  }

  function authfile(username: string, token: string): string {
    const p = join(dir, `auth-${++n}.json`);
    writeAuthFile(p, reg.host, username, token);
    return p;
  }

  it("the registry answers /v2/ with the GitLab realm challenge", async () => {
    const { status, headers, body } = await new Promise<{
      status: number;
      headers: Record<string, unknown>;
      body: string;
    }>((resolve, reject) => {
      const req = httpsRequest(`https://${reg.host}/v2/`, { ca: readFileSync(reg.caPath, "utf8") }, (res) => {
        let b = "";
        res.on("data", (d: Buffer) => (b += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(status, 401);
    assert.equal(headers["www-authenticate"], `Bearer realm="${gl.jwt.realm}",service="container_registry"`);
    assert.equal(headers["docker-distribution-api-version"], "registry/2.0");
    assert.deepEqual(JSON.parse(body), {
      errors: [{ code: "UNAUTHORIZED", message: "authentication required", detail: null }],
    });
    assert.equal(statSync(reg.certDir).isDirectory(), true);
  });

  it("a read_registry deploy token pulls; wrong username fails; after DELETE it fails", async () => {
    const t = await mint(["read_registry"]);
    const good = authfile(t.username, t.token);
    const ok = await skopeoInspect(reg, "grp/app:latest", good);
    assert.equal(ok.ok, true, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).Name, `${reg.host}/grp/app`);

    const wrongUser = await skopeoInspect(reg, "grp/app:latest", authfile("gps-pull", t.token));
    assert.equal(wrongUser.ok, false);
    assert.match(
      wrongUser.stderr,
      /unable to retrieve auth token: invalid username\/password: unauthorized: HTTP Basic: Access denied/,
    );
    assert.equal(wrongUser.stderr.includes(t.token), false);

    const del = await fetch(`${gl.url}/api/v4/projects/1/deploy_tokens/${t.id}`, {
      method: "DELETE",
      headers: { "PRIVATE-TOKEN": MAINT_PAT },
    });
    assert.equal(del.status, 204);
    const after = await skopeoInspect(reg, "grp/app:latest", good);
    assert.equal(after.ok, false);
    assert.match(after.stderr, /HTTP Basic: Access denied/);
  });

  it("a token with only read_repository cannot pull (GitLab 403 DENIED)", async () => {
    const t = await mint(["read_repository"]);
    const r = await skopeoInspect(reg, "grp/app:latest", authfile(t.username, t.token));
    assert.equal(r.ok, false);
    assert.match(r.stderr, /Requesting bearer token: invalid status code from registry 403/);
  });

  it("the verify flow by hand: challenge with scope -> /jwt/auth -> HEAD; 2.8 refuses OCI without an OCI Accept", async () => {
    const t = await mint(["read_registry"]);
    const ca = readFileSync(reg.caPath, "utf8");
    const call = (
      method: string,
      url: string,
      headers: Record<string, string>,
    ): Promise<{ status: number; headers: Record<string, unknown>; body: string }> =>
      new Promise((resolve, reject) => {
        const req = httpsRequest(url, { method, headers, ca }, (res) => {
          let b = "";
          res.on("data", (d: Buffer) => (b += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
        });
        req.on("error", reject);
        req.end();
      });
    const manifestUrl = `https://${reg.host}/v2/grp/app/manifests/latest`;
    const challenge = await call("GET", manifestUrl, {});
    assert.equal(challenge.status, 401);
    assert.equal(
      challenge.headers["www-authenticate"],
      `Bearer realm="${gl.jwt.realm}",service="container_registry",scope="repository:grp/app:pull"`,
    );
    const basic = Buffer.from(`${t.username}:${t.token}`).toString("base64");
    const jr = await fetch(`${gl.jwt.realm}?service=container_registry&scope=repository:grp/app:pull`, {
      headers: { authorization: `Basic ${basic}` },
    });
    assert.equal(jr.status, 200);
    const { token: jwt } = (await jr.json()) as { token: string };
    const allTypes = [
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/vnd.docker.distribution.manifest.v2+json",
    ].join(", ");
    const head = await call("HEAD", manifestUrl, { authorization: `Bearer ${jwt}`, accept: allTypes });
    assert.equal(head.status, 200);
    assert.match(String(head.headers["docker-content-digest"]), /^sha256:[0-9a-f]{64}$/);
    const noOci = await call("GET", manifestUrl, {
      authorization: `Bearer ${jwt}`,
      accept: "application/vnd.docker.distribution.manifest.v2+json",
    });
    assert.equal(noOci.status, 404);
    assert.deepEqual(JSON.parse(noOci.body), {
      errors: [
        { code: "MANIFEST_UNKNOWN", message: "OCI manifest found, but accept header does not support OCI manifests" },
      ],
    });
    const missing = await call("HEAD", `https://${reg.host}/v2/grp/app/manifests/nope`, {
      authorization: `Bearer ${jwt}`,
      accept: allTypes,
    });
    assert.equal(missing.status, 404);
    const other = await call("HEAD", `https://${reg.host}/v2/grp/other/manifests/latest`, {
      authorization: `Bearer ${jwt}`,
      accept: allTypes,
    });
    assert.equal(other.status, 401, "a JWT without that repository's access");
  });

  it("another project's token gets a JWT without access and the registry refuses it", async () => {
    const t = await mint(["read_registry"], 2);
    gl.resetRequests();
    const r = await skopeoInspect(reg, "grp/app:latest", authfile(t.username, t.token));
    assert.equal(r.ok, false);
    assert.match(r.stderr, /requested access to the resource is denied/);
    assert.ok(
      gl.requests.some((q) => q.path === "/jwt/auth" && q.status === 200),
      "/jwt/auth said 200 anyway",
    );
  });
});
