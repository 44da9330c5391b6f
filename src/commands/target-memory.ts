// What a run recalls of its target from the Leases (model/target-record.ts
// decides): the cluster's identity, and for a selector where it wrote. Read
// under the lock by rotate, and the same way without it by plan, status and
// revoke, so they name tokens alike. Costs nothing in the common case: the
// Lease the Secrets name is read only when it is not the one in hand.
import type { Config } from "../config/inputs.js";
import { leaseName, readTargetLease, type HeldLease } from "./lock.js";
import { Annotations, ownerRef } from "../model/naming.js";
import { isManaged } from "../model/plan.js";
import {
  clusterIdentity,
  earlierIdentities,
  identityPatch,
  isUnsettled,
  namedLeaseNamespace,
  recordedCluster,
  strangeClusters,
  writtenPatch,
  writtenRecord,
  type Written,
} from "../model/target-record.js";
import { KubeError } from "../model/errors.js";
import { targetOf, type SpecInput, type TargetRef } from "./target.js";
import type {
  ExistingSecret,
  KubePort,
  KubeReader,
  LeaseState,
  LockPort,
  ManagedSecretRef,
  ResolvedOwner,
  TokenView,
} from "../model/ports.js";

export interface Recalled {
  /** The cluster's identity (a uid); undefined before the first rotation. */
  clusterUid: string | undefined;
  /** Identities this cluster gave the target before, which live tokens of it are named with (earlierIdentities). */
  earlier: string[];
  /** Selector targets: where the target wrote, "lost", or undefined (nothing written yet). Always undefined for a list. */
  written: Written | "lost" | undefined;
}

export async function recallTarget(
  lock: Pick<LockPort, "readLease" | "readLeases">,
  args: {
    config: SpecInput & Pick<Config, "tokenNamePrefix">;
    /** The target's namespaces: where an earlier Lease of it may be. */
    namespaces: readonly string[];
    /** The Lease in hand (held, or read without the lock) and its namespace; undefined when there is none yet. */
    held: LeaseState | undefined;
    heldNamespace: string | undefined;
    fresh: boolean;
    existing: readonly ExistingSecret[];
    live: readonly TokenView[];
  },
): Promise<Recalled> {
  const { config } = args;
  // The spec's hash names the target's Secrets and record whatever the cluster: the cluster is what this finds.
  const set = targetOf(config, args.namespaces, undefined).set;
  const readNamed = async (ns: string): Promise<LeaseState | "unreadable"> => {
    try {
      return (await lock.readLease(ns, leaseName(config.secretName))) ?? "unreadable";
    } catch {
      return "unreadable";
    }
  };
  // The Lease this target's own Secrets were written under.
  const ownNs = namedLeaseNamespace(args.existing, config.secretName, set, "ours");
  let named: LeaseState | "unreadable" | undefined;
  if (ownNs !== undefined && ownNs !== args.heldNamespace) named = await readNamed(ownNs);
  // A new Lease and no Secret of this target to say where the last one was (a run killed before it wrote
  // any, or Secrets another target overwrote): look in the target's other namespaces, in one read. Before
  // the Lease another target's Secrets name: that target's identity of this cluster may not be the one this
  // target named its tokens with, which would then go unrecognised, never revoked nor swept.
  // The target's Leases in its other namespaces, read once for both uses here.
  let othersRead: Promise<Map<string, LeaseState>> | undefined;
  const otherLeases = () => {
    const others = args.namespaces.filter((ns) => ns !== args.heldNamespace);
    othersRead ??= others.length
      ? lock.readLeases(others, leaseName(config.secretName)).catch(() => new Map<string, LeaseState>())
      : Promise.resolve(new Map<string, LeaseState>());
    return othersRead;
  };
  const unsettled = args.fresh || !args.held || isUnsettled(args.held);
  if (named === undefined && ownNs === undefined && unsettled) {
    const found = await otherLeases();
    named = [...found.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([, l]) => l)
      .find((l) => !isUnsettled(l));
  }
  // Failing both, the Lease another target's Secrets here name (a list and a selector sharing a Lease).
  if (named === undefined && ownNs === undefined) {
    const anyNs = namedLeaseNamespace(args.existing, config.secretName, set, "any");
    if (anyNs !== undefined && anyNs !== args.heldNamespace) named = await readNamed(anyNs);
  }
  const recorded = recordedCluster(args.existing, config.secretName, set);
  const clusterUid = clusterIdentity({ held: args.held, fresh: args.fresh, named, recorded });
  // Live tokens of this target named for another identity: another cluster's, or one this cluster gave the target
  // before its lock moved to a Lease another target made. Only then are the target's other Leases read (unless the
  // lookup above read them already); the one in hand is read.
  const strangers = strangeClusters({
    live: args.live,
    prefix: config.tokenNamePrefix,
    secretName: config.secretName,
    set,
    current: clusterUid,
  });
  const earlier = strangers.length
    ? earlierIdentities(strangers, [...(args.held ? [args.held] : []), ...(await otherLeases()).values()])
    : [];
  const written =
    config.namespaceSelector === undefined
      ? undefined
      : writtenRecord({
          held: args.held,
          named,
          set,
          secretName: config.secretName,
          prefix: config.tokenNamePrefix,
          live: args.live,
        });
  return { clusterUid, earlier, written };
}

