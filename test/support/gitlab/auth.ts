// Who is asking and what they may do. Roles: a user's level in a project or
// group, inherited from ancestor groups, administrators above all. The REST
// API's credentials: a personal access token (PRIVATE-TOKEN or Bearer) and the
// scopes API::APIGuard checks before any route. The registry's: Basic
// credentials that are a personal access token or a deploy token, reduced to
// the pull/push/delete/admin abilities /jwt/auth grants.
import type { IncomingMessage } from "node:http";
import type { DeployTokenState, Role } from "./api.ts";
import { insufficientScope, type Resp } from "./http.ts";
import { type Group, type Pat, type Project, type Store, type User, under } from "./store.ts";

export const ROLE_LEVEL: Record<Role, number> = { guest: 10, reporter: 20, developer: 30, maintainer: 40, owner: 50 };
const ADMIN_LEVEL = 60;

/** The highest role from the group's own members and its ancestors'; every group for an administrator. */
export function groupRole(s: Store, user: User | undefined, g: Group): number {
  if (!user) return 0;
  if (user.admin) return ADMIN_LEVEL;
  return memberLevel(s, user.username, g);
}

export function projectRole(s: Store, user: User | undefined, p: Project): number {
  if (!user) return 0;
  if (user.admin) return ADMIN_LEVEL;
  let level = 0;
  const r = p.members[user.username];
  if (r) level = ROLE_LEVEL[r];
  for (const g of s.groups) {
    if (under(p.path, g.path)) {
      const gr = g.members[user.username];
      if (gr) level = Math.max(level, ROLE_LEVEL[gr]);
    }
  }
  return level;
}

/** A user's own membership of a group, inherited from ancestors included, without the admin shortcut (members/all). */
export function memberLevel(s: Store, username: string, g: Group): number {
  let level = 0;
  for (const other of s.groups) {
    if (other === g || under(g.path, other.path)) {
      const r = other.members[username];
      if (r) level = Math.max(level, ROLE_LEVEL[r]);
    }
  }
  return level;
}

/** A private group is visible to its members and to members of anything below it. */
export function groupVisible(s: Store, user: User | undefined, g: Group): boolean {
  if (!user) return false;
  if (groupRole(s, user, g) > 0) return true;
  return (
    s.projects.some((p) => under(p.path, g.path) && projectRole(s, user, p) > 0) ||
    s.groups.some((sg) => under(sg.path, g.path) && groupRole(s, user, sg) > 0)
  );
}

// ---- REST API: personal access tokens and their scopes ------------------------------------------

export interface Caller {
  user: User;
  scopes: string[];
  pat: Pat;
}

/**
 * undefined = no credential given; "invalid" / "expired" = 401; a revoked token is
 * `{ revoked }` (401, and on a rotate endpoint reuse detection); otherwise the caller.
 */
export function apiCaller(
  s: Store,
  req: IncomingMessage,
): Caller | "invalid" | "expired" | { revoked: Pat } | undefined {
  let secret: string | undefined;
  const pt = req.headers["private-token"];
  if (typeof pt === "string") secret = pt;
  const authz = req.headers.authorization;
  if (secret === undefined && typeof authz === "string") {
    const m = /^Bearer\s+(.+)$/i.exec(authz);
    if (m) secret = m[1]!.trim();
  }
  if (secret === undefined) return undefined;
  const pat = s.pats.get(secret);
  const user = pat ? s.users.get(pat.username) : undefined;
  if (!pat || !user) return "invalid";
  if (pat.revoked) return { revoked: pat };
  if (s.patExpired(pat)) return "expired";
  return { user, scopes: pat.scopes, pat };
}

/**
 * API::APIGuard's scope check, before any route runs: a token without `api` may
 * only read, and only with `read_api`, unless the route takes any scope.
 */
export function scopeRefusal(
  caller: Caller,
  method: string,
  anyScope: boolean,
  alsoScopes: string[] = [],
): Resp | undefined {
  if (caller.scopes.includes("api") || anyScope) return undefined;
  if (alsoScopes.some((x) => caller.scopes.includes(x))) return undefined;
  if (method !== "GET") return insufficientScope(["api", ...alsoScopes].join(" "));
  if (!caller.scopes.includes("read_api")) return insufficientScope("api read_api");
  return undefined;
}

