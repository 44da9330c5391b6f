// verify: prove that freshly minted credentials really pull, before anything
// touches the cluster. Docker registry v2 token flow, as GitLab runs it
// (REFERENCE §3):
//   1. GET https://<registry>/v2/           -> 401 WWW-Authenticate: Bearer realm=…,service=…
//   2. GET <realm>?service=…&scope=repository:<path>:pull with Basic username:token -> {"token": JWT}
//   3. the JWT's `access` claim must grant pull on <path>. GitLab answers 200 with
//      `access: []` when the token cannot reach the repository, so a 200 alone proves nothing.
//   4. with a tag: HEAD /v2/<path>/manifests/<tag> with the JWT -> 200 + Docker-Content-Digest.
//
// A registry that answers /v2/ with 200 asks nobody for credentials at its root.
// GitLab's never does, but a registry may still guard its repositories, so we
// ask the repository itself: a Bearer challenge there runs the flow as above;
// a 200 there means anyone can read the image. The result then says
// `anonymous: true`: the check passed but proves nothing about the token, and
// the caller should say so rather than fail a rotation that would work.
//
// Credentials never leave this module in text: every string that came from a
// server is redacted against the password, user:password, its base64 and the
// JWT before it is put into an error.
import type { Dispatcher } from "undici";
import { dispatcherOf, loadUndici, type LazyDispatcher } from "./undici.js";
import { ExitCode, GpsError } from "./errors.js";
import { isLoopbackHost } from "./inputs.js";
import { describeProxyRefusal, proxyRefusalOf, type ProxySettings } from "./proxy.js";
import { redact, type Secret } from "./secret.js";
import { dispatcher } from "./tls.js";

export const DEFAULT_TIMEOUT_MS = 15_000;

/** Every manifest type a pull may meet; distribution 2.8 answers 404 for an OCI image not listed in Accept. */
export const MANIFEST_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
] as const;

/** Enough for any error body or token response; a server cannot make us buffer more. */
const BODY_CAP = 256 * 1024;

export interface VerifyRequest {
  /** host[:port] exactly as in image references, e.g. gitlab.example.com:5005. */
  registry: string;
  /** Repository path below the registry, e.g. grp/app (lowercase, as GitLab stores it). */
  repository: string;
  /** With a tag the manifest is fetched; without, the check stops at the token's access. */
  tag: string | undefined;
  username: string;
  password: Secret;
  /**
   * Whose credentials: a GitLab deploy token (the default) or static ones for
   * any registry (--username). Only the hints of a failure differ.
   */
  credentials?: "deploy-token" | "static";
}

export interface VerifyResult {
  registry: string;
  repository: string;
  tag?: string;
  /** Docker-Content-Digest of the tag's manifest (only with a tag). */
  digest?: string;
  /** The token service the registry pointed to; undefined when the registry asked for no credentials. */
  realm: string | undefined;
  /** The registry served the repository without credentials: the check proves nothing about the token. */
  anonymous: boolean;
}

export interface RegistryPort {
  verifyPull(req: VerifyRequest): Promise<VerifyResult>;
}

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

// ---- WWW-Authenticate ---------------------------------------------------------------------------

