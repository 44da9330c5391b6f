// The GitLab stand-in's public API: the handle tests drive and the shapes it
// exposes (deploy tokens as stored, recorded requests, injected faults, which
// GitLab version's /personal_access_tokens/self to serve).

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

/** A CI/CD variable as stored (tests set it up and read it back; the stand-in never logs it). */
export interface VariableState {
  key: string;
  value: string;
  variableType?: "env_var" | "file";
  protected?: boolean;
  masked?: boolean;
  raw?: boolean;
  hidden?: boolean;
  /** Default `*`. */
  environmentScope?: string;
  description?: string | null;
}
export type VariableOwner = { kind: "project" | "group"; id: number };

/** An access token's state as the instance holds it, found by its secret. */
export interface AccessTokenState {
  id: number;
  username: string;
  scopes: string[];
  expiresAt: string | null;
  revoked: boolean;
  /** Not revoked and not expired: it authenticates. */
  active: boolean;
  /** The first token of its rotation chain. */
  family: number;
}

export interface GitLabStandIn {
  url: string;
  addUser(u: { username: string; admin?: boolean }): void;
  addPersonalAccessToken(username: string, token: string, scopes: string[], opts?: PersonalAccessTokenOptions): void;
  /**
   * A project or group access token: a bot user (`project_<id>_bot_<n>`), a member of the
   * resource with `role`, holding `token`.
   */
  addResourceAccessToken(
    owner: VariableOwner,
    token: string,
    scopes: string[],
    opts?: PersonalAccessTokenOptions & { role?: Role },
  ): void;
  /** Any access token by its secret; undefined when the instance never issued it. */
  accessToken(secret: string): AccessTokenState | undefined;
  /** Every access token of a user, by creation. */
  accessTokensOf(username: string): AccessTokenState[];
  addVariable(owner: VariableOwner, v: VariableState): void;
  /** The variables of an owner with this key (one per environment scope), copies. */
  variables(owner: VariableOwner, key: string): Required<VariableState>[];
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
