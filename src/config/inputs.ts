// RawSettings (what a face collected) + environment -> one validated Config.
// Pure: no I/O. Every check runs before anything remote is called, and every
// failure names the option, the bad value (never a secret) and the accepted form.
// The checks of each group live in input-*.ts; this module assembles them and
// stays the one public entry, so callers need not know how parsing is split.
import { credentialsFor, registryHosts, secretForms } from "../model/dockerconfig.js";
import { DAY_MS } from "./duration.js";
import type { OptionKey, RawSettings } from "./options.js";
import { proxySecretForms, readProxySettings } from "./proxy-settings.js";
import type { Config, Face } from "./config-shape.js";
import { Reader } from "./input-reader.js";
import { credentials, gitlabUrl } from "./input-credentials.js";
import { registry, registryAliases, verify } from "./input-registry.js";
import { scopes } from "./input-scopes.js";
import {
  context,
  missingNamespace,
  nameList,
  namespaceSelector,
  namespaces,
  secretName,
  secretType,
  serviceAccounts,
} from "./input-kube.js";
import { observe } from "./input-observe.js";
import { apiTokenSettings } from "./input-apitoken.js";
import {
  MAX_LIFETIME_MS,
  integer,
  lifetime,
  lockLease,
  optionalDuration,
  renderFormat,
  rotationWindow,
  tokenNamePrefix,
} from "./input-values.js";

export {
  type ApiTokenSettings,
  type ApiTokenStoreSpec,
  MISSING_NAMESPACE_MODES,
  RENDER_FORMATS,
  type Config,
  type Credentials,
  type Face,
  type MissingNamespaceMode,
  type RenderFormat,
} from "./config-shape.js";
export { isLoopbackHost } from "./input-credentials.js";

export interface ParseOptions {
  /**
   * false for commands that never write credentials (status, revoke): with
   * --username they need neither the password nor --registry.
   */
  writesCredentials?: boolean;
  /** false for a command that touches no namespace (render --format config.json): none is required. */
  namespacesRequired?: boolean;
  /** rotate-api-token: the API token is always rotated, so --rotate-api-token-within does not apply. */
  apiTokenCommand?: boolean;
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
  // First: a token pasted into the URL is the mistake most worth stopping at, before any other message.
  const url = gitlabUrl(r);
  const creds = credentials(r, writes);
  const missing = missingNamespace(r);
  const listed = namespaces(r, opts.namespacesRequired ?? true);
  const expiresInMs = lifetime(r);
  const rotateBeforeMs = optionalDuration(r, "rotateBefore", 0, MAX_LIFETIME_MS);
  // status reads --rotate-before only to predict fills and takes no --expires-in: the default would judge it wrongly.
  if (writes) rotationWindow(r, rotateBeforeMs, expiresInMs);
  const config: Config = {
    gitlabUrl: url,
    credentials: creds,
    registry: registry(r, creds.kind === "static" && writes),
    registryAliases: registryAliases(r),
    scopes: [],
    secretType: secretType(r),
    namespaces: listed,
    listedNamespaces: [...listed],
    namespaceSelector: namespaceSelector(r),
    excludeNamespaces: nameList(r, "excludeNamespaces"),
    missingNamespace: missing,
    createNamespace: missing === "create",
    serviceAccounts: serviceAccounts(r),
    secretName: secretName(r),
    expiresInMs,
    tokenNamePrefix: tokenNamePrefix(r),
    kubeconfig: r.string("kubeconfig"),
    context: context(r),
    dryRun: r.boolean("dryRun"),
    adopt: r.boolean("adopt"),
    json: r.boolean("json"),
    // status and revoke never mint nor check a pull (and take no --verify-image): a group needs none there.
    verify: writes ? verify(r, creds.kind === "static") : false,
    caFile: r.string("caFile"),
    proxy: readProxySettings(env),
    rotateBeforeMs,
    force: r.boolean("force"),
    keepPrevious: integer(r, "keepPrevious", 0, 10),
    strictOwnership: r.boolean("strictOwnership"),
    sweepGraceMs: optionalDuration(r, "sweepGrace", 0, 7 * DAY_MS)!,
    lockTimeoutMs: optionalDuration(r, "lockTimeout", 0, 3_600_000)!,
    lockLeaseMs: lockLease(r),
    dotenv: r.string("dotenv"),
    requestTimeoutMs: optionalDuration(r, "requestTimeout", 1000, 600_000)!,
    retryForMs: optionalDuration(r, "retryFor", 0, 3_600_000)!,
    warnWithinMs: optionalDuration(r, "warnWithin", 0, MAX_LIFETIME_MS),
    yes: r.boolean("yes"),
    renderFormat: renderFormat(r),
    observe: observe(r),
    apiToken: apiTokenSettings(r, opts.apiTokenCommand ?? false),
  };
  // Last, since whether read_registry is needed depends on the pull check.
  const staticCredentials = config.credentials.kind === "static";
  return { ...config, scopes: scopes(r, { verify: config.verify !== false, staticCredentials }) };
}

/**
 * Every secret the inputs hold, in every form it could be printed in: the
 * faces register them for masking (core.setSecret) before anything runs.
 */
export function inputSecrets(config: Config): string[] {
  const github = config.apiToken.github.token;
  return [...credentialSecrets(config), ...proxySecretForms(config.proxy), ...(github ? [github.reveal()] : [])];
}

function credentialSecrets(config: Config): string[] {
  const c = config.credentials;
  if (c.kind === "deploy-token") return [c.gitlabToken.reveal()];
  if (!c.password) return [];
  // status and revoke may run without --registry; the password forms are the same under any host.
  const hosts = config.registry ? registryHosts(config.registry, config.registryAliases) : ["registry"];
  return secretForms(credentialsFor(hosts, c.username, c.password));
}