export interface AuthChallenge {
  /** Lowercase, e.g. "bearer", "basic". */
  scheme: string;
  /** Parameter names lowercased; values unquoted and unescaped; the first of a repeated name wins. */
  params: Record<string, string>;
  /** The token68 form (`Negotiate abc==`), when the challenge has one instead of parameters. */
  token68?: string;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*(?=[ \t]*(?:,|$))/;

/**
 * RFC 9110 §11.6.1 challenges: `scheme [token68 | param=value|"quoted, with \" escapes", …]`,
 * several challenges per header (fetch joins repeated header lines with ", ").
 * Never throws: what cannot be read is skipped.
 */
export function parseAuthChallenges(header: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  const n = header.length;
  let i = 0;
  let current: { scheme: string; params: Map<string, string>; token68?: string } | undefined;
  const all: Array<NonNullable<typeof current>> = [];
  const ws = (): void => {
    while (i < n && (header[i] === " " || header[i] === "\t")) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && TCHAR.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  const quoted = (): string => {
    let v = "";
    i++; // opening quote
    while (i < n && header[i] !== '"') {
      if (header[i] === "\\" && i + 1 < n) i++;
      v += header[i];
      i++;
    }
    i++; // closing quote, or past the end of an unterminated one
    return v;
  };

  while (i < n) {
    ws();
    if (i >= n) break;
    if (header[i] === ",") {
      i++;
      continue;
    }
    const name = token();
    if (name === "") {
      i++; // a character no grammar rule allows here
      continue;
    }
    ws();
    if (header[i] === "=") {
      // name=value belongs to the challenge before it.
      i++;
      ws();
      const value = header[i] === '"' ? quoted() : token();
      const key = name.toLowerCase();
      if (current && !current.params.has(key)) current.params.set(key, value);
      continue;
    }
    // A bare token is a new scheme, possibly followed by a token68.
    current = { scheme: name.toLowerCase(), params: new Map() };
    all.push(current);
    const t68 = TOKEN68.exec(header.slice(i));
    if (t68) {
      current.token68 = t68[0];
      i += t68[0].length;
    }
  }
  for (const c of all) {
    const challenge: AuthChallenge = { scheme: c.scheme, params: Object.fromEntries(c.params) };
    if (c.token68 !== undefined) challenge.token68 = c.token68;
    out.push(challenge);
  }
  return out;
}

export interface BearerChallenge {
  realm: string;
  service: string | undefined;
  scope: string | undefined;
  /** invalid_token, insufficient_scope, … on a refused token. */
  error: string | undefined;
  params: Record<string, string>;
}

/** The first Bearer challenge that names a realm; undefined when there is none. */
export function parseBearerChallenge(header: string | null | undefined): BearerChallenge | undefined {
  if (!header) return undefined;
  for (const c of parseAuthChallenges(header)) {
    if (c.scheme !== "bearer" || !c.params.realm) continue;
    return { realm: c.params.realm, service: c.params.service, scope: c.params.scope, error: c.params.error, params: c.params };
  }
  return undefined;
}

// ---- the JWT's access claim ---------------------------------------------------------------------

export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

/**
 * The `access` claim of a registry JWT, read without checking the signature
 * (the registry checks it; we only want to know what GitLab granted).
 * undefined when the token is not a JWT; [] when it grants nothing.
 */
export function jwtAccess(jwt: string): AccessEntry[] | undefined {
  const parts = jwt.split(".");
  if (parts.length !== 3 || !parts[1]) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (!claims || typeof claims !== "object" || Array.isArray(claims)) return undefined;
  const access = (claims as { access?: unknown }).access;
  if (!Array.isArray(access)) return [];
  return access
    .filter((e): e is Record<string, unknown> => !!e && typeof e === "object")
    .map((e) => ({
      type: typeof e.type === "string" ? e.type : "",
      name: typeof e.name === "string" ? e.name : "",
      actions: Array.isArray(e.actions) ? e.actions.filter((a): a is string => typeof a === "string") : [],
    }));
}

/** Distribution's check: same type and exact name, action listed or "*". */
export function grantsPull(access: readonly AccessEntry[], repository: string): boolean {
  return access.some((a) => a.type === "repository" && a.name === repository && (a.actions.includes("pull") || a.actions.includes("*")));
}

function describeAccess(access: readonly AccessEntry[]): string {
  return access.length === 0 ? "access: []" : `access: ${access.map((a) => `${a.type}:${a.name}:${a.actions.join(",")}`).join(" ")}`;
}

// ---- reading answers ----------------------------------------------------------------------------

interface Answer {
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
    return { code: typeof e.code === "string" ? e.code : undefined, message: typeof e.message === "string" ? e.message : undefined };
  }
  const message = typeof o.message === "string" ? o.message : typeof o.error_description === "string" ? o.error_description : undefined;
  return { code: typeof o.error === "string" ? o.error : undefined, message };
}

const clip = (s: string, max = 120): string => {
  const one = s.replace(/\s+/g, " ").trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
};

/** "answered HTTP 404 MANIFEST_UNKNOWN "manifest unknown"" — server text clipped, redaction happens later. */
function answered(a: Answer): string {
  const { code, message } = errorOf(a.body);
  let text = `answered HTTP ${a.status}`;
  if (code) text += ` ${code}`;
  if (message) text += ` "${clip(message)}"`;
  else if (!code && a.body.trim() && !/html/i.test(a.headers.get("content-type") ?? "")) text += ` "${clip(a.body, 120)}"`;
  else if (!a.body.trim() && a.status >= 400) text += " with an empty body";
  return text;
}

/** A URL as people read it: scope=repository:grp/app:pull rather than its percent-encoding. */
function shown(url: URL): string {
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

function connectionHint(err: unknown, host: string, timeoutMs: number): { answer: string; hint: string; code: string | undefined } {
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
    return { answer: `failed: the TLS certificate does not name ${host} (${c})`, hint: `Use the host name the certificate was issued for`, code };
  }
  if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID") {
    return { answer: `failed: the TLS certificate of ${host} is not valid now (${c})`, hint: `Renew the certificate of ${host}`, code };
  }
  if (code && /^ERR_SSL_|^ERR_TLS_/.test(code)) {
    return {
      answer: `failed: TLS handshake with ${host} failed (${c})`,
      hint: `Check that ${host} speaks HTTPS on that port; if its certificate is signed by a private CA, pass it with --ca-file (Action input ca-file)`,
      code,
    };
  }
  if (code === "ECONNRESET" || code === "UND_ERR_SOCKET" || code === "EPIPE") {
    return { answer: `failed: ${host} closed the connection (${c})`, hint: "Retry; if it persists, check the registry and any proxy in front of it", code };
  }
  return {
    answer: `failed: cannot connect to ${host} (${c})`,
    hint: `Check the host and port and that this runner can reach ${host}; --no-verify skips this check`,
    code,
  };
}