/** What the namespaces a selector's target wrote to and no longer selects hold now. */
export interface Departed {
  /** Our Secrets there: their tokens are held outside the target. */
  holders: ManagedSecretRef[];
  /** Namespaces that exist but whose Secret could not be read: whatever they hold is unknown. */
  unknown: string[];
  /** The departed namespaces to keep in the record: holding a Secret of ours, or unknown. */
  keep: string[];
}

/**
 * Looks where the target wrote before and does not write now: which of those
 * namespaces exist (the list of namespaces the selector is granted, narrowed
 * by the name label every namespace carries) and what our Secret there holds.
 */
export async function readDeparted(
  kube: Pick<KubePort, "listNamespaces" | "readSecrets">,
  args: { written: Written; scope: readonly string[]; secretName: string; owner: ResolvedOwner },
): Promise<Departed> {
  const departed = args.written.namespaces.filter((ns) => !args.scope.includes(ns));
  if (departed.length === 0) return { holders: [], unknown: [], keep: [] };
  const present = await kube.listNamespaces(`kubernetes.io/metadata.name in (${departed.join(",")})`);
  if (present.length === 0) return { holders: [], unknown: [], keep: [] };
  let secrets: ExistingSecret[];
  try {
    secrets = await kube.readSecrets(present, args.secretName);
  } catch {
    return { holders: [], unknown: present, keep: present };
  }
  const ours = secrets.filter((s) => isManaged(s) && s.annotations[Annotations.owner] === ownerRef(args.owner));
  return {
    holders: ours.map((s) => ({
      namespace: s.namespace,
      name: args.secretName,
      owner: s.annotations[Annotations.owner] ?? "",
      tokenId: s.annotations[Annotations.tokenId] ?? "",
      kept: s.annotations[Annotations.keptTokenIds] ?? "",
    })),
    unknown: [],
    keep: ours.map((s) => s.namespace),
  };
}

/** Everything a run needs from the target's memory, and what it must write back before it writes any Secret. */
export interface TargetRecall {
  target: TargetRef;
  /** Our Secrets in namespaces the target wrote to and no longer selects. */
  departed: ManagedSecretRef[];
  /** Why the run cannot know every holder of this target's tokens (then it revokes and sweeps none by name); undefined when it can. */
  unproven: string | undefined;
  /** Only tokens minted at or after this (ms) are swept by name: before it, the record was not whole. */
  sweepFrom: number;
  /** Where the target writes, as the Lease must record it before any Secret is written; empty when it does. */
  patch: Record<string, string>;
  /**
   * The identity, as the Lease must keep it. A new (or unsettled) Lease gets it
   * before anything is minted, so a run killed later leaves it named; a legacy
   * one, whose uid is the identity anyway, with its next write (the release).
   */
  identity: Record<string, string>;
  settleNow: boolean;
}

