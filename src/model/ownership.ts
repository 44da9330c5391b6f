// Pure: which tokens a target may revoke. A token dies only when its name
// proves it was minted for this target (this Secret name and namespace set) and
// this cluster's Secrets of the target hold it, or its name also proves this
// cluster (the sweep), and no managed Secret outside the target still holds it. Everything else is left alive and reported:
// another target's token found in one of our Secrets (two pipelines write the
// same namespace), another cluster's, or one whose name is not ours at all.
// A namespace list this target grew out of (supersededList) counts as this
// target: its Secrets are all among ours, so its token is our previous one.
import { Annotations, isClusterKey, parseTargetId, parseTokenName, targetId, type TargetRef } from "./naming.js";
import { heldTokens, isManaged, namedForTarget, type Held } from "./plan.js";
import type { ExistingSecret, ManagedSecretRef, ResolvedOwner, TokenView } from "./ports.js";
import { ownerRef } from "./naming.js";

export type Claim =
  /** Named for this target in this cluster. */
  | { kind: "ours" }
  /** Named for this Secret and namespace set under the old naming (a context name, not a cluster id). */
  | { kind: "legacy"; target: string }
  /** Named for this Secret and namespace set in another cluster (or under a Lease since deleted). */
  | { kind: "other-cluster"; target: string }
  /**
   * Named for a namespace list of this cluster and Secret name that this
   * target's namespaces now include (the list grew): its every Secret is one
   * this run writes, so its token is this target's previous one.
   */
  | { kind: "superseded"; target: string }
  /** Named for another Secret name or namespace set. */
  | { kind: "other-target"; target: string }
  /** Not one of our names: made by hand, by render, or under another --token-name. */
  | { kind: "unproven" };

export function claimOf(
  prefix: string,
  target: TargetRef,
  name: string,
  superseded: ReadonlySet<string> = new Set(),
): Claim {
  const t = parseTokenName(prefix, name);
  if (!t) return { kind: "unproven" };
  if (namedForTarget(prefix, target, name)) return { kind: "ours" };
  if (superseded.has(t.id)) return { kind: "superseded", target: t.id };
  if (t.secretName !== target.secretName || t.set !== target.set) return { kind: "other-target", target: t.id };
  return isClusterKey(t.cluster) ? { kind: "other-cluster", target: t.id } : { kind: "legacy", target: t.id };
}

/**
 * Whether a Secret's recorded target is a namespace list this target has
 * grown out of: the same cluster and Secret name, a list (`namespaces a,b` as
 * target.ts describes it) whose hash is the one in the recorded id, so the
 * annotation and the token name agree, and every namespace of it is one of
 * this target's. A list that shrank or moved is not: a namespace it left may
 * still pull with its token.
 */
export function supersededList(
  target: TargetRef,
  recordedTarget: string | undefined,
  recordedSpec: string | undefined,
  namespaces: readonly string[],
): boolean {
  const prefix = "namespaces ";
  if (
    target.cluster === undefined ||
    !recordedTarget ||
    recordedTarget === target.id ||
    !recordedSpec?.startsWith(prefix)
  )
    return false;
  const list = recordedSpec
    .slice(prefix.length)
    .split(",")
    .filter((ns) => ns !== "");
  return (
    list.length > 0 &&
    list.every((ns) => namespaces.includes(ns)) &&
    recordedTarget === targetId(target.cluster, target.secretName, list)
  );
}

/** A token our Secrets hold or record that this target will not revoke, and why. */
export interface Spared {
  id: number;
  name: string;
  why: "other-target" | "other-cluster" | "unproven" | "held-elsewhere" | "unrecorded";
  /** unrecorded: why this run cannot know every holder. */
  reason?: string;
  /** The target its name carries (other-target, other-cluster). */
  target?: string;
  /** Our namespaces whose Secret holds or records it. */
  namespaces: string[];
  /** held-elsewhere: the managed Secrets outside this target that hold it ("namespace/name"). */
  elsewhere?: string[];
}

/** A namespace of ours whose Secret another target wrote last. */
export interface Overlap {
  namespace: string;
  tokenId: number;
  /** The other target's id (from its token's name). */
  otherTarget: string;
  /** What the other target recorded about itself on the Secret ("namespaces a,b"), when it did. */
  otherSpec: string | undefined;
}

