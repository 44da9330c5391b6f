// Pure decisions of a rotation: is one due, which previous tokens to keep or
// revoke, which of our tokens are orphans to sweep. No I/O.
import type { ResolvedOwner, ExistingSecret, TokenView } from "./ports.js";
import { sameScopes, scopesText } from "./scopes.js";
import {
  Annotations,
  MANAGED_BY_LABEL,
  MANAGER,
  STATIC_OWNER,
  mintedAt,
  ownerRef,
  parseTokenName,
  type TargetRef,
} from "./naming.js";

/** Live the way GitLab authenticates: not revoked, and expiry (midnight UTC) still ahead. Never from `expired`. */
export function isLiveToken(t: TokenView, now: Date): boolean {
  return !t.revoked && (t.expiresAt === null || Date.parse(t.expiresAt) > now.getTime());
}

export function isManaged(s: ExistingSecret): boolean {
  return s.labels[MANAGED_BY_LABEL] === MANAGER;
}

function ids(text: string | undefined): number[] {
  return (text ?? "")
    .split(",")
    .map((p) => Number(p.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

export interface Held {
  /** Tokens the Secrets hold now. */
  current: number[];
  /** Previous tokens kept alive on purpose (--keep-previous). */
  kept: number[];
  /** Previous tokens whose revoke failed. */
  pending: number[];
}

/** Token ids our Secrets hold or record, for this owner only, newest first. Static credentials (owner null) hold none. */
export function heldTokens(existing: readonly ExistingSecret[], owner: ResolvedOwner | null): Held {
  const current = new Set<number>();
  const kept = new Set<number>();
  const pending = new Set<number>();
  for (const s of existing) {
    if (!isManaged(s) || s.annotations[Annotations.owner] !== ownerRef(owner)) continue;
    for (const id of ids(s.annotations[Annotations.tokenId])) current.add(id);
    for (const id of ids(s.annotations[Annotations.keptTokenIds])) kept.add(id);
    for (const id of ids(s.annotations[Annotations.revokePending])) pending.add(id);
  }
  const byNewest = (a: number, b: number) => b - a;
  return {
    current: [...current].sort(byNewest),
    kept: [...kept].filter((k) => !current.has(k)).sort(byNewest),
    pending: [...pending].filter((p) => !current.has(p) && !kept.has(p)).sort(byNewest),
  };
}

/** Every token id the Secrets account for: a sweep never touches these. */
export function referencedIds(held: Held): Set<number> {
  return new Set([...held.current, ...held.kept, ...held.pending]);
}

export interface Due {
  due: boolean;
  reason: string;
}

/**
 * The Secret names other hosts than this run writes (another --registry, or
 * --registry-alias changed): its credentials are then for the wrong names, so
 * it is rewritten even when the token itself has time left. A Secret written
 * before the registry was recorded counts as matching.
 */
export function hostsDiffer(s: ExistingSecret, hosts: readonly string[]): boolean {
  const registry = s.annotations[Annotations.registry];
  if (registry !== undefined && registry !== hosts[0]) return true;
  return (s.annotations[Annotations.registryAliases] ?? "") !== hosts.slice(1).join(",");
}

function hostsText(hosts: readonly string[]): string {
  return hosts.join(", ");
}

/** What decides whether a rotation is due (and, in fill.ts, whether a fill does instead). */
export interface DueInput {
  /** The namespaces that can take the Secret (skipped ones left out). */
  namespaces: readonly string[];
  existing: readonly ExistingSecret[];
  owner: ResolvedOwner;
  /** The registry, then its aliases, as this run writes them. */
  hosts: readonly string[];
  liveIds: ReadonlySet<number>;
  /** The owner's tokens as GitLab lists them (their scopes, and in fill.ts their names). */
  tokens: readonly TokenView[];
  /** The scopes this run mints (--scope). */
  scopes: readonly string[];
  now: Date;
  rotateBeforeMs: number | undefined;
  force: boolean;
}

export function rotationDue(args: DueInput): Due {
  if (args.force) return { due: true, reason: "--force" };
  if (args.rotateBeforeMs === undefined) return { due: true, reason: "every run rotates (no --rotate-before)" };
  const byNs = new Map(args.existing.map((s) => [s.namespace, s]));
  const tokenIds = new Set<string>();
  let soonest = Infinity;
  for (const ns of args.namespaces) {
    const s = byNs.get(ns);
    if (!s || !isManaged(s)) return { due: true, reason: `no managed Secret in ${ns}` };
    if (s.annotations[Annotations.owner] === STATIC_OWNER)
      return { due: true, reason: `the Secret in ${ns} holds static credentials` };
    if (s.annotations[Annotations.owner] !== `${args.owner.kind}/${args.owner.id}`)
      return { due: true, reason: `the Secret in ${ns} holds a token of another owner` };
    if (hostsDiffer(s, args.hosts))
      return { due: true, reason: `the Secret in ${ns} is not for ${hostsText(args.hosts)}` };
    const id = Number(s.annotations[Annotations.tokenId]);
    if (!args.liveIds.has(id))
      return {
        due: true,
        reason: `deploy token ${s.annotations[Annotations.tokenId] ?? "?"} in ${ns} is no longer live in GitLab`,
      };
    // Like other hosts: the Secret would go on holding a token that cannot do what this run was asked for.
    const have = args.tokens.find((t) => t.id === id)?.scopes;
    if (have && !sameScopes(have, args.scopes))
      return {
        due: true,
        reason: `deploy token ${id} has scopes ${scopesText(have)}, not ${scopesText(args.scopes)} (--scope)`,
      };
    tokenIds.add(String(id));
    const expires = Date.parse(s.annotations[Annotations.expiresAt] ?? "");
    soonest = Math.min(soonest, Number.isFinite(expires) ? expires : -Infinity);
  }
  if (tokenIds.size > 1)
    return { due: true, reason: `the Secrets hold different tokens (${[...tokenIds].join(", ")})` };
  const left = soonest - args.now.getTime();
  if (left <= args.rotateBeforeMs)
    return { due: true, reason: `the token expires in ${formatDuration(left)}, within --rotate-before` };
  return {
    due: false,
    reason: `deploy token ${[...tokenIds][0]} has ${formatDuration(left)} left, more than --rotate-before`,
  };
}

/**
 * Static credentials have no expiry to watch: a run writes when a Secret is
 * missing, holds something else (a deploy token, other credentials), or its
 * recorded docker config SHA-256 differs from what this run would write
 * (another password, host or alias). Otherwise it changes nothing.
 */
export function staticDue(args: {
  namespaces: readonly string[];
  existing: readonly ExistingSecret[];
  /** payloadSha256 of the docker config this run would write. */
  configSha256: string;
  force: boolean;
}): Due {
  if (args.force) return { due: true, reason: "--force" };
  const byNs = new Map(args.existing.map((s) => [s.namespace, s]));
  for (const ns of args.namespaces) {
    const s = byNs.get(ns);
    if (!s || !isManaged(s)) return { due: true, reason: `no managed Secret in ${ns}` };
    const owner = s.annotations[Annotations.owner];
    if (owner !== STATIC_OWNER)
      return {
        due: true,
        reason: `the Secret in ${ns} holds a deploy token of ${owner ?? "an unknown owner"}, not static credentials`,
      };
    if (s.annotations[Annotations.configSha256] !== args.configSha256) {
      return { due: true, reason: `the Secret in ${ns} holds other credentials (its docker config differs)` };
    }
  }
  return { due: false, reason: "every Secret already holds these credentials (same docker config SHA-256)" };
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return "no time";
  const h = ms / 3_600_000;
  return h >= 48 ? `${Math.floor(h / 24)}d` : h >= 1 ? `${Math.floor(h)}h` : `${Math.max(1, Math.floor(ms / 60_000))}m`;
}

/**
 * After minting `newId`: keep the `keep` newest previous tokens that are
 * still live, revoke the other live ones (pending ones included). Tokens
 * GitLab no longer counts as live need no call.
 */
export function revocationPlan(
  held: Held,
  newId: number,
  keep: number,
  liveIds: ReadonlySet<number>,
): { keep: number[]; revoke: number[] } {
  const byNewest = (a: number, b: number) => b - a;
  const previous = [...new Set([...held.current, ...held.kept])]
    .filter((id) => id !== newId && liveIds.has(id))
    .sort(byNewest);
  const kept = previous.slice(0, keep);
  const revoke = [...new Set([...previous.slice(keep), ...held.pending])].filter(
    (id) => id !== newId && !kept.includes(id) && liveIds.has(id),
  );
  return { keep: kept, revoke: revoke.sort(byNewest) };
}

/**
 * Named for exactly this target in this cluster (the Lease uid in the name).
 * Legacy names (a context name where the cluster id goes) never are: another
 * cluster may hold them.
 */
export function namedForTarget(prefix: string, target: TargetRef, name: string): boolean {
  const t = parseTokenName(prefix, name);
  return (
    t !== undefined &&
    target.cluster !== undefined &&
    (t.cluster === target.cluster || target.earlier.includes(t.cluster)) &&
    t.secretName === target.secretName &&
    t.set === target.set
  );
}

/**
 * Our live tokens for this target that no Secret references, older than the
 * grace: what a run that died half way left behind. A token not named for this
 * target in this cluster, or whose age cannot be read from its name, is never swept.
 */
export function sweepCandidates(args: {
  tokens: readonly TokenView[];
  prefix: string;
  target: TargetRef;
  referenced: ReadonlySet<number>;
  now: Date;
  graceMs: number;
  /**
   * Only tokens minted at or after this (ms): before it, where a selector's
   * target wrote was not on record (target-memory.ts), so a namespace outside
   * it may hold them. Default: every age.
   */
  mintedFrom?: number;
}): TokenView[] {
  const from = args.mintedFrom ?? -Infinity;
  return args.tokens.filter((t) => {
    if (!namedForTarget(args.prefix, args.target, t.name) || args.referenced.has(t.id) || !isLiveToken(t, args.now))
      return false;
    const minted = mintedAt(t.name);
    return minted !== undefined && args.now.getTime() - minted.getTime() >= args.graceMs && minted.getTime() >= from;
  });
}
