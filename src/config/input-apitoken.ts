// The API token's rotation options: where its value lives
// (--api-token-store), how long the rotated token lives
// (--api-token-expires-in), the file that keeps it if the write fails
// (--api-token-recovery-file), and when rotate rotates it too
// (--rotate-api-token-within). rotate-api-token always rotates; for rotate the
// others mean something only with --rotate-api-token-within.
import { UsageError } from "../model/errors.js";
import { DAY_MS, durationRange, formatDuration, parseDuration } from "./duration.js";
import type { ApiTokenSettings, ApiTokenStoreSpec } from "./config-shape.js";
import { GROUP_REF, PROJECT_REF } from "./input-credentials.js";
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

const FORMS =
  "gitlab:project:<id or path>:<KEY>[:<environment scope>], gitlab:group:<id or path>:<KEY>[:<environment scope>] " +
  "or kubernetes:<namespace>/<secret>/<key>";

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
  return FORMS;
}

/**
 * `command`: rotate-api-token, which always rotates (its store is required by
 * the command); otherwise the rotation is rotate's, asked for with
 * --rotate-api-token-within, and the store and recovery file mean nothing without it.
 */
/** Pure: the --api-token-store value a store spec stands for (for reports; holds no value). */
export function apiTokenStoreText(spec: ApiTokenStoreSpec): string {
  if (spec.kind === "kubernetes-secret") return `kubernetes:${spec.namespace}/${spec.name}/${spec.key}`;
  const scope = spec.environmentScope === undefined ? "" : `:${spec.environmentScope}`;
  return `gitlab:${spec.owner.kind}:${spec.owner.ref}:${spec.key}${scope}`;
}

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
        "(gitlab:project:<id or path>:<KEY>, gitlab:group:..., kubernetes:<namespace>/<secret>/<key>)",
    );
  return { store, rotateWithinMs, expiresInMs: ms, recoveryFile };
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
