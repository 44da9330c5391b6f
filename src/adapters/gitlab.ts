
// Deploy tokens and owner info through gitbeaker's resource classes. The only
// module that talks to GitLab's REST API.
//
// gitbeaker's default request handler retries 429/502 itself (0.25-128 ms apart,
// no Retry-After, and it re-sends POST, which can mint a second token). We give
// the resources our own requesterFn that makes exactly one HTTP request per call
// and wrap the calls in our policy (retry.ts). Failures become GitLabError; the
// request, which carries the caller's PRIVATE-TOKEN, is never kept in an error.
import { DeployTokens, Groups, PersonalAccessTokens, Projects } from "@gitbeaker/core";
import {
  createRequesterFn,
  getMatchingRateLimiter,
  type RateLimiters,
  type RequestHandlerFn,
  type RequestOptions,
} from "@gitbeaker/requester-utils";
import { dispatcherOf, loadUndici, type LazyDispatcher, type Undici } from "./undici.js";
import { GitLabError } from "../model/errors.js";
import type { ApiTokenSelf, DeployTokenInfo, GitLabPort, MintedToken, ResolvedOwner, Owner } from "../model/ports.js";
import { describeProxyRefusal, proxyRefusalOf } from "./proxy.js";
import { Attempts, outcomeOf, describeFailure, retrying, retryOptions, RetryExhaustedError, type Failure, type RetryOptions } from "./retry.js";
import { Secret, redact } from "../model/secret.js";
import { dispatcher } from "./tls.js";
import type { ProxySettings } from "../config/proxy-settings.js";

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

// ---- one HTTP request per gitbeaker call ----------------------------------------------------------

/** GitLab answered with a non-2xx status. Holds the response's facts only, never the request. */
class HttpStatusError extends Error {
  override name = "HttpStatusError";
  constructor(
    readonly status: number,
    readonly headers: Readonly<Record<string, string>>,
    readonly description: string,
  ) {
    super(description || `HTTP ${status}`);
  }
}

/** No usable answer: the connection failed, timed out, or broke while the response was read. */
class ConnectionError extends Error {
  override name = "ConnectionError";
  constructor(
    /** A Node/undici code, "timeout" or "lost-response" (see retry.ts). */
    readonly code: string,
    message: string,
    /** Set when the failure is the proxy's: what to do about it. */
    readonly proxyHint?: string,
  ) {
    super(message);
  }
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS/;

/** Finds the first error code in undici's wrapping (TypeError "fetch failed" -> cause -> AggregateError). */
function codeOf(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== "object" || depth > 4) return undefined;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === "string" && e.code !== "") return e.code;
  if (e.message === "socket hang up") return "socket hang up";
  return codeOf(e.cause, depth + 1) ?? (Array.isArray(e.errors) ? codeOf(e.errors[0], depth + 1) : undefined);
}

/** Builds the error from codes only: undici's messages are safe, but nothing of theirs needs to travel. */
function connectionError(err: unknown, timeoutMs: number, readingBody: boolean): ConnectionError {
  const name = (err as { name?: unknown } | null)?.name;
  if (name === "TimeoutError") return new ConnectionError("timeout", `no answer within ${timeoutMs / 1000} s`);
  if (name === "AbortError") return new ConnectionError("aborted", "the request was cancelled");
  // Only the tunnel's opening is the proxy's; a break past it is the origin's, as without a proxy.
  const refusal = readingBody ? undefined : proxyRefusalOf(err);
  if (refusal) {
    const { detail, hint } = describeProxyRefusal(refusal);
    return new ConnectionError(refusal.code, detail, hint);
  }
  const code = codeOf(err) ?? (readingBody ? "lost-response" : "network-error");
  return new ConnectionError(
    readingBody && code !== "lost-response" ? "lost-response" : code,
    readingBody
      ? `the connection broke while GitLab's answer was read (${code})`
      : `the connection to GitLab failed (${code})`,
  );
}

