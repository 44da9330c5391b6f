// Why a registry check failed and what to do about it: the VerifyError every
// failure becomes, how a server's answer is shown (clipped, its error code
// read), and the hint for each answer of each step of the token flow
// (registry.ts). Pure: the flow passes in what it saw.
import { ExitCode, GpsError } from "../model/errors.js";
import { describeProxyRefusal, proxyRefusalOf } from "./proxy.js";
import { parseBearerChallenge } from "./registry-challenge.js";

export type VerifyStep = "registry" | "token" | "access" | "manifest";

const STEP_TEXT: Record<VerifyStep, string> = {
  registry: "reaching the registry",
  token: "getting a registry token from its token service",
  access: "checking the token's pull access",
  manifest: "reading the image manifest",
};

/** The new credentials do not pull. The message says which step failed, what the server answered and what to do. */
export class VerifyError extends GpsError {
  readonly exitCode = ExitCode.remote;
  readonly step: VerifyStep;
  /** HTTP status of the failing answer; undefined for connection failures and checks of a 200. */
  readonly status: number | undefined;
  /** The registry/GitLab error code (UNAUTHORIZED, DENIED, MANIFEST_UNKNOWN, …) or the connection error code. */
  readonly code: string | undefined;
  /** What was asked, e.g. "GET https://host/v2/" (no credentials). */
  readonly request: string;
  /** What came back, redacted. */
  readonly answer: string;
  readonly hint: string;
  constructor(f: { step: VerifyStep; request: string; answer: string; hint: string; status?: number; code?: string }) {
    super(`Registry check failed at step "${f.step}" (${STEP_TEXT[f.step]}): ${f.request} ${f.answer}. ${f.hint}`);
    this.step = f.step;
    this.status = f.status;
    this.code = f.code;
    this.request = f.request;
    this.answer = f.answer;
    this.hint = f.hint;
  }
}

// ---- reading answers ----------------------------------------------------------------------------

export interface Answer {
  status: number;
  headers: { get(name: string): string | null };
  body: string;
}

/** `{"errors":[{code,message}]}` (registry, /jwt/auth), or GitLab's `{"message"}` / `{"error"}`. */
export function errorOf(body: string): { code: string | undefined; message: string | undefined } {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return { code: undefined, message: undefined };
  }
  if (!v || typeof v !== "object") return { code: undefined, message: undefined };
  const o = v as { errors?: unknown; message?: unknown; error?: unknown; error_description?: unknown };
  if (Array.isArray(o.errors) && o.errors[0] && typeof o.errors[0] === "object") {
    const e = o.errors[0] as { code?: unknown; message?: unknown };
    return {
      code: typeof e.code === "string" ? e.code : undefined,
      message: typeof e.message === "string" ? e.message : undefined,
    };
  }
  const message =
    typeof o.message === "string"
      ? o.message
      : typeof o.error_description === "string"
        ? o.error_description
        : undefined;
  return { code: typeof o.error === "string" ? o.error : undefined, message };
}

export const clip = (s: string, max = 120): string => {
  const one = s.replace(/\s+/g, " ").trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
};

/** "answered HTTP 404 MANIFEST_UNKNOWN "manifest unknown"" — server text clipped, redaction happens later. */
export function answered(a: Answer): string {
  const { code, message } = errorOf(a.body);
  let text = `answered HTTP ${a.status}`;
  if (code) text += ` ${code}`;
  if (message) text += ` "${clip(message)}"`;
  else if (!code && a.body.trim() && !/html/i.test(a.headers.get("content-type") ?? ""))
    text += ` "${clip(a.body, 120)}"`;
  else if (!a.body.trim() && a.status >= 400) text += " with an empty body";
  return text;
}

/** A URL as people read it: scope=repository:grp/app:pull rather than its percent-encoding. */
export function shown(url: URL): string {
  try {
    return decodeURIComponent(url.href);
  } catch {
    return url.href;
  }
}

// ---- connection failures ------------------------------------------------------------------------

const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
]);

/** The innermost error code (and message) of a fetch failure: fetch wraps the socket error in `cause`, happy eyeballs in AggregateError. */
function causeOf(err: unknown): { code: string | undefined; message: string | undefined } {
  let e: unknown = err;
  let code: string | undefined;
  let message: string | undefined;
  for (let depth = 0; e && typeof e === "object" && depth < 6; depth++) {
    const o = e as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown[] };
    if (typeof o.code === "string") code = o.code;
    if (typeof o.message === "string" && o.message) message = o.message;
    e = o.cause ?? (Array.isArray(o.errors) ? o.errors[0] : undefined);
  }
  return { code, message };
}

