// verify: the WWW-Authenticate parser, the JWT access check, and the token flow
// against a scripted HTTPS registry on 127.0.0.1 that answers with the bodies
// REFERENCE §3 documents (the real registry runs in test/e2e/verify.test.ts).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { Agent } from "undici";
import { ExitCode } from "../../src/model/errors.js";
import { MANIFEST_TYPES, registryPort, registryPortFor, type VerifyRequest } from "../../src/adapters/registry.js";
import { Secret } from "../../src/model/secret.js";
import { issueServerCert, makeCA } from "../support/certs.ts";
import { errorOf, VerifyError } from "../../src/adapters/registry-hints.js";
import {
  grantsPull,
  jwtAccess,
  parseAuthChallenges,
  parseBearerChallenge,
} from "../../src/adapters/registry-challenge.js";

describe("parseBearerChallenge", () => {
  test("GitLab's registry at /v2/", () => {
    const c = parseBearerChallenge('Bearer realm="https://gitlab.example.com/jwt/auth",service="container_registry"');
    assert.deepEqual(c, {
      realm: "https://gitlab.example.com/jwt/auth",
      service: "container_registry",
      scope: undefined,
      error: undefined,
      params: { realm: "https://gitlab.example.com/jwt/auth", service: "container_registry" },
    });
  });

  test("distribution's refusal: scope with a comma inside the quotes, then error=", () => {
    const c = parseBearerChallenge(
      'Bearer realm="https://gitlab.example.com/jwt/auth",service="container_registry",scope="repository:grp/app:pull,push",error="insufficient_scope"',
    );
    assert.equal(c?.realm, "https://gitlab.example.com/jwt/auth");
    assert.equal(c?.scope, "repository:grp/app:pull,push");
    assert.equal(c?.error, "insufficient_scope");
    assert.equal(c?.service, "container_registry");
  });

  test("Docker Hub", () => {
    const c = parseBearerChallenge(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
    );
    assert.equal(c?.realm, "https://auth.docker.io/token");
    assert.equal(c?.service, "registry.docker.io");
    assert.equal(c?.scope, "repository:library/alpine:pull");
  });

  test("token values, spaces around '=', escapes and case-insensitive names", () => {
    const c = parseBearerChallenge('BEARER Realm = "https://x.test/t?a=\\"b\\"" , SERVICE=svc,error=invalid_token');
    assert.equal(c?.realm, 'https://x.test/t?a="b"');
    assert.equal(c?.service, "svc");
    assert.equal(c?.error, "invalid_token");
  });

  test("several challenges in one header (fetch joins repeated lines with ', ')", () => {
    assert.equal(
      parseBearerChallenge('Basic realm="Registry Realm", Bearer realm="https://r.test/token",service="s"')?.realm,
      "https://r.test/token",
    );
    const both = parseAuthChallenges('Bearer realm="a",service="b", Basic realm="c, d"');
    assert.deepEqual(both, [
      { scheme: "bearer", params: { realm: "a", service: "b" } },
      { scheme: "basic", params: { realm: "c, d" } },
    ]);
    assert.deepEqual(parseAuthChallenges('Negotiate abc+/==, Bearer realm="r"'), [
      { scheme: "negotiate", params: {}, token68: "abc+/==" },
      { scheme: "bearer", params: { realm: "r" } },
    ]);
  });

  test("the first value of a repeated parameter wins", () => {
    assert.equal(
      parseBearerChallenge('Bearer realm="https://first.test/",realm="https://second.test/"')?.realm,
      "https://first.test/",
    );
  });

  test("no usable Bearer challenge: undefined, never a throw", () => {
    for (const h of [
      undefined,
      null,
      "",
      'Basic realm="Registry"',
      'Bearer service="x"',
      "Bearer",
      'Bearer realm="unterminated',
      '=,,="',
      "Bearer realm=",
    ]) {
      const c = parseBearerChallenge(h);
      if (h === 'Bearer realm="unterminated') assert.equal(c?.realm, "unterminated");
      else assert.equal(c, undefined, String(h));
    }
  });
});

