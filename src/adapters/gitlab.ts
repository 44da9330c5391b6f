// Deploy tokens and owner info through gitbeaker's resource classes. The only
// module that talks to GitLab's REST API.
//
// gitbeaker's default request handler retries 429/502 itself (0.25-128 ms apart,
// no Retry-After, and it re-sends POST, which can mint a second token). We give
// the resources our own requesterFn that makes exactly one HTTP request per call
// and wrap the calls in our policy (retry.ts). Failures become GitLabError; the
// request, which carries the caller's PRIVATE-TOKEN, is never kept in an error.
//
// The requester and its errors live in gitlab-requester.ts, the user-facing
// hints in gitlab-errors.ts; this module is the port.
import {
  DeployTokens,
  GroupAccessTokens,
  GroupMembers,
  Groups,
  PersonalAccessTokens,
  ProjectAccessTokens,
  Projects,
  Users,
} from "@gitbeaker/core";
import { createRequesterFn } from "@gitbeaker/requester-utils";
import { GitLabError } from "../model/errors.js";
import type {
  ApiTokenOwner,
  ApiTokenSelf,
  ApiTokenSelfPort,
  RotatedApiToken,
  CallerAccess,
  DeployTokenInfo,
  GitLabPort,
  MintedToken,
  ResolvedOwner,
  Owner,
} from "../model/ports.js";
import {
  Attempts,
  outcomeOf,
  describeFailure,
  retrying,
  retryOptions,
  RetryExhaustedError,
  type Failure,
  type RetryOptions,
} from "./retry.js";
import { Secret, redact } from "../model/secret.js";
import { dispatcher } from "./tls.js";
import type { ProxySettings } from "../config/proxy-settings.js";
import { ConnectionError, HttpStatusError, classify, oneRequest } from "./gitlab-requester.js";
import { OrphanedTokenError, connectionHint, hintFor } from "./gitlab-errors.js";

export { OrphanedTokenError } from "./gitlab-errors.js";

const REQUEST_TIMEOUT_MS = 30_000;
/** GitLab's maximum; fewer round trips when an owner has many tokens. */
const PER_PAGE = 100;

export interface GitLabPortOptions {
  url: string;
  token: Secret;
  /** Extra CA (PEM) for a self-managed GitLab, on top of the system roots. */
  caPem?: string;
  /** The environment's proxy (HTTPS_PROXY, NO_PROXY, ...); undefined connects directly. */
  proxy?: ProxySettings;
  /** Deadline, backoff, and for tests the sleep/clock/random. */
  retry?: Partial<RetryOptions>;
  /** Limit for one HTTP request (connect to last body byte). */
  requestTimeoutMs?: number;
}

/** The caller's level from a project's `permissions` (project_access, group_access: the higher); undefined when absent. */
function accessOf(permissions: unknown): number | undefined {
  const p = permissions as
    | { project_access?: { access_level?: unknown } | null; group_access?: { access_level?: unknown } | null }
    | undefined;
  if (!p || typeof p !== "object") return undefined;
  const levels = [p.project_access?.access_level, p.group_access?.access_level].filter(
    (l): l is number => typeof l === "number",
  );
  return levels.length ? Math.max(...levels) : 0;
}

function describe(owner: { kind: string; ref?: string; path?: string }): string {
  return `${owner.kind} ${owner.path ?? owner.ref}`;
}

function ownerIds(owner: ResolvedOwner): { projectId: number } | { groupId: number } {
  return owner.kind === "project" ? { projectId: owner.id } : { groupId: owner.id };
}

function toInfo(t: Record<string, unknown>): DeployTokenInfo {
  return {
    id: Number(t.id),
    name: String(t.name),
    username: String(t.username),
    // GitLab returns null for a token created without expiry (gitbeaker's type says string).
    expiresAt: typeof t.expires_at === "string" ? t.expires_at : null,
    revoked: t.revoked === true,
    scopes: Array.isArray(t.scopes) ? t.scopes.map(String) : [],
  };
}

