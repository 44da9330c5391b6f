// RawSettings (what a face collected) + environment -> one validated Config.
// Pure: no I/O. Every check runs before anything remote is called, and every
// failure names the option, the bad value (never a secret) and the accepted form.
import { SECRET_TYPES, credentialsFor, registryHosts, secretForms, type SecretType } from "../model/dockerconfig.js";
import { DURATION_FORM, DAY_MS, parseDuration } from "./duration.js";
import { UsageError } from "../model/errors.js";
import { OPTIONS, optionLabel, type OptionKey, type OptionSpec, type RawSettings } from "./options.js";
import type { Owner } from "../model/ports.js";
import { Secret } from "../model/secret.js";
import { proxySecretForms, readProxySettings, type ProxySettings } from "./proxy-settings.js";

export type Face = "cli" | "action";

/** What --missing-namespace may say about a listed namespace that is missing or being deleted. */
export const MISSING_NAMESPACE_MODES = ["fail", "skip", "create"] as const;
export type MissingNamespaceMode = (typeof MISSING_NAMESPACE_MODES)[number];

/**
 * Where the Secret's credentials come from: a deploy token the tool mints for
 * a GitLab owner (and revokes later), or static credentials given by the user
 * (--username), which are only applied: no GitLab call, nothing minted or revoked.
 */
export type Credentials =
  | { kind: "deploy-token"; gitlabToken: Secret; owner: Owner }
  | {
      kind: "static";
      username: string;
      /** Absent only for commands that never write credentials (status, revoke). */
      password: Secret | undefined;
    };

export interface Config {
  gitlabUrl: string;
  credentials: Credentials;
  /** Required with a group and with static credentials; otherwise from the project. */
  registry: string | undefined;
  /** Further hosts for the same credentials (--registry-alias), lowercased. */
  registryAliases: string[];
  secretType: SecretType;
  /** Namespaces named explicitly (may be empty when a selector chooses them). */
  namespaces: string[];
  namespaceSelector: string | undefined;
  excludeNamespaces: string[];
  /** A listed namespace that does not exist or is being deleted: skip it (default), fail the run, or create it. */
  missingNamespace: MissingNamespaceMode;
  /** missingNamespace === "create" (--create-namespace is its older name). */
  createNamespace: boolean;
  /** ServiceAccount names, or "*" for all in each namespace. */
  serviceAccounts: string[];
  secretName: string;
  expiresInMs: number;
  tokenNamePrefix: string;
  kubeconfig: string | undefined;
  context: string | undefined;
  dryRun: boolean;
  adopt: boolean;
  json: boolean;
  /** false with --no-verify; otherwise the image to check (repository undefined = the project's). */
  verify: false | { repository: string | undefined; tag: string | undefined };
  caFile: string | undefined;
  /** HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment; undefined when no proxy is set. */
  proxy: ProxySettings | undefined;
  /** Only tokens expiring within this are rotated; undefined = rotate every run. */
  rotateBeforeMs: number | undefined;
  force: boolean;
  keepPrevious: number;
  /** Refuse to overwrite a Secret another target wrote last (exit 2), instead of warning. */
  strictOwnership: boolean;
  sweepGraceMs: number;
  lockTimeoutMs: number;
  dotenv: string | undefined;
  requestTimeoutMs: number;
  retryForMs: number;
  /** status: exit 3 when something needs attention; a token in use expiring within this counts. undefined = report only. */
  warnWithinMs: number | undefined;
  /** revoke: really tear down (otherwise show the plan and exit 2). */
  yes: boolean;
  /** render: what to print; undefined unless --format was given. */
  renderFormat: RenderFormat | undefined;
}