const b64url = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString("base64url");
function jwt(claims: Record<string, unknown>): string {
  return `${b64url({ typ: "JWT", kid: "ABCD:EFGH", alg: "RS256" })}.${b64url(claims)}.c2lnbmF0dXJl`;
}
const gitlabClaims = (access: unknown[]): Record<string, unknown> => ({
  jti: "0b0b",
  aud: "container_registry",
  iss: "gitlab-issuer",
  iat: 1,
  nbf: 0,
  exp: 2,
  access,
  auth_type: "deploy_token",
  user: "eyJ.inner.jwt",
});
const pullApp = {
  type: "repository",
  name: "grp/app",
  actions: ["pull"],
  meta: { project_path: "grp/app", project_id: 1, root_namespace_id: 9 },
};

describe("the JWT's access claim", () => {
  test("GitLab's grant for the repository pulls", () => {
    const access = jwtAccess(jwt(gitlabClaims([pullApp])));
    assert.deepEqual(access, [{ type: "repository", name: "grp/app", actions: ["pull"] }]);
    assert.equal(grantsPull(access!, "grp/app"), true);
  });
  test("access: [] (another project, registry disabled) grants nothing, and is not 'unreadable'", () => {
    const access = jwtAccess(jwt(gitlabClaims([])));
    assert.deepEqual(access, []);
    assert.equal(grantsPull(access!, "grp/app"), false);
    assert.deepEqual(jwtAccess(jwt({ iss: "x" })), [], "no access claim at all");
  });
  test("only an exact repository name with pull or * counts", () => {
    const check = (entry: Record<string, unknown>): boolean =>
      grantsPull(jwtAccess(jwt(gitlabClaims([entry])))!, "grp/app");
    assert.equal(check({ type: "repository", name: "grp/app", actions: ["*"] }), true);
    assert.equal(check({ type: "repository", name: "grp/app", actions: ["push"] }), false);
    assert.equal(check({ type: "repository", name: "grp/other", actions: ["pull"] }), false);
    assert.equal(check({ type: "repository", name: "grp/app/sub", actions: ["pull"] }), false);
    assert.equal(check({ type: "repository", name: "Grp/App", actions: ["pull"] }), false);
    assert.equal(check({ type: "registry", name: "grp/app", actions: ["pull"] }), false);
    assert.equal(check({ type: "repository", name: "grp/app", actions: "pull" }), false);
  });
  test("an opaque or broken token is undefined", () => {
    for (const t of [
      "opaque-token",
      "a.b",
      "a..c",
      `a.${Buffer.from("not json").toString("base64url")}.c`,
      `a.${b64url([1])}.c`,
    ]) {
      assert.equal(jwtAccess(t), undefined, t);
    }
  });
});

describe("error bodies", () => {
  test("registry and /jwt/auth errors, GitLab REST errors, others", () => {
    assert.deepEqual(errorOf('{"errors":[{"code":"DENIED","message":"access forbidden"}]}'), {
      code: "DENIED",
      message: "access forbidden",
    });
    assert.deepEqual(
      errorOf('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"nope"}}]}'),
      { code: "MANIFEST_UNKNOWN", message: "manifest unknown" },
    );
    assert.deepEqual(errorOf('{"message":"404 Not found"}'), { code: undefined, message: "404 Not found" });
    assert.deepEqual(errorOf('{"error":"invalid_token","error_description":"Token is expired."}'), {
      code: "invalid_token",
      message: "Token is expired.",
    });
    assert.deepEqual(errorOf(""), { code: undefined, message: undefined });
    assert.deepEqual(errorOf("Retry later\n"), { code: undefined, message: undefined });
  });
});

// ---- the flow against a scripted registry -------------------------------------------------------