/** Any failure -> GitLabError, with the caller's token scrubbed from whatever GitLab echoed. */
export function toGitLabError(operation: string, who: string, err: unknown, secrets: readonly string[]): GitLabError {
  if (err instanceof GitLabError) return err;
  const clean = (s: string): string => redact(s, secrets);
  if (err instanceof HttpStatusError) {
    return new GitLabError(
      operation,
      err.status,
      clean(err.description || `HTTP ${err.status}`),
      hintFor(err.status, who),
    );
  }
  if (err instanceof ConnectionError)
    return new GitLabError(operation, undefined, clean(err.message), err.proxyHint ?? connectionHint(err.code));
  if (err instanceof RetryExhaustedError && err.lastError instanceof ConnectionError && err.lastError.proxyHint) {
    // A proxy that stayed unreachable: say so, not "GitLab is unavailable".
    return new GitLabError(
      operation,
      undefined,
      clean(`${err.lastError.message}; ${err.message}`),
      err.lastError.proxyHint,
    );
  }
  if (err instanceof RetryExhaustedError) {
    const status = err.last.kind === "status" ? err.last.status : undefined;
    const hint = status === 429 ? hintFor(429, who) : "GitLab is unavailable or overloaded; try again later";
    return new GitLabError(operation, status, clean(err.message), hint);
  }
  return new GitLabError(operation, undefined, clean(err instanceof Error ? err.message : String(err)));
}

// ---- the port -------------------------------------------------------------------------------------

/** A bot user's name says whose access token it holds: `project_42_bot_…`, `group_7_bot_…`. */
export function ownerOfUser(user: Record<string, unknown>): ApiTokenOwner {
  const m = /^(project|group)_(\d+)_bot(?:_|$)/.exec(String(user.username ?? ""));
  if (user.bot === true && m) return { kind: m[1] as "project" | "group", id: Number(m[2]) };
  return { kind: "personal" };
}

