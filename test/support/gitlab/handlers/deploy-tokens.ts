// The deploy token REST API: list, create, show and delete a project's or a
// group's deploy tokens, and the administrators' instance-wide list. Project
// tokens need Maintainer; a group's need Maintainer to read and Owner to
// change. Validation follows Grape's declared params first, then the model's
// (messages joined by Rails' to_sentence). DELETE is a hard delete; revoking
// is UI-only (the handle's revokeToken()).
import { randomBytes } from "node:crypto";
import { DEPLOY_TOKEN_SCOPES, type DeployTokenState } from "../api.ts";
import { ROLE_LEVEL, groupRole, groupVisible, projectRole } from "../auth.ts";
import {
  type Params,
  type Resp,
  boolParam,
  empty,
  forbidden,
  grapeError,
  intParam,
  json,
  msg,
  notFound,
  paginate,
  parseIso8601,
  toSentence,
  unauthorized,
} from "../http.ts";
import type { ApiCall, Route } from "../router.ts";
import { type Store, findBy } from "../store.ts";

const USERNAME_RE = /^[a-zA-Z0-9.+_-]+$/;

/** API::Entities::DeployToken (the secret only on create). */
function entity(s: Store, t: DeployTokenState): Record<string, unknown> {
  return {
    id: t.id,
    name: t.name,
    username: t.username,
    expires_at: t.expires_at,
    scopes: [...t.scopes],
    revoked: t.revoked,
    expired: s.expiredField(t),
  };
}

function createToken(s: Store, owner: DeployTokenState["owner"], params: Params): Resp {
  // Grape parameter validation (declared order: name, scopes, expires_at, username).
  const errors: string[] = [];
  if (params.name === undefined || params.name === null) errors.push("name is missing");
  let scopes: string[] | undefined;
  const rawScopes = params.scopes;
  if (rawScopes === undefined || rawScopes === null) errors.push("scopes is missing");
  else {
    if (Array.isArray(rawScopes)) scopes = rawScopes.map((sc) => String(sc).trim());
    else if (typeof rawScopes === "string")
      scopes = rawScopes
        .split(",")
        .map((sc) => sc.trim())
        .filter((sc) => sc !== "");
    if (!scopes) errors.push("scopes is invalid");
    else if (scopes.some((sc) => !(DEPLOY_TOKEN_SCOPES as readonly string[]).includes(sc)))
      errors.push("scopes does not have a valid value");
  }
  if (errors.length) return grapeError(errors);

  // Model validation.
  const name = String(params.name);
  const rawUser = params.username;
  const username = rawUser === undefined || rawUser === null ? undefined : String(rawUser);
  const rawExp = params.expires_at;
  const problems: string[] = [];
  if (name.trim() === "") problems.push("Name can't be blank");
  if (name.length > 255) problems.push("Name is too long (maximum is 255 characters)");
  if (username !== undefined) {
    if (username.length > 255) problems.push("Username is too long (maximum is 255 characters)");
    if (!USERNAME_RE.test(username)) problems.push("Username can contain only letters, digits, '_', '-', '+', and '.'");
  }
  if (!scopes || scopes.length === 0) problems.push("Scopes can't be blank");
  let expiresAt: string | null = null;
  if (rawExp !== undefined && rawExp !== null && rawExp !== "") {
    const ms = typeof rawExp === "string" ? parseIso8601(rawExp.trim()) : null;
    if (ms === null) problems.push("Expires at must be in ISO 8601 format");
    else expiresAt = new Date(ms).toISOString();
  }
  if (problems.length) return msg(400, toSentence(problems));

  const id = s.newTokenId();
  const t: DeployTokenState = {
    id,
    name,
    username: username ?? `gitlab+deploy-token-${id}`,
    token: `gldt-${randomBytes(15).toString("base64url")}`,
    scopes: DEPLOY_TOKEN_SCOPES.filter((sc) => scopes!.includes(sc)),
    expires_at: expiresAt,
    revoked: false,
    deleted: false,
    owner,
    createdAt: s.now(),
  };
  s.tokens.push(t);
  return json(201, { ...entity(s, t), token: t.token });
}

