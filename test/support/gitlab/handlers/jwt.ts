// GET /jwt/auth: the container registry's token endpoint
// (Auth::ContainerRegistryAuthenticationService). The Basic credentials
// become an actor (../auth.ts); each requested `repository:<path>:<actions>`
// scope is granted the actions the actor may take on the project the path
// falls in, and `registry:catalog:*` only to an administrator's `api` token.
// The answer is an RS256 JWT the registry verifies with the signing cert.
import { randomUUID, sign as cryptoSign, type KeyObject } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { allowedAction, registryActor } from "../auth.ts";
import { type Ctx, type Resp, empty, json } from "../http.ts";
import type { Project, Store } from "../store.ts";

const JWT_LIFETIME_S = 5 * 60;

const JWT_401_MESSAGE = (base: string): string =>
  "HTTP Basic: Access denied. If a password was provided for Git authentication, the password was incorrect or " +
  "you're required to use a token instead of a password. If a token was provided, it was either incorrect, expired, " +
  `or improperly scoped. See ${base}/help/user/profile/account/two_factor_authentication_troubleshooting.md` +
  "#error-message-http-basic-access-denied-if-a-password-was-provided-for-git-authentication-";

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

function signJwt(header: object, claims: object, key: KeyObject): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(cryptoSign("sha256", Buffer.from(input), key))}`;
}

/** The project a repository path belongs to: the longest project path it equals or lies under. */
function projectForRepository(s: Store, name: string): Project | undefined {
  const n = name.toLowerCase();
  let best: Project | undefined;
  for (const p of s.projects) {
    const pp = p.path.toLowerCase();
    if ((n === pp || n.startsWith(`${pp}/`)) && (!best || pp.length > best.path.length)) best = p;
  }
  return best;
}

export function handleJwt(s: Store, req: IncomingMessage, query: URLSearchParams, ctx: Ctx): Resp {
  const actor = registryActor(s, req);
  if (!actor) return json(401, { errors: [{ code: "UNAUTHORIZED", message: JWT_401_MESSAGE(s.baseUrl) }] });
  if (actor.kind !== "anonymous") ctx.auth = actor.kind === "user" ? actor.user.username : actor.token.username;

  const service = query.get("service");
  if (service !== "container_registry") return empty(404);
  if (!s.registry) return json(404, { errors: [{ code: "UNAVAILABLE", message: "registry not enabled" }] });
  const denied = json(403, { errors: [{ code: "DENIED", message: "access forbidden" }] });
  if (actor.abilities.size === 0) return denied;

  const scopes = query
    .getAll("scope")
    .flatMap((sc) => sc.split(" "))
    .filter((sc) => sc !== "");
  if (scopes.length === 0 && actor.kind === "anonymous") return denied;

  const access: Array<Record<string, unknown>> = [];
  for (const scope of scopes) {
    const first = scope.indexOf(":");
    const last = scope.lastIndexOf(":");
    if (first < 0 || last === first) continue;
    const type = scope.slice(0, first);
    const name = scope.slice(first + 1, last);
    const actions = [
      ...new Set(
        scope
          .slice(last + 1)
          .split(",")
          .filter((x) => x !== ""),
      ),
    ];
    if (type === "registry") {
      if (
        name === "catalog" &&
        actions.includes("*") &&
        actor.kind === "user" &&
        actor.user.admin &&
        actor.abilities.has("admin")
      )
        access.push({ type: "registry", name: "catalog", actions: ["*"] });
      continue;
    }
    if (type !== "repository") continue;
    const p = projectForRepository(s, name);
    if (!p || !p.registryEnabled) continue;
    const granted = actions.filter((act) => allowedAction(s, actor, p, act));
    if (granted.length === 0) continue;
    access.push({
      type,
      name,
      actions: granted,
      meta: { project_path: p.path.toLowerCase(), project_id: p.id, root_namespace_id: s.rootNamespaceId(p.path) },
    });
  }

  // Registry JWTs are checked against the registry's wall clock, so they use real time.
  const iat = Math.floor(Date.now() / 1000);
  const header = { typ: "JWT", kid: s.signing.kid, alg: "RS256" };
  const claims: Record<string, unknown> = {
    jti: randomUUID(),
    aud: service,
    iss: "gitlab-issuer",
    iat,
    nbf: iat - 5,
    exp: iat + JWT_LIFETIME_S,
    access,
  };
  if (actor.kind === "deploy_token") {
    claims.auth_type = "deploy_token";
    claims.user = signJwt(
      header,
      {
        iss: "gitlab-issuer",
        iat,
        exp: iat + JWT_LIFETIME_S,
        user_info: { token_type: "deploy_token", username: actor.token.username, deploy_token_id: actor.token.id },
      },
      s.signing.key,
    );
  } else if (actor.kind === "user") {
    claims.sub = actor.user.username;
    claims.auth_type = "personal_access_token";
    claims.user = signJwt(
      header,
      {
        iss: "gitlab-issuer",
        iat,
        exp: iat + JWT_LIFETIME_S,
        user_info: { token_type: "personal_access_token", username: actor.user.username, user_id: actor.user.id },
      },
      s.signing.key,
    );
  } else {
    claims.auth_type = "none";
  }
  return json(200, { token: signJwt(header, claims, s.signing.key) });
}
