// GitLab stand-in for tests: an HTTP server on 127.0.0.1 that follows
// GitLab's documented REST API to the letter (deploy token REST API, project and
// group lookups, pagination, rate-limit headers, /jwt/auth issuing registry JWTs,
// an access token's own details at /personal_access_tokens/self as each GitLab
// version answers it) and injects faults on demand. Built on node:http and node:crypto only.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createPrivateKey, randomBytes, randomUUID, sign as cryptoSign, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libtrustKeyId, makeSigningCert } from "./certs.ts";

export type Role = "guest" | "reporter" | "developer" | "maintainer" | "owner";

export interface DeployTokenState {
  id: number;
  name: string;
  username: string;
  /** The secret. Tests may read it; the stand-in never logs it. */
  token: string;
  scopes: string[];
  /** As the API returns it: `2026-12-31T00:00:00.000Z`, or null when created without expiry. */
  expires_at: string | null;
  /** UI "Revoke" (the REST API cannot revoke; see revokeToken()). */
  revoked: boolean;
  /** Hard-deleted through DELETE. */
  deleted: boolean;
  owner: { kind: "project" | "group"; id: number };
  createdAt: Date;
}

export interface RecordedRequest {
  method: string;
  /** URL path as sent (still percent-encoded), without the query. */
  path: string;
  /** Raw query string without the leading `?` ("" when none). */
  query: string;
  /** Status sent, or the status the lost response would have had; 0 for drop/timeout. */
  status: number;
  /** Username of the authenticated caller (PAT owner or deploy token username); never a secret. */
  auth?: string;
  /** Set when a fault handled this request. */
  fault?: Fault["kind"];
}

interface FaultBase {
  /** Any method when omitted. */
  method?: string;
  /** Tested against the raw URL path (no query), e.g. /\/deploy_tokens$/. */
  path: RegExp;
  /** How many matching requests the fault applies to. Default: unlimited, until clearFaults(). */
  times?: number;
}
export type Fault =
  | (FaultBase & {
      kind: "status";
      status: number;
      /** Default: `Retry later` (text/plain) for 429, else `{"message":"<status> <reason>"}`. */
      body?: string;
      /** Seconds for Retry-After (default 60 on a 429; only sent otherwise when given). */
      retryAfter?: number;
      /**
       * 429 only. Default true: a Rack::Attack throttle (RateLimit-*, RateLimit-ResetTime,
       * Retry-After, body `Retry later`). false: an application limit such as GET /projects/:id
       * at 400/min, which has none of those headers (Retry-After only if retryAfter is given)
       * and GitLab's `check_rate_limit!` JSON body.
       */
      rateLimitHeaders?: boolean;
    })
  | (FaultBase & { kind: "drop" })
  | (FaultBase & { kind: "timeout" })
  | (FaultBase & { kind: "lostResponse" })
  /** Answered as usual, but only once `until` settles: a slow GitLab, for as long as a test needs one. */
  | (FaultBase & { kind: "hold"; until: Promise<unknown> });

/**
 * How GET /api/v4/personal_access_tokens/self is answered, by GitLab version:
 * - "self" (15.5 and later): the token's own details.
 * - "by-id" (15.1 to 15.4): only GET /personal_access_tokens/:id exists, so
 *   "self" is an id that finds no token: 401 for a user, 404 for an administrator.
 * - "absent" (before 15.1): no such route, GitLab's catch-all 404.
 */
export type PatSelfMode = "self" | "by-id" | "absent";

export interface PersonalAccessTokenOptions {
  /** Default: the token's user name plus " token". */
  name?: string;
  /** `YYYY-MM-DD`: the token stops working at 00:00 UTC that day. Default null (a token from before GitLab 16.0 that never expires). */
  expiresAt?: string | null;
}

export interface GitLabStandIn {
  url: string;
  addUser(u: { username: string; admin?: boolean }): void;
  addPersonalAccessToken(username: string, token: string, scopes: string[], opts?: PersonalAccessTokenOptions): void;
  /** Which GitLab version's /personal_access_tokens/self to serve (default "self"). */
  setPatSelf(mode: PatSelfMode): void;
  addProject(p: { id: number; path: string; registryEnabled?: boolean; members?: Record<string, Role> }): void;
  addGroup(g: { id: number; path: string; members?: Record<string, Role> }): void;
  setRegistry(r: { host: string } | null): void;
  tokens: DeployTokenState[];
  isLive(id: number): boolean;
  /** UI-style revoke: sets `revoked: true`; the token stays listed. */
  revokeToken(id: number): void;
  requests: RecordedRequest[];
  resetRequests(): void;
  fault(f: Fault): void;
  clearFaults(): void;
  jwt: { realm: string; service: "container_registry"; issuer: "gitlab-issuer"; signingCertPath: string; kid: string };
  close(): Promise<void>;
}

const ROLE_LEVEL: Record<Role, number> = { guest: 10, reporter: 20, developer: 30, maintainer: 40, owner: 50 };
const ADMIN_LEVEL = 60;

/** DeployToken::AVAILABLE_SCOPES, in the order GitLab returns them. */
export const DEPLOY_TOKEN_SCOPES = [
  "read_repository",
  "read_registry",
  "write_registry",
  "read_package_registry",
  "write_package_registry",
  "read_virtual_registry",
  "write_virtual_registry",
] as const;

