// One request to GitHub's REST API (the github: store of rotate-api-token):
// the headers GitHub documents (Accept: application/vnd.github+json,
// X-GitHub-Api-Version: 2022-11-28, a User-Agent, which GitHub requires),
// the token as a Bearer header only, a per-request timeout, the CA and proxy
// dispatcher every other call uses. Failures are the requester's two error
// classes, holding the response's facts or a code, never the request; our
// retry policy runs around the idempotent calls, and toGitHubError says what
// a refusal means for the user.
import { VERSION } from "../config/version.js";
import { GitHubError } from "../model/errors.js";
import { redact, type Secret } from "../model/secret.js";
import { ConnectionError, HttpStatusError, classify, connectionError } from "./gitlab-requester.js";
import { RetryExhaustedError, retrying, type RetryOptions } from "./retry.js";
import { dispatcherOf, loadUndici, type LazyDispatcher, type Undici } from "./undici.js";

export const GITHUB_API_VERSION = "2022-11-28";

export interface GitHubAnswer {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: unknown;
}

export interface GitHubClientOptions {
  apiUrl: string;
  token: Secret;
  dispatcher: LazyDispatcher | undefined;
  requestTimeoutMs: number;
  retry: RetryOptions;
}

/** GitHub's error body is `{"message": ..., "documentation_url": ..., "status": ...}`: the message is what it says. */
function messageOf(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown } | null;
    if (typeof body?.message === "string") return body.message.slice(0, 500);
  } catch {
    /* not JSON: a proxy's or a load balancer's page */
  }
  return text.trim().slice(0, 200);
}

async function once(
  o: GitHubClientOptions,
  method: "GET" | "PUT",
  path: string,
  body?: unknown,
): Promise<GitHubAnswer> {
  const url = `${o.apiUrl}${path}`;
  let response: Awaited<ReturnType<Undici["fetch"]>>;
  try {
    const { fetch } = await loadUndici();
    const dispatcher = await dispatcherOf(o.dispatcher);
    response = await fetch(url, {
      method,
      headers: {
        accept: "application/vnd.github+json",
        authorization: `Bearer ${o.token.reveal()}`,
        "x-github-api-version": GITHUB_API_VERSION,
        "user-agent": `gitlab-pull-secret/${VERSION}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(o.requestTimeoutMs),
      ...(dispatcher ? { dispatcher } : {}),
    });
  } catch (err) {
    throw connectionError(err, o.requestTimeoutMs, false, "GitHub");
  }
  let text: string;
  try {
    text = response.status === 204 ? "" : await response.text();
  } catch (err) {
    throw connectionError(err, o.requestTimeoutMs, true, "GitHub");
  }
  const headers = Object.fromEntries(response.headers.entries());
  if (!response.ok) throw new HttpStatusError(response.status, headers, messageOf(text));
  if (text === "") return { status: response.status, headers, body: null };
  try {
    return { status: response.status, headers, body: JSON.parse(text) as unknown };
  } catch {
    throw new ConnectionError("lost-response", "GitHub's answer could not be read (invalid JSON)");
  }
}

/** GET and PUT of a secret are idempotent: our retry policy applies to both. */
export function gitHubRequest(
  o: GitHubClientOptions,
  method: "GET" | "PUT",
  path: string,
  body?: unknown,
): Promise<GitHubAnswer> {
  return retrying(() => once(o, method, path, body), { idempotent: true, classify, opts: o.retry });
}

/**
 * A failure as GitHubError, with `hint(status, headers, message)` saying what
 * it means for this call. The token is redacted from anything that could echo it.
 */
export function toGitHubError(
  operation: string,
  err: unknown,
  token: Secret,
  hint: (status: number, headers: Readonly<Record<string, string>>, message: string) => string,
): GitHubError {
  if (err instanceof GitHubError) return err;
  const clean = (s: string): string => redact(s, [token.reveal()]);
  if (err instanceof HttpStatusError)
    return new GitHubError(
      operation,
      err.status,
      clean(err.description || `HTTP ${err.status}`),
      clean(hint(err.status, err.headers, err.description)),
    );
  if (err instanceof ConnectionError) return new GitHubError(operation, undefined, clean(err.message), err.proxyHint);
  if (err instanceof RetryExhaustedError) {
    const status = err.last.kind === "status" ? err.last.status : undefined;
    return new GitHubError(
      operation,
      status,
      clean(err.message),
      "GitHub is unavailable or rate-limits us; try again later",
    );
  }
  return new GitHubError(operation, undefined, clean(err instanceof Error ? err.message : String(err)));
}