const MAX_LIFETIME_MS = 365 * DAY_MS;
const MIN_LIFETIME_MS = 3_600_000;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HOST_PORT = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:]+\])(?::(\d{1,5}))?$/i;
const PATH_SEGMENT = "[A-Za-z0-9_][A-Za-z0-9_.-]*";
const PROJECT_REF = new RegExp(`^(?:[1-9]\\d*|${PATH_SEGMENT}(?:/${PATH_SEGMENT})+)$`);
const GROUP_REF = new RegExp(`^(?:[1-9]\\d*|${PATH_SEGMENT}(?:/${PATH_SEGMENT})*)$`);
const TOKEN_PREFIX = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(hostname) || hostname === "[::1]";
}

class Reader {
  constructor(
    private readonly raw: RawSettings,
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly face: Face,
    private readonly labels: Readonly<Partial<Record<OptionKey, string>>> = {},
  ) {}

  spec(key: OptionKey): OptionSpec {
    return OPTIONS.find((o) => o.key === key)!;
  }

  /** The option as the user gave it: its flag, its input, or the variable it came from. */
  label(key: OptionKey): string {
    return this.labels[key] ?? optionLabel(this.spec(key), this.face);
  }

  /** The value as the face collected it, untrimmed. */
  rawValue(key: OptionKey): string | string[] | boolean | undefined {
    return this.raw[key];
  }

  /** The first non-empty env variable of the option, untrimmed (for secrets whose spaces may matter). */
  envValue(key: OptionKey): string | undefined {
    for (const name of this.spec(key).env ?? []) {
      const v = this.env[name];
      if (v) return v;
    }
    return undefined;
  }

  /** Given explicitly by the user (flag or input), not from env or default. */
  explicit(key: OptionKey): string | undefined {
    const v = this.raw[key];
    if (typeof v !== "string") return undefined;
    const t = v.trim();
    return t === "" ? undefined : t;
  }

  string(key: OptionKey): string | undefined {
    const spec = this.spec(key);
    const given = this.explicit(key);
    if (given !== undefined) return given;
    for (const name of spec.env ?? []) {
      const v = this.env[name]?.trim();
      if (v) return v;
    }
    return spec.default;
  }

  boolean(key: OptionKey): boolean {
    const v = this.raw[key];
    if (typeof v === "boolean") return v;
    if (v === undefined || v === "") return this.spec(key).default === "true";
    if (/^(true|True|TRUE)$/.test(v as string)) return true;
    if (/^(false|False|FALSE)$/.test(v as string)) return false;
    throw new UsageError(this.label(key), String(v), "true or false");
  }

  list(key: OptionKey): string[] {
    const v = this.raw[key];
    const items = typeof v === "string" ? [v] : Array.isArray(v) ? v : [];
    return items.flatMap((s) => s.split(/[,\n]/)).map((s) => s.trim()).filter((s) => s !== "");
  }
}

export interface ParseOptions {
  /**
   * false for commands that never write credentials (status, revoke): with
   * --username they need neither the password nor --registry.
   */
  writesCredentials?: boolean;
  /** Options that came from an option variable, named by it in messages (from readVariables). */
  labels?: Readonly<Partial<Record<OptionKey, string>>>;
}

