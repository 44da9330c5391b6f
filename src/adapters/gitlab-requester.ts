// One HTTP request per gitbeaker call (gitbeaker's own handler retries, and
// re-sends POST). Failures become two error classes holding the response's
// facts or a code only, never the request, which carries the PRIVATE-TOKEN;
// classify() maps them onto retry.ts's Failure.
import {
  getMatchingRateLimiter,
  type RateLimiters,
  type RequestHandlerFn,
  type RequestOptions,
} from "@gitbeaker/requester-utils";
import { dispatcherOf, loadUndici, type LazyDispatcher, type Undici } from "./undici.js";
import { describeProxyRefusal, proxyRefusalOf } from "./proxy.js";
import type { Failure } from "./retry.js";
import { isIP } from "node:net";
import { connect as tlsConnect } from "node:tls";

/** GitLab answered with a non-2xx status. Holds the response's facts only, never the request. */
export class HttpStatusError extends Error {
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
export class ConnectionError extends Error {
  override name = "ConnectionError";
  constructor(
    /** A Node/undici code, "timeout" or "lost-response" (see retry.ts). */
    readonly code: string,
    message: string,
    /** What to do about it, where the code alone cannot say: the proxy's refusal, a scheme the server does not speak. */
    readonly proxyHint?: string,
  ) {
    super(message);
  }
}

/** Finds the first error code in undici's wrapping (TypeError "fetch failed" -> cause -> AggregateError). */
function codeOf(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== "object" || depth > 4) return undefined;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === "string" && e.code !== "") return e.code;
  if (e.message === "socket hang up") return "socket hang up";
  return codeOf(e.cause, depth + 1) ?? (Array.isArray(e.errors) ? codeOf(e.errors[0], depth + 1) : undefined);
}

/**
 * Builds the error from codes only: undici's messages are safe, but nothing of theirs needs to travel.
 * `peer` names the server in the message (the GitHub store's requests fail the same ways).
 */
export function connectionError(
  err: unknown,
  timeoutMs: number,
  readingBody: boolean,
  peer = "GitLab",
): ConnectionError {
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
      ? `the connection broke while ${peer}'s answer was read (${code})`
      : `the connection to ${peer} failed (${code})`,
  );
}

/** OpenSSL's words for a peer that answered the TLS hello in plain text (an http:// server on that port). */
const PLAINTEXT_PEER =
  /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST|wrong version number|packet length too long/i;
/** How an https:// server treats a plain-text request: it drops the connection before any answer. */
const CLOSED_EARLY = new Set(["UND_ERR_SOCKET", "ECONNRESET", "socket hang up", "UND_ERR_CLOSED"]);

/**
 * Whether host:port completes (or fails on its certificate in) a TLS handshake:
 * the server speaks https. Nothing is sent past the hello, so no request and
 * no token; the peer's certificate is not trusted for anything.
 */
function speaksTls(url: URL, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const port = Number(url.port || 80);
    const socket = tlsConnect({
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port,
      servername: isIP(url.hostname) ? undefined : url.hostname,
      rejectUnauthorized: false,
    });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("secureConnect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * A scheme that does not match the server is no transient failure: an https://
 * URL against a plain-http port fails every TLS hello, and an http:// URL
 * against an https port has every connection dropped. Say so at once (a
 * final failure, never retried) instead of retrying until --retry-for ends.
 */
async function schemeMismatch(url: URL, err: unknown, timeoutMs: number): Promise<ConnectionError | undefined> {
  const code = codeOf(err) ?? "";
  const message = (err as { cause?: { message?: unknown } } | null)?.cause?.message;
  if (
    url.protocol === "https:" &&
    (PLAINTEXT_PEER.test(code) || (typeof message === "string" && PLAINTEXT_PEER.test(message)))
  ) {
    return new ConnectionError(
      "scheme-mismatch",
      `${url.host} answers plain http, not https (the TLS handshake got a plain-text reply)`,
      `Use http://${url.host} only if that is really GitLab (loopback, or with --allow-insecure-http); otherwise check the port of the GitLab URL`,
    );
  }
  if (url.protocol === "http:" && CLOSED_EARLY.has(code) && (await speaksTls(url, Math.min(timeoutMs, 5000)))) {
    return new ConnectionError(
      "scheme-mismatch",
      `${url.host} speaks https, but the GitLab URL says http:// (the server dropped the plain-text request)`,
      `Use https://${url.host} as the GitLab URL`,
    );
  }
  return undefined;
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
  if (type === "application/json") return text === "" ? {} : ((JSON.parse(text) as unknown) ?? {});
  return text;
}

/**
 * gitbeaker's request handler minus its retry loop: one fetch (undici's, so the
 * CA dispatcher passed as gitbeaker's `agent` always matches its client), a
 * per-request timeout, gitbeaker's client-side rate limiter kept.
 */
export function oneRequest(timeoutMs: number): RequestHandlerFn {
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
      throw (await schemeMismatch(url, err, timeoutMs)) ?? connectionError(err, timeoutMs, false);
    }
    let text: string;
    try {
      text = response.status === 204 ? "" : await response.text();
    } catch (err) {
      throw connectionError(err, timeoutMs, true);
    }
    const headers = Object.fromEntries(response.headers.entries());
    // nginx (as in GitLab's Omnibus package) answers a plain request on its TLS port with this 400 page.
    if (
      response.status === 400 &&
      url.protocol === "http:" &&
      /plain HTTP request was sent to HTTPS port/i.test(text)
    ) {
      throw new ConnectionError(
        "scheme-mismatch",
        `${url.host} speaks https, but the GitLab URL says http:// (HTTP 400: the plain HTTP request was sent to an HTTPS port)`,
        `Use https://${url.host} as the GitLab URL`,
      );
    }
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

export function classify(err: unknown): Failure | undefined {
  if (err instanceof HttpStatusError) return { kind: "status", status: err.status, headers: err.headers };
  if (err instanceof ConnectionError) return { kind: "connection", code: err.code };
  return undefined;
}
