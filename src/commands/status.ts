// status: what the cluster holds and what GitLab holds for one target, and
// what needs a person. Read-only: one read of the Lease (the cluster's
// identity), one kubectl read of the Secrets, one GitLab listing (after
// resolving the owner). GitLab sends no expiry notice for
// deploy tokens, so `status --warn-within 3d` in a scheduled job is the alarm.
// With static credentials (--username) there is no GitLab owner and no token:
// only the Secrets are read, and GitLab is never called.
// The API token's own expiry is read too (apitoken.ts): it is the alarm for
// the credential that mints everything.
import { ROTATE_WARN_MS, apiTokenExpiresWithin, apiTokenExpiryMessage, readApiToken, type ApiTokenStatus } from "./apitoken.js";
import { SECRET_TYPES, type SecretType } from "../model/dockerconfig.js";
import { DAY_MS } from "../config/duration.js";
import type { Config } from "../config/inputs.js";
import { Annotations, STATIC_OWNER, ownerRef as ownerRefOf } from "../model/naming.js";
import { formatDuration, heldTokens, isLiveToken, isManaged, namedForTarget, referencedIds, sweepCandidates } from "../model/plan.js";
import { assessOwnership, claimOf, overlapMessage, sparedMessage } from "../model/ownership.js";
import { readTargetLeaseUid } from "./lock.js";
import type { ExistingSecret, ManagedSecretRef, NamespaceState, ResolvedOwner, DeployTokenInfo, LockPort, Ports } from "../model/ports.js";
import { unavailableText, type NamespaceLifecycle, type UnavailableNamespace } from "../model/errors.js";
import { statesOf, unavailableIn, withPermissionHint } from "./lifecycle.js";
import { resolveNamespaces } from "./rotate.js";
import { targetOf, type TargetRef } from "./target.js";

export type TokenState = "live" | "expired" | "revoked";

export interface SecretStatus {
  namespace: string;
  present: boolean;
  managed: boolean;
  /** The Secret's type, e.g. kubernetes.io/dockerconfigjson; null when absent. */
  type: string | null;
  /** What a managed Secret holds: a minted deploy token or static credentials; null when absent or unmanaged. */
  credentials: "deploy-token" | "static" | null;
  /** "project/42" as the Secret records it. */
  owner: string | null;
  tokenId: number | null;
  username: string | null;
  expiresAt: string | null;
  daysLeft: number | null;
  /** The recorded token as GitLab sees it; "gone" when GitLab no longer lists it. */
  tokenState: TokenState | "gone" | null;
  /** Where the Secret is absent: the namespace does not exist ("missing") or is being deleted ("terminating"); null otherwise or when not known. */
  namespaceState: NamespaceLifecycle | null;
}

/**
 * current: a Secret holds it. kept / pending: recorded by the Secrets as kept
 * alive on purpose / left to revoke. orphan: ours, live, unreferenced, older
 * than --sweep-grace. in-flight: the same but younger (a rotation may be
 * running). stale: ours, no longer live, still listed by GitLab. legacy:
 * named for this Secret and namespace set before names carried the cluster's
 * identity, and unreferenced here: another cluster may hold it, so it is not
 * ours to sweep. other-target / other-cluster / unproven: a Secret here holds
 * or records it, but its name says it is not this target's to revoke.
 * held-elsewhere: ours, but a managed Secret outside this target holds it.
 */
export type TokenRole = "current" | "kept" | "pending" | "orphan" | "in-flight" | "stale" | "legacy" | "other-target" | "other-cluster" | "unproven" | "held-elsewhere";

export interface TokenStatus {
  id: number;
  name: string;
  username: string;
  expiresAt: string | null;
  daysLeft: number | null;
  state: TokenState;
  role: TokenRole;
  usedBy: string[];
}

export interface Finding {
  /** attention: needs a person (makes --warn-within exit 3); info: worth knowing. */
  severity: "attention" | "info";
  kind:
    | "missing-namespace" | "missing-secret" | "unmanaged-secret" | "other-owner" | "wrong-type" | "dead-token" | "expiring" | "orphan"
    | "pending-revoke" | "in-flight" | "stale" | "overlap" | "legacy" | "spared" | "cluster-wide" | "api-token-expiring";
  message: string;
  tokenId?: number;
  namespaces?: string[];
}

