// status: what the cluster holds and what GitLab holds for one target, and
// what needs a person. Read-only: one read of the Lease (the cluster's
// identity), one kubectl read of the Secrets, one GitLab listing (after
// resolving the owner). GitLab sends no expiry notice for
// deploy tokens, so `status --warn-within 3d` in a scheduled job is the alarm.
// With static credentials (--username) there is no GitLab owner and no token:
// only the Secrets are read, and GitLab is never called.
// The API token's own expiry is read too (apitoken.ts): it is the alarm for
// the credential that mints everything.
// The report's shape is in status-report.ts, its pure assessment in
// status-assess.ts; this module reads the world for it.
import { checkGitLabAccess } from "./apitoken.js";
import type { Config } from "../config/inputs.js";
import { recallClusterUid } from "./target-memory.js";
import type { DeployTokenInfo, ExistingSecret, NamespaceState, Readers, ResolvedOwner } from "../model/ports.js";
import { registryHosts } from "../model/dockerconfig.js";
import { decide, type RotationDecision } from "../model/decide.js";
import type { TargetRef } from "../model/naming.js";
import { policyOf } from "./observe.js";
import { isLiveToken } from "../model/plan.js";
import { coveringTarget } from "../model/ownership.js";
import type { UnavailableNamespace } from "../model/errors.js";
import { statesOf, unavailableIn, withPermissionHint } from "./lifecycle.js";
import { registryHost, resolveNamespaces } from "./rotate.js";
import { targetOf } from "./target.js";
import { assessStatus } from "./status-assess.js";
import type { StatusReport } from "./status-report.js";

export { assessStatus, daysLeft } from "./status-assess.js";
export type { Finding, SecretStatus, StatusReport, TokenRole, TokenState, TokenStatus } from "./status-report.js";

/**
 * One read of the Lease (the cluster's identity), one of the Secrets, one
 * listing of the tokens; nothing is written. The cluster-wide list of managed
 * Secrets is read only when a token looks like an orphan, to make sure no
 * Secret elsewhere holds it.
 */
export async function readStatus(
  config: Config,
  ports: Pick<Readers, "gitlab" | "kube" | "clock" | "lock">,
): Promise<StatusReport> {
  const creds = config.credentials;
  const owner = creds.kind === "static" ? null : await ports.gitlab.resolveOwner(creds.owner);
  // After the owner: a dead API token fails there, with that call's clear error.
  // The same check as rotate's: status must not say "nothing needs attention" about a token rotate cannot use.
  const apiToken = owner ? await checkGitLabAccess(ports.gitlab, owner, ports.clock.now()) : null;
  // A selector costs one more read (list namespaces); a plain list none.
  const namespaces = await resolveNamespaces(config, ports.kube);
  // A namespaced Role's binding goes with its namespace: the read meets a 403 there (lifecycle.ts).
  let gone: UnavailableNamespace[] = [];
  let existing: ExistingSecret[];
  try {
    existing = await ports.kube.readSecrets(namespaces, config.secretName);
  } catch (err) {
    const unavailable = await unavailableIn(err, ports.kube);
    if (!unavailable) throw withPermissionHint(err);
    gone = unavailable;
    const rest = namespaces.filter((ns) => !gone.some((u) => u.namespace === ns));
    existing = rest.length ? await ports.kube.readSecrets(rest, config.secretName) : [];
  }
  // Only where the Secret is absent: a namespace holding it exists. Without get on namespaces the answer is "unknown".
  const absent = namespaces.filter(
    (ns) => !existing.some((s) => s.namespace === ns) && !gone.some((u) => u.namespace === ns),
  );
  const namespaceStates = await statesOf(ports.kube, absent);
  for (const u of gone) namespaceStates.set(u.namespace, u.reason);
  const tokens = owner ? await ports.gitlab.listDeployTokens(owner) : [];
  const now = ports.clock.now();
  const live = tokens.filter((t) => isLiveToken(t, now));
  const recalled = owner ? await recallClusterUid(ports, config, { namespaces, existing, live }) : undefined;
  const named = targetOf(config, namespaces, recalled?.clusterUid, recalled?.earlier);
  // Part of a target (a subset of its list, or a selector's namespaces listed by name): that target, not an overlap.
  const covering = owner ? coveringTarget(existing, owner, named, namespaces) : undefined;
  const target = covering ?? named;
  const fill = owner ? fillOf(config, { owner, namespaces, namespaceStates, existing, tokens, now, target }) : null;
  const input = {
    owner,
    ...(creds.kind === "static" ? { staticUsername: creds.username } : {}),
    secretName: config.secretName,
    secretType: config.secretType,
    namespaces,
    target,
    prefix: config.tokenNamePrefix,
    existing,
    tokens,
    now,
    fill,
    warnWithinMs: config.warnWithinMs,
    graceMs: config.sweepGraceMs,
    namespaceStates,
    apiToken,
    partOf: covering?.partial ? covering : undefined,
  };
  const first = assessStatus(input);
  if (!first.tokens.some((t) => t.role === "orphan")) return first;
  return assessStatus({ ...input, managed: await ports.kube.listManagedSecrets() });
}

/**
 * What rotate with these options (--rotate-before, --force, the registry and
 * aliases) would fill: rotate's own decision (model/decide.ts) on what status
 * read; null when it would not fill. status reads no Secret's data, so the
 * source is taken to hold what it records (rotate checks that, and rotates
 * instead when it does not). A registry that cannot be named here leaves the
 * question unanswered.
 */
function fillOf(
  config: Config,
  args: {
    owner: ResolvedOwner;
    namespaces: string[];
    namespaceStates: ReadonlyMap<string, NamespaceState>;
    existing: ExistingSecret[];
    tokens: DeployTokenInfo[];
    now: Date;
    target: TargetRef;
  },
): RotationDecision["fill"] {
  let hosts: string[];
  try {
    hosts = registryHosts(registryHost(config, args.owner), config.registryAliases);
  } catch {
    return null;
  }
  // rotate skips a namespace that does not exist or is being deleted: never one to fill.
  const skipped = args.namespaces.flatMap((namespace) => {
    const reason = args.namespaceStates.get(namespace);
    return reason === "missing" || reason === "terminating" ? [{ namespace, reason }] : [];
  });
  const source = args.existing[0];
  const decision = decide(
    {
      owner: args.owner,
      hosts,
      namespaces: args.namespaces,
      skipped,
      existing: args.existing,
      accounts: [],
      checked: true,
      tokens: args.tokens,
      recall: { target: args.target, departed: [], unproven: undefined, sweepFrom: 0 },
      managed: "forbidden",
      current: source ? { source, creds: [] } : undefined,
      staticSha256: undefined,
    },
    policyOf(config),
    args.now,
  );
  return decision.fill;
}

/** Exit 3 only when asked to watch (--warn-within) and something needs attention. */
export function statusNeedsAttention(r: StatusReport): boolean {
  return r.warnWithinMs !== undefined && r.attention;
}
