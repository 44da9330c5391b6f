// RawSettings (what a face collected) + environment -> one validated Config.
// Pure: no I/O. Every check runs before anything remote is called, and every
// failure names the option, the bad value (never a secret) and the accepted form.
import { DURATION_FORM, DAY_MS, parseDuration } from "./duration.js";
import { UsageError } from "./errors.js";
import { OPTIONS, optionLabel, type OptionKey, type OptionSpec, type RawSettings } from "./options.js";
import { Secret } from "./secret.js";

export type Face = "cli" | "action";

export interface Owner {
  kind: "project" | "group";
  /** Numeric id or full path, as the user gave it. */
  ref: string;
}

export interface Config {
  gitlabUrl: string;
  gitlabToken: Secret;
  owner: Owner;
  registry: string | undefined;
  namespaces: string[];
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
  /** Only tokens expiring within this are rotated; undefined = rotate every run. */
  rotateBeforeMs: number | undefined;
  force: boolean;
  keepPrevious: number;
  sweepGraceMs: number;
  lockTimeoutMs: number;
  dotenv: string | undefined;
  requestTimeoutMs: number;
  retryForMs: number;
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
  ) {}

  spec(key: OptionKey): OptionSpec {
    return OPTIONS.find((o) => o.key === key)!;
  }

  label(key: OptionKey): string {
    return optionLabel(this.spec(key), this.face);
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

export function parseConfig(raw: RawSettings, env: Readonly<Record<string, string | undefined>>, face: Face): Config {
  const r = new Reader(raw, env, face);
  return {
    gitlabUrl: gitlabUrl(r),
    gitlabToken: gitlabToken(r),
    owner: owner(r),
    registry: registry(r),
    namespaces: namespaces(r),
    secretName: secretName(r),
    expiresInMs: lifetime(r),
    tokenNamePrefix: tokenNamePrefix(r),
    kubeconfig: r.string("kubeconfig"),
    context: context(r),
    dryRun: r.boolean("dryRun"),
    adopt: r.boolean("adopt"),
    json: r.boolean("json"),
    verify: verify(r),
    caFile: r.string("caFile"),
    rotateBeforeMs: optionalDuration(r, "rotateBefore", 0, MAX_LIFETIME_MS),
    force: r.boolean("force"),
    keepPrevious: integer(r, "keepPrevious", 0, 10),
    sweepGraceMs: optionalDuration(r, "sweepGrace", 0, 7 * DAY_MS)!,
    lockTimeoutMs: optionalDuration(r, "lockTimeout", 0, 3_600_000)!,
    dotenv: r.string("dotenv"),
    requestTimeoutMs: optionalDuration(r, "requestTimeout", 1000, 600_000)!,
    retryForMs: optionalDuration(r, "retryFor", 0, 3_600_000)!,
  };
}

const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

function verify(r: Reader): Config["verify"] {
  const image = r.string("verifyImage");
  if (r.boolean("noVerify")) {
    if (image) throw new UsageError(`${r.label("verifyImage")} and ${r.label("noVerify")}`, image, "only one of them");
    return false;
  }
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

function registry(r: Reader): string | undefined {
  const value = r.explicit("registry");
  if (value === undefined) {
    if (r.explicit("group")) {
      throw new UsageError(r.label("registry"), undefined, "required with a group: the registry host[:port], e.g. registry.gitlab.com");
    }
    return undefined;
  }
  const m = HOST_PORT.exec(value);
  const port = m?.[1] === undefined ? 1 : Number(m[1]);
  if (!m || port < 1 || port > 65535) {
    throw new UsageError(r.label("registry"), value, "a host[:port] without scheme or path, e.g. gitlab.example.com:5005");
  }
  return value.toLowerCase();
}

function namespaces(r: Reader): string[] {
  const list = r.list("namespaces");
  if (list.length === 0) throw new UsageError(r.label("namespaces"), undefined, "required: at least one namespace");
  const seen = new Set<string>();
  for (const ns of list) {
    if (ns.length > 63 || !DNS_LABEL.test(ns)) {
      throw new UsageError(r.label("namespaces"), ns, "an RFC 1123 label: lowercase letters, digits and '-', at most 63 characters");
    }
    if (seen.has(ns)) throw new UsageError(r.label("namespaces"), ns, "each namespace once (it is listed twice)");
    seen.add(ns);
  }
  return list;
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
