// Taking tokens back: the sweep of orphans and pending revokes, and the
// rollback of a new token when verify or apply failed. Each failure is
// reported, never thrown past the run: the Secrets record what is left.
import type { GpsError } from "../model/errors.js";
import type { Config } from "../config/inputs.js";
import { Annotations } from "../model/naming.js";
import type { TargetRef } from "./target.js";
import { sweepCandidates } from "../model/plan.js";
import type { MintedToken, ResolvedOwner, Ports, TokenView } from "../model/ports.js";

/** Revokes our live tokens for this target that nothing references (a run that died half way left them). */
export async function sweep(
  config: Config,
  ports: Ports,
  owner: ResolvedOwner,
  tokens: readonly TokenView[],
  target: TargetRef,
  referenced: ReadonlySet<number>,
  pending: readonly number[],
  /** Only orphans minted at or after this (ms): before it, where the target wrote was not on record. */
  mintedFrom = 0,
): Promise<{ ids: number[]; problems: string[] }> {
  const orphans = [
    ...tokens.filter((t) => pending.includes(t.id)),
    ...sweepCandidates({
      tokens,
      prefix: config.tokenNamePrefix,
      target,
      referenced,
      now: ports.clock.now(),
      graceMs: config.sweepGraceMs,
      mintedFrom,
    }),
  ];
  const ids: number[] = [];
  const problems: string[] = [];
  for (const t of orphans) {
    try {
      await ports.gitlab.revokeDeployToken(owner, t.id);
      ids.push(t.id);
      ports.log.info(
        pending.includes(t.id)
          ? `Revoked deploy token ${t.id}, left pending by an earlier run`
          : `Swept orphaned deploy token ${t.id} (${t.name}): no Secret references it`,
      );
    } catch (err) {
      problems.push(`Could not sweep orphaned deploy token ${t.id}: ${(err as Error).message}`);
    }
  }
  return { ids, problems };
}

export async function revokeNew(
  ports: Pick<Ports, "gitlab">,
  owner: ResolvedOwner,
  minted: MintedToken,
  state: string,
  /** What the user should know if this revoke fails too. */
  ifRevokeFails = "the next run sweeps it",
): Promise<string> {
  try {
    await ports.gitlab.revokeDeployToken(owner, minted.id);
    return `new deploy token ${minted.id} revoked; ${state}`;
  } catch (err) {
    return `revoking new deploy token ${minted.id} failed too (${(err as Error).message}); ${ifRevokeFails}; ${state}`;
  }
}

/**
 * After a failed apply: revoke the new token unless some Secret already holds
 * it (kubectl applies item by item, so a late failure can leave earlier
 * namespaces updated). A Secret must never point at a dead token.
 */

export async function rollBackApply(
  config: Config,
  ports: Ports,
  owner: ResolvedOwner,
  minted: MintedToken,
): Promise<string> {
  let holders: string[];
  try {
    const now = await ports.kube.readSecrets(config.namespaces, config.secretName);
    holders = now.filter((s) => s.annotations[Annotations.tokenId] === String(minted.id)).map((s) => s.namespace);
  } catch (err) {
    return `could not re-read the Secrets (${(err as GpsError).message}); deploy token ${minted.id} is kept alive in case a Secret holds it`;
  }
  if (holders.length > 0) {
    return `Secret(s) in ${holders.join(", ")} already hold new deploy token ${minted.id}, so it is kept; previous tokens are kept too. Re-run to finish the rotation`;
  }
  return revokeNew(ports, owner, minted, "the Secrets are as they were");
}