// ---- the flow -----------------------------------------------------------------------------------

interface FlowOptions {
  dispatcher: Dispatcher | LazyDispatcher | undefined;
  timeoutMs: number;
}

type Step1 = { kind: "challenge"; challenge: BearerChallenge } | { kind: "anonymous"; digest: string | undefined };

class Flow {
  /** Every text form of the credentials; the JWT joins once known. */
  private readonly forms: string[];
  private readonly base: string;
  private readonly repoPath: string;

  constructor(
    private readonly req: VerifyRequest,
    private readonly opts: FlowOptions,
  ) {
    const password = req.password.reveal();
    const userPass = `${req.username}:${password}`;
    const b64 = Buffer.from(userPass).toString("base64");
    this.forms = [password, userPass, b64, b64.replace(/=+$/, "")];
    this.base = `https://${req.registry}`;
    this.repoPath = req.repository.split("/").map(encodeURIComponent).join("/");
  }

  private fail(f: { step: VerifyStep; request: string; answer: string; hint: string; status?: number; code?: string }): VerifyError {
    const r = (s: string): string => redact(s, this.forms);
    return new VerifyError({ ...f, request: r(f.request), answer: r(f.answer), hint: r(f.hint) });
  }

  private basic(): string {
    return `Basic ${this.forms[2]}`;
  }

  /** One request, body read (capped) within the timeout. Redirects are not followed: they would carry credentials elsewhere. */
  private async send(step: VerifyStep, method: "GET" | "HEAD", url: URL, headers: Record<string, string>): Promise<Answer> {
    const request = `${method} ${shown(url)}`;
    try {
      const { fetch } = await loadUndici();
      const dispatcher = await dispatcherOf(this.opts.dispatcher);
      const res = await fetch(url, {
        method,
        headers,
        redirect: "manual",
        signal: AbortSignal.timeout(this.opts.timeoutMs),
        ...(dispatcher ? { dispatcher } : {}),
      });
      return { status: res.status, headers: res.headers, body: await readCapped(res.body) };
    } catch (err) {
      const c = connectionHint(err, url.host, this.opts.timeoutMs);
      throw this.fail({ step, request, answer: c.answer, hint: c.hint, ...(c.code ? { code: c.code } : {}) });
    }
  }