/** Stored expiry for tokens created without one ("never expires"). */
const NEVER = Date.UTC(3000, 0, 1);
const JWT_LIFETIME_S = 5 * 60;
const USERNAME_RE = /^[a-zA-Z0-9.+_-]+$/;

const JWT_401_MESSAGE = (base: string): string =>
  "HTTP Basic: Access denied. If a password was provided for Git authentication, the password was incorrect or " +
  "you're required to use a token instead of a password. If a token was provided, it was either incorrect, expired, " +
  `or improperly scoped. See ${base}/help/user/profile/account/two_factor_authentication_troubleshooting.md` +
  "#error-message-http-basic-access-denied-if-a-password-was-provided-for-git-authentication-";

const REASONS: Record<number, string> = {
  400: "Bad request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

interface User {
  username: string;
  admin: boolean;
  id: number;
}
interface Pat {
  id: number;
  name: string;
  username: string;
  scopes: string[];
  expiresAt: string | null;
  createdAt: Date;
}
interface Project {
  id: number;
  path: string;
  registryEnabled: boolean;
  members: Record<string, Role>;
}
interface Group {
  id: number;
  path: string;
  members: Record<string, Role>;
}
interface Resp {
  status: number;
  headers: Record<string, string>;
  body: string;
}
type Ctx = { auth?: string };
type Params = Record<string, unknown>;

function json(status: number, value: unknown, headers: Record<string, string> = {}): Resp {
  return { status, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(value) };
}
const msg = (status: number, message: string): Resp => json(status, { message });
const notFound = (): Resp => msg(404, "404 Not found");
const unauthorized = (): Resp => msg(401, "401 Unauthorized");
/** API::APIGuard for an access token past its expires_at. */
const tokenExpired = (): Resp =>
  json(401, {
    error: "invalid_token",
    error_description: "Token is expired. You can either do re-authorization or token refresh.",
  });
const forbidden = (): Resp => msg(403, "403 Forbidden");
const grapeError = (errors: string[]): Resp => json(400, { error: errors.join(", ") });
const insufficientScope = (scope: string): Resp =>
  json(403, {
    error: "insufficient_scope",
    error_description: "The request requires higher privileges than provided by the access token.",
    scope,
  });

function toSentence(parts: string[]): string {
  if (parts.length <= 1) return parts.join("");
  if (parts.length === 2) return `${parts[0]} and ${parts[1]}`;
  return `${parts.slice(0, -1).join(", ")}, and ${parts[parts.length - 1]}`;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

function signJwt(header: object, claims: object, key: KeyObject): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(cryptoSign("sha256", Buffer.from(input), key))}`;
}

/**
 * ISO 8601 as GitLab accepts it for expires_at: a date, or a date-time with optional
 * seconds, fraction and zone (Z or ±HH[:]MM; none = UTC). Returns epoch ms or null.
 */
export function parseIso8601(value: string): number | null {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/.exec(
      value,
    );
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y),
    month = Number(mo),
    day = Number(d);
  const hour = Number(h ?? 0),
    minute = Number(mi ?? 0),
    second = Number(s ?? 0);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, frac ? Math.floor(Number(`0.${frac}`) * 1000) : 0);
  if (new Date(ms).getUTCDate() !== day) return null; // 2026-02-30
  let offset = 0;
  if (zone && zone !== "Z") {
    const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
    if (!zm) return null;
    offset = (zm[1] === "-" ? -1 : 1) * (Number(zm[2]) * 60 + Number(zm[3] ?? 0)) * 60_000;
  }
  return ms - offset;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > 1 << 20) req.destroy(new Error("body too large"));
      else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** Grape-style params: query string merged with a JSON or form body (body wins). */
function parseParams(query: URLSearchParams, body: string, contentType: string | undefined): Params | null {
  const out: Params = {};
  const addForm = (sp: URLSearchParams): void => {
    for (const key of new Set(sp.keys())) {
      const all = sp.getAll(key);
      if (key.endsWith("[]")) out[key.slice(0, -2)] = all;
      else out[key] = all.length > 1 ? all : all[0];
    }
  };
  addForm(query);
  if (body.trim() !== "") {
    if ((contentType ?? "").includes("application/json")) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return null;
      }
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) Object.assign(out, parsed);
    } else {
      addForm(new URLSearchParams(body));
    }
  }
  return out;
}

/** Grape Integer coercion: undefined when absent, NaN when invalid. */
function intParam(v: unknown): number | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v === "number") return Number.isInteger(v) ? v : NaN;
  if (typeof v === "string" && /^[+-]?\d+$/.test(v.trim())) return Number(v.trim());
  return NaN;
}

/** Grape Boolean coercion: undefined when absent, null when invalid. */
function boolParam(v: unknown): boolean | undefined | null {
  if (v === undefined || v === "") return undefined;
  if (typeof v === "boolean") return v;
  const s = String(v).toLowerCase();
  if (["true", "t", "1", "yes", "y", "on"].includes(s)) return true;
  if (["false", "f", "0", "no", "n", "off"].includes(s)) return false;
  return null;
}

export async function startGitLabStandIn(opts: { dir?: string; now?: () => Date } = {}): Promise<GitLabStandIn> {
  const now = opts.now ?? ((): Date => new Date());
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "gitlab-standin-"));
  const signing = makeSigningCert(dir, "gitlab-jwt-signing");
  const signingKey = createPrivateKey(signing.key);
  const kid = libtrustKeyId(signing.cert);

  const users = new Map<string, User>();
  const pats = new Map<string, Pat>();
  const projects: Project[] = [];
  const groups: Group[] = [];
  const tokens: DeployTokenState[] = [];
  const requests: RecordedRequest[] = [];
  let faults: Array<Fault & { left: number }> = [];
  let registry: { host: string } | null = null;
  let patSelf: PatSelfMode = "self";
  let nextTokenId = 1;
  let nextPatId = 1;
  let baseUrl = "";

  // ---- model helpers ---------------------------------------------------------------------------

  const expiryMs = (t: DeployTokenState): number => (t.expires_at === null ? NEVER : Date.parse(t.expires_at));
  /** DeployToken.active: `revoked = false AND expires_at >= NOW()`. */
  const active = (t: DeployTokenState): boolean => !t.deleted && !t.revoked && expiryMs(t) >= now().getTime();
  const startOfTodayUtc = (): number => {
    const n = now();
    return Date.UTC(n.getUTCFullYear(), n.getUTCMonth(), n.getUTCDate());
  };
  /** Ruby `expires_at < Date.today`: a day comparison, deliberately not liveness. */
  const expiredField = (t: DeployTokenState): boolean => t.expires_at !== null && expiryMs(t) < startOfTodayUtc();

  /** An access token's `expires_at` is a date: it stops working at 00:00 UTC that day. */
  const patExpired = (p: Pat): boolean =>
    p.expiresAt !== null && Date.parse(`${p.expiresAt}T00:00:00Z`) <= now().getTime();

  /** API::Entities::PersonalAccessTokenWithLastUsedIps. */
  const patEntity = (p: Pat): Record<string, unknown> => ({
    id: p.id,
    name: p.name,
    revoked: false,
    created_at: p.createdAt.toISOString(),
    description: null,
    scopes: [...p.scopes],
    user_id: users.get(p.username)!.id,
    last_used_at: now().toISOString(),
    active: !patExpired(p),
    expires_at: p.expiresAt,
    last_used_ips: ["127.0.0.1"],
  });

  const entity = (t: DeployTokenState): Record<string, unknown> => ({
    id: t.id,
    name: t.name,
    username: t.username,
    expires_at: t.expires_at,
    scopes: [...t.scopes],
    revoked: t.revoked,
    expired: expiredField(t),
  });

  const under = (path: string, ancestor: string): boolean =>
    path.toLowerCase().startsWith(`${ancestor.toLowerCase()}/`);

  function groupRole(user: User | undefined, g: Group): number {
    if (!user) return 0;
    if (user.admin) return ADMIN_LEVEL;
    let level = 0;
    for (const other of groups) {
      if (other === g || under(g.path, other.path)) {
        const r = other.members[user.username];
        if (r) level = Math.max(level, ROLE_LEVEL[r]);
      }
    }
    return level;
  }
  function projectRole(user: User | undefined, p: Project): number {
    if (!user) return 0;
    if (user.admin) return ADMIN_LEVEL;
    let level = 0;
    const r = p.members[user.username];
    if (r) level = ROLE_LEVEL[r];
    for (const g of groups) {
      if (under(p.path, g.path)) {
        const gr = g.members[user.username];
        if (gr) level = Math.max(level, ROLE_LEVEL[gr]);
      }
    }
    return level;
  }
  /** A user's own membership of a group, inherited from ancestors included, without the admin shortcut (members/all). */
  function memberLevel(username: string, g: Group): number {
    let level = 0;
    for (const other of groups) {
      if (other === g || under(g.path, other.path)) {
        const r = other.members[username];
        if (r) level = Math.max(level, ROLE_LEVEL[r]);
      }
    }
    return level;
  }
  /**
   * GET /projects/:id's `permissions` for the caller (API::Entities::ProjectWithAccess): the direct
   * membership as project_access, the closest group membership as group_access; null where none.
   */
  function permissionsFor(user: User | undefined, p: Project): Record<string, unknown> {
    const access = (level: number) => (level > 0 ? { access_level: level, notification_level: 3 } : null);
    const direct = user && p.members[user.username] ? ROLE_LEVEL[p.members[user.username]!] : 0;
    const inherited = user
      ? Math.max(
          0,
          ...groups
            .filter((g) => under(p.path, g.path))
            .map((g) => (g.members[user.username] ? ROLE_LEVEL[g.members[user.username]!] : 0)),
        )
      : 0;
    return { project_access: access(direct), group_access: access(inherited) };
  }
  /** GET /user: API::Entities::UserPublic, or UserWithAdmin (is_admin) for administrators. */
  function currentUserEntity(u: User): Record<string, unknown> {
    return {
      id: u.id,
      username: u.username,
      name: u.username,
      state: "active",
      locked: false,
      avatar_url: null,
      web_url: `${baseUrl}/${u.username}`,
      created_at: "2024-01-01T00:00:00.000Z",
      ...(u.admin ? { is_admin: true } : {}),
    };
  }

  /** A private group is visible to its members and to members of anything below it. */
  function groupVisible(user: User | undefined, g: Group): boolean {
    if (!user) return false;
    if (groupRole(user, g) > 0) return true;
    return (
      projects.some((p) => under(p.path, g.path) && projectRole(user, p) > 0) ||
      groups.some((sg) => under(sg.path, g.path) && groupRole(user, sg) > 0)
    );
  }

  function findBy<T extends { id: number; path: string }>(list: T[], raw: string): T | undefined {
    let key: string;
    try {
      key = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (/^\d+$/.test(key)) return list.find((x) => x.id === Number(key));
    return list.find((x) => x.path.toLowerCase() === key.toLowerCase());
  }

  function rootNamespaceId(path: string): number {
    const root = path.split("/")[0]!.toLowerCase();
    const g = groups.find((x) => x.path.toLowerCase() === root);
    if (g) return g.id;
    // A personal namespace: a stable synthetic id.
    let h = 0;
    for (const c of root) h = (h * 31 + c.charCodeAt(0)) % 1_000_000;
    return 1_000_000 + h;
  }

  function projectEntity(p: Project): Record<string, unknown> {
    const parts = p.path.split("/");
    const name = parts[parts.length - 1]!;
    const namespacePath = parts.slice(0, -1).join("/");
    const out: Record<string, unknown> = {
      id: p.id,
      description: null,
      name,
      name_with_namespace: parts.join(" / "),
      path: name,
      path_with_namespace: p.path,
      created_at: "2024-01-01T00:00:00.000Z",
      default_branch: "main",
      visibility: "private",
      web_url: `${baseUrl}/${p.path}`,
      http_url_to_repo: `${baseUrl}/${p.path}.git`,
      namespace: {
        id: rootNamespaceId(p.path),
        name: parts[parts.length - 2] ?? "",
        path: parts[parts.length - 2] ?? "",
        kind: groups.some((g) => g.path.toLowerCase() === namespacePath.toLowerCase()) ? "group" : "user",
        full_path: namespacePath,
      },
    };
    if (registry) out.container_registry_image_prefix = `${registry.host}/${p.path.toLowerCase()}`;
    out.container_registry_access_level = p.registryEnabled ? "enabled" : "disabled";
    out.container_registry_enabled = p.registryEnabled;
    return out;
  }

  function groupEntity(g: Group): Record<string, unknown> {
    const parts = g.path.split("/");
    const name = parts[parts.length - 1]!;
    const parent = groups.find((x) => x.path.toLowerCase() === parts.slice(0, -1).join("/").toLowerCase());
    return {
      id: g.id,
      name,
      path: name,
      full_name: parts.join(" / "),
      full_path: g.path,
      description: "",
      visibility: "private",
      web_url: `${baseUrl}/groups/${g.path}`,
      parent_id: parent ? parent.id : null,
    };
  }

  // ---- pagination ------------------------------------------------------------------------------

  function paginate(items: unknown[], params: Params, reqPath: string, query: URLSearchParams): Resp {
    const pageParam = intParam(params.page);
    const perPageParam = intParam(params.per_page);
    const errors: string[] = [];
    if (Number.isNaN(pageParam)) errors.push("page is invalid");
    if (Number.isNaN(perPageParam)) errors.push("per_page is invalid");
    if (errors.length) return grapeError(errors);
    const page = pageParam === undefined || pageParam < 1 ? 1 : pageParam;
    const perPage = perPageParam === undefined || perPageParam < 1 ? 20 : Math.min(perPageParam, 100);
    const total = items.length;
    const totalPages = Math.max(1, Math.ceil(total / perPage));
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const next = page < totalPages ? page + 1 : null;
    const prev = page > 1 ? page - 1 : null;
    const href = (p: number): string => {
      const q = new URLSearchParams(query);
      q.set("page", String(p));
      q.set("per_page", String(perPage));
      return `${baseUrl}${reqPath}?${q.toString()}`;
    };
    const links: string[] = [];
    if (next !== null) links.push(`<${href(next)}>; rel="next"`);
    if (prev !== null) links.push(`<${href(prev)}>; rel="prev"`);
    links.push(`<${href(1)}>; rel="first"`);
    links.push(`<${href(totalPages)}>; rel="last"`);
    return json(200, slice, {
      link: links.join(", "),
      "x-next-page": next === null ? "" : String(next),
      "x-page": String(page),
      "x-per-page": String(perPage),
      "x-prev-page": prev === null ? "" : String(prev),
      "x-total": String(total),
      "x-total-pages": String(totalPages),
    });
  }

  // ---- REST API --------------------------------------------------------------------------------

  type Caller = { user: User; scopes: string[]; pat: Pat } | null;

  /** undefined = no credential given; "invalid" / "expired" = 401; otherwise the caller. */
  function apiCaller(req: IncomingMessage): Caller | "invalid" | "expired" | undefined {
    let secret: string | undefined;
    const pt = req.headers["private-token"];
    if (typeof pt === "string") secret = pt;
    const authz = req.headers.authorization;
    if (secret === undefined && typeof authz === "string") {
      const m = /^Bearer\s+(.+)$/i.exec(authz);
      if (m) secret = m[1]!.trim();
    }
    if (secret === undefined) return undefined;
    const pat = pats.get(secret);
    const user = pat ? users.get(pat.username) : undefined;
    if (!pat || !user) return "invalid";
    if (patExpired(pat)) return "expired";
    return { user, scopes: pat.scopes, pat };
  }

  function createToken(owner: DeployTokenState["owner"], params: Params): Resp {
    // Grape parameter validation (declared order: name, scopes, expires_at, username).
    const errors: string[] = [];
    if (params.name === undefined || params.name === null) errors.push("name is missing");
    let scopes: string[] | undefined;
    const rawScopes = params.scopes;
    if (rawScopes === undefined || rawScopes === null) errors.push("scopes is missing");
    else {
      if (Array.isArray(rawScopes)) scopes = rawScopes.map((s) => String(s).trim());
      else if (typeof rawScopes === "string")
        scopes = rawScopes
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== "");
      if (!scopes) errors.push("scopes is invalid");
      else if (scopes.some((s) => !(DEPLOY_TOKEN_SCOPES as readonly string[]).includes(s)))
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
      if (!USERNAME_RE.test(username))
        problems.push("Username can contain only letters, digits, '_', '-', '+', and '.'");
    }
    if (!scopes || scopes.length === 0) problems.push("Scopes can't be blank");
    let expiresAt: string | null = null;
    if (rawExp !== undefined && rawExp !== null && rawExp !== "") {
      const ms = typeof rawExp === "string" ? parseIso8601(rawExp.trim()) : null;
      if (ms === null) problems.push("Expires at must be in ISO 8601 format");
      else expiresAt = new Date(ms).toISOString();
    }
    if (problems.length) return msg(400, toSentence(problems));

    const id = nextTokenId++;
    const t: DeployTokenState = {
      id,
      name,
      username: username ?? `gitlab+deploy-token-${id}`,
      token: `gldt-${randomBytes(15).toString("base64url")}`,
      scopes: DEPLOY_TOKEN_SCOPES.filter((s) => scopes!.includes(s)),
      expires_at: expiresAt,
      revoked: false,
      deleted: false,
      owner,
      createdAt: now(),
    };
    tokens.push(t);
    return json(201, { ...entity(t), token: t.token });
  }

  function handleApi(
    method: string,
    segs: string[],
    params: Params,
    req: IncomingMessage,
    ctx: Ctx,
    reqPath: string,
    query: URLSearchParams,
  ): Resp {
    const routeNotFound = json(404, { error: "404 Not Found" });
    const notAllowed = json(405, { error: "405 Not Allowed" });
    // Route table.
    type Route =
      | { kind: "version" }
      | { kind: "project"; id: string }
      | { kind: "group"; id: string }
      | { kind: "user" }
      | { kind: "member"; id: string; userId: string }
      | { kind: "tokens"; owner: "projects" | "groups"; id: string; tokenId?: string }
      | { kind: "admin-tokens" }
      | { kind: "pat"; id: string };
    let route: Route | undefined;
    let allowed: string[] = [];
    const [a, b, c, d, ...rest] = segs;
    if (rest.length === 0) {
      if (a === "version" && b === undefined) {
        route = { kind: "version" };
        allowed = ["GET"];
      } else if (a === "user" && b === undefined) {
        route = { kind: "user" };
        allowed = ["GET"];
      } else if (a === "deploy_tokens" && b === undefined) {
        route = { kind: "admin-tokens" };
        allowed = ["GET"];
      } else if (
        a === "personal_access_tokens" &&
        b !== undefined &&
        b !== "" &&
        c === undefined &&
        patSelf !== "absent"
      ) {
        route = { kind: "pat", id: b };
        allowed = ["GET"];
      } else if ((a === "projects" || a === "groups") && b !== undefined && b !== "") {
        if (c === undefined) {
          route = a === "projects" ? { kind: "project", id: b } : { kind: "group", id: b };
          allowed = ["GET"];
        } else if (c === "deploy_tokens" && d === undefined) {
          route = { kind: "tokens", owner: a, id: b };
          allowed = ["GET", "POST"];
        } else if (c === "deploy_tokens" && d !== undefined && d !== "") {
          route = { kind: "tokens", owner: a, id: b, tokenId: d };
          allowed = ["GET", "DELETE"];
        }
      }
    }
    // /groups/:id/members/all/:user_id: the one route of five segments.
    if (rest.length === 1 && a === "groups" && b && c === "members" && d === "all" && rest[0]) {
      route = { kind: "member", id: b, userId: rest[0] };
      allowed = ["GET"];
    }
    if (!route) return routeNotFound;
    const m = method === "HEAD" ? "GET" : method;
    if (!allowed.includes(m)) return notAllowed;

    // Authentication (an invalid credential is always 401; scopes are checked here, before the route).
    const caller = apiCaller(req);
    if (caller === "invalid") return unauthorized();
    if (caller === "expired") return tokenExpired();
    // Any scope may read the token's own details (SelfInformation allows all scopes).
    const selfRoute = route.kind === "pat" && route.id === "self" && patSelf === "self";
    if (caller) {
      ctx.auth = caller.user.username;
      if (!caller.scopes.includes("api") && !selfRoute) {
        if (m !== "GET") return insufficientScope("api");
        if (!caller.scopes.includes("read_api")) return insufficientScope("api read_api");
      }
    }
    const user = caller ? caller.user : undefined;

    switch (route.kind) {
      case "version":
        if (!user) return unauthorized();
        return json(200, { version: "17.11.0-ee", revision: "0000000000", kas: { enabled: false }, enterprise: true });
      case "pat": {
        if (!caller) return unauthorized();
        if (selfRoute) return json(200, patEntity(caller.pat));
        // GET /personal_access_tokens/:id: PersonalAccessToken.find_by_id, then "only admins
        // should be informed if the token doesn't exist". "self" is no id before 15.5.
        const id = /^\d+$/.test(route.id) ? Number(route.id) : NaN;
        const token = [...pats.values()].find((p) => p.id === id);
        if (token && (token.username === caller.user.username || caller.user.admin)) return json(200, patEntity(token));
        return caller.user.admin ? notFound() : unauthorized();
      }
      case "admin-tokens": {
        if (!user) return unauthorized();
        if (!user.admin) return forbidden();
        const act = boolParam(params.active);
        if (act === null) return grapeError(["active is invalid"]);
        const list = tokens.filter((t) => !t.deleted && (act !== true || active(t))).sort((x, y) => x.id - y.id);
        return paginate(list.map(entity), params, reqPath, query);
      }
      case "user":
        if (!user) return unauthorized();
        return json(200, currentUserEntity(user));
      case "member": {
        if (!user) return unauthorized();
        const g = findBy(groups, route.id);
        if (!g || !groupVisible(user, g)) return json(404, { message: "404 Group Not Found" });
        const uid = intParam(route.userId);
        if (uid === undefined || Number.isNaN(uid)) return grapeError(["user_id is invalid"]);
        const member = [...users.values()].find((u) => u.id === uid);
        const level = member ? memberLevel(member.username, g) : 0;
        if (!member || level === 0) return json(404, { message: "404 Not found" });
        return json(200, {
          ...currentUserEntity({ ...member, admin: false }),
          access_level: level,
          created_at: "2024-01-01T00:00:00.000Z",
          expires_at: null,
          membership_state: "active",
        });
      }
      case "project": {
        const p = findBy(projects, route.id);
        if (!p || projectRole(user, p) === 0) return notFound();
        return json(200, { ...projectEntity(p), permissions: permissionsFor(user, p) });
      }
      case "group": {
        const g = findBy(groups, route.id);
        if (!g || !groupVisible(user, g)) return notFound();
        return json(200, groupEntity(g));
      }
      case "tokens": {
        if (!user) return unauthorized(); // before { authenticate! }
        let ownerRef: DeployTokenState["owner"];
        let level: number;
        if (route.owner === "projects") {
          const p = findBy(projects, route.id);
          if (!p || projectRole(user, p) === 0) return notFound();
          ownerRef = { kind: "project", id: p.id };
          level = projectRole(user, p);
          if (level < ROLE_LEVEL.maintainer) return forbidden();
        } else {
          const g = findBy(groups, route.id);
          if (!g || !groupVisible(user, g)) return notFound();
          ownerRef = { kind: "group", id: g.id };
          level = groupRole(user, g);
          const need = m === "GET" ? ROLE_LEVEL.maintainer : ROLE_LEVEL.owner;
          if (level < need) return forbidden();
        }
        const owned = tokens.filter((t) => !t.deleted && t.owner.kind === ownerRef.kind && t.owner.id === ownerRef.id);
        if (route.tokenId === undefined) {
          if (m === "POST") return createToken(ownerRef, params);
          const act = boolParam(params.active);
          if (act === null) return grapeError(["active is invalid"]);
          const list = owned.filter((t) => act !== true || active(t)).sort((x, y) => x.id - y.id);
          return paginate(list.map(entity), params, reqPath, query);
        }
        const tid = intParam(route.tokenId);
        if (tid === undefined || Number.isNaN(tid)) return grapeError(["token_id is invalid"]);
        const t = owned.find((x) => x.id === tid);
        if (!t) return notFound();
        if (m === "GET") return json(200, entity(t));
        t.deleted = true; // hard delete
        return { status: 204, headers: {}, body: "" };
      }
    }
  }

  // ---- /jwt/auth -------------------------------------------------------------------------------

  type Actor =
    | { kind: "user"; user: User; abilities: Set<string> }
    | { kind: "deploy_token"; token: DeployTokenState; abilities: Set<string> }
    | { kind: "anonymous"; abilities: Set<string> };

  /** Gitlab::Auth abilities_for_scopes, reduced to the registry abilities. */
  function patAbilities(scopes: string[]): Set<string> {
    const out = new Set<string>();
    for (const s of scopes) {
      if (s === "api") ["pull", "push", "delete", "admin"].forEach((x) => out.add(x));
      if (s === "read_api" || s === "read_registry") out.add("pull");
      if (s === "write_registry") out.add("push");
    }
    return out;
  }
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

  function deployTokenReaches(t: DeployTokenState, p: Project): boolean {
    if (t.owner.kind === "project") return t.owner.id === p.id;
    const g = groups.find((x) => x.id === t.owner.id);
    return g !== undefined && under(p.path, g.path);
  }

  function projectForRepository(name: string): Project | undefined {
    const n = name.toLowerCase();
    let best: Project | undefined;
    for (const p of projects) {
      const pp = p.path.toLowerCase();
      if ((n === pp || n.startsWith(`${pp}/`)) && (!best || pp.length > best.path.length)) best = p;
    }
    return best;
  }

  function allowedAction(actor: Actor, p: Project, action: string): boolean {
    if (actor.kind === "deploy_token") {
      if (!deployTokenReaches(actor.token, p)) return false;
      if (action === "pull") return actor.token.scopes.includes("read_registry");
      if (action === "push") return actor.token.scopes.includes("write_registry");
      return false;
    }
    if (actor.kind === "anonymous") return false; // every stand-in project is private
    const level = projectRole(actor.user, p);
    if (action === "pull") return actor.abilities.has("pull") && level >= ROLE_LEVEL.reporter;
    if (action === "push") return actor.abilities.has("push") && level >= ROLE_LEVEL.developer;
    if (action === "delete") return actor.abilities.has("delete") && level >= ROLE_LEVEL.maintainer;
    if (action === "*") return actor.abilities.has("admin") && actor.user.admin;
    return false;
  }

  function handleJwt(req: IncomingMessage, query: URLSearchParams, ctx: Ctx): Resp {
    // authenticate_project_or_user: only when Basic credentials are present.
    let actor: Actor = { kind: "anonymous", abilities: new Set(["pull"]) };
    const authz = req.headers.authorization;
    const basic = typeof authz === "string" ? /^Basic\s+(\S+)\s*$/i.exec(authz) : null;
    if (basic) {
      const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      const login = colon < 0 ? decoded : decoded.slice(0, colon);
      const password = colon < 0 ? "" : decoded.slice(colon + 1);
      let found: Actor | undefined;
      // find_for_git_client order: ... personal access token, then deploy token.
      if (password !== "") {
        const pat = pats.get(password);
        const u = pat ? users.get(pat.username) : undefined;
        if (pat && u && !patExpired(pat) && pat.scopes.some((s) => PAT_SCOPES.includes(s))) {
          found = { kind: "user", user: u, abilities: patAbilities(pat.scopes) };
        }
        if (!found) {
          const t = tokens.find((x) => x.token === password && active(x));
          if (t && login !== "" && login === t.username) {
            const ab = new Set<string>();
            if (t.scopes.includes("read_registry")) ab.add("pull");
            if (t.scopes.includes("write_registry")) ab.add("push");
            found = { kind: "deploy_token", token: t, abilities: ab };
          }
        }
      }
      if (!found) return json(401, { errors: [{ code: "UNAUTHORIZED", message: JWT_401_MESSAGE(baseUrl) }] });
      actor = found;
      ctx.auth =
        found.kind === "user" ? found.user.username : found.kind === "deploy_token" ? found.token.username : undefined;
    }

    const service = query.get("service");
    if (service !== "container_registry") return { status: 404, headers: {}, body: "" };
    if (!registry) return json(404, { errors: [{ code: "UNAVAILABLE", message: "registry not enabled" }] });
    const denied = json(403, { errors: [{ code: "DENIED", message: "access forbidden" }] });
    if (actor.abilities.size === 0) return denied;

    const scopes = query
      .getAll("scope")
      .flatMap((s) => s.split(" "))
      .filter((s) => s !== "");
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
      const p = projectForRepository(name);
      if (!p || !p.registryEnabled) continue;
      const granted = actions.filter((act) => allowedAction(actor, p, act));
      if (granted.length === 0) continue;
      access.push({
        type,
        name,
        actions: granted,
        meta: { project_path: p.path.toLowerCase(), project_id: p.id, root_namespace_id: rootNamespaceId(p.path) },
      });
    }

    // Registry JWTs are checked against the registry's wall clock, so they use real time.
    const iat = Math.floor(Date.now() / 1000);
    const header = { typ: "JWT", kid, alg: "RS256" };
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
        signingKey,
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
        signingKey,
      );
    } else {
      claims.auth_type = "none";
    }
    return json(200, { token: signJwt(header, claims, signingKey) });
  }

  // ---- HTTP plumbing ---------------------------------------------------------------------------

  function faultResponse(f: Extract<Fault, { kind: "status" }>): Resp {
    const headers: Record<string, string> = {};
    let body = f.body;
    if (f.status === 429 && f.rateLimitHeaders === false) {
      if (f.retryAfter !== undefined) headers["retry-after"] = String(f.retryAfter);
      body ??= JSON.stringify({
        message: { error: "This endpoint has been requested too many times. Try again later." },
      });
    } else if (f.status === 429) {
      const retryAfter = f.retryAfter ?? 60;
      const nowMs = now().getTime();
      const reset = Math.ceil(nowMs / 1000) + retryAfter;
      Object.assign(headers, {
        "ratelimit-limit": "2000",
        "ratelimit-name": "throttle_authenticated_api",
        "ratelimit-observed": "2001",
        "ratelimit-remaining": "0",
        "ratelimit-reset": String(reset),
        "ratelimit-resettime": new Date(reset * 1000).toUTCString(),
        "retry-after": String(retryAfter),
      });
      body ??= "Retry later\n";
    } else if (f.retryAfter !== undefined) {
      headers["retry-after"] = String(f.retryAfter);
    }
    if (body === undefined) body = JSON.stringify({ message: `${f.status} ${REASONS[f.status] ?? "Error"}` });
    let isJson = false;
    try {
      JSON.parse(body);
      isJson = true;
    } catch {
      /* plain text */
    }
    headers["content-type"] = isJson ? "application/json" : "text/plain";
    return { status: f.status, headers, body };
  }

  const pending = new Set<ServerResponse>();
  const sockets = new Set<Socket>();

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const rawUrl = req.url ?? "/";
    const qi = rawUrl.indexOf("?");
    const path = qi < 0 ? rawUrl : rawUrl.slice(0, qi);
    const queryString = qi < 0 ? "" : rawUrl.slice(qi + 1);
    const rec: RecordedRequest = { method, path, query: queryString, status: 0 };
    requests.push(rec);

    const f = faults.find((x) => x.left > 0 && x.path.test(path) && (!x.method || x.method.toUpperCase() === method));
    if (f) {
      f.left--;
      rec.fault = f.kind;
      if (f.kind === "drop") {
        req.socket.destroy();
        return;
      }
      if (f.kind === "timeout") {
        pending.add(res);
        res.on("close", () => pending.delete(res));
        return;
      }
      if (f.kind === "hold") await f.until;
    }

    const ctx: Ctx = {};
    let resp: Resp;
    try {
      const body = await readBody(req);
      const query = new URLSearchParams(queryString);
      if (f && f.kind === "status") {
        resp = faultResponse(f);
      } else if (path === "/jwt/auth") {
        resp =
          method === "GET" || method === "HEAD" ? handleJwt(req, query, ctx) : { status: 404, headers: {}, body: "" };
      } else if (path === "/api/v4" || path.startsWith("/api/v4/")) {
        const segs = path.slice("/api/v4/".length).split("/");
        const params = parseParams(query, body, req.headers["content-type"]);
        resp =
          params === null
            ? json(400, { error: "The request body is not valid JSON" })
            : handleApi(method, segs, params, req, ctx, path, query);
      } else {
        resp = { status: 404, headers: { "content-type": "text/plain" }, body: "Not Found" };
      }
    } catch (e) {
      resp = json(500, { message: "500 Internal Server Error" });
      void e;
    }
    rec.status = resp.status;
    if (ctx.auth !== undefined) rec.auth = ctx.auth;

    if (f && f.kind === "lostResponse") {
      req.socket.destroy();
      return;
    }
    const headers: Record<string, string> = {
      "x-request-id": randomUUID().replace(/-/g, "").slice(0, 26),
      ...resp.headers,
    };
    if (resp.status !== 204) headers["content-length"] = String(Buffer.byteLength(resp.body));
    res.writeHead(resp.status, headers);
    res.end(method === "HEAD" || resp.status === 204 ? undefined : resp.body);
  }

  const server = createServer((req, res) => {
    onRequest(req, res).catch(() => req.socket.destroy());
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  if (!addr || typeof addr === "string") throw new Error("gitlab stand-in: no address");
  baseUrl = `http://127.0.0.1:${addr.port}`;

  let nextUserId = 1;
  const standIn: GitLabStandIn = {
    url: baseUrl,
    addUser(u) {
      users.set(u.username, { username: u.username, admin: u.admin ?? false, id: nextUserId++ });
    },
    addPersonalAccessToken(username, token, scopes, o = {}) {
      if (!users.has(username)) throw new Error(`gitlab stand-in: unknown user ${username}`);
      if (o.expiresAt != null && !/^\d{4}-\d{2}-\d{2}$/.test(o.expiresAt))
        throw new Error(`gitlab stand-in: expiresAt ${o.expiresAt} is not YYYY-MM-DD`);
      pats.set(token, {
        id: nextPatId++,
        name: o.name ?? `${username} token`,
        username,
        scopes: [...scopes],
        expiresAt: o.expiresAt ?? null,
        createdAt: now(),
      });
    },
    setPatSelf(mode) {
      patSelf = mode;
    },
    addProject(p) {
      projects.push({
        id: p.id,
        path: p.path,
        registryEnabled: p.registryEnabled ?? true,
        members: { ...(p.members ?? {}) },
      });
    },
    addGroup(g) {
      groups.push({ id: g.id, path: g.path, members: { ...(g.members ?? {}) } });
    },
    setRegistry(r) {
      registry = r ? { host: r.host } : null;
    },
    tokens,
    isLive(id) {
      const t = tokens.find((x) => x.id === id);
      return t !== undefined && active(t);
    },
    revokeToken(id) {
      const t = tokens.find((x) => x.id === id);
      if (!t) throw new Error(`gitlab stand-in: no deploy token ${id}`);
      t.revoked = true;
    },
    requests,
    resetRequests() {
      requests.length = 0;
    },
    fault(f) {
      faults.push({ ...f, left: f.times ?? Number.POSITIVE_INFINITY });
    },
    clearFaults() {
      faults = [];
    },
    jwt: {
      realm: `${baseUrl}/jwt/auth`,
      service: "container_registry",
      issuer: "gitlab-issuer",
      signingCertPath: signing.certPath,
      kid,
    },
    async close() {
      for (const r of pending) r.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return standIn;
}
