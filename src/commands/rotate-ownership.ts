// Which tokens a rotation may revoke, and what it says about the rest
// (model/ownership.ts decides; this asks the cluster only when it matters).
import { OwnershipError } from "../model/errors.js";
import type { Config } from "../config/inputs.js";
import type { TargetRef } from "./target.js";
import { referencedIds, sweepCandidates } from "../model/plan.js";
import { assessOwnership, overlapMessage, sparedMessage, type Ownership } from "../model/ownership.js";
import type { Log, ManagedSecretRef, ResolvedOwner, Ports, TokenView } from "../model/ports.js";

/**
 * Which tokens this run may revoke (ownership.ts). The cluster-wide list of
 * managed Secrets costs one request, so it is asked only when some live token
 * could die; when RBAC refuses it the run says so once and goes on by the
 * token names alone.
 */
export async function assessForRun(
  config: Config,
  ports: Pick<Ports, "kube" | "log">,
  args: {
    owner: ResolvedOwner;
    tokens: readonly TokenView[];
    target: TargetRef;
    existing: Parameters<typeof assessOwnership>[0]["existing"];
    liveIds: ReadonlySet<number>;
    now: Date;
    /** A run with nothing due revokes only pending tokens and sweeps; one that rotates revokes the previous ones too. */
    due: boolean;
    /** Our Secrets in namespaces a selector's target wrote to and no longer selects (target-memory.ts). */
    departed?: readonly ManagedSecretRef[];
    /** Why some holder of this target's tokens cannot be known (target-memory.ts): then none dies by its name alone. */
    unproven?: string | undefined;
  },
): Promise<Ownership> {
  const input = {
    existing: args.existing,
    owner: args.owner,
    tokens: args.tokens,
    prefix: config.tokenNamePrefix,
    target: args.target,
    namespaces: config.namespaces,
  };
  const departed = args.departed ?? [];
  const plain = assessOwnership({ ...input, managed: departed.length ? departed : undefined });
  const alone = withUnproven(plain, args.unproven);
  // What could die if the cluster-wide list proved it: without the list, nothing unproven does.
  const r = plain.revocable;
  const sweepable = sweepCandidates({
    tokens: args.tokens,
    prefix: config.tokenNamePrefix,
    target: args.target,
    referenced: referencedIds(alone.all),
    now: args.now,
    graceMs: config.sweepGraceMs,
  });
  const dying = args.due ? [...r.current, ...r.kept, ...r.pending] : r.pending;
  const couldDie = dying.some((id) => args.liveIds.has(id)) || sweepable.length > 0;
  if (!couldDie) return alone;
  const managed = await ports.kube.listManagedSecrets();
  if (managed === "forbidden") {
    ports.log.info(
      "Note: RBAC does not allow listing Secrets cluster-wide, so this run cannot see Secrets outside its namespaces; " +
        "it revokes only tokens whose name proves they were minted for this target",
    );
    return alone;
  }
  // The cluster-wide list sees every holder: nothing is left unproven.
  return assessOwnership({ ...input, managed });
}

/** With a holder unknown, every token this target would revoke is spared instead, saying why. */
export function withUnproven(own: Ownership, why: string | undefined): Ownership {
  if (!why) return own;
  const r = own.revocable;
  const ids = [...new Set([...r.current, ...r.kept, ...r.pending])];
  const spared = ids.map((id) => ({
    id,
    name: "",
    why: "unrecorded" as const,
    reason: why,
    namespaces: [] as string[],
  }));
  return {
    ...own,
    revocable: { current: [], kept: [], pending: [] },
    spared: [...own.spared, ...spared].sort((a, b) => b.id - a.id),
  };
}

/** Says what the ownership check found: overlaps loudly, spared tokens plainly; refuses with --strict-ownership. */
export function reportOwnership(config: Config, log: Log, own: Ownership, target: TargetRef): void {
  if (own.overlaps.length && config.strictOwnership) throw new OwnershipError(config.secretName, own.overlaps, target);
  for (const o of own.overlaps) log.warn(overlapMessage(o, config.secretName, target));
  for (const s of own.spared) log.info(sparedMessage(s));
}