export function parseConfig(
  raw: RawSettings,
  env: Readonly<Record<string, string | undefined>>,
  face: Face,
  opts: ParseOptions = {},
): Config {
  const r = new Reader(raw, env, face, opts.labels);
  const writes = opts.writesCredentials ?? true;
  const creds = credentials(r, writes);
  const missing = missingNamespace(r);
  return {
    gitlabUrl: gitlabUrl(r),
    credentials: creds,
    registry: registry(r, creds.kind === "static" && writes),
    registryAliases: registryAliases(r),
    secretType: secretType(r),
    namespaces: namespaces(r),
    namespaceSelector: namespaceSelector(r),
    excludeNamespaces: nameList(r, "excludeNamespaces"),
    missingNamespace: missing,
    createNamespace: missing === "create",
    serviceAccounts: serviceAccounts(r),
    secretName: secretName(r),
    expiresInMs: lifetime(r),
    tokenNamePrefix: tokenNamePrefix(r),
    kubeconfig: r.string("kubeconfig"),
    context: context(r),
    dryRun: r.boolean("dryRun"),
    adopt: r.boolean("adopt"),
    json: r.boolean("json"),
    verify: verify(r, creds.kind === "static"),
    caFile: r.string("caFile"),
    proxy: readProxySettings(env),
    rotateBeforeMs: optionalDuration(r, "rotateBefore", 0, MAX_LIFETIME_MS),
    force: r.boolean("force"),
    keepPrevious: integer(r, "keepPrevious", 0, 10),
    strictOwnership: r.boolean("strictOwnership"),
    sweepGraceMs: optionalDuration(r, "sweepGrace", 0, 7 * DAY_MS)!,
    lockTimeoutMs: optionalDuration(r, "lockTimeout", 0, 3_600_000)!,
    dotenv: r.string("dotenv"),
    requestTimeoutMs: optionalDuration(r, "requestTimeout", 1000, 600_000)!,
    retryForMs: optionalDuration(r, "retryFor", 0, 3_600_000)!,
    warnWithinMs: optionalDuration(r, "warnWithin", 0, MAX_LIFETIME_MS),
    yes: r.boolean("yes"),
    renderFormat: renderFormat(r),
  };
}

/**
 * Every secret the inputs hold, in every form it could be printed in: the
 * faces register them for masking (core.setSecret) before anything runs.
 */
export function inputSecrets(config: Config): string[] {
  return [...credentialSecrets(config), ...proxySecretForms(config.proxy)];
}

function credentialSecrets(config: Config): string[] {
  const c = config.credentials;
  if (c.kind === "deploy-token") return [c.gitlabToken.reveal()];
  if (!c.password) return [];
  // status and revoke may run without --registry; the password forms are the same under any host.
  const hosts = config.registry ? registryHosts(config.registry, config.registryAliases) : ["registry"];
  return secretForms(credentialsFor(hosts, c.username, c.password));
}

export const RENDER_FORMATS = ["secret", "config.json"] as const;
export type RenderFormat = (typeof RENDER_FORMATS)[number];

function renderFormat(r: Reader): RenderFormat | undefined {
  const value = r.explicit("format");
  if (value === undefined) return undefined;
  if (!(RENDER_FORMATS as readonly string[]).includes(value)) {
    throw new UsageError(r.label("format"), value, "secret (a Secret manifest) or config.json (a docker config.json)");
  }
  return value as RenderFormat;
}

const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

function verify(r: Reader, staticCredentials: boolean): Config["verify"] {
  const image = r.string("verifyImage");
  if (r.boolean("noVerify")) {
    if (image) throw new UsageError(`${r.label("verifyImage")} and ${r.label("noVerify")}`, image, "only one of them");
    return false;
  }
  // Static credentials are for any registry: there is no project repository to default to.
  if (image === undefined && staticCredentials) return false;
  if (image === undefined) {
    if (r.explicit("group")) {
      throw new UsageError(r.label("verifyImage"), undefined, `required with a group: a repository to check the new token against (e.g. my-group/app:latest), or ${r.label("noVerify")}`);
    }
    return { repository: undefined, tag: undefined };
  }
  const colon = image.lastIndexOf(":");
  const [repository, tag] = colon > 0 ? [image.slice(0, colon), image.slice(colon + 1)] : [image, undefined];
  if (!REPOSITORY.test(repository) || (tag !== undefined && !TAG.test(tag))) {
    throw new UsageError(r.label("verifyImage"), image, "a repository path below the registry, optionally with :tag (e.g. grp/app or grp/app/api:1.4)");
  }
  return { repository, tag };
}

function optionalDuration(r: Reader, key: OptionKey, minMs: number, maxMs: number): number | undefined {
  const value = r.string(key);
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined || ms < minMs || ms > maxMs) {
    throw new UsageError(r.label(key), value, `${DURATION_FORM}, at most ${Math.round(maxMs / 60_000)}m`);
  }
  return ms;
}