  private manifestUrl(): URL {
    return new URL(`${this.base}/v2/${this.repoPath}/manifests/${encodeURIComponent(this.req.tag ?? "")}`);
  }

  private image(): string {
    return `${this.req.registry}/${this.req.repository}${this.req.tag ? `:${this.req.tag}` : ""}`;
  }

  async run(): Promise<VerifyResult> {
    const result = { registry: this.req.registry, repository: this.req.repository, ...(this.req.tag ? { tag: this.req.tag } : {}) };
    const first = await this.challenge();
    if (first.kind === "anonymous") {
      return { ...result, ...(first.digest ? { digest: first.digest } : {}), realm: undefined, anonymous: true };
    }
    const realm = this.realmUrl(first.challenge);
    const jwt = await this.token(realm, first.challenge);
    this.checkAccess(jwt, realm);
    if (!this.req.tag) return { ...result, realm: first.challenge.realm, anonymous: false };
    const digest = await this.manifest({ authorization: `Bearer ${jwt}` });
    return { ...result, ...(digest ? { digest } : {}), realm: first.challenge.realm, anonymous: false };
  }

  /** Step 1: the registry's Bearer challenge (from /v2/, or from the repository when /v2/ is open). */
  private async challenge(): Promise<Step1> {
    const url = new URL(`${this.base}/v2/`);
    const a = await this.send("registry", "GET", url, {});
    if (a.status === 401) return { kind: "challenge", challenge: this.bearerOf(a, `GET ${shown(url)}`) };
    if (a.status !== 200) throw this.registryFailure(a, `GET ${shown(url)}`);

    // Open root: ask the repository itself.
    if (this.req.tag) {
      const m = this.manifestUrl();
      const probe = await this.send("manifest", "HEAD", m, { accept: MANIFEST_TYPES.join(", ") });
      if (probe.status === 401) return { kind: "challenge", challenge: this.bearerOf(probe, `HEAD ${shown(m)}`) };
      if (probe.status === 200) return { kind: "anonymous", digest: probe.headers.get("docker-content-digest") ?? undefined };
      throw await this.manifestFailure(probe, {});
    }
    const tags = new URL(`${this.base}/v2/${this.repoPath}/tags/list?n=1`);
    const probe = await this.send("registry", "GET", tags, {});
    if (probe.status === 401) return { kind: "challenge", challenge: this.bearerOf(probe, `GET ${shown(tags)}`) };
    // 200, or 404 NAME_UNKNOWN: anyone may read here, and without a tag the repository need not exist yet.
    if (probe.status === 200 || probe.status === 404) return { kind: "anonymous", digest: undefined };
    throw this.registryFailure(probe, `GET ${shown(tags)}`);
  }

  private bearerOf(a: Answer, request: string): BearerChallenge {
    const header = a.headers.get("www-authenticate");
    const challenge = parseBearerChallenge(header);
    if (challenge) return challenge;
    const schemes = header ? parseAuthChallenges(header).map((c) => c.scheme) : [];
    throw this.fail({
      step: "registry",
      request,
      answer: `${answered(a)} ${header ? `with WWW-Authenticate: ${clip(header, 200)}` : "without a WWW-Authenticate header"}`,
      hint: schemes.includes("basic")
        ? this.isStatic()
          ? `${this.req.registry} asks for Basic authentication, not for a token: the pull check speaks only the registry token flow. Leave out --verify-image for this registry`
          : `${this.req.registry} asks for Basic authentication, not for a token: GitLab's container registry always uses token authentication, so this is not (or not configured as) the GitLab registry. Check --registry`
        : `${this.req.registry} sent no Bearer challenge with a realm, so there is no token service to ask. Check --registry and the registry's auth.token settings`,
      status: a.status,
    });
  }

