// The API token's rotation options: where its value lives
// (--api-token-store), how long the rotated token lives
// (--api-token-expires-in), the file that keeps it if the write fails
// (--api-token-recovery-file), GitHub's API and token for a github: store, and
// when rotate rotates it too (--rotate-api-token-within). rotate-api-token
// always rotates; for rotate the others mean something only with
// --rotate-api-token-within.
import { UsageError } from "../model/errors.js";
import { Secret } from "../model/secret.js";
import { DAY_MS, durationRange, formatDuration, parseDuration } from "./duration.js";
import type { ApiTokenSettings, ApiTokenStoreSpec, GitHubSettings } from "./config-shape.js";
import { baseUrl, GROUP_REF, PROJECT_REF } from "./input-credentials.js";
import type { Reader } from "./input-reader.js";

const MIN_MS = DAY_MS;
/** GitLab refuses a rotation's expires_at more than 365 days out. */
const MAX_MS = 365 * DAY_MS;
/** GitLab's variable keys: letters, digits and '_', at most 255. */
const VARIABLE_KEY = /^[A-Za-z0-9_]{1,255}$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A Secret's data key. */
const SECRET_KEY = /^[-._a-zA-Z0-9]{1,253}$/;
/** A GitHub account: letters, digits and single hyphens, not at either end, at most 39. */
const GITHUB_OWNER = /^(?=.{1,39}$)[A-Za-z0-9](?:-?[A-Za-z0-9])*$/;
/** A repository name: letters, digits, '-', '_' and '.', at most 100; '.' and '..' are no names. */
const GITHUB_REPO = /^(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/;
/** An Actions secret's name: letters, digits and '_', not starting with a digit. */
const GITHUB_SECRET = /^[A-Za-z_][A-Za-z0-9_]*$/;

const FORMS =
  "gitlab:project:<id or path>:<KEY>[:<environment scope>], gitlab:group:<id or path>:<KEY>[:<environment scope>], " +
  "kubernetes:<namespace>/<secret>/<key> or github:<owner>/<repo>:<NAME>[:<environment>]";

/** Pure: a github: store, or why it is none. GitHub's own rules for names, so a typo is refused here, not after a request. */
function parseGitHubStore(value: string): ApiTokenStoreSpec | string | undefined {
  const m = /^github:([^/:]*)\/([^/:]*):([^:]*)(?::(.*))?$/.exec(value);
  if (!m) return value.startsWith("github:") ? `github:<owner>/<repo>:<NAME>[:<environment>] (${FORMS})` : undefined;
  const [, owner, repo, name, environment] = m as unknown as [string, string, string, string, string?];
  if (!GITHUB_OWNER.test(owner))
    return "the owner must be a GitHub account or organization: letters, digits and single hyphens, at most 39";
  if (!GITHUB_REPO.test(repo)) return "the repository: letters, digits, '-', '_' and '.', at most 100";
  if (!GITHUB_SECRET.test(name))
    return "the secret's name: letters, digits and '_', not starting with a digit (GitHub's rule)";
  // GitHub refuses these names for every secret.
  if (/^GITHUB_/i.test(name)) return "the secret's name must not start with GITHUB_ (GitHub reserves it)";
  if (
    environment !== undefined &&
    (environment.trim() === "" || environment.length > 255 || /\p{Cc}/u.test(environment))
  )
    return "the environment: 1 to 255 characters, no control characters";
  return { kind: "github-secret", owner, repo, name: name.toUpperCase(), environment };
}

/** Pure: the store an --api-token-store value names, or why it names none. */
export function parseApiTokenStore(value: string): ApiTokenStoreSpec | string {
  const gitlab = /^gitlab:(project|group):([^:]+):([^:]+)(?::(.+))?$/.exec(value);
  if (gitlab) {
    const [, kind, ref, key, scope] = gitlab as unknown as [string, "project" | "group", string, string, string?];
    if (!(kind === "project" ? PROJECT_REF : GROUP_REF).test(ref))
      return `the ${kind} must be a numeric id or a full path (${FORMS})`;
    if (!VARIABLE_KEY.test(key)) return "the variable key: letters, digits and '_', at most 255";
    return { kind: "gitlab-variable", owner: { kind, ref }, key, environmentScope: scope };
  }
  const kube = /^kubernetes:([^/]+)\/([^/]+)\/([^/]+)$/.exec(value);
  if (kube) {
    const [, namespace, name, key] = kube as unknown as [string, string, string, string];
    if (namespace.length > 63 || !DNS_LABEL.test(namespace)) return "the namespace must be an RFC 1123 label";
    if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) return "the Secret's name must be an RFC 1123 subdomain";
    if (!SECRET_KEY.test(key)) return "the key: letters, digits, '-', '_' and '.'";
    return { kind: "kubernetes-secret", namespace, name, key };
  }
  return parseGitHubStore(value) ?? FORMS;
}