/**
 * The owner a /projects|groups/:id/deploy_tokens request names and the caller's right to it:
 * the owner's tokens, or the refusal (401 before authenticate!, 404 when unseen, 403 below the role).
 */
function ownedTokens(
  call: ApiCall,
  owner: "projects" | "groups",
): Resp | { ref: DeployTokenState["owner"]; owned: DeployTokenState[] } {
  const { s, user, method } = call;
  if (!user) return unauthorized(); // before { authenticate! }
  let ref: DeployTokenState["owner"];
  if (owner === "projects") {
    const p = findBy(s.projects, call.path.id!);
    if (!p || projectRole(s, user, p) === 0) return notFound();
    ref = { kind: "project", id: p.id };
    if (projectRole(s, user, p) < ROLE_LEVEL.maintainer) return forbidden();
  } else {
    const g = findBy(s.groups, call.path.id!);
    if (!g || !groupVisible(s, user, g)) return notFound();
    ref = { kind: "group", id: g.id };
    const need = method === "GET" ? ROLE_LEVEL.maintainer : ROLE_LEVEL.owner;
    if (groupRole(s, user, g) < need) return forbidden();
  }
  const owned = s.tokens.filter((t) => !t.deleted && t.owner.kind === ref.kind && t.owner.id === ref.id);
  return { ref, owned };
}

/** `?active=true` keeps only live tokens; ordered by id, paginated. */
function listTokens(call: ApiCall, tokens: DeployTokenState[]): Resp {
  const act = boolParam(call.params.active);
  if (act === null) return grapeError(["active is invalid"]);
  const list = tokens.filter((t) => act !== true || call.s.active(t)).sort((x, y) => x.id - y.id);
  return paginate(
    list.map((t) => entity(call.s, t)),
    call.page,
  );
}

/** The :token_id of a project's or group's own (not deleted) token. */
function oneToken(call: ApiCall, owned: DeployTokenState[]): Resp | DeployTokenState {
  const tid = intParam(call.path.token_id);
  if (tid === undefined || Number.isNaN(tid)) return grapeError(["token_id is invalid"]);
  return owned.find((x) => x.id === tid) ?? notFound();
}

const isResp = (x: object): x is Resp => "status" in x && "body" in x;

function ownerRoutes(owner: "projects" | "groups"): Route[] {
  const base = `${owner}/:id/deploy_tokens`;
  return [
    {
      method: "GET",
      path: base,
      handle: (call) => {
        const o = ownedTokens(call, owner);
        return isResp(o) ? o : listTokens(call, o.owned);
      },
    },
    {
      method: "POST",
      path: base,
      handle: (call) => {
        const o = ownedTokens(call, owner);
        return isResp(o) ? o : createToken(call.s, o.ref, call.params);
      },
    },
    {
      method: "GET",
      path: `${base}/:token_id`,
      handle: (call) => {
        const o = ownedTokens(call, owner);
        if (isResp(o)) return o;
        const t = oneToken(call, o.owned);
        return isResp(t) ? t : json(200, entity(call.s, t));
      },
    },
    {
      method: "DELETE",
      path: `${base}/:token_id`,
      handle: (call) => {
        const o = ownedTokens(call, owner);
        if (isResp(o)) return o;
        const t = oneToken(call, o.owned);
        if (isResp(t)) return t;
        t.deleted = true; // hard delete
        return empty(204);
      },
    },
  ];
}

export const routes: Route[] = [
  {
    method: "GET",
    path: "deploy_tokens",
    handle: (call) => {
      if (!call.user) return unauthorized();
      if (!call.user.admin) return forbidden();
      return listTokens(
        call,
        call.s.tokens.filter((t) => !t.deleted),
      );
    },
  },
  ...ownerRoutes("projects"),
  ...ownerRoutes("groups"),
];