export function connectionHint(
  err: unknown,
  host: string,
  timeoutMs: number,
): { answer: string; hint: string; code: string | undefined } {
  const name = (err as { name?: string } | undefined)?.name;
  if (name === "TimeoutError" || name === "AbortError") {
    return {
      answer: `got no answer within ${timeoutMs / 1000} s`,
      hint: `${host} is slow or unreachable from here; retry, or skip the check with --no-verify if this runner cannot reach it`,
      code: "TIMEOUT",
    };
  }
  const refusal = proxyRefusalOf(err);
  if (refusal) {
    const { detail, hint } = describeProxyRefusal(refusal);
    return { answer: `failed: ${detail}`, hint, code: refusal.code };
  }
  const { code, message } = causeOf(err);
  const c = code ?? clip(message ?? "unknown error", 120);
  if (code && UNTRUSTED.has(code)) {
    return {
      answer: `failed: the TLS certificate of ${host} is not trusted (${c})`,
      hint: `If ${host} uses a private CA, pass that CA's certificate (PEM) with --ca-file (Action input ca-file)`,
      code,
    };
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID" || code === "HOSTNAME_MISMATCH") {
    return {
      answer: `failed: the TLS certificate does not name ${host} (${c})`,
      hint: `Use the host name the certificate was issued for`,
      code,
    };
  }
  if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") {
    return {
      answer: `failed: the TLS certificate of ${host} is not valid now (${c})`,
      hint: `Renew the certificate of ${host}`,
      code,
    };
  }
  if (code && /^ERR_SSL_|^ERR_TLS_/.test(code)) {
    return {
      answer: `failed: TLS handshake with ${host} failed (${c})`,
      hint: `Check that ${host} speaks HTTPS on that port; if its certificate is signed by a private CA, pass it with --ca-file (Action input ca-file)`,
      code,
    };
  }
  if (code === "ECONNRESET" || code === "UND_ERR_SOCKET" || code === "EPIPE") {
    return {
      answer: `failed: ${host} closed the connection (${c})`,
      hint: "Retry; if it persists, check the registry and any proxy in front of it",
      code,
    };
  }
  return {
    answer: `failed: cannot connect to ${host} (${c})`,
    hint: `Check the host and port and that this runner can reach ${host}; --no-verify skips this check`,
    code,
  };
}

// ---- the hint for each step ---------------------------------------------------------------------

/** Step 1: /v2/ (or the repository probe) answered neither 200 nor 401. */
export function registryHint(a: Answer, registry: string): string {
  if (a.status >= 300 && a.status < 400) {
    return `The registry redirects to ${a.headers.get("location") ?? "(no Location)"}; give the final registry host with --registry`;
  } else if (a.status === 404) {
    return `${registry} does not serve the registry API at /v2/: use the container registry host (the host part of the project's container_registry_image_prefix), which is often not the GitLab web host`;
  } else if (a.status === 429) {
    return "The registry is rate limiting this client; retry later";
  } else if (a.status >= 500) {
    return "The registry failed; retry, and check its logs if it persists";
  } else {
    return `Unexpected answer from ${registry}; check --registry`;
  }
}

/** Step 1: a 401 without a Bearer challenge that names a realm. */
export function noBearerHint(schemes: readonly string[], registry: string, isStatic: boolean): string {
  if (!schemes.includes("basic")) {
    return `${registry} sent no Bearer challenge with a realm, so there is no token service to ask. Check --registry and the registry's auth.token settings`;
  }
  return isStatic
    ? `${registry} asks for Basic authentication, not for a token: the pull check speaks only the registry token flow. Leave out --verify-image for this registry`
    : `${registry} asks for Basic authentication, not for a token: GitLab's container registry always uses token authentication, so this is not (or not configured as) the GitLab registry. Check --registry`;
}

