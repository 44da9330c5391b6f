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
//
// The port's request and result types are in registry-types.ts, the challenge
// parser in registry-challenge.ts, the HTTP exchange in registry-http.ts and
// the error hints in registry-hints.ts; this module is the token flow.
import type { Dispatcher } from "undici";
import type { LazyDispatcher } from "./undici.js";
import { isLoopbackHost } from "../config/inputs.js";
import type { ProxySettings } from "../config/proxy-settings.js";
import { redact } from "../model/secret.js";
import {
  describeAccess,
  grantsPull,
  jwtAccess,
  parseAuthChallenges,
  parseBearerChallenge,
  type BearerChallenge,
} from "./registry-challenge.js";
import {
  VerifyError,
  answered,
  clip,
  connectionHint,
  errorOf,
  manifestHint,
  noBearerHint,
  noPullHint,
  registryHint,
  shown,
  tokenHint,
  type Answer,
  type VerifyStep,
} from "./registry-hints.js";
import { exchange, type FlowOptions } from "./registry-http.js";
import { dispatcher } from "./tls.js";
import {
  DEFAULT_TIMEOUT_MS,
  MANIFEST_TYPES,
  type RegistryPort,
  type VerifyRequest,
  type VerifyResult,
} from "./registry-types.js";

export {
  DEFAULT_TIMEOUT_MS,
  MANIFEST_TYPES,
  type RegistryPort,
  type VerifyRequest,
  type VerifyResult,
} from "./registry-types.js";

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

  private fail(f: {
    step: VerifyStep;
    request: string;
    answer: string;
    hint: string;
    status?: number;
    code?: string;
  }): VerifyError {
    const r = (s: string): string => redact(s, this.forms);
    return new VerifyError({ ...f, request: r(f.request), answer: r(f.answer), hint: r(f.hint) });
  }

  private basic(): string {
    return `Basic ${this.forms[2]}`;
  }

  /** One request; a failure to get an answer becomes the step's VerifyError, redacted. */
  private async send(
    step: VerifyStep,
    method: "GET" | "HEAD",
    url: URL,
    headers: Record<string, string>,
  ): Promise<Answer> {
    const request = `${method} ${shown(url)}`;
    try {
      return await exchange(this.opts, method, url, headers);
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
    const result = {
      registry: this.req.registry,
      repository: this.req.repository,
      ...(this.req.tag ? { tag: this.req.tag } : {}),
    };
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
      if (probe.status === 200)
        return { kind: "anonymous", digest: probe.headers.get("docker-content-digest") ?? undefined };
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
      hint: noBearerHint(schemes, this.req.registry, this.isStatic()),
      status: a.status,
    });
  }

  private registryFailure(a: Answer, request: string): VerifyError {
    const { code } = errorOf(a.body);
    return this.fail({
      step: "registry",
      request,
      answer: answered(a),
      hint: registryHint(a, this.req.registry),
      status: a.status,
      ...(code ? { code } : {}),
    });
  }

  /** The realm must be https (http only on loopback): the deploy token goes there in clear. */
  private realmUrl(c: BearerChallenge): URL {
    const where = `the registry's challenge (realm="${clip(c.realm, 200)}")`;
    let url: URL;
    try {
      url = new URL(c.realm);
    } catch {
      throw this.fail({
        step: "registry",
        request: `GET ${this.base}/v2/`,
        answer: `named realm "${clip(c.realm, 200)}", which is not a URL`,
        hint: "Fix the registry's auth.token.realm (GitLab: https://<gitlab>/jwt/auth)",
      });
    }
    if (url.username || url.password) {
      throw this.fail({
        step: "registry",
        request: where,
        answer: "names a realm with credentials in the URL",
        hint: "Fix the registry's auth.token.realm; the deploy token is not sent there",
      });
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
    const jwt =
      typeof body?.access_token === "string" && body.access_token
        ? body.access_token
        : typeof body?.token === "string"
          ? body.token
          : "";
    if (!jwt) {
      throw this.fail({
        step: "token",
        request,
        answer: "answered HTTP 200 without a token",
        hint: `${realm.host} is not a registry token service; check the registry's auth.token.realm`,
        status: 200,
      });
    }
    this.forms.push(jwt);
    return jwt;
  }

  private isStatic(): boolean {
    return this.req.credentials === "static";
  }

  private tokenFailure(a: Answer, request: string, realm: URL, c: BearerChallenge): VerifyError {
    const { code } = errorOf(a.body);
    const hint = tokenHint(a, {
      code,
      realmHost: realm.host,
      service: c.service,
      username: this.req.username,
      registry: this.req.registry,
      isStatic: this.isStatic(),
    });
    return this.fail({
      step: "token",
      request,
      answer: answered(a),
      hint,
      status: a.status,
      ...(code ? { code } : {}),
    });
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
      hint: noPullHint(this.req, this.isStatic()),
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
      const g = await this.send("manifest", "GET", url, { ...auth, accept: MANIFEST_TYPES.join(", ") }).catch(
        () => undefined,
      );
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
    const hint = manifestHint(answer, {
      code,
      message,
      tags,
      image,
      repo,
      tag: this.req.tag,
      repository: this.req.repository,
    });
    return this.fail({
      step: "manifest",
      request,
      answer: answered(answer),
      hint,
      status: answer.status,
      ...(code ? { code } : {}),
    });
  }
}

export function registryPort(
  opts: { dispatcher?: Dispatcher | LazyDispatcher; timeoutMs?: number } = {},
): RegistryPort {
  const flow: FlowOptions = { dispatcher: opts.dispatcher, timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS };
  return { verifyPull: (req) => new Flow(req, flow).run() };
}

/** The port the tool uses: system roots plus the --ca-file CA and the environment's proxy, as for GitLab. */
export function registryPortFor(caPem: string | undefined, timeoutMs?: number, proxy?: ProxySettings): RegistryPort {
  const d = dispatcher(caPem, proxy);
  return registryPort({ ...(d ? { dispatcher: d } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
}