function integer(r: Reader, key: OptionKey, min: number, max: number): number {
  const value = r.string(key)!;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(r.label(key), value, `a whole number from ${min} to ${max}`);
  }
  return Number(value);
}

function gitlabUrl(r: Reader): string {
  const value = r.string("gitlabUrl")!;
  const accepted = "an https:// URL such as https://gitlab.example.com (http:// only for 127.0.0.1/localhost, or with --allow-insecure-http)";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(r.label("gitlabUrl"), value, accepted);
  }
  const plainLoopback = url.protocol === "http:" && (isLoopbackHost(url.hostname) || r.boolean("allowInsecureHttp"));
  if ((url.protocol !== "https:" && !plainLoopback) || url.username || url.password || url.search || url.hash) {
    // Credentials in the URL would be a secret: never echo them.
    const shown = url.username || url.password ? `${url.protocol}//***@${url.host}` : value;
    throw new UsageError(r.label("gitlabUrl"), shown, accepted);
  }
  return url.href.replace(/\/+$/, "");
}

// Options that only mean something for a minted GitLab deploy token. With
// static credentials they are refused when given (Action inputs arrive with
// their defaults filled in, so a default is not "given").
const DEPLOY_TOKEN_ONLY: readonly OptionKey[] = [
  "gitlabToken", "gitlabUrl", "allowInsecureHttp", "expiresIn", "tokenName", "rotateBefore", "keepPrevious", "strictOwnership", "sweepGrace", "retryFor",
];

function credentials(r: Reader, writes: boolean): Credentials {
  const username = r.explicit("username");
  if (username === undefined) {
    if (r.explicit("registryPassword") !== undefined) {
      throw new UsageError(r.label("registryPassword"), undefined, `only with ${r.label("username")} (static registry credentials); a GitLab deploy token needs no password`);
    }
    return { kind: "deploy-token", gitlabToken: gitlabToken(r), owner: owner(r) };
  }
  if (username.length > 255 || !/^[^\s:\p{Cc}]+$/u.test(username)) {
    throw new UsageError(
      r.label("username"),
      username,
      "the registry username: 1-255 characters without ':', whitespace or control characters (the docker config's auth is base64(username:password))",
    );
  }
  for (const key of ["project", "group"] as const) {
    const given = r.explicit(key);
    if (given !== undefined) {
      throw new UsageError(
        `${r.label("username")} and ${r.label(key)}`,
        `${username}, ${given}`,
        `only one of them: --username applies static credentials, ${r.label(key)} mints a GitLab deploy token`,
      );
    }
  }
  for (const key of DEPLOY_TOKEN_ONLY) {
    const spec = r.spec(key);
    const given = spec.kind === "boolean" ? (r.boolean(key) ? "true" : undefined) : r.explicit(key);
    if (given === undefined || given === spec.default) continue;
    throw new UsageError(
      r.label(key),
      spec.secret ? undefined : given,
      `not used with static credentials (${r.label("username")}): nothing is minted or revoked and GitLab is never called; leave it out`,
    );
  }
  const password = registryPassword(r);
  if (password === undefined && writes) {
    throw new UsageError(
      r.label("registryPassword"),
      undefined,
      `required with ${r.label("username")}: the registry password or access token (never a command-line value)`,
    );
  }
  return { kind: "static", username, password };
}

/**
 * The password as given: only a trailing line break (from a file or
 * `echo`) is dropped, since spaces may belong to it. Never echoed.
 */
function registryPassword(r: Reader): Secret | undefined {
  const explicit = r.rawValue("registryPassword");
  const value = (typeof explicit === "string" && explicit !== "" ? explicit : r.envValue("registryPassword"))?.replace(/\r?\n$/, "");
  return value ? new Secret(value) : undefined;
}

function secretType(r: Reader): SecretType {
  const value = r.string("secretType")!;
  if (!Object.hasOwn(SECRET_TYPES, value)) {
    throw new UsageError(
      r.label("secretType"),
      value,
      "dockerconfigjson (kubernetes.io/dockerconfigjson) or dockercfg (the legacy kubernetes.io/dockercfg)",
    );
  }
  return value as SecretType;
}