export interface StatusReport {
  secretName: string;
  /** null with static credentials (--username). */
  owner: { kind: string; id: number; path: string } | null;
  static: { username: string } | null;
  /** The Kubernetes type the Secrets should have (--secret-type). */
  secretType: string;
  checkedAt: string;
  warnWithinMs: number | undefined;
  secrets: SecretStatus[];
  tokens: TokenStatus[];
  /** The GitLab API token's own expiry and scopes; null with static credentials. */
  apiToken: ApiTokenStatus | null;
  findings: Finding[];
  attention: boolean;
}

/** Days from now to `expiresAt`, floored to a tenth; null for a token that never expires. */
export function daysLeft(expiresAt: string | null, now: Date): number | null {
  if (expiresAt === null) return null;
  const ms = Date.parse(expiresAt);
  return Number.isFinite(ms) ? Math.floor(((ms - now.getTime()) / DAY_MS) * 10) / 10 : null;
}

function stateOf(t: DeployTokenInfo, now: Date): TokenState {
  return t.revoked ? "revoked" : isLiveToken(t, now) ? "live" : "expired";
}

function idOf(text: string | undefined): number | null {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : null;
}

const list = (items: readonly string[]): string => items.join(", ");

/** Pure: the Secrets and the owner's tokens -> the report, findings included. */
export function assessStatus(args: {
  /** null: static credentials, whose Secrets hold no token. */
  owner: ResolvedOwner | null;
  /** With static credentials, whose (only for the report). */
  staticUsername?: string;
  secretName: string;
  /** --secret-type; default dockerconfigjson. */
  secretType?: SecretType;
  namespaces: readonly string[];
  /** The target rotate named the tokens for (target.ts). */
  target: TargetRef;
  prefix: string;
  existing: readonly ExistingSecret[];
  tokens: readonly DeployTokenInfo[];
  now: Date;
  warnWithinMs: number | undefined;
  graceMs: number;
  /** The cluster-wide list of managed Secrets, "forbidden" when RBAC refused it, undefined when not read. */
  managed?: readonly ManagedSecretRef[] | "forbidden";
  /** What the API server said of the namespaces where the Secret is absent (status asks only about those). */
  namespaceStates?: ReadonlyMap<string, NamespaceState>;
  /** What GitLab said about the API token itself; null or absent: not asked. */
  apiToken?: ApiTokenStatus | null;
}): StatusReport {
  const { owner, now } = args;
  const ownerRef = ownerRefOf(owner);
  const wantedType = SECRET_TYPES[args.secretType ?? "dockerconfigjson"].type;
  const { target } = args;
  const byId = new Map(args.tokens.map((t) => [t.id, t]));
  const bySecretNs = new Map(args.existing.map((s) => [s.namespace, s]));
  const findings: Finding[] = [];

  const secrets: SecretStatus[] = args.namespaces.map((namespace) => {
    const s = bySecretNs.get(namespace);
    if (!s) {
      const state = args.namespaceStates?.get(namespace);
      const namespaceState = state === "missing" || state === "terminating" ? state : null;
      return { namespace, present: false, managed: false, type: null, credentials: null, owner: null, tokenId: null, username: null, expiresAt: null, daysLeft: null, tokenState: null, namespaceState };
    }
    const managed = isManaged(s);
    const tokenId = managed ? idOf(s.annotations[Annotations.tokenId]) : null;
    const recordedOwner = managed ? (s.annotations[Annotations.owner] ?? null) : null;
    // Our owner's tokens are looked up in GitLab; another owner's cannot be from here.
    const t = tokenId !== null && recordedOwner === ownerRef ? byId.get(tokenId) : undefined;
    const expiresAt = t ? t.expiresAt : managed ? (s.annotations[Annotations.expiresAt] ?? null) : null;
    return {
      namespace,
      present: true,
      managed,
      type: s.type,
      credentials: !managed ? null : recordedOwner === STATIC_OWNER ? "static" : "deploy-token",
      owner: recordedOwner,
      tokenId,
      username: t?.username ?? (managed ? (s.annotations[Annotations.tokenUsername] ?? null) : null),
      expiresAt,
      daysLeft: daysLeft(expiresAt, now),
      tokenState: tokenId === null || recordedOwner !== ownerRef ? null : t ? stateOf(t, now) : "gone",
      namespaceState: null,
    };
  });

  const gone = secrets.filter((s) => s.namespaceState !== null);
  if (gone.length) {
    findings.push({
      severity: "attention",
      kind: "missing-namespace",
      namespaces: gone.map((s) => s.namespace),
      message:
        `listed namespace(s) ${unavailableText(gone.map((s) => ({ namespace: s.namespace, reason: s.namespaceState! })))}: rotate skips them and exits 1 ` +
        `(--missing-namespace fail stops it). Recreate them (the next rotate fills them) or remove them from the list`,
    });
  }
  const missing = secrets.filter((s) => !s.present && s.namespaceState === null).map((s) => s.namespace);
  if (missing.length) {
    findings.push({ severity: "attention", kind: "missing-secret", namespaces: missing, message: `no Secret "${args.secretName}" in ${list(missing)}: pods there cannot pull; rotate creates it` });
  }
  const unmanaged = secrets.filter((s) => s.present && !s.managed).map((s) => s.namespace);
  if (unmanaged.length) {
    findings.push({ severity: "attention", kind: "unmanaged-secret", namespaces: unmanaged, message: `Secret "${args.secretName}" in ${list(unmanaged)} is not managed by gitlab-pull-secret: rotate refuses it without --adopt` });
  }
  for (const s of secrets.filter((x) => x.managed && x.owner !== ownerRef)) {
    const message =
      s.credentials === "static"
        ? `the Secret in ${s.namespace} holds static credentials (of ${s.username ?? "?"}), not a deploy token of ${ownerRef}: rotate replaces it`
        : owner === null
          ? `the Secret in ${s.namespace} holds deploy token ${s.tokenId ?? "?"} of ${s.owner ?? "an unknown owner"}, not the static credentials: rotate replaces it (without revoking that token: run revoke with its --project/--group)`
          : `the Secret in ${s.namespace} holds a token of ${s.owner ?? "an unknown owner"}, not ${ownerRef}: rotate replaces it`;
    findings.push({ severity: "attention", kind: "other-owner", namespaces: [s.namespace], message });
  }
  const wrongType = secrets.filter((s) => s.present && s.type !== wantedType);
  if (wrongType.length) {
    findings.push({
      severity: "attention",
      kind: "wrong-type",
      namespaces: wrongType.map((s) => s.namespace),
      message:
        `Secret "${args.secretName}" in ${list(wrongType.map((s) => `${s.namespace} (${s.type})`))} is not ${wantedType}: rotate refuses it, ` +
        `since a Secret's type cannot change. Use the --secret-type it has, or another --secret-name`,
    });
  }

  // One finding per token the Secrets hold, naming every namespace holding it.
  const holders = new Map<number, string[]>();
  for (const s of secrets) if (s.tokenId !== null && s.tokenState !== null) holders.set(s.tokenId, [...(holders.get(s.tokenId) ?? []), s.namespace]);
  for (const [id, namespaces] of holders) {
    const s = secrets.find((x) => x.tokenId === id)!;
    const where = `the Secret in ${list(namespaces)}`;
    if (s.tokenState !== "live") {
      const why = s.tokenState === "gone" ? "GitLab no longer has it" : s.tokenState === "revoked" ? "it was revoked" : `it expired ${s.expiresAt?.slice(0, 10) ?? ""}`.trim();
      findings.push({ severity: "attention", kind: "dead-token", tokenId: id, namespaces, message: `${where} holds deploy token ${id}, which cannot pull: ${why}. Run rotate` });
    } else if (args.warnWithinMs !== undefined && s.expiresAt !== null && Date.parse(s.expiresAt) - now.getTime() <= args.warnWithinMs) {
      const left = formatDuration(Date.parse(s.expiresAt) - now.getTime());
      findings.push({ severity: "attention", kind: "expiring", tokenId: id, namespaces, message: `deploy token ${id} in ${list(namespaces)} expires in ${left} (${s.expiresAt.slice(0, 10)} 00:00 UTC), within --warn-within: run rotate` });
    }
  }

  // Our tokens: recorded by a Secret of ours, or named for this target (or legacy-named for it).
  const held = heldTokens(args.existing, owner);
  const own = owner
    ? assessOwnership({ existing: args.existing, owner, tokens: args.tokens, prefix: args.prefix, target, namespaces: args.namespaces, managed: Array.isArray(args.managed) ? args.managed : undefined })
    : undefined;
  const referenced = new Set([...referencedIds(held), ...(own?.heldElsewhere ?? [])]);
  const orphans = new Set(
    sweepCandidates({ tokens: args.tokens, prefix: args.prefix, target, referenced, now, graceMs: args.graceMs }).map((t) => t.id),
  );
  const spared = new Map((own?.spared ?? []).map((s) => [s.id, s]));
  const legacy = (name: string): boolean => claimOf(args.prefix, target, name).kind === "legacy";
  const tokens: TokenStatus[] = args.tokens
    .filter((t) => referenced.has(t.id) || namedForTarget(args.prefix, target, t.name) || legacy(t.name))
    .map((t) => {
      const state = stateOf(t, now);
      const sparedAs = spared.get(t.id)?.why;
      const role: TokenRole =
        sparedAs && sparedAs !== "held-elsewhere"
          ? sparedAs
          : held.current.includes(t.id)
            ? "current"
            : held.kept.includes(t.id)
              ? "kept"
              : held.pending.includes(t.id)
                ? "pending"
                : orphans.has(t.id)
                  ? "orphan"
                  : own?.heldElsewhere.has(t.id)
                    ? "held-elsewhere"
                    : legacy(t.name)
                    ? "legacy"
                    : state === "live"
                      ? "in-flight"
                      : "stale";
      return { id: t.id, name: t.name, username: t.username, expiresAt: t.expiresAt, daysLeft: daysLeft(t.expiresAt, now), state, role, usedBy: holders.get(t.id) ?? [] };
    })
    .sort((a, b) => b.id - a.id);

  for (const o of own?.overlaps ?? []) {
    findings.push({ severity: "attention", kind: "overlap", tokenId: o.tokenId, namespaces: [o.namespace], message: overlapMessage(o, args.secretName, target) });
  }
  for (const s of own?.spared ?? []) {
    // Overlaps are named above; the other spared tokens are worth knowing.
    if (s.why === "other-target" && own!.overlaps.some((o) => o.tokenId === s.id)) continue;
    findings.push({ severity: "info", kind: "spared", tokenId: s.id, namespaces: s.namespaces, message: sparedMessage(s).replace(/^Left/, "rotate leaves") });
  }
  if (args.managed === "forbidden") {
    findings.push({ severity: "info", kind: "cluster-wide", message: "RBAC does not allow listing Secrets cluster-wide: Secrets outside these namespaces were not checked" });
  }
  for (const t of tokens) {
    if (t.role === "orphan") {
      findings.push({ severity: "attention", kind: "orphan", tokenId: t.id, message: `deploy token ${t.id} (${t.name}) is an orphan: live, ours, and no Secret references it. rotate sweeps it; revoke deletes it` });
    } else if (t.role === "pending" && t.state === "live") {
      findings.push({ severity: "attention", kind: "pending-revoke", tokenId: t.id, message: `deploy token ${t.id} is still live although an earlier run meant to revoke it; the next rotate revokes it` });
    } else if (t.role === "in-flight") {
      findings.push({ severity: "info", kind: "in-flight", tokenId: t.id, message: `deploy token ${t.id} is unreferenced but younger than --sweep-grace: a rotation may be running` });
    } else if (t.role === "legacy" && t.state === "live") {
      findings.push({
        severity: "info",
        kind: "legacy",
        tokenId: t.id,
        message:
          `deploy token ${t.id} (${t.name}) is legacy, not ours to sweep: it was named before token names carried the cluster's identity, ` +
          `so another cluster may hold it. It expires by itself${t.expiresAt ? ` on ${t.expiresAt.slice(0, 10)}` : ""}`,
      });
    } else if (t.role === "stale") {
      findings.push({ severity: "info", kind: "stale", tokenId: t.id, message: `deploy token ${t.id} is ${t.state} and still listed by GitLab; it cannot pull (revoke deletes it)` });
    }
  }

  // Without --warn-within, the same 14 days rotate warns at.
  const apiToken = args.apiToken ?? null;
  if (apiTokenExpiresWithin(apiToken, now, args.warnWithinMs ?? ROTATE_WARN_MS)) {
    const within = args.warnWithinMs !== undefined ? "within --warn-within" : "within 14 days";
    findings.push({ severity: "attention", kind: "api-token-expiring", message: apiTokenExpiryMessage(apiToken, now, within) });
  }

  return {
    secretName: args.secretName,
    owner: owner ? { kind: owner.kind, id: owner.id, path: owner.path } : null,
    static: owner ? null : { username: args.staticUsername ?? "?" },
    secretType: wantedType,
    checkedAt: now.toISOString(),
    warnWithinMs: args.warnWithinMs,
    secrets,
    tokens,
    apiToken,
    // Attention first; stable within each severity.
    findings: [...findings.filter((f) => f.severity === "attention"), ...findings.filter((f) => f.severity === "info")],
    attention: findings.some((f) => f.severity === "attention"),
  };
}