const USER = "gitlab+deploy-token-7";
const TOKEN = "gldt-unitTestSecret0000001";
const USERPASS = `${USER}:${TOKEN}`;
const BASIC = Buffer.from(USERPASS).toString("base64");
const DIGEST = `sha256:${"ab".repeat(32)}`;
const JWT_401 =
  "HTTP Basic: Access denied. If a password was provided for Git authentication, the password was incorrect or you're required to use a token instead of a password. If a token was provided, it was either incorrect, expired, or improperly scoped. See https://gitlab.example.com/help/user/profile/account/two_factor_authentication_troubleshooting.md";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
}
interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}
type Script = (r: Seen, realm: string) => Reply | "hang";

/** Registry and token service on one HTTPS listener: the realm is https://127.0.0.1:PORT/jwt/auth. */
function gitlabLike(opts: { grant?: unknown[]; tokenField?: "token" | "access_token" } = {}): Script {
  return (r, realm): Reply => {
    const path = r.url.split("?")[0];
    if (path === "/v2/")
      return {
        status: 401,
        headers: { "www-authenticate": `Bearer realm="${realm}",service="container_registry"` },
        body: '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}',
      };
    if (path === "/jwt/auth") {
      if (r.headers.authorization !== `Basic ${BASIC}`)
        return { status: 401, body: JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: JWT_401 }] }) };
      return {
        status: 200,
        body: JSON.stringify({ [opts.tokenField ?? "token"]: jwt(gitlabClaims(opts.grant ?? [pullApp])) }),
      };
    }
    // Like distribution: authorization first, then the resource.
    if (!String(r.headers.authorization).startsWith("Bearer ")) {
      return {
        status: 401,
        headers: {
          "www-authenticate": `Bearer realm="${realm}",service="container_registry",scope="repository:grp/app:pull"`,
        },
      };
    }
    if (path === "/v2/grp/app/manifests/latest")
      return { status: 200, headers: { "docker-content-digest": DIGEST, "content-type": MANIFEST_TYPES[1] } };
    return {
      status: 404,
      body: '{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}',
    };
  };
}

function assertClean(err: unknown, ...extra: string[]): void {
  assert.ok(err instanceof VerifyError, `expected a VerifyError, got ${String(err)}`);
  for (const form of [TOKEN, USERPASS, BASIC, BASIC.replace(/=+$/, ""), ...extra]) {
    assert.equal(err.message.includes(form), false, `the message shows a secret form: ${err.message}`);
  }
  assert.doesNotMatch(err.message, /eyJ[\w-]+\.[\w-]+\./, "the message shows a JWT");
  assert.equal(err.exitCode, ExitCode.remote);
}

async function rejects(p: Promise<unknown>): Promise<VerifyError> {
  try {
    await p;
  } catch (err) {
    assertClean(err);
    return err as VerifyError;
  }
  assert.fail("verifyPull resolved, expected a VerifyError");
}

