// Pure: what a target's Lease remembers, so that namespaces coming and going
// change neither the cluster's identity nor what a run knows of where its
// tokens are.
//
// - The cluster's identity. The first Lease a target ever holds gives it: its
//   server-assigned uid. Every Lease after it (a new first namespace, the old
//   one deleted) takes the identity over from the Lease the Secrets name, or
//   from what the Secrets record, and keeps it in an annotation, beside its own
//   uid: a Lease restored from a backup into another cluster gets a new uid, so
//   its copied annotation is seen to be a copy, and that cluster gets an
//   identity of its own.
// - Where a selector's target wrote. A namespace relabelled out of the selector
//   keeps its Secret and the token in it; the next run cannot find it by the
//   selector, and without a cluster-wide Secret list it would revoke a token
//   that namespace still pulls with. The Lease records every namespace the
//   target wrote to (one annotation per target), so the run can look there.
import { Annotations, clusterUidOf, parseTargetId, parseTokenName } from "./naming.js";
import type { ExistingSecret, LeaseState, TokenView } from "./ports.js";

const PREFIX = "gitlab-pull-secret.io/";
const WRITTEN = "written.gitlab-pull-secret.io/";

export const LeaseAnnotations = {
  /** The cluster's identity (a uid), as the first Lease of the target gave it. */
  cluster: `${PREFIX}cluster`,
  /**
   * The uid of the Lease that wrote `cluster`: equal to its own uid unless the
   * Lease is a restored copy; UNSETTLED from its creation until the run that
   * created it has settled the identity (a run killed before that leaves it so).
   */
  anchor: `${PREFIX}anchor-uid`,
} as const;

/** What a new Lease carries until its identity is settled: never a legacy Lease, whose uid would be the identity. */
export const UNSETTLED = { [LeaseAnnotations.anchor]: "unsettled" } as const;

/** Ours, carried by every write of the Lease. */
export function isLeaseAnnotation(key: string): boolean {
  return key.startsWith(PREFIX) || key.startsWith(WRITTEN);
}

/** The annotation holding where the target with this namespace-set hash wrote. */
export function writtenKey(set: string): string {
  return `${WRITTEN}${set}`;
}

/**
 * Where a selector's target wrote, and since when the record is whole: tokens
 * minted before that may be held where no record says, so they are never
 * swept by name (they expire by themselves).
 */
export interface Written {
  /** ISO time the record began. */
  since: string;
  namespaces: string[];
}

/** The record a Lease keeps for a target; undefined when it keeps none. Stored as `<since>;<a,b,...>`. */
export function writtenIn(lease: LeaseState | undefined, set: string): Written | undefined {
  const value = lease?.annotations?.[writtenKey(set)];
  if (value === undefined) return undefined;
  const [since = "", list = ""] = value.split(";");
  return { since, namespaces: list.split(",").filter((ns) => ns !== "") };
}

export function writtenPatch(set: string, w: Written): Record<string, string> {
  return { [writtenKey(set)]: `${w.since};${[...new Set(w.namespaces)].sort().join(",")}` };
}

/** A Lease created by a run that has not yet written the identity (or was killed before it could). */
export function isUnsettled(lease: LeaseState): boolean {
  return lease.annotations?.[LeaseAnnotations.anchor] === UNSETTLED[LeaseAnnotations.anchor];
}

type Kind = "original" | "legacy" | "unsettled" | "copy";

/**
 * original: it wrote its identity itself; legacy: written by a version that
 * kept none (its uid is the identity); unsettled: created, identity not yet
 * written; copy: restored from another cluster.
 */
function kindOf(lease: LeaseState): Kind {
  const anchor = lease.annotations?.[LeaseAnnotations.anchor];
  if (anchor === undefined) return "legacy";
  if (isUnsettled(lease)) return "unsettled";
  return anchor === lease.uid ? "original" : "copy";
}

function identityIn(lease: LeaseState): string | undefined {
  const kind = kindOf(lease);
  if (kind === "legacy") return lease.uid || undefined;
  return kind === "original" ? lease.annotations?.[LeaseAnnotations.cluster] : undefined;
}

/**
 * What our Secrets in the target's namespaces agree on: those of this target
 * first; failing those (unless `whose` is "ours"), those of any target with
 * this Secret name, which were written in this cluster too (another pipeline
 * sharing the namespaces).
 */
function agreed(
  secrets: readonly ExistingSecret[],
  secretName: string,
  set: string,
  pick: (s: ExistingSecret) => string | undefined,
  whose: "ours" | "any" = "any",
): string | undefined {
  const ours = secrets.filter((s) => (s.annotations[Annotations.target] ?? "").endsWith(`/${secretName}/${set}`));
  for (const group of whose === "ours" ? [ours] : [ours, secrets]) {
    const values = new Set(group.map(pick).filter((v): v is string => !!v));
    if (values.size === 1) return [...values][0];
    if (values.size > 1) return undefined;
  }
  return undefined;
}

/**
 * The Lease namespace our Secrets name (the one they were written under), when they agree on one: this
 * target's Secrets only (`ours`), or failing those another target's with this Secret name (`any`).
 */