/** The target as the Leases remember it, and what the namespaces it left still hold (selectors). */
export async function recallForRun(
  config: Config,
  ports: { kube: Pick<KubePort, "listNamespaces" | "readSecrets">; lock: Pick<LockPort, "readLease" | "readLeases"> },
  args: {
    owner: ResolvedOwner;
    hand: { lease: LeaseState | undefined; namespace: string | undefined; fresh: boolean };
    existing: readonly ExistingSecret[];
    live: readonly TokenView[];
    now: Date;
  },
): Promise<TargetRecall> {
  const { hand } = args;
  const spec = targetOf(config, config.namespaces, undefined);
  const memory = await recallTarget(ports.lock, {
    config,
    namespaces: config.namespaces,
    held: hand.lease,
    heldNamespace: hand.namespace,
    fresh: hand.fresh,
    existing: args.existing,
    live: args.live,
  });
  const target = targetOf(config, config.namespaces, memory.clusterUid, memory.earlier);
  const written = memory.written;
  const departed: Departed =
    written && written !== "lost"
      ? await readDeparted(ports.kube, {
          written,
          scope: config.namespaces,
          secretName: config.secretName,
          owner: args.owner,
        })
      : { holders: [], unknown: [], keep: [] };
  const unproven =
    written === "lost"
      ? "the Lease that recorded where this selector's target wrote is gone (or was written by an older version)"
      : departed.unknown.length
        ? `namespace(s) ${departed.unknown.join(", ")} left the selector and their Secret cannot be read`
        : undefined;
  const since = written && written !== "lost" ? written.since : args.now.toISOString();
  const identity = hand.lease && memory.clusterUid ? identityPatch(hand.lease, memory.clusterUid) : {};
  const record =
    config.namespaceSelector === undefined
      ? {}
      : writtenPatch(spec.set, { since, namespaces: [...config.namespaces, ...departed.keep] });
  const changed = (patch: Record<string, string>) =>
    Object.fromEntries(Object.entries(patch).filter(([k, v]) => hand.lease?.annotations?.[k] !== v));
  const sweepFrom = config.namespaceSelector === undefined ? 0 : unproven ? Infinity : Date.parse(since);
  const settleNow = hand.fresh || (hand.lease !== undefined && isUnsettled(hand.lease));
  return {
    target,
    departed: departed.holders,
    unproven,
    sweepFrom,
    patch: changed(record),
    identity: changed(identity),
    settleNow,
  };
}

/**
 * Writes what the Lease must remember before the run writes any Secret, so a
 * namespace is on record before it holds a token. A selector's target that
 * cannot record stops there: writing unrecorded would lose track of a token.
 */
export async function remember(
  held: Pick<HeldLease, "annotate" | "stage" | "lease">,
  recall: TargetRecall,
  selector: boolean,
): Promise<void> {
  const now = recall.settleNow ? { ...recall.identity, ...recall.patch } : recall.patch;
  if (!recall.settleNow) held.stage(recall.identity);
  if (Object.keys(now).length === 0) return;
  if ((await held.annotate(now)) || !selector) return;
  const namespace = held.lease.namespace;
  throw new KubeError(
    "recording where the target writes",
    `the Lease in ${namespace} changed while this run held it, so where this selector's target writes could not be recorded. Nothing was written; re-run`,
    [namespace],
  );
}

/** The cluster's identities as rotate would recall them, without the lock (status): reads only. */
export async function recallClusterUid(
  ports: { lock: Pick<LockPort, "readLease" | "readLeases">; kube: Pick<KubeReader, "namespaceStates"> },
  config: Pick<
    Config,
    "secretName" | "namespaceSelector" | "excludeNamespaces" | "listedNamespaces" | "tokenNamePrefix"
  >,
  args: { namespaces: readonly string[]; existing: readonly ExistingSecret[]; live: readonly TokenView[] },
): Promise<Pick<Recalled, "clusterUid" | "earlier">> {
  const hand = await readTargetLease(
    ports.lock,
    { namespaces: args.namespaces, secretName: config.secretName },
    ports.kube,
  );
  const memory = await recallTarget(ports.lock, {
    config,
    namespaces: args.namespaces,
    held: hand.lease,
    heldNamespace: hand.namespace,
    fresh: false,
    existing: args.existing,
    live: args.live,
  });
  return { clusterUid: memory.clusterUid, earlier: memory.earlier };
}