export function gitlabPort(opts: GitLabPortOptions): GitLabPort & ApiTokenSelfPort {
  const retry = retryOptions(opts.retry);
  const timeoutMs = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const secret = opts.token.reveal();
  const base = {
    host: opts.url,
    token: secret,
    requesterFn: createRequesterFn((_, reqo) => Promise.resolve(reqo), oneRequest(timeoutMs)),
    // Off: its AbortSignal would span every page of a listing and every retry; ours is per request.
    queryTimeout: null,
    // Typed as http.Agent; gitbeaker passes it through to oneRequest, which makes it the dispatcher.
    agent: dispatcher(opts.caPem, opts.proxy) as never,
  };
  const deployTokens = new DeployTokens(base);
  const projects = new Projects(base);
  const groups = new Groups(base);
  const accessTokens = new PersonalAccessTokens(base);
  const users = new Users(base);
  const groupMembers = new GroupMembers(base);
  const projectAccessTokens = new ProjectAccessTokens(base);
  const groupAccessTokens = new GroupAccessTokens(base);
  /** GET /projects/:id carries the caller's own permissions: kept from resolveOwner, so checking the role costs no request. */
  const projectAccess = new Map<number, number | undefined>();

  /** Any failure -> GitLabError, with the caller's token scrubbed from whatever GitLab echoed. */
  function gitLabError(operation: string, who: string, err: unknown): GitLabError {
    return toGitLabError(operation, who, err, [secret]);
  }

  /** An idempotent call under our retry policy. */
  async function idempotent<T>(
    operation: string,
    who: string,
    call: () => Promise<T>,
    deadlineAt?: number,
  ): Promise<T> {
    try {
      return await retrying(call, { idempotent: true, classify, opts: retry, deadlineAt });
    } catch (err) {
      throw gitLabError(operation, who, err);
    }
  }

  async function list(owner: ResolvedOwner, deadlineAt?: number): Promise<DeployTokenInfo[]> {
    // `active` deliberately unset: revoked and expired tokens are listed too.
    const rows = await idempotent(
      "listing the deploy tokens",
      describe(owner),
      () => deployTokens.all({ ...ownerIds(owner), perPage: PER_PAGE } as never),
      deadlineAt,
    );
    return (rows as unknown as Array<Record<string, unknown>>).map(toInfo);
  }

  async function revoke(owner: ResolvedOwner, id: number, deadlineAt?: number): Promise<"revoked" | "already-gone"> {
    try {
      await idempotent(
        `revoking deploy token ${id}`,
        describe(owner),
        () => deployTokens.remove(id, ownerIds(owner) as never),
        deadlineAt,
      );
      return "revoked";
    } catch (err) {
      // DELETE is a hard delete: a second one answers 404, which means the token is gone.
      if (err instanceof GitLabError && err.status === 404) return "already-gone";
      throw err;
    }
  }

  /**
   * After a create whose outcome is unknown: GitLab may have minted the token
   * and we never saw its secret. Find it by its unique name and delete it, so
   * the next create leaves exactly one token.
   */
  async function removeUnseen(owner: ResolvedOwner, name: string, after: Failure, deadlineAt: number): Promise<void> {
    const op = "creating the deploy token";
    const who = describe(owner);
    const status = after.kind === "status" ? after.status : undefined;
    const why = `the create's outcome is unknown (${describeFailure(after)})`;
    let found: DeployTokenInfo[];
    try {
      found = (await list(owner, deadlineAt)).filter((t) => t.name === name);
    } catch (err) {
      const inner = gitLabError("listing the deploy tokens", who, err);
      throw new OrphanedTokenError(
        op,
        status,
        `${why}, and listing the tokens to check failed (${inner.status ? `HTTP ${inner.status}: ` : ""}${inner.detail})`,
        `GitLab may hold an unused deploy token named "${name}" on ${who}; delete it, or let the next run's sweep remove it`,
        undefined,
      );
    }
    for (const t of found) {
      try {
        await revoke(owner, t.id, deadlineAt);
      } catch (err) {
        const inner = gitLabError(`revoking deploy token ${t.id}`, who, err);
        throw new OrphanedTokenError(
          op,
          status,
          `${why}; GitLab had minted deploy token ${t.id} ("${name}"), whose secret never arrived, and deleting it failed ` +
            `(${inner.status ? `HTTP ${inner.status}: ` : ""}${inner.detail})`,
          `Delete deploy token ${t.id} of ${who}, or let the next run's sweep remove it`,
          t.id,
        );
      }
    }
  }

  return {
    async resolveOwner(owner: Owner): Promise<ResolvedOwner> {
      const who = describe(owner);
      if (owner.kind === "project") {
        const p = (await idempotent("reading the project", who, () => projects.show(owner.ref))) as Record<
          string,
          unknown
        >;
        projectAccess.set(Number(p.id), accessOf(p.permissions));
        return {
          kind: "project",
          id: Number(p.id),
          path: String(p.path_with_namespace),
          registryImagePrefix:
            typeof p.container_registry_image_prefix === "string" ? p.container_registry_image_prefix : undefined,
          registryAccessLevel:
            typeof p.container_registry_access_level === "string" ? p.container_registry_access_level : undefined,
        };
      }
      const g = (await idempotent("reading the group", who, () =>
        groups.show(owner.ref, { withProjects: false }),
      )) as Record<string, unknown>;
      return {
        kind: "group",
        id: Number(g.id),
        path: String(g.full_path),
        registryImagePrefix: undefined,
        registryAccessLevel: undefined,
      };
    },

    /**
     * POST is not idempotent, so it is never blindly repeated: a 429 (or a refused
     * connection) was not processed and is simply sent again after the wait; a 5xx,
     * timeout or lost answer may hide a minted token, which is found by name and
     * deleted before the next try. All under one deadline.
     */
    async createDeployToken(owner, req): Promise<MintedToken> {
      const op = "creating the deploy token";
      const who = describe(owner);
      const attempts = new Attempts(retry);
      for (;;) {
        attempts.count++;
        let failure: Failure | undefined;
        let error: unknown;
        let t: Record<string, unknown> | undefined;
        try {
          // gitbeaker's scope type predates the virtual registry scopes; GitLab takes any of its list.
          t = (await deployTokens.create(
            req.name,
            [...req.scopes] as never,
            {
              ...ownerIds(owner),
              expires_at: req.expiresAt,
            } as never,
          )) as Record<string, unknown>;
        } catch (err) {
          failure = classify(err);
          error = err;
          if (!failure) throw gitLabError(op, who, err);
        }
        if (t) {
          if (typeof t.token !== "string" || typeof t.id !== "number" || typeof t.username !== "string") {
            throw new GitLabError(op, 201, "the response lacks id, username or token");
          }
          return {
            id: t.id,
            name: String(t.name),
            username: t.username,
            expiresAt: typeof t.expires_at === "string" ? t.expires_at : `${req.expiresAt}T00:00:00.000Z`,
            token: new Secret(t.token),
          };
        }
        if (outcomeOf(failure!) === "unknown") await removeUnseen(owner, req.name, failure!, attempts.deadlineAt);
        try {
          // After removeUnseen, sending the create again cannot leave two tokens.
          await attempts.pause(failure!, error, true);
        } catch (err) {
          throw gitLabError(op, who, err);
        }
      }
    },

    async revokeDeployToken(owner, id) {
      return revoke(owner, id);
    },

    async listDeployTokens(owner) {
      return list(owner);
    },

    async callerAccess(owner): Promise<CallerAccess> {
      const who = describe(owner);
      const currentUser = async () =>
        (await idempotent("reading the API token's user", "the API token", () => users.showCurrentUser())) as Record<
          string,
          unknown
        >;
      // A project's level came with resolveOwner: GET /user only if it falls short, to see whether the user is an administrator.
      if (owner.kind === "project")
        return { level: projectAccess.get(owner.id), isAdmin: async () => (await currentUser()).is_admin === true };
      const me = await currentUser();
      const isAdmin = async () => me.is_admin === true;
      // GET /groups/:id/members/all/:user_id: the role, inherited ones included; 404 when not a member.
      try {
        const m = (await idempotent("reading the API token's role in the group", who, () =>
          groupMembers.show(owner.id, Number(me.id), { includeInherited: true }),
        )) as Record<string, unknown>;
        return { level: typeof m.access_level === "number" ? m.access_level : undefined, isAdmin };
      } catch (err) {
        if (err instanceof GitLabError && err.status === 404) return { level: 0, isAdmin };
        throw err;
      }
    },

    async apiTokenOwner(): Promise<ApiTokenOwner> {
      const me = (await idempotent("reading the API token's user", "the API token", () =>
        users.showCurrentUser(),
      )) as Record<string, unknown>;
      return ownerOfUser(me);
    },

    async rotateApiTokenSelf(owner, expiresAt): Promise<RotatedApiToken> {
      const op = "rotating the API token";
      const who = owner.kind === "personal" ? "the API token" : `${owner.kind} ${owner.id}`;
      let t: Record<string, unknown>;
      try {
        // Exactly one request, outside the retry policy: the old value dies with it, and sending it
        // again to a rotate endpoint would revoke the whole token family.
        t = (await (owner.kind === "personal"
          ? accessTokens.rotate("self", { expiresAt })
          : owner.kind === "project"
            ? projectAccessTokens.rotate(owner.id, "self", { expiresAt })
            : groupAccessTokens.rotate(owner.id, "self", { expiresAt }))) as unknown as Record<string, unknown>;
      } catch (err) {
        throw gitLabError(op, who, err);
      }
      if (typeof t.token !== "string" || t.token === "" || typeof t.id !== "number") {
        throw new GitLabError(op, 200, "the response lacks id or token");
      }
      return {
        id: t.id,
        name: String(t.name),
        expiresAt: typeof t.expires_at === "string" ? t.expires_at.slice(0, 10) : expiresAt,
        token: new Secret(t.token),
      };
    },

    async apiTokenSelf(): Promise<ApiTokenSelf> {
      // gitbeaker's show() without a token id is GET /personal_access_tokens/self.
      const t = (await idempotent("reading the API token's own details", "the API token", () =>
        accessTokens.show(),
      )) as Record<string, unknown>;
      return {
        id: Number(t.id),
        name: String(t.name),
        scopes: Array.isArray(t.scopes) ? t.scopes.map(String) : [],
        // A date (YYYY-MM-DD); older entities may carry a full timestamp: keep the date.
        expiresAt: typeof t.expires_at === "string" ? t.expires_at.slice(0, 10) : null,
      };
    },
  };
}
