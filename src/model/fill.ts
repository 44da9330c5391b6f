// Pure: rotate, fill or leave alone. A namespace that joins a scheduled
// target (a selector's new match, a namespace recreated) lacks the Secret;
// re-minting for the whole fleet only for it would revoke a token every other
// namespace is pulling with, weeks early. When nothing else is due and the
// current token provably belongs to this target in this cluster, the run copies
// it into the namespaces without the Secret instead, as in-cluster copiers do.
import { Annotations } from "./naming.js";
import type { TargetRef } from "./naming.js";
import { namedForTarget, rotationDue, type DueInput } from "./plan.js";
import type { ExistingSecret } from "./ports.js";

export type Decision =
  /** Mint a new token and write every namespace. */
  | { action: "rotate"; reason: string }
  /** Nothing to write: every Secret holds the current token. */
  | { action: "none"; reason: string }
  /** Copy the current token, which `source`'s Secret holds, into `namespaces` (they hold no Secret of that name). */
  | { action: "fill"; reason: string; namespaces: string[]; tokenId: number; source: string };

export function rotationDecision(
  args: DueInput & {
    /** The prefix of our token names (with the target, they prove which target minted a token). */
    prefix: string;
    target: TargetRef;
  },
): Decision {
  const present = new Set(args.existing.map((s) => s.namespace));
  const lacking = args.namespaces.filter((ns) => !present.has(ns));
  const holding = args.namespaces.filter((ns) => present.has(ns));
  const whole = rotationDue(args);
  // Without anything to fill, or with --force / no --rotate-before, it is rotationDue's word.
  if (lacking.length === 0 || args.force || args.rotateBeforeMs === undefined)
    return whole.due ? { action: "rotate", reason: whole.reason } : { action: "none", reason: whole.reason };
  if (holding.length === 0)
    return { action: "rotate", reason: `no namespace holds a Secret yet (${lacking.join(", ")})` };
  // An unmanaged Secret (--adopt), another owner's, other hosts, a dead token, Secrets that disagree, expiry near: rotate.
  const rest = rotationDue({ ...args, namespaces: holding });
  if (rest.due) return { action: "rotate", reason: rest.reason };
  const source = holding[0]!;
  const sourceSecret = args.existing.find((s) => s.namespace === source)!;
  const tokenId = Number(sourceSecret.annotations[Annotations.tokenId]);
  const token = args.tokens.find((t) => t.id === tokenId);
  if (!token || !namedForTarget(args.prefix, args.target, token.name)) {
    // A namespace list that grew is the usual case: the list is the target, so it changed (docs/fleets.md).
    const was = sourceSecret.annotations[Annotations.targetSpec];
    return {
      action: "rotate",
      reason:
        `no managed Secret in ${lacking.join(", ")}, and deploy token ${tokenId} cannot be copied there: ${was ? `it was minted for ${was}, and ` : ""}` +
        `its name does not prove it was minted for this target in this cluster (${args.target.describe})`,
    };
  }
  return { action: "fill", reason: rest.reason, namespaces: lacking, tokenId, source };
}

/**
 * The record a filled Secret carries: the source's own annotations of ours
 * (token id, owner, registry, expiry, target, kept and pending ids...), so
 * every later run, status and revoke sees it as one more holder of the token.
 */
export function fillAnnotations(source: ExistingSecret): Record<string, string> {
  const ours = new Set<string>(Object.values(Annotations));
  return Object.fromEntries(Object.entries(source.annotations).filter(([k]) => ours.has(k)));
}