/**
 * One read of the Lease (the cluster's identity), one of the Secrets, one
 * listing of the tokens; nothing is written. The cluster-wide list of managed
 * Secrets is read only when a token looks like an orphan, to make sure no
 * Secret elsewhere holds it.
 */
export async function readStatus(config: Config, ports: Pick<Ports, "gitlab" | "kube" | "clock"> & { lock: Pick<LockPort, "readLease"> }): Promise<StatusReport> {
  const creds = config.credentials;
  const owner = creds.kind === "static" ? null : await ports.gitlab.resolveOwner(creds.owner);
  // After the owner: a dead API token fails there, with that call's clear error.
  const apiToken = owner ? await readApiToken(ports.gitlab, ports.clock.now()) : null;
  // A selector costs one more read (list namespaces); a plain list none.
  const namespaces = await resolveNamespaces(config, ports.kube);
  const leaseUid = owner ? await readTargetLeaseUid(ports.lock as LockPort, { namespaces, secretName: config.secretName }, ports.kube) : undefined;
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
  const absent = namespaces.filter((ns) => !existing.some((s) => s.namespace === ns) && !gone.some((u) => u.namespace === ns));
  const namespaceStates = await statesOf(ports.kube, absent);
  for (const u of gone) namespaceStates.set(u.namespace, u.reason);
  const tokens = owner ? await ports.gitlab.listDeployTokens(owner) : [];
  const input = {
    owner,
    ...(creds.kind === "static" ? { staticUsername: creds.username } : {}),
    secretName: config.secretName,
    secretType: config.secretType,
    namespaces,
    target: targetOf(config, namespaces, leaseUid),
    prefix: config.tokenNamePrefix,
    existing,
    tokens,
    now: ports.clock.now(),
    warnWithinMs: config.warnWithinMs,
    graceMs: config.sweepGraceMs,
    namespaceStates,
    apiToken,
  };
  const first = assessStatus(input);
  if (!first.tokens.some((t) => t.role === "orphan") || !ports.kube.listManagedSecrets) return first;
  return assessStatus({ ...input, managed: await ports.kube.listManagedSecrets() });
}

/** Exit 3 only when asked to watch (--warn-within) and something needs attention. */
export function statusNeedsAttention(r: StatusReport): boolean {
  return r.warnWithinMs !== undefined && r.attention;
}