/** Step 2: the token service did not answer 200. */
export function tokenHint(
  a: Answer,
  ctx: {
    code: string | undefined;
    realmHost: string;
    service: string | undefined;
    username: string;
    registry: string;
    isStatic: boolean;
  },
): string {
  const { code } = ctx;
  if (ctx.isStatic && (a.status === 401 || a.status === 403)) {
    return a.status === 401
      ? `${ctx.realmHost} refused username "${ctx.username}" with this password: check the username and the password or access token (REGISTRY_PASSWORD / --password-file), and that they are for ${ctx.registry}`
      : `${ctx.realmHost} accepted "${ctx.username}" but refused it a registry token: the account may not pull from ${ctx.registry}, or is locked`;
  } else if (a.status === 401) {
    return (
      `GitLab refused username "${ctx.username}" with this token. The username must be the deploy token's own username exactly ` +
      `(gitlab+deploy-token-<id>, or the custom one it was created with; case-sensitive; never the token's name), ` +
      `and the token must be live: not mistyped, expired, revoked or deleted`
    );
  } else if (a.status === 403) {
    return (
      `GitLab accepted the deploy token but not for the registry: it lacks the read_registry scope (create it with scopes [read_registry]). ` +
      `If it has that scope, GitLab may be banning this address after repeated failed logins; wait, or ask an administrator`
    );
  } else if (a.status === 404 && code === "UNAVAILABLE") {
    return "The container registry is not enabled on this GitLab instance; an administrator must enable it (registry settings in gitlab.rb / gitlab.yml)";
  } else if (a.status === 404 && a.body.trim() === "") {
    return (
      `GitLab knows no registry service named "${ctx.service ?? ""}": the registry's auth.token.service must equal GitLab's ` +
      `registry service name (container_registry by default)`
    );
  } else if (a.status === 404) {
    return `${ctx.realmHost} does not look like GitLab's token endpoint; the registry's auth.token.realm should be https://<gitlab>/jwt/auth`;
  } else if (a.status >= 300 && a.status < 400) {
    return `The token service redirects to ${a.headers.get("location") ?? "(no Location)"}; the registry's auth.token.realm should be the final URL (check GitLab's external_url)`;
  } else if (a.status === 429) {
    return "GitLab is rate limiting this client; retry later";
  } else if (a.status >= 500) {
    return "GitLab failed to issue a registry token; retry, and check GitLab's registry settings if it persists";
  } else {
    return "Unexpected answer from GitLab's token service";
  }
}

/** Step 3: the token's access claim grants no pull on the repository. */
export function noPullHint(req: { username: string; repository: string; registry: string }, isStatic: boolean): string {
  return isStatic
    ? `"${req.username}" cannot pull ${req.repository} on ${req.registry}: check the account's permissions there and the repository in --verify-image`
    : `The deploy token cannot reach this repository: it belongs to another project (or to a group that does not contain it), ` +
        `or the container registry is disabled for the project (Settings > General > Visibility > Container registry), ` +
        `or ${req.repository} is not the project's repository path`;
}

/** Step 4: the manifest request did not answer 200 (`tags`: the repository's, when they could be listed). */
export function manifestHint(
  answer: Answer,
  ctx: {
    code: string | undefined;
    message: string | undefined;
    tags: string[] | "no-repository" | undefined;
    image: string;
    repo: string;
    tag: string | undefined;
    repository: string;
  },
): string {
  const { code, message, tags, image, repo } = ctx;
  if (answer.status === 404 && (code === "NAME_UNKNOWN" || tags === "no-repository")) {
    return `Repository ${repo} does not exist (nothing was pushed to it): check the repository in --verify-image`;
  } else if (answer.status === 404 && code === "MANIFEST_UNKNOWN" && /accept header/i.test(message ?? "")) {
    return `${image} exists but in a manifest type this check does not request; report this`;
  } else if (answer.status === 404) {
    const known = Array.isArray(tags) ? ` (tags there: ${tags.length ? tags.join(", ") : "none"})` : "";
    return `Image ${image} does not exist: tag "${ctx.tag}" is not in ${repo}${known}. Push it first, or verify another tag with --verify-image`;
  } else if (answer.status === 401) {
    const ch = parseBearerChallenge(answer.headers.get("www-authenticate"));
    return ch?.error === "invalid_token"
      ? "The registry rejected the token GitLab issued (invalid_token): the registry's auth.token issuer, service or rootcertbundle do not match GitLab's registry settings, or their clocks differ by more than a minute"
      : `The registry refused the token for ${ctx.repository} (${ch?.error ?? "insufficient_scope"}): it does not grant pull on this repository. Check that the token belongs to this project (or its group) and that the repository path is the project's`;
  } else if (answer.status === 403) {
    return `The registry denies pulling ${image}; check the project's container registry settings`;
  } else if (answer.status === 429) {
    return "The registry is rate limiting this client; retry later";
  } else if (answer.status >= 500) {
    return "The registry failed; retry, and check its logs if it persists";
  } else {
    return `Unexpected answer for ${image}`;
  }
}