  private registryFailure(a: Answer, request: string): VerifyError {
    const { code } = errorOf(a.body);
    let hint: string;
    if (a.status >= 300 && a.status < 400) {
      hint = `The registry redirects to ${a.headers.get("location") ?? "(no Location)"}; give the final registry host with --registry`;
    } else if (a.status === 404) {
      hint = `${this.req.registry} does not serve the registry API at /v2/: use the container registry host (the host part of the project's container_registry_image_prefix), which is often not the GitLab web host`;
    } else if (a.status === 429) {
      hint = "The registry is rate limiting this client; retry later";
    } else if (a.status >= 500) {
      hint = "The registry failed; retry, and check its logs if it persists";
    } else {
      hint = `Unexpected answer from ${this.req.registry}; check --registry`;
    }
    return this.fail({ step: "registry", request, answer: answered(a), hint, status: a.status, ...(code ? { code } : {}) });
  }

  /** The realm must be https (http only on loopback): the deploy token goes there in clear. */
  private realmUrl(c: BearerChallenge): URL {
    const where = `the registry's challenge (realm="${clip(c.realm, 200)}")`;
    let url: URL;
    try {
      url = new URL(c.realm);
    } catch {
      throw this.fail({ step: "registry", request: `GET ${this.base}/v2/`, answer: `named realm "${clip(c.realm, 200)}", which is not a URL`, hint: "Fix the registry's auth.token.realm (GitLab: https://<gitlab>/jwt/auth)" });
    }
    if (url.username || url.password) {
      throw this.fail({ step: "registry", request: where, answer: "names a realm with credentials in the URL", hint: "Fix the registry's auth.token.realm; the deploy token is not sent there" });
    }
    if (url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname))) return url;
    throw this.fail({
      step: "registry",
      request: where,
      answer: `points to ${url.protocol}//${url.host}`,
      hint: "The deploy token would travel there unencrypted, so it was not sent. Make the registry's auth.token.realm an https:// URL (GitLab's external_url over HTTPS)",
    });
  }

  /** Step 2: trade Basic username:token for a registry JWT. */
  private async token(realm: URL, c: BearerChallenge): Promise<string> {
    if (c.service !== undefined) realm.searchParams.append("service", c.service);
    realm.searchParams.append("scope", `repository:${this.req.repository}:pull`);
    const a = await this.send("token", "GET", realm, { authorization: this.basic(), accept: "application/json" });
    const request = `GET ${shown(realm)}`;
    if (a.status !== 200) throw this.tokenFailure(a, request, realm, c);
    let body: { token?: unknown; access_token?: unknown } | undefined;
    try {
      const v: unknown = JSON.parse(a.body);
      if (v && typeof v === "object") body = v as typeof body;
    } catch {
      /* reported below */
    }
    // distribution's client prefers access_token when both are present (session.go).
    const jwt = typeof body?.access_token === "string" && body.access_token ? body.access_token : typeof body?.token === "string" ? body.token : "";
    if (!jwt) {
      throw this.fail({ step: "token", request, answer: "answered HTTP 200 without a token", hint: `${realm.host} is not a registry token service; check the registry's auth.token.realm`, status: 200 });
    }
    this.forms.push(jwt);
    return jwt;
  }

  private isStatic(): boolean {
    return this.req.credentials === "static";
  }

  private tokenFailure(a: Answer, request: string, realm: URL, c: BearerChallenge): VerifyError {
    const { code } = errorOf(a.body);
    const u = this.req.username;
    let hint: string;
    if (this.isStatic() && (a.status === 401 || a.status === 403)) {
      hint =
        a.status === 401
          ? `${realm.host} refused username "${u}" with this password: check the username and the password or access token (REGISTRY_PASSWORD / --password-file), and that they are for ${this.req.registry}`
          : `${realm.host} accepted "${u}" but refused it a registry token: the account may not pull from ${this.req.registry}, or is locked`;
    } else if (a.status === 401) {
      hint =
        `GitLab refused username "${u}" with this token. The username must be the deploy token's own username exactly ` +
        `(gitlab+deploy-token-<id>, or the custom one it was created with; case-sensitive; never the token's name), ` +
        `and the token must be live: not mistyped, expired, revoked or deleted`;
    } else if (a.status === 403) {
      hint =
        `GitLab accepted the deploy token but not for the registry: it lacks the read_registry scope (create it with scopes [read_registry]). ` +
        `If it has that scope, GitLab may be banning this address after repeated failed logins; wait, or ask an administrator`;
    } else if (a.status === 404 && code === "UNAVAILABLE") {
      hint = "The container registry is not enabled on this GitLab instance; an administrator must enable it (registry settings in gitlab.rb / gitlab.yml)";
    } else if (a.status === 404 && a.body.trim() === "") {
      hint =
        `GitLab knows no registry service named "${c.service ?? ""}": the registry's auth.token.service must equal GitLab's ` +
        `registry service name (container_registry by default)`;
    } else if (a.status === 404) {
      hint = `${realm.host} does not look like GitLab's token endpoint; the registry's auth.token.realm should be https://<gitlab>/jwt/auth`;
    } else if (a.status >= 300 && a.status < 400) {
      hint = `The token service redirects to ${a.headers.get("location") ?? "(no Location)"}; the registry's auth.token.realm should be the final URL (check GitLab's external_url)`;
    } else if (a.status === 429) {
      hint = "GitLab is rate limiting this client; retry later";
    } else if (a.status >= 500) {
      hint = "GitLab failed to issue a registry token; retry, and check GitLab's registry settings if it persists";
    } else {
      hint = "Unexpected answer from GitLab's token service";
    }
    return this.fail({ step: "token", request, answer: answered(a), hint, status: a.status, ...(code ? { code } : {}) });
  }

  /** Step 3: GitLab drops scopes it will not grant and still answers 200; the claim tells. */
  private checkAccess(jwt: string, realm: URL): void {
    const access = jwtAccess(jwt);
    const request = `GET ${shown(realm)}`;
    if (access === undefined) {
      if (this.req.tag) return; // opaque token: the manifest request below is the proof
      throw this.fail({
        step: "access",
        request,
        answer: "answered with a token that is not a JWT",
        hint: `Its access cannot be read, so pull on ${this.req.repository} is unproven; verify with a tag (--verify-image ${this.req.repository}:<tag>)`,
      });
    }
    if (grantsPull(access, this.req.repository)) return;
    throw this.fail({
      step: "access",
      request,
      answer: `answered HTTP 200 with a token granting no pull on ${this.req.repository} (${describeAccess(access)})`,
      hint: this.isStatic()
        ? `"${this.req.username}" cannot pull ${this.req.repository} on ${this.req.registry}: check the account's permissions there and the repository in --verify-image`
        :
        `The deploy token cannot reach this repository: it belongs to another project (or to a group that does not contain it), ` +
        `or the container registry is disabled for the project (Settings > General > Visibility > Container registry), ` +
        `or ${this.req.repository} is not the project's repository path`,
      status: 200,
    });
  }

  /** Step 4: HEAD the manifest; its digest is the proof. */
  private async manifest(auth: Record<string, string>): Promise<string | undefined> {
    const url = this.manifestUrl();
    const headers = { ...auth, accept: MANIFEST_TYPES.join(", ") };
    const a = await this.send("manifest", "HEAD", url, headers);
    if (a.status === 200) return a.headers.get("docker-content-digest") ?? undefined;
    throw await this.manifestFailure(a, auth);
  }

  /** Up to 10 tags of the repository; "no-repository" on NAME_UNKNOWN; undefined when the list cannot be read. */
  private async someTags(auth: Record<string, string>): Promise<string[] | "no-repository" | undefined> {
    let a: Answer;
    try {
      a = await this.send("manifest", "GET", new URL(`${this.base}/v2/${this.repoPath}/tags/list?n=10`), auth);
    } catch {
      return undefined; // only a detail for a message already on its way
    }
    if (a.status === 404 && errorOf(a.body).code === "NAME_UNKNOWN") return "no-repository";
    if (a.status !== 200) return undefined;
    try {
      const v = JSON.parse(a.body) as { tags?: unknown };
      const tags = Array.isArray(v?.tags) ? v.tags.filter((x): x is string => typeof x === "string") : [];
      return tags.slice(0, 10).map((t) => clip(t, 64));
    } catch {
      return undefined;
    }
  }

  private async manifestFailure(a: Answer, auth: Record<string, string>): Promise<VerifyError> {
    const url = this.manifestUrl();
    let request = `HEAD ${shown(url)}`;
    let answer = a;
    if (a.status === 404) {
      // HEAD answers carry no body; GET the same URL to learn whether the tag or the repository is missing.
      const g = await this.send("manifest", "GET", url, { ...auth, accept: MANIFEST_TYPES.join(", ") }).catch(() => undefined);
      if (g?.status === 404) {
        answer = g;
        request = `GET ${shown(url)}`;
      }
    }
    const { code, message } = errorOf(answer.body);
    const image = this.image();
    const repo = `${this.req.registry}/${this.req.repository}`;
    // distribution 2.8 says MANIFEST_UNKNOWN for a missing tag and for a missing repository alike; the tag list tells them apart.
    const tags = answer.status === 404 && code !== "NAME_UNKNOWN" ? await this.someTags(auth) : undefined;
    let hint: string;
    if (answer.status === 404 && (code === "NAME_UNKNOWN" || tags === "no-repository")) {
      hint = `Repository ${repo} does not exist (nothing was pushed to it): check the repository in --verify-image`;
    } else if (answer.status === 404 && code === "MANIFEST_UNKNOWN" && /accept header/i.test(message ?? "")) {
      hint = `${image} exists but in a manifest type this check does not request; report this`;
    } else if (answer.status === 404) {
      const known = Array.isArray(tags) ? ` (tags there: ${tags.length ? tags.join(", ") : "none"})` : "";
      hint = `Image ${image} does not exist: tag "${this.req.tag}" is not in ${repo}${known}. Push it first, or verify another tag with --verify-image`;
    } else if (answer.status === 401) {
      const ch = parseBearerChallenge(answer.headers.get("www-authenticate"));
      hint =
        ch?.error === "invalid_token"
          ? "The registry rejected the token GitLab issued (invalid_token): the registry's auth.token issuer, service or rootcertbundle do not match GitLab's registry settings, or their clocks differ by more than a minute"
          : `The registry refused the token for ${this.req.repository} (${ch?.error ?? "insufficient_scope"}): it does not grant pull on this repository. Check that the token belongs to this project (or its group) and that the repository path is the project's`;
    } else if (answer.status === 403) {
      hint = `The registry denies pulling ${image}; check the project's container registry settings`;
    } else if (answer.status === 429) {
      hint = "The registry is rate limiting this client; retry later";
    } else if (answer.status >= 500) {
      hint = "The registry failed; retry, and check its logs if it persists";
    } else {
      hint = `Unexpected answer for ${image}`;
    }
    return this.fail({ step: "manifest", request, answer: answered(answer), hint, status: answer.status, ...(code ? { code } : {}) });
  }
}

async function readCapped(body: ReadableStream<Uint8Array> | null): Promise<string> {
  if (!body) return "";
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < BODY_CAP) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function registryPort(opts: { dispatcher?: Dispatcher | LazyDispatcher; timeoutMs?: number } = {}): RegistryPort {
  const flow: FlowOptions = { dispatcher: opts.dispatcher, timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS };
  return { verifyPull: (req) => new Flow(req, flow).run() };
}

/** The port the tool uses: system roots plus the --ca-file CA and the environment's proxy, as for GitLab. */
export function registryPortFor(caPem: string | undefined, timeoutMs?: number, proxy?: ProxySettings): RegistryPort {
  const d = dispatcher(caPem, proxy);
  return registryPort({ ...(d ? { dispatcher: d } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
}