function gitlabToken(r: Reader): Secret {
  const value = r.string("gitlabToken");
  if (!value) {
    throw new UsageError(
      r.label("gitlabToken"),
      undefined,
      "required: a GitLab token with the api scope (Maintainer of the project, Owner of the group)",
    );
  }
  if (/\s/.test(value)) throw new UsageError(r.label("gitlabToken"), undefined, "a single token without whitespace");
  return new Secret(value);
}

function owner(r: Reader): Owner {
  const project = r.explicit("project");
  const group = r.explicit("group");
  if (project && group) {
    throw new UsageError(`${r.label("project")} and ${r.label("group")}`, `${project}, ${group}`, "only one of them");
  }
  if (group) {
    if (!GROUP_REF.test(group)) throw new UsageError(r.label("group"), group, "a numeric group id or a full path like my-group/sub");
    return { kind: "group", ref: group };
  }
  const ref = project ?? r.string("project");
  if (!ref) {
    throw new UsageError(`${r.label("project")} / ${r.label("group")}`, undefined, "required: a project or a group (default $CI_PROJECT_ID)");
  }
  if (!PROJECT_REF.test(ref)) throw new UsageError(r.label("project"), ref, "a numeric project id or a full path like group/project");
  return { kind: "project", ref };
}

function registry(r: Reader, staticCredentials: boolean): string | undefined {
  const value = r.explicit("registry");
  if (value === undefined) {
    if (r.explicit("group")) {
      throw new UsageError(r.label("registry"), undefined, "required with a group: the registry host[:port], e.g. registry.gitlab.com");
    }
    if (staticCredentials) {
      throw new UsageError(
        r.label("registry"),
        undefined,
        `required with ${r.label("username")}: the registry host[:port] as image references name it, e.g. index.docker.io (Docker Hub) or harbor.example.com`,
      );
    }
    return undefined;
  }
  return hostPort(r, "registry", value);
}

const HOST_FORM = "a host[:port] without scheme or path, e.g. gitlab.example.com:5005";

function hostPort(r: Reader, key: OptionKey, value: string): string {
  const m = HOST_PORT.exec(value);
  const port = m?.[1] === undefined ? 1 : Number(m[1]);
  if (!m || port < 1 || port > 65535) throw new UsageError(r.label(key), value, HOST_FORM);
  return value.toLowerCase();
}

/** Validated like --registry; each once and never the registry itself (that is checked again once GitLab named the registry). */
function registryAliases(r: Reader): string[] {
  const registry = r.explicit("registry")?.toLowerCase();
  const seen = new Set<string>(registry ? [registry] : []);
  const out: string[] = [];
  for (const alias of r.list("registryAliases")) {
    const host = hostPort(r, "registryAliases", alias);
    if (seen.has(host)) {
      throw new UsageError(r.label("registryAliases"), alias, `each host once, and not --registry itself: the same credentials are written under every name`);
    }
    seen.add(host);
    out.push(host);
  }
  return out;
}

function nameList(r: Reader, key: OptionKey): string[] {
  const list = r.list(key);
  const seen = new Set<string>();
  for (const ns of list) {
    if (ns.length > 63 || !DNS_LABEL.test(ns)) {
      throw new UsageError(r.label(key), ns, "an RFC 1123 label: lowercase letters, digits and '-', at most 63 characters");
    }
    if (seen.has(ns)) throw new UsageError(r.label(key), ns, "each namespace once (it is listed twice)");
    seen.add(ns);
  }
  return list;
}

/**
 * --create-namespace is the older name of --missing-namespace create. The
 * default (skip) counts as not given, since the Action fills defaults in; only
 * an explicit fail contradicts it.
 */