export function namedLeaseNamespace(
  secrets: readonly ExistingSecret[],
  secretName: string,
  set: string,
  whose: "ours" | "any" = "any",
): string | undefined {
  return agreed(secrets, secretName, set, (s) => s.annotations[Annotations.lease], whose);
}

/** The cluster uid our Secrets record in their target annotation, when they agree on one. */
export function recordedCluster(
  secrets: readonly ExistingSecret[],
  secretName: string,
  set: string,
): string | undefined {
  return agreed(secrets, secretName, set, (s) => {
    const cluster = parseTargetId(s.annotations[Annotations.target] ?? "")?.cluster;
    return cluster ? clusterUidOf(cluster) : undefined;
  });
}

/**
 * The cluster's identity for this target. `held` is the Lease the run holds
 * (or, read-only, would take; undefined when it would create one), `fresh`
 * when this run just created it; `named` the Lease our Secrets name when that
 * is another one ("unreadable" when it could not be read or is gone).
 */
export function clusterIdentity(args: {
  held: LeaseState | undefined;
  fresh: boolean;
  named: LeaseState | "unreadable" | undefined;
  /** recordedCluster of the Secrets. */
  recorded: string | undefined;
}): string | undefined {
  const { held } = args;
  const fresh = args.fresh || (held !== undefined && isUnsettled(held));
  if (held && !fresh) {
    // A copy restored into another cluster is a new cluster: its own uid, never the copied identity.
    if (kindOf(held) === "copy") return held.uid;
    const own = identityIn(held);
    if (own) return own;
  }
  if (args.named && args.named !== "unreadable") {
    const theirs = identityIn(args.named);
    if (theirs) return theirs;
  }
  // The Lease the Secrets were written under is gone with its namespace: what they record is this cluster's.
  if (args.recorded && (!held || fresh)) return args.recorded;
  return held?.uid;
}

/**
 * The clusters (uids) other than `current` that live tokens of this target (its Secret name and namespace spec)
 * are named for: another cluster's, or this cluster's under an identity the target held before (see
 * earlierIdentities). Empty in the common case, when the run needs no more reads.
 */
export function strangeClusters(args: {
  live: readonly TokenView[];
  prefix: string;
  secretName: string;
  set: string;
  current: string | undefined;
}): string[] {
  const found = new Set<string>();
  for (const t of args.live) {
    const named = parseTokenName(args.prefix, t.name);
    if (!named || named.secretName !== args.secretName || named.set !== args.set) continue;
    const uid = clusterUidOf(named.cluster);
    if (uid !== undefined && uid !== args.current) found.add(uid);
  }
  return [...found].sort();
}

/**
 * Which of `strangers` are identities this cluster gave the target before: those a Lease of the target's (in one
 * of its namespaces) carries. A target's lock moves to the Lease in its first namespace, which may be one another
 * target made under an identity of its own (a namespace made after the target's first run, before its old first
 * one); the tokens the target named under the identity its earlier Lease gave are still its own, in this cluster,
 * and are revoked and swept as such. A Lease's identity is this cluster's: a copy restored from another cluster
 * carries none (identityIn).
 */
export function earlierIdentities(strangers: readonly string[], leases: readonly LeaseState[]): string[] {
  const here = new Set(leases.map(identityIn).filter((id): id is string => id !== undefined));
  return strangers.filter((uid) => here.has(uid));
}

/** What the held Lease must record of the identity (empty when it already does). */
export function identityPatch(held: LeaseState, identity: string): Record<string, string> {
  const want = { [LeaseAnnotations.cluster]: identity, [LeaseAnnotations.anchor]: held.uid };
  return Object.entries(want).some(([k, v]) => held.annotations?.[k] !== v) ? want : {};
}

/**
 * Where a selector's target wrote, as far as the Leases tell. The record on
 * the Lease in hand is whole since it began: every run under that Lease kept
 * it, and a Lease that takes over copies the record of the one the Secrets
 * name (the union of both: a superset only costs a read). "lost" when no Lease
 * in reach records it though tokens of this target are live (the Lease gone
 * with its namespace, or written by an older version): the run cannot know
 * where those tokens are held, and says so.
 */
export function writtenRecord(args: {
  held: LeaseState | undefined;
  named: LeaseState | "unreadable" | undefined;
  set: string;
  secretName: string;
  prefix: string;
  /** The owner's live tokens. */
  live: readonly TokenView[];
}): Written | "lost" | undefined {
  const recordOf = (l: LeaseState | "unreadable" | undefined) =>
    l && l !== "unreadable" && kindOf(l) !== "copy" && kindOf(l) !== "unsettled" ? writtenIn(l, args.set) : undefined;
  const own = recordOf(args.held);
  const named = recordOf(args.named);
  const ours = args.live.some((t) => {
    const parsed = parseTokenName(args.prefix, t.name);
    return parsed !== undefined && parsed.secretName === args.secretName && parsed.set === args.set;
  });
  if (!own && !named) return ours ? "lost" : undefined;
  const sources = [own, named].filter((r): r is Written => r !== undefined);
  // Whole since the earlier beginning when the Lease in hand took the record over, else since its own.
  const since = own ? own.since : named!.since;
  return { since, namespaces: [...new Set(sources.flatMap((w) => w.namespaces))].sort() };
}