export interface Ownership {
  /** What our Secrets hold and record, every token: nothing here is swept. */
  all: Held;
  /** The subset this target may revoke. */
  revocable: Held;
  spared: Spared[];
  overlaps: Overlap[];
  /** Token ids that managed Secrets outside this target hold or keep: never revoked, never swept. */
  heldElsewhere: Set<number>;
  /** For each of those, the Secrets holding it ("namespace/name"), for people. */
  elsewhereHolders: ReadonlyMap<number, readonly string[]>;
}

const idList = (text: string | undefined): number[] =>
  (text ?? "")
    .split(",")
    .map((p) => Number(p.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);

export function assessOwnership(args: {
  /** The Secrets of this target's namespaces (as read). */
  existing: readonly ExistingSecret[];
  owner: ResolvedOwner;
  tokens: readonly TokenView[];
  prefix: string;
  target: TargetRef;
  namespaces: readonly string[];
  /** Every managed Secret in the cluster (one labelled list), or undefined when RBAC refused it. */
  managed: readonly ManagedSecretRef[] | undefined;
}): Ownership {
  const { owner, target } = args;
  const all = heldTokens(args.existing, owner);
  const byId = new Map(args.tokens.map((t) => [t.id, t]));

  // Held (current or kept) by managed Secrets of the same owner outside this target.
  const elsewhere = new Map<number, string[]>();
  for (const s of args.managed ?? []) {
    if (s.owner !== ownerRef(owner)) continue;
    if (s.name === target.secretName && args.namespaces.includes(s.namespace)) continue;
    for (const id of [...idList(s.tokenId), ...idList(s.kept)])
      elsewhere.set(id, [...(elsewhere.get(id) ?? []), `${s.namespace}/${s.name}`]);
  }

  const holders = new Map<number, string[]>();
  const ours = args.existing.filter((s) => isManaged(s) && s.annotations[Annotations.owner] === ownerRef(owner));
  for (const s of ours) {
    const ids = new Set([
      ...idList(s.annotations[Annotations.tokenId]),
      ...idList(s.annotations[Annotations.keptTokenIds]),
      ...idList(s.annotations[Annotations.revokePending]),
    ]);
    for (const id of ids) holders.set(id, [...(holders.get(id) ?? []), s.namespace]);
  }

  // The namespace lists this target grew out of, as our Secrets record them.
  const superseded = new Set(
    ours
      .filter((s) =>
        supersededList(
          target,
          s.annotations[Annotations.target],
          s.annotations[Annotations.targetSpec],
          args.namespaces,
        ),
      )
      .map((s) => s.annotations[Annotations.target]!),
  );

  const spared: Spared[] = [];
  const mayRevoke = (id: number): boolean => {
    const t = byId.get(id);
    // GitLab no longer lists it: nothing to revoke, and nothing to prove.
    if (!t) return true;
    const claim = claimOf(args.prefix, target, t.name, superseded);
    const namespaces = holders.get(id) ?? [];
    // A token this cluster's own Secrets of this target hold was minted by a run against this
    // cluster, whatever Lease uid its name carries: the Lease moves on when the namespace
    // holding it is deleted (lock.ts), and legacy names carry a context. Only unreferenced
    // tokens (the sweep) need the name alone to prove the cluster.
    if (
      claim.kind === "ours" ||
      claim.kind === "superseded" ||
      claim.kind === "legacy" ||
      claim.kind === "other-cluster"
    ) {
      const where = elsewhere.get(id);
      if (!where) return true;
      spared.push({ id, name: t.name, why: "held-elsewhere", namespaces, elsewhere: where });
      return false;
    }
    spared.push({
      id,
      name: t.name,
      why: claim.kind,
      ...(claim.kind === "unproven" ? {} : { target: claim.target }),
      namespaces,
    });
    return false;
  };
  const revocable: Held = {
    current: all.current.filter(mayRevoke),
    kept: all.kept.filter(mayRevoke),
    pending: all.pending.filter(mayRevoke),
  };

  const overlaps: Overlap[] = [];
  for (const s of ours) {
    const id = idList(s.annotations[Annotations.tokenId])[0];
    const t = id === undefined ? undefined : byId.get(id);
    if (!t) continue;
    const claim = claimOf(args.prefix, target, t.name, superseded);
    if (claim.kind !== "other-target") continue;
    overlaps.push({
      namespace: s.namespace,
      tokenId: t.id,
      otherTarget: claim.target,
      otherSpec: s.annotations[Annotations.targetSpec] || undefined,
    });
  }

  return {
    all,
    revocable,
    spared: spared.sort((a, b) => b.id - a.id),
    overlaps,
    heldElsewhere: new Set(elsewhere.keys()),
    elsewhereHolders: elsewhere,
  };
}

/**
 * The target that wrote every one of our Secrets in these namespaces, when it
 * is not the one these options name but covers them: `status --namespace a,b`
 * about a target configured as `a,b,c` (or as a selector) looks at part of
 * that target, not at two targets. undefined when the Secrets record several
 * targets, another cluster or Secret name, or a list that lacks one of these
 * namespaces (or is abbreviated, so it cannot be told).
 */
export function coveringTarget(
  existing: readonly ExistingSecret[],
  owner: ResolvedOwner,
  target: TargetRef,
  namespaces: readonly string[],
): (TargetRef & { partial: boolean }) | undefined {
  const ours = existing.filter((s) => isManaged(s) && s.annotations[Annotations.owner] === ownerRef(owner));
  const ids = new Set(ours.map((s) => s.annotations[Annotations.target] ?? ""));
  if (ours.length === 0 || ids.size !== 1) return undefined;
  const id = [...ids][0]!;
  if (id === "" || id === target.id) return undefined;
  const recorded = parseTargetId(id);
  if (!recorded || recorded.secretName !== target.secretName || recorded.cluster !== target.cluster) return undefined;
  const { cluster, secretName, set } = recorded;
  const spec = ours[0]!.annotations[Annotations.targetSpec] ?? "";
  if (spec.startsWith("namespaces ")) {
    if (spec.includes("…")) return undefined;
    const list = spec.slice("namespaces ".length).split(",");
    if (!namespaces.every((ns) => list.includes(ns))) return undefined;
    return {
      cluster,
      earlier: target.earlier,
      secretName,
      set,
      id,
      describe: spec,
      partial: list.length > namespaces.length,
    };
  }
  return spec.startsWith("selector ")
    ? { cluster, earlier: target.earlier, secretName, set, id, describe: spec, partial: true }
    : undefined;
}

/** The loud line for a namespace two targets write, with the way out. */
export function overlapMessage(o: Overlap, secretName: string, target: TargetRef): string {
  return (
    `namespace ${o.namespace} is written by two targets: its Secret "${secretName}" held deploy token ${o.tokenId} of ` +
    `${o.otherTarget}${o.otherSpec ? ` (${o.otherSpec})` : ""}, and this run's target is ${target.id ?? `${target.secretName}/${target.set}`} ` +
    `(${target.describe}). Each run overwrites the other's Secret there. Give each pipeline its own --secret-name, ` +
    `or manage each namespace from one pipeline only (--strict-ownership refuses such a run)`
  );
}

/** Why a token was left alive, for the run's log and status. */
export function sparedMessage(s: Spared): string {
  const where = s.namespaces.length ? ` (in ${s.namespaces.join(", ")})` : "";
  switch (s.why) {
    case "other-target":
      return `Left deploy token ${s.id}${where} alive: it was minted for another target, ${s.target}; its own pipeline revokes it`;
    case "other-cluster":
      return `Left deploy token ${s.id}${where} alive: it was minted for another cluster, ${s.target} (or under a Lease since deleted); it expires by itself`;
    case "held-elsewhere":
      return `Left deploy token ${s.id}${where} alive: managed Secret(s) outside this target still hold it: ${(s.elsewhere ?? []).join(", ")}`;
    case "unproven":
      return `Left deploy token ${s.id}${where} alive: its name (${s.name}) does not prove it was minted for this target`;
    case "unrecorded":
      return `Left deploy token ${s.id} alive: ${s.reason ?? "where this target wrote is not on record"}, so a namespace outside the selector may still pull with it; it expires by itself`;
  }
}