function missingNamespace(r: Reader): MissingNamespaceMode {
  const value = r.string("missingNamespace")!;
  if (!(MISSING_NAMESPACE_MODES as readonly string[]).includes(value)) {
    throw new UsageError(r.label("missingNamespace"), value, "skip (rotate the others, exit 1), fail (change nothing, exit 1) or create");
  }
  if (!r.boolean("createNamespace")) return value as MissingNamespaceMode;
  if (value === "fail") {
    throw new UsageError(`${r.label("createNamespace")} and ${r.label("missingNamespace")}`, value, "only one of them: --create-namespace means --missing-namespace create");
  }
  return "create";
}

function namespaces(r: Reader): string[] {
  const list = nameList(r, "namespaces");
  if (list.length === 0 && r.explicit("namespaceSelector") === undefined) {
    throw new UsageError(`${r.label("namespaces")} / ${r.label("namespaceSelector")}`, undefined, "required: at least one namespace, or a namespace selector");
  }
  return list;
}

// key, key=value, key!=value, key in (a,b), key notin (a,b), !key — comma separated.
const LABEL_KEY = "(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?(?:\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?";
const LABEL_VALUE = "(?:[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?";
const REQUIREMENT = new RegExp(
  `^(?:!?${LABEL_KEY}|${LABEL_KEY}\\s*(?:=|==|!=)\\s*${LABEL_VALUE}|${LABEL_KEY}\\s+(?:in|notin)\\s+\\(\\s*${LABEL_VALUE}(?:\\s*,\\s*${LABEL_VALUE})*\\s*\\))$`,
);

/** Splits on commas outside parentheses. */
function requirements(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of selector) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

function namespaceSelector(r: Reader): string | undefined {
  const value = r.explicit("namespaceSelector");
  if (value === undefined) return undefined;
  if (!requirements(value).every((req) => REQUIREMENT.test(req))) {
    throw new UsageError(r.label("namespaceSelector"), value, "a label selector such as team=payments,env!=dev or tier in (web,api)");
  }
  return value;
}

function serviceAccounts(r: Reader): string[] {
  const list = r.list("serviceAccounts");
  for (const sa of list) {
    if (sa !== "*" && (sa.length > 253 || !DNS_SUBDOMAIN.test(sa))) {
      throw new UsageError(r.label("serviceAccounts"), sa, "a ServiceAccount name (RFC 1123 subdomain), default, or * for all");
    }
  }
  if (list.includes("*") && list.length > 1) throw new UsageError(r.label("serviceAccounts"), list.join(","), "either * alone or a list of names");
  return [...new Set(list)];
}

function secretName(r: Reader): string {
  const value = r.string("secretName")!;
  if (value.length > 253 || !DNS_SUBDOMAIN.test(value)) {
    throw new UsageError(r.label("secretName"), value, "an RFC 1123 subdomain: lowercase letters, digits, '-' and '.', at most 253 characters");
  }
  return value;
}

function lifetime(r: Reader): number {
  const value = r.string("expiresIn")!;
  const ms = parseDuration(value);
  if (ms === undefined || ms < MIN_LIFETIME_MS || ms > MAX_LIFETIME_MS) {
    throw new UsageError(r.label("expiresIn"), value, `${DURATION_FORM}, from 1h to 365d`);
  }
  return ms;
}

function tokenNamePrefix(r: Reader): string {
  const value = r.string("tokenName")!;
  // GitLab exposes an active token named gitlab-deploy-token to every CI job of the project.
  if (!TOKEN_PREFIX.test(value) || value === "gitlab-deploy-token") {
    throw new UsageError(
      r.label("tokenName"),
      value,
      "1-64 characters of letters, digits, '.', '_' and '-', and not gitlab-deploy-token (GitLab hands that one to every CI job)",
    );
  }
  return value;
}

function context(r: Reader): string | undefined {
  const value = r.string("context");
  if (value !== undefined && /\s/.test(value)) {
    throw new UsageError(r.label("context"), value, "a kubeconfig context name without whitespace");
  }
  return value;
}