// ---- the registry: Basic credentials to abilities ------------------------------------------------

export type Actor =
  | { kind: "user"; user: User; abilities: Set<string> }
  | { kind: "deploy_token"; token: DeployTokenState; abilities: Set<string> }
  | { kind: "anonymous"; abilities: Set<string> };

/** The scopes Gitlab::Auth accepts from a personal access token at a Git/registry login. */
const PAT_SCOPES = [
  "api",
  "read_api",
  "read_user",
  "read_repository",
  "write_repository",
  "read_registry",
  "write_registry",
  "sudo",
  "admin_mode",
  "create_runner",
  "manage_runner",
  "ai_features",
  "k8s_proxy",
  "read_service_ping",
  "self_rotate",
];

/** Gitlab::Auth abilities_for_scopes, reduced to the registry abilities. */
function patAbilities(scopes: string[]): Set<string> {
  const out = new Set<string>();
  for (const sc of scopes) {
    if (sc === "api") ["pull", "push", "delete", "admin"].forEach((x) => out.add(x));
    if (sc === "read_api" || sc === "read_registry") out.add("pull");
    if (sc === "write_registry") out.add("push");
  }
  return out;
}

/**
 * authenticate_project_or_user: only when Basic credentials are present (anonymous
 * otherwise). find_for_git_client order: ... personal access token, then deploy
 * token, whose login must be its username. null = the credentials fit nothing (401).
 */
export function registryActor(s: Store, req: IncomingMessage): Actor | null {
  const authz = req.headers.authorization;
  const basic = typeof authz === "string" ? /^Basic\s+(\S+)\s*$/i.exec(authz) : null;
  if (!basic) return { kind: "anonymous", abilities: new Set(["pull"]) };
  const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  const login = colon < 0 ? decoded : decoded.slice(0, colon);
  const password = colon < 0 ? "" : decoded.slice(colon + 1);
  if (password === "") return null;
  const pat = s.pats.get(password);
  const u = pat ? s.users.get(pat.username) : undefined;
  if (pat && u && !pat.revoked && !s.patExpired(pat) && pat.scopes.some((sc) => PAT_SCOPES.includes(sc))) {
    return { kind: "user", user: u, abilities: patAbilities(pat.scopes) };
  }
  const t = s.tokens.find((x) => x.token === password && s.active(x));
  if (t && login !== "" && login === t.username) {
    const ab = new Set<string>();
    if (t.scopes.includes("read_registry")) ab.add("pull");
    if (t.scopes.includes("write_registry")) ab.add("push");
    return { kind: "deploy_token", token: t, abilities: ab };
  }
  return null;
}

/** A group deploy token reaches every project below its group. */
function deployTokenReaches(s: Store, t: DeployTokenState, p: Project): boolean {
  if (t.owner.kind === "project") return t.owner.id === p.id;
  const g = s.groups.find((x) => x.id === t.owner.id);
  return g !== undefined && under(p.path, g.path);
}

/** One registry action on one project's repository (Auth::ContainerRegistryAuthenticationService). */
export function allowedAction(s: Store, actor: Actor, p: Project, action: string): boolean {
  if (actor.kind === "deploy_token") {
    if (!deployTokenReaches(s, actor.token, p)) return false;
    if (action === "pull") return actor.token.scopes.includes("read_registry");
    if (action === "push") return actor.token.scopes.includes("write_registry");
    return false;
  }
  if (actor.kind === "anonymous") return false; // every stand-in project is private
  const level = projectRole(s, actor.user, p);
  if (action === "pull") return actor.abilities.has("pull") && level >= ROLE_LEVEL.reporter;
  if (action === "push") return actor.abilities.has("push") && level >= ROLE_LEVEL.developer;
  if (action === "delete") return actor.abilities.has("delete") && level >= ROLE_LEVEL.maintainer;
  if (action === "*") return actor.abilities.has("admin") && actor.user.admin;
  return false;
}