describe("verifyPull against a scripted registry", () => {
  let dir: string;
  let server: Server;
  let host: string;
  let realm: string;
  let agent: Agent;
  let script: Script;
  let seen: Seen[] = [];
  const hung = new Set<import("node:http").ServerResponse>();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "gps-verify-unit-"));
    const ca = makeCA(dir, "ca");
    const cert = issueServerCert(dir, ca, "registry");
    server = createHttpsServer({ cert: cert.cert, key: cert.key }, (req, res) => {
      const r: Seen = { method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers };
      seen.push(r);
      const reply = script(r, realm);
      if (reply === "hang") {
        hung.add(res);
        return;
      }
      res.writeHead(reply.status, reply.headers ?? {});
      res.end(reply.body ?? "");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    realm = `https://${host}/jwt/auth`;
    agent = new Agent({ connect: { ca: ca.cert } });
  });
  after(async () => {
    for (const r of hung) r.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    seen = [];
    script = gitlabLike();
  });

  const req = (o: Partial<VerifyRequest> = {}): VerifyRequest => ({
    registry: host,
    repository: "grp/app",
    tag: "latest",
    username: USER,
    password: new Secret(TOKEN),
    ...o,
  });
  const port = (timeoutMs?: number) => registryPort({ dispatcher: agent, ...(timeoutMs ? { timeoutMs } : {}) });

  test("with a tag: challenge -> Basic to the realm -> Bearer HEAD with every manifest type; returns the digest", async () => {
    const r = await port().verifyPull(req());
    assert.deepEqual(r, {
      registry: host,
      repository: "grp/app",
      tag: "latest",
      digest: DIGEST,
      realm,
      anonymous: false,
    });
    assert.deepEqual(
      seen.map((s) => `${s.method} ${s.url}`),
      [
        "GET /v2/",
        "GET /jwt/auth?service=container_registry&scope=repository%3Agrp%2Fapp%3Apull",
        "HEAD /v2/grp/app/manifests/latest",
      ],
    );
    assert.equal(seen[0]!.headers.authorization, undefined, "no credentials before the challenge");
    assert.equal(seen[1]!.headers.authorization, `Basic ${BASIC}`);
    assert.match(String(seen[2]!.headers.authorization), /^Bearer eyJ/);
    const accept = String(seen[2]!.headers.accept)
      .split(",")
      .map((s) => s.trim());
    for (const t of MANIFEST_TYPES) assert.ok(accept.includes(t), `Accept lacks ${t}`);
  });

  test("without a tag: stops after the access check", async () => {
    const r = await port().verifyPull(req({ tag: undefined }));
    assert.equal(r.digest, undefined);
    assert.equal(r.tag, undefined);
    assert.equal(r.anonymous, false);
    assert.deepEqual(
      seen.map((s) => s.method + " " + s.url.split("?")[0]),
      ["GET /v2/", "GET /jwt/auth"],
    );
  });

  test("access_token (distribution's other field) is accepted", async () => {
    script = gitlabLike({ tokenField: "access_token" });
    assert.equal((await port().verifyPull(req())).digest, DIGEST);
  });

  test("200 from the realm with access: [] fails at 'access', even though a manifest would answer", async () => {
    script = gitlabLike({ grant: [] });
    const e = await rejects(port().verifyPull(req()));
    assert.equal(e.step, "access");
    assert.equal(e.status, 200);
    assert.match(e.message, /granting no pull on grp\/app \(access: \[\]\)/);
    assert.match(e.message, /another project/);
    assert.match(e.message, /container registry is disabled for the project/);
    assert.equal(
      seen.some((s) => s.url.includes("/manifests/")),
      false,
    );
  });

  test("a grant for another repository is named", async () => {
    script = gitlabLike({ grant: [{ type: "repository", name: "grp/other", actions: ["pull"] }] });
    const e = await rejects(port().verifyPull(req({ tag: undefined })));
    assert.equal(e.step, "access");
    assert.match(e.message, /access: repository:grp\/other:pull/);
  });

  test("401 from the realm: username or token; the server's echo of the credentials is redacted", async () => {
    const base = gitlabLike();
    script = (r, rl) => {
      if (r.url.startsWith("/jwt/auth")) {
        // A careless server quoting what it got: the message must not carry it on.
        return {
          status: 401,
          body: JSON.stringify({
            errors: [{ code: "UNAUTHORIZED", message: `bad ${r.headers.authorization} for ${USERPASS} (${TOKEN})` }],
          }),
        };
      }
      return base(r, rl);
    };
    const e = await rejects(port().verifyPull(req({ username: "gps-pull" })));
    assert.equal(e.step, "token");
    assert.equal(e.status, 401);
    assert.equal(e.code, "UNAUTHORIZED");
    assert.match(e.message, /username "gps-pull"/);
    assert.match(e.message, /expired, revoked or deleted/);
    assert.match(e.message, /bad Basic \*\*\*/);
  });

  test("401 with GitLab's body quotes the start of its message", async () => {
    const base = gitlabLike();
    script = (r, rl) =>
      r.url.startsWith("/jwt/auth")
        ? { status: 401, body: JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: JWT_401 }] }) }
        : base(r, rl);
    const e = await rejects(port().verifyPull(req()));
    assert.match(e.message, /answered HTTP 401 UNAUTHORIZED "HTTP Basic: Access denied\./);
    assert.match(e.message, /deploy token's own username exactly/);
  });

  const jwtAuthAnswer = (reply: Reply): Script => {
    const base = gitlabLike();
    return (r, rl) => (r.url.startsWith("/jwt/auth") ? reply : base(r, rl));
  };

  test("403 DENIED: the token lacks read_registry", async () => {
    script = jwtAuthAnswer({ status: 403, body: '{"errors":[{"code":"DENIED","message":"access forbidden"}]}' });
    const e = await rejects(port().verifyPull(req()));
    assert.equal(e.step, "token");
    assert.equal(e.status, 403);
    assert.equal(e.code, "DENIED");
    assert.match(e.message, /HTTP 403 DENIED "access forbidden"/);
    assert.ok(
      e.message.includes(`GET ${realm}?service=container_registry&scope=repository:grp/app:pull answered`),
      "the request as people read it",
    );
    assert.match(e.message, /lacks the read_registry scope/);
  });

  test("404 UNAVAILABLE: the instance's registry is off", async () => {
    script = jwtAuthAnswer({
      status: 404,
      body: '{"errors":[{"code":"UNAVAILABLE","message":"registry not enabled"}]}',
    });
    const e = await rejects(port().verifyPull(req()));
    assert.equal(e.step, "token");
    assert.equal(e.code, "UNAVAILABLE");
    assert.match(e.message, /not enabled on this GitLab instance/);
  });

  test("404 with an empty body: the registry's service is unknown to GitLab", async () => {
    script = jwtAuthAnswer({ status: 404, body: "" });
    const e = await rejects(port().verifyPull(req()));
    assert.equal(e.step, "token");
    assert.match(e.message, /with an empty body/);
    assert.match(e.message, /no registry service named "container_registry"/);
  });

  test("a redirect from the realm is not followed (it would carry the credentials)", async () => {
    script = jwtAuthAnswer({ status: 302, headers: { location: "https://elsewhere.test/jwt/auth" } });
    const e = await rejects(port().verifyPull(req()));
    assert.equal(e.step, "token");
    assert.match(e.message, /redirects to https:\/\/elsewhere\.test\/jwt\/auth/);
    assert.equal(seen.length, 2);
  });

  test("a 200 without a token", async () => {
    script = jwtAuthAnswer({ status: 200, body: "{}" });
    const e = await rejects(port().verifyPull(req()));
    assert.equal(e.step, "token");
    assert.match(e.message, /without a token/);
  });

  const manifestAnswer = (head: Reply, get?: Reply): Script => {
    const base = gitlabLike();
    return (r, rl) => {
      if (!r.url.startsWith("/v2/grp/app/manifests/")) return base(r, rl);
      if (r.method === "HEAD") return head;
      return get ?? head;
    };
  };

  const MANIFEST_UNKNOWN =
    '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"nope"}}]}';
  const withTags = (tags: Reply): Script => {
    const inner = manifestAnswer({ status: 404 }, { status: 404, body: MANIFEST_UNKNOWN });
    return (r, rl) =>
      r.url.startsWith("/v2/grp/app/tags/list") && String(r.headers.authorization).startsWith("Bearer ")
        ? tags
        : inner(r, rl);
  };

  test("manifest 404: HEAD has no body, so the same GET tells MANIFEST_UNKNOWN; the tag list names what is there", async () => {
    script = withTags({ status: 200, body: JSON.stringify({ name: "grp/app", tags: ["1.0", "latest"] }) });
    const e = await rejects(port().verifyPull(req({ tag: "nope" })));
    assert.equal(e.step, "manifest");
    assert.equal(e.status, 404);
    assert.equal(e.code, "MANIFEST_UNKNOWN");
    assert.ok(
      e.message.includes(
        `Image ${host}/grp/app:nope does not exist: tag "nope" is not in ${host}/grp/app (tags there: 1.0, latest)`,
      ),
      e.message,
    );
    const after = seen.slice(seen.findIndex((s) => s.url.includes("/manifests/")));
    assert.deepEqual(
      after.map((s) => `${s.method} ${s.url}`),
      ["HEAD /v2/grp/app/manifests/nope", "GET /v2/grp/app/manifests/nope", "GET /v2/grp/app/tags/list?n=10"],
    );
    for (const s of after) assert.match(String(s.headers.authorization), /^Bearer /);
  });

  test("distribution's MANIFEST_UNKNOWN for a repository that does not exist: the tag list's NAME_UNKNOWN tells", async () => {
    script = withTags({
      status: 404,
      body: '{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry","detail":{"name":"grp/app"}}]}',
    });
    const e = await rejects(port().verifyPull(req({ tag: "nope" })));
    assert.equal(e.code, "MANIFEST_UNKNOWN");
    assert.ok(e.message.includes(`Repository ${host}/grp/app does not exist`), e.message);
  });

  test("the tag list failing does not hide the manifest's answer", async () => {
    script = withTags({ status: 500, body: "oops" });
    const e = await rejects(port().verifyPull(req({ tag: "nope" })));
    assert.equal(e.code, "MANIFEST_UNKNOWN");
    assert.ok(
      e.message.includes(`Image ${host}/grp/app:nope does not exist: tag "nope" is not in ${host}/grp/app. Push`),
      e.message,
    );
  });

  test("manifest 404 NAME_UNKNOWN: the repository is empty", async () => {
    script = manifestAnswer(
      { status: 404 },
      {
        status: 404,
        body: '{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry","detail":{"name":"grp/app"}}]}',
      },
    );
    const e = await rejects(port().verifyPull(req()));
    assert.equal(e.code, "NAME_UNKNOWN");
    assert.match(e.message, new RegExp(`Repository ${host}/grp/app does not exist`));
  });

  test("manifest 401 insufficient_scope vs invalid_token", async () => {
    script = manifestAnswer({
      status: 401,
      headers: {
        "www-authenticate": `Bearer realm="${realm}",service="container_registry",scope="repository:grp/app:pull",error="insufficient_scope"`,
      },
    });
    let e = await rejects(port().verifyPull(req()));
    assert.equal(e.step, "manifest");
    assert.equal(e.status, 401);
    assert.match(e.message, /refused the token for grp\/app \(insufficient_scope\)/);
    script = manifestAnswer({
      status: 401,
      headers: { "www-authenticate": `Bearer realm="${realm}",service="container_registry",error="invalid_token"` },
    });
    e = await rejects(port().verifyPull(req()));
    assert.match(e.message, /invalid_token.*issuer, service or rootcertbundle/);
  });

  test("an open /v2/ with an open repository: anonymous, with the digest", async () => {
    script = (r) => {
      if (r.url === "/v2/") return { status: 200, body: "{}" };
      if (r.url === "/v2/grp/app/manifests/latest")
        return { status: 200, headers: { "docker-content-digest": DIGEST } };
      return { status: 500 };
    };
    const r = await port().verifyPull(req());
    assert.deepEqual(r, {
      registry: host,
      repository: "grp/app",
      tag: "latest",
      digest: DIGEST,
      realm: undefined,
      anonymous: true,
    });
    assert.equal(
      seen.some((s) => s.headers.authorization !== undefined),
      false,
      "credentials were sent to an open registry",
    );
  });

  test("an open /v2/ with a guarded repository: the repository's challenge starts the flow", async () => {
    const base = gitlabLike();
    script = (r, rl) => (r.url === "/v2/" ? { status: 200, body: "{}" } : base(r, rl));
    const r = await port().verifyPull(req({ tag: undefined }));
    assert.equal(r.anonymous, false);
    assert.deepEqual(
      seen.map((s) => s.method + " " + s.url.split("?")[0]),
      ["GET /v2/", "GET /v2/grp/app/tags/list", "GET /jwt/auth"],
    );
  });

  test("a registry asking for Basic is not a GitLab registry", async () => {
    script = () => ({ status: 401, headers: { "www-authenticate": 'Basic realm="Registry Realm"' } });
    const e = await rejects(port().verifyPull(req()));
    assert.equal(e.step, "registry");
    assert.match(e.message, /asks for Basic authentication/);
    assert.equal(seen.length, 1);
  });

  test("/v2/ 404: not the registry host", async () => {
    script = () => ({ status: 404, headers: { "content-type": "text/html" }, body: "<html>Not found</html>" });
    const e = await rejects(port().verifyPull(req()));
    assert.equal(e.step, "registry");
    assert.match(e.message, /does not serve the registry API at \/v2\//);
    assert.doesNotMatch(e.message, /<html>/);
  });

  test("a plain-http realm off loopback is refused before the token is sent", async () => {
    script = () => ({
      status: 401,
      headers: { "www-authenticate": 'Bearer realm="http://gitlab.example.com/jwt/auth",service="container_registry"' },
    });
    const e = await rejects(port().verifyPull(req()));
    assert.equal(e.step, "registry");
    assert.match(e.message, /points to http:\/\/gitlab\.example\.com/);
    assert.match(e.message, /unencrypted/);
  });

  test("a plain-http realm on loopback is used (the GitLab stand-in, a local GitLab)", async () => {
    const plain = createHttpServer((r, res) => {
      seen.push({ method: r.method ?? "GET", url: `plain:${r.url}`, headers: r.headers });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ token: jwt(gitlabClaims([pullApp])) }));
    });
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
    try {
      const plainRealm = `http://localhost:${(plain.address() as AddressInfo).port}/jwt/auth`;
      const base = gitlabLike();
      script = (r) => base(r, plainRealm);
      const r = await port().verifyPull(req({ tag: undefined }));
      assert.equal(r.realm, plainRealm);
      assert.equal(seen.filter((s) => s.url.startsWith("plain:")).length, 1);
    } finally {
      plain.closeAllConnections();
      await new Promise((resolve) => plain.close(resolve));
    }
  });

  test("no answer within the timeout", async () => {
    script = () => "hang";
    const e = await rejects(port(200).verifyPull(req()));
    assert.equal(e.step, "registry");
    assert.equal(e.code, "TIMEOUT");
    assert.match(e.message, /no answer within 0\.2 s/);
  });

  test("a registry certificate from an unknown CA: the message names the host and --ca-file", async () => {
    const e = await rejects(registryPort().verifyPull(req()));
    assert.equal(e.step, "registry");
    // Which code depends on whether the server sends its chain; both mean "unknown CA".
    assert.match(String(e.code), /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)$/);
    assert.match(e.message, new RegExp(`TLS certificate of ${host.replace(/\./g, "\\.")} is not trusted`));
    assert.match(e.message, /--ca-file/);
    assert.equal(seen.length, 0);
  });

  test("registryPortFor trusts the --ca-file CA", async () => {
    const { readFileSync } = await import("node:fs");
    const r = await registryPortFor(readFileSync(join(dir, "ca.crt"), "utf8")).verifyPull(req());
    assert.equal(r.digest, DIGEST);
  });

  test("nothing listening", async () => {
    const probe = createHttpServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const closed = `127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise((resolve) => probe.close(resolve));
    const e = await rejects(port().verifyPull(req({ registry: closed })));
    assert.equal(e.step, "registry");
    assert.equal(e.code, "ECONNREFUSED");
    assert.match(e.message, new RegExp(`cannot connect to ${closed.replace(/\./g, "\\.")}`));
  });
});
