// verify against the REAL registry (distribution 2.8, token auth against the
// GitLab stand-in, as GitLab configures its own) with deploy tokens minted
// through the stand-in's REST API. Every failure names its step and shows no
// form of the credentials.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Agent } from "undici";
import { ExitCode } from "../../src/model/errors.js";
import { registryPort, registryPortFor, type RegistryPort, type VerifyRequest } from "../../src/adapters/registry.js";
import { Secret } from "../../src/model/secret.js";
import { startGitLabStandIn, type GitLabStandIn } from "../support/gitlab-standin.ts";
import {
  haveRegistryTools,
  seedImage,
  skopeoInspect,
  startRegistry,
  writeAuthFile,
  type Registry,
} from "../support/registry.ts";
import { VerifyError, type VerifyStep } from "../../src/adapters/registry-hints.js";

const ADMIN_PAT = "glpat-verify-admin-0000001";
const MAINT_PAT = "glpat-verify-maint-0000001";
const TOOLS = haveRegistryTools();
// Locally a machine without the tools skips; CI must have them.
const skip =
  TOOLS || process.env.CI === "true" ? false : "docker-registry and skopeo are not installed (CI=true makes this fail)";

interface Minted {
  id: number;
  username: string;
  token: string;
}

const PROJECTS = {
  app: { id: 1, path: "grp/app" },
  other: { id: 2, path: "grp/other" },
  noreg: { id: 3, path: "grp/noreg" },
};