/** gitbeaker's rule (JSON `error` or `message`, else the text), without its SyntaxError on bad JSON. */
function describeBody(text: string, contentType: string | undefined): string {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "text/html") return ""; // a proxy's error page says nothing the status does not
  if (type === "application/json") {
    try {
      const body = JSON.parse(text) as Record<string, unknown> | null;
      const main = body?.error ?? body?.message ?? "";
      const s = typeof main === "string" ? main : JSON.stringify(main);
      const more = typeof body?.error_description === "string" ? body.error_description : "";
      return (more ? `${s}: ${more}` : s).slice(0, 500);
    } catch {
      /* fall through to the raw text */
    }
  }
  return text.trim().slice(0, 500);
}

function parseBody(text: string, contentType: string | undefined): unknown {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "application/json") return text === "" ? {} : (JSON.parse(text) as unknown) ?? {};
  return text;
}

/**
 * gitbeaker's request handler minus its retry loop: one fetch (undici's, so the
 * CA dispatcher passed as gitbeaker's `agent` always matches its client), a
 * per-request timeout, gitbeaker's client-side rate limiter kept.
 */
function oneRequest(timeoutMs: number): RequestHandlerFn {
  return async (endpoint, raw) => {
    const o = (raw ?? {}) as RequestOptions & { agent?: unknown; rateLimiters?: RateLimiters };
    const method = o.method ?? "GET";
    const prefix = o.prefixUrl ?? "";
    const url = new URL(endpoint, prefix.endsWith("/") ? prefix : `${prefix}/`);
    url.search = o.searchParams ?? "";
    await getMatchingRateLimiter(endpoint, o.rateLimiters, method)();

    // gitbeaker's own signal spans all pages of a listing; ours is per request.
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
    let response: Awaited<ReturnType<Undici["fetch"]>>;
    try {
      const { fetch } = await loadUndici();
      const dispatcher = await dispatcherOf(o.agent as LazyDispatcher | undefined);
      response = await fetch(url, {
        method,
        headers: o.headers,
        body: typeof o.body === "string" ? o.body : undefined,
        signal,
        ...(dispatcher ? { dispatcher } : {}),
      });
    } catch (err) {
      throw connectionError(err, timeoutMs, false);
    }
    let text: string;
    try {
      text = response.status === 204 ? "" : await response.text();
    } catch (err) {
      throw connectionError(err, timeoutMs, true);
    }
    const headers = Object.fromEntries(response.headers.entries());
    if (!response.ok) throw new HttpStatusError(response.status, headers, describeBody(text, headers["content-type"]));
    let body: unknown;
    try {
      body = response.status === 204 ? null : parseBody(text, headers["content-type"]);
    } catch {
      // A 2xx we cannot read: for a create, the token may exist while we never saw its secret.
      throw new ConnectionError("lost-response", "GitLab's answer could not be read (invalid JSON)");
    }
    return { status: response.status, headers, body: body as never };
  };
}

// ---- errors ---------------------------------------------------------------------------------------

function classify(err: unknown): Failure | undefined {
  if (err instanceof HttpStatusError) return { kind: "status", status: err.status, headers: err.headers };
  if (err instanceof ConnectionError) return { kind: "connection", code: err.code };
  return undefined;
}

function hintFor(status: number | undefined, owner: string): string {
  switch (status) {
    case 401:
      return "The GitLab token is missing, wrong, expired or revoked";
    case 403:
      // GitLab lets a group Maintainer list group deploy tokens but only an Owner create or delete them.
      return owner.startsWith("group ")
        ? `The GitLab token needs the api scope, held by an Owner of ${owner}: group deploy tokens need the Owner role; Maintainer is not enough`
        : `The GitLab token needs the api scope, held by a Maintainer of ${owner} (Owner for group deploy tokens)`;
    case 404:
      return `${owner} does not exist, or the GitLab token cannot see it`;
    case 429:
      return "GitLab is rate limiting this token; try again later";
    default:
      return "";
  }
}

function connectionHint(code: string): string {
  if (code === "ENOTFOUND") return "Check the GitLab URL";
  if (TLS_CODES.test(code)) return "GitLab's certificate is not trusted; pass its CA with --ca-file (Action input ca-file)";
  return "";
}