/** Pure: the --api-token-store value a store spec stands for (for reports; holds no value). */
export function apiTokenStoreText(spec: ApiTokenStoreSpec): string {
  if (spec.kind === "kubernetes-secret") return `kubernetes:${spec.namespace}/${spec.name}/${spec.key}`;
  if (spec.kind === "github-secret")
    return `github:${spec.owner}/${spec.repo}:${spec.name}${spec.environment === undefined ? "" : `:${spec.environment}`}`;
  const scope = spec.environmentScope === undefined ? "" : `:${spec.environmentScope}`;
  return `gitlab:${spec.owner.kind}:${spec.owner.ref}:${spec.key}${scope}`;
}

/**
 * `command`: rotate-api-token, which always rotates (its store is required by
 * the command); otherwise the rotation is rotate's, asked for with
 * --rotate-api-token-within, and the store and recovery file mean nothing without it.
 */
export function apiTokenSettings(r: Reader, command: boolean): ApiTokenSettings {
  const raw = r.string("apiTokenStore");
  let store: ApiTokenStoreSpec | undefined;
  if (raw !== undefined) {
    const parsed = parseApiTokenStore(raw);
    if (typeof parsed === "string") throw new UsageError(r.label("apiTokenStore"), raw, parsed);
    store = parsed;
  }
  const expires = r.string("apiTokenExpiresIn")!;
  const ms = parseDuration(expires);
  if (ms === undefined || ms < MIN_MS || ms > MAX_MS)
    throw new UsageError(r.label("apiTokenExpiresIn"), expires, durationRange(MIN_MS, MAX_MS));
  const recoveryFile = r.string("apiTokenRecoveryFile");
  const rotateWithinMs = command ? undefined : within(r, ms);
  if (!command && rotateWithinMs === undefined) {
    for (const key of ["apiTokenStore", "apiTokenRecoveryFile"] as const)
      if (r.explicit(key) !== undefined)
        throw new UsageError(
          r.label(key),
          undefined,
          `only with ${r.label("rotateApiTokenWithin")}: without it rotate leaves the API token alone (or run rotate-api-token)`,
        );
  }
  if (rotateWithinMs !== undefined && store === undefined)
    throw new UsageError(
      r.label("apiTokenStore"),
      undefined,
      `required with ${r.label("rotateApiTokenWithin")}: where the API token's value lives, to write the rotated one back ` +
        `(${FORMS})`,
    );
  return { store, rotateWithinMs, expiresInMs: ms, recoveryFile, github: github(r, store) };
}

/**
 * GitHub's API and token: required for a github: store. --github-api-url
 * given for another store is refused (it would be silently unused); from
 * $GITHUB_API_URL, which every Actions job has, it is not. A GitHub token
 * given anyway is only registered for redaction: the Action's input may be
 * set for a workflow whose store changes.
 */
function github(r: Reader, store: ApiTokenStoreSpec | undefined): GitHubSettings {
  if (store?.kind !== "github-secret") {
    if (r.explicit("githubApiUrl") !== undefined)
      throw new UsageError(
        r.label("githubApiUrl"),
        undefined,
        `only with a github: ${r.label("apiTokenStore")} (a GitHub Actions secret); leave it out`,
      );
    const given = r.string("githubToken");
    return { apiUrl: r.string("githubApiUrl")!, token: given ? new Secret(given) : undefined };
  }
  const apiUrl = baseUrl(r, "githubApiUrl", {
    what: "such as https://api.github.com or https://github.example.com/api/v3 (http:// only for 127.0.0.1/localhost)",
    tokenWhere: "$GPS_GITHUB_TOKEN or --github-token-file",
    plainHttp: () => false,
  });
  const value = r.string("githubToken");
  if (!value)
    throw new UsageError(
      r.label("githubToken"),
      undefined,
      'required with a github: --api-token-store: a fine-grained token with the repository permission "Secrets: Read and write" ' +
        '("Environments: Read and write" too for an environment secret) or a GitHub App installation token with secrets: write ' +
        "(the workflow's GITHUB_TOKEN cannot write secrets)",
    );
  if (/\s/.test(value)) throw new UsageError(r.label("githubToken"), undefined, "a single token without whitespace");
  return { apiUrl, token: new Secret(value) };
}

/**
 * --rotate-api-token-within: at least a day (expiry dates are days), and
 * shorter than the lifetime the rotation gives, or every run would rotate.
 */
function within(r: Reader, lifetimeMs: number): number | undefined {
  const text = r.explicit("rotateApiTokenWithin");
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || ms < MIN_MS || ms > MAX_MS)
    throw new UsageError(r.label("rotateApiTokenWithin"), text, durationRange(MIN_MS, MAX_MS));
  if (ms >= lifetimeMs)
    throw new UsageError(
      `${r.label("rotateApiTokenWithin")} and ${r.label("apiTokenExpiresIn")}`,
      `${text}, ${r.string("apiTokenExpiresIn")}`,
      `${r.label("rotateApiTokenWithin")} shorter than ${r.label("apiTokenExpiresIn")}: a token rotated to live ` +
        `${formatDuration(lifetimeMs)} would be due again at once, so every run would rotate it. E.g. 30d with 7d`,
    );
  return ms;
}