describe("verify against the real registry", { skip, timeout: 60_000 }, () => {
  let dir: string;
  let gl: GitLabStandIn;
  let reg: Registry;
  let caPem: string;
  let port: RegistryPort;
  let n = 0;

  before(async () => {
    if (!TOOLS)
      throw new Error(
        "docker-registry and skopeo are required here (CI=true): apt-get install -y docker-registry skopeo",
      );
    dir = mkdtempSync(join(tmpdir(), "gps-verify-e2e-"));
    gl = await startGitLabStandIn({ dir: join(dir, "gitlab") });
    gl.addUser({ username: "root", admin: true });
    gl.addPersonalAccessToken("root", ADMIN_PAT, ["api"]);
    gl.addUser({ username: "maint" });
    gl.addPersonalAccessToken("maint", MAINT_PAT, ["api"]);
    for (const p of Object.values(PROJECTS)) {
      gl.addProject({ ...p, registryEnabled: p !== PROJECTS.noreg, members: { maint: "maintainer" } });
    }
    reg = await startRegistry({ gitlab: gl, dir: join(dir, "registry") });
    await seedImage(reg, PROJECTS.app.path, "latest", { username: "root", token: ADMIN_PAT });
    caPem = readFileSync(reg.caPath, "utf8");
    port = registryPortFor(caPem);
  });

  after(async () => {
    await reg?.close();
    await gl?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function mint(scopes: string[], projectId = PROJECTS.app.id): Promise<Minted> {
    const r = await fetch(`${gl.url}/api/v4/projects/${projectId}/deploy_tokens`, {
      method: "POST",
      headers: { "PRIVATE-TOKEN": MAINT_PAT, "content-type": "application/json" },
      body: JSON.stringify({
        name: `verify-${++n}`,
        scopes,
        expires_at: new Date(Date.now() + 86_400_000).toISOString().slice(0, 10),
      }),
    });
    assert.equal(r.status, 201);
    return (await r.json()) as Minted;
  }

  const request = (t: Minted, o: Partial<VerifyRequest> = {}): VerifyRequest => ({
    registry: reg.host,
    repository: PROJECTS.app.path,
    tag: "latest",
    username: t.username,
    password: new Secret(t.token),
    ...o,
  });

  /** Runs the check expecting a VerifyError at `step`; asserts no secret form is in its message. */
  async function failsAt(step: VerifyStep, t: Minted, run: Promise<unknown>): Promise<VerifyError> {
    let err: unknown;
    try {
      await run;
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof VerifyError, `expected a VerifyError, got ${String(err)}`);
    assert.equal(err.step, step, err.message);
    assert.equal(err.exitCode, ExitCode.remote);
    const userPass = `${t.username}:${t.token}`;
    const b64 = Buffer.from(userPass).toString("base64");
    for (const form of [t.token, userPass, b64, b64.replace(/=+$/, ""), ADMIN_PAT, MAINT_PAT]) {
      assert.equal(err.message.includes(form), false, `a secret form leaked into: ${err.message}`);
    }
    assert.doesNotMatch(err.message, /eyJ[\w-]+\.[\w-]+\./, "a JWT leaked");
    return err;
  }

  test("a read_registry token pulls the tag: the digest is the one a real client sees", async () => {
    const t = await mint(["read_registry"]);
    gl.resetRequests();
    const r = await port.verifyPull(request(t));
    assert.equal(r.anonymous, false);
    assert.equal(r.tag, "latest");
    assert.equal(r.realm, gl.jwt.realm);
    assert.match(r.digest ?? "", /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(
      gl.requests.map((q) => [q.path, q.status, q.auth]),
      [["/jwt/auth", 200, t.username]],
    );

    const authfile = join(dir, `auth-${++n}.json`);
    writeAuthFile(authfile, reg.host, t.username, t.token);
    const inspected = await skopeoInspect(reg, `${PROJECTS.app.path}:latest`, authfile);
    assert.ok(inspected.ok, inspected.stderr);
    assert.equal(JSON.parse(inspected.stdout).Digest, r.digest);
  });

  test("without a tag the check ends at the token's access", async () => {
    const t = await mint(["read_registry"]);
    const r = await port.verifyPull(request(t, { tag: undefined }));
    assert.deepEqual(r, { registry: reg.host, repository: PROJECTS.app.path, realm: gl.jwt.realm, anonymous: false });
  });

  test("wrong username: GitLab's 401 at the token step", async () => {
    const t = await mint(["read_registry"]);
    const e = await failsAt("token", t, port.verifyPull(request(t, { username: "gps-pull" })));
    assert.equal(e.status, 401);
    assert.equal(e.code, "UNAUTHORIZED");
    assert.match(e.message, /HTTP Basic: Access denied/);
    assert.match(e.message, /username "gps-pull"/);
  });

  test("a deleted token: 401 at the token step", async () => {
    const t = await mint(["read_registry"]);
    await port.verifyPull(request(t, { tag: undefined }));
    const del = await fetch(`${gl.url}/api/v4/projects/${PROJECTS.app.id}/deploy_tokens/${t.id}`, {
      method: "DELETE",
      headers: { "PRIVATE-TOKEN": MAINT_PAT },
    });
    assert.equal(del.status, 204);
    const e = await failsAt("token", t, port.verifyPull(request(t)));
    assert.equal(e.status, 401);
    assert.match(e.message, /not mistyped, expired, revoked or deleted/);
  });

  test("a read_repository-only token: 403 DENIED, the scope is named", async () => {
    const t = await mint(["read_repository"]);
    const e = await failsAt("token", t, port.verifyPull(request(t)));
    assert.equal(e.status, 403);
    assert.equal(e.code, "DENIED");
    assert.match(e.message, /read_registry scope/);
  });

  test("another project's token: GitLab answers 200 with access [], caught at the access step", async () => {
    const t = await mint(["read_registry"], PROJECTS.other.id);
    gl.resetRequests();
    const e = await failsAt("access", t, port.verifyPull(request(t)));
    assert.deepEqual(
      gl.requests.map((q) => [q.path, q.status]),
      [["/jwt/auth", 200]],
    );
    assert.match(e.message, /granting no pull on grp\/app \(access: \[\]\)/);
    assert.match(e.message, /belongs to another project/);
  });

  test("a project whose registry is disabled: access step", async () => {
    const t = await mint(["read_registry"], PROJECTS.noreg.id);
    const e = await failsAt(
      "access",
      t,
      port.verifyPull(request(t, { repository: PROJECTS.noreg.path, tag: undefined })),
    );
    assert.match(e.message, /container registry is disabled for the project/);
  });

  test("a missing tag: MANIFEST_UNKNOWN at the manifest step, the image named", async () => {
    const t = await mint(["read_registry"]);
    const e = await failsAt("manifest", t, port.verifyPull(request(t, { tag: "nope" })));
    assert.equal(e.status, 404);
    assert.equal(e.code, "MANIFEST_UNKNOWN");
    assert.ok(
      e.message.includes(
        `Image ${reg.host}/grp/app:nope does not exist: tag "nope" is not in ${reg.host}/grp/app (tags there: latest)`,
      ),
      e.message,
    );
  });

  test("a repository nothing was pushed to: 2.8 says MANIFEST_UNKNOWN too; the tag list's NAME_UNKNOWN tells", async () => {
    const t = await mint(["read_registry"], PROJECTS.other.id);
    const e = await failsAt("manifest", t, port.verifyPull(request(t, { repository: PROJECTS.other.path })));
    assert.equal(e.code, "MANIFEST_UNKNOWN");
    assert.ok(e.message.includes(`Repository ${reg.host}/grp/other does not exist`), e.message);
  });

  test("the instance registry is off: 404 UNAVAILABLE at the token step", async () => {
    const t = await mint(["read_registry"]);
    gl.setRegistry(null);
    try {
      const e = await failsAt("token", t, port.verifyPull(request(t)));
      assert.equal(e.status, 404);
      assert.equal(e.code, "UNAVAILABLE");
      assert.match(e.message, /"registry not enabled"/);
      assert.match(e.message, /not enabled on this GitLab instance/);
    } finally {
      gl.setRegistry({ host: reg.host });
    }
  });

  test("GitLab does not know the registry's service: 404 with an empty body", async () => {
    const t = await mint(["read_registry"]);
    gl.fault({ kind: "status", path: /^\/jwt\/auth$/, status: 404, body: "", times: 1 });
    try {
      const e = await failsAt("token", t, port.verifyPull(request(t)));
      assert.match(e.message, /no registry service named "container_registry"/);
    } finally {
      gl.clearFaults();
    }
  });

  test("GitLab's token service does not answer: the per-request timeout", async () => {
    const t = await mint(["read_registry"]);
    const agent = new Agent({ connect: { ca: caPem } });
    gl.fault({ kind: "timeout", path: /^\/jwt\/auth$/, times: 1 });
    try {
      const e = await failsAt("token", t, registryPort({ dispatcher: agent, timeoutMs: 300 }).verifyPull(request(t)));
      assert.equal(e.code, "TIMEOUT");
      assert.match(e.message, /no answer within 0\.3 s/);
    } finally {
      gl.clearFaults();
      await agent.destroy();
    }
  });

  test("the registry's CA is not trusted: the host and --ca-file are named", async () => {
    const t = await mint(["read_registry"]);
    gl.resetRequests();
    const e = await failsAt("registry", t, registryPort().verifyPull(request(t)));
    assert.ok(e.message.includes(`TLS certificate of ${reg.host} is not trusted`), e.message);
    assert.match(e.message, /--ca-file/);
    assert.deepEqual(gl.requests, [], "nothing reached GitLab");
  });
});