/** A token minted by a create whose answer we lost, that we then could not delete. */
export class OrphanedTokenError extends GitLabError {
  constructor(
    operation: string,
    status: number | undefined,
    detail: string,
    hint: string,
    readonly orphanTokenId: number | undefined,
  ) {
    super(operation, status, detail, hint);
  }
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
  };
}

// ---- the port -------------------------------------------------------------------------------------

export function gitlabPort(opts: GitLabPortOptions): GitLabPort {
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

  /** Any failure -> GitLabError, with the caller's token scrubbed from whatever GitLab echoed. */
  function gitLabError(operation: string, who: string, err: unknown): GitLabError {
    if (err instanceof GitLabError) return err;
    const clean = (s: string): string => redact(s, [secret]);
    if (err instanceof HttpStatusError) {
      return new GitLabError(operation, err.status, clean(err.description || `HTTP ${err.status}`), hintFor(err.status, who));
    }
    if (err instanceof ConnectionError) return new GitLabError(operation, undefined, clean(err.message), err.proxyHint ?? connectionHint(err.code));
    if (err instanceof RetryExhaustedError && err.lastError instanceof ConnectionError && err.lastError.proxyHint) {
      // A proxy that stayed unreachable: say so, not "GitLab is unavailable".
      return new GitLabError(operation, undefined, clean(`${err.lastError.message}; ${err.message}`), err.lastError.proxyHint);
    }
    if (err instanceof RetryExhaustedError) {
      const status = err.last.kind === "status" ? err.last.status : undefined;
      const hint = status === 429 ? hintFor(429, who) : "GitLab is unavailable or overloaded; try again later";
      return new GitLabError(operation, status, clean(err.message), hint);
    }
    return new GitLabError(operation, undefined, clean(err instanceof Error ? err.message : String(err)));
  }

  /** An idempotent call under our retry policy. */
  async function idempotent<T>(operation: string, who: string, call: () => Promise<T>, deadlineAt?: number): Promise<T> {
    try {
      return await retrying(call, { idempotent: true, classify, opts: retry, deadlineAt });
    } catch (err) {
      throw gitLabError(operation, who, err);
    }
  }

  async function list(owner: ResolvedOwner, deadlineAt?: number): Promise<DeployTokenInfo[]> {
    // `active` deliberately unset: revoked and expired tokens are listed too.
    const rows = await idempotent("listing the deploy tokens", describe(owner), () =>
      deployTokens.all({ ...ownerIds(owner), perPage: PER_PAGE } as never),
    deadlineAt);
    return (rows as unknown as Array<Record<string, unknown>>).map(toInfo);
  }

  async function revoke(owner: ResolvedOwner, id: number, deadlineAt?: number): Promise<"revoked" | "already-gone"> {
    try {
      await idempotent(`revoking deploy token ${id}`, describe(owner), () => deployTokens.remove(id, ownerIds(owner) as never), deadlineAt);
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
        const p = (await idempotent("reading the project", who, () => projects.show(owner.ref))) as Record<string, unknown>;
        return {
          kind: "project",
          id: Number(p.id),
          path: String(p.path_with_namespace),
          registryImagePrefix: typeof p.container_registry_image_prefix === "string" ? p.container_registry_image_prefix : undefined,
          registryAccessLevel: typeof p.container_registry_access_level === "string" ? p.container_registry_access_level : undefined,
        };
      }
      const g = (await idempotent("reading the group", who, () => groups.show(owner.ref, { withProjects: false }))) as Record<string, unknown>;
      return { kind: "group", id: Number(g.id), path: String(g.full_path), registryImagePrefix: undefined, registryAccessLevel: undefined };
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
          t = (await deployTokens.create(req.name, ["read_registry"], { ...ownerIds(owner), expires_at: req.expiresAt } as never)) as Record<string, unknown>;
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

    async apiTokenSelf(): Promise<ApiTokenSelf> {
      // gitbeaker's show() without a token id is GET /personal_access_tokens/self.
      const t = (await idempotent("reading the API token's own details", "the API token", () => accessTokens.show())) as Record<string, unknown>;
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
