// rotate-api-token's options: where the API token's value lives
// (--api-token-store), how long the rotated token lives
// (--api-token-expires-in) and the file that keeps it if the write fails
// (--api-token-recovery-file).
import { UsageError } from "../model/errors.js";
import { DAY_MS, durationRange, parseDuration } from "./duration.js";
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

export function apiTokenSettings(r: Reader): ApiTokenSettings {
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
  return { store, expiresInMs: ms, recoveryFile: r.string("apiTokenRecoveryFile") };
}
