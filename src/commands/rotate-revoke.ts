// Taking tokens back: the sweep of orphans and pending revokes, and the
// rollback of a new token when verify or apply failed. Each failure is
// reported, never thrown past the run: the Secrets record what is left.
import type { GpsError } from "../model/errors.js";
import type { Config } from "../config/inputs.js";
import { Annotations } from "../model/naming.js";
import type { MintedToken, ResolvedOwner, Ports, TokenView } from "../model/ports.js";

/**
 * Revokes the previous tokens the decision named. A revoke that fails is a
 * problem, not a failure: the Secrets record the token as pending and the
 * next run revokes it.
 */
export async function revokePrevious(
  ports: Pick<Ports, "gitlab" | "log">,
  owner: ResolvedOwner,
  ids: readonly number[],
): Promise<{ ids: number[]; problems: string[] }> {
  const revoked: number[] = [];
  const problems: string[] = [];
  for (const id of ids) {
    try {
      const outcome = await ports.gitlab.revokeDeployToken(owner, id);
      revoked.push(id);
      ports.log.info(
        outcome === "revoked" ? `Revoked previous deploy token ${id}` : `Previous deploy token ${id} was already gone`,
      );
    } catch (err) {
      problems.push(
        `Could not revoke previous deploy token ${id} (recorded; the next run revokes it): ${(err as Error).message}`,
      );
    }
  }
  return { ids: revoked, problems };
}

/**
 * Takes back what earlier runs left: tokens they recorded as pending, then
 * orphans (this target's live tokens nothing references: a run that died half way).
 */
export async function sweep(
  ports: Pick<Ports, "gitlab" | "log">,
  owner: ResolvedOwner,
  tokens: readonly TokenView[],
  pending: readonly number[],
  orphans: readonly number[],
): Promise<{ ids: number[]; problems: string[] }> {
  const ids: number[] = [];
  const problems: string[] = [];
  const byId = new Map(tokens.map((t) => [t.id, t]));
  for (const id of [...pending, ...orphans]) {
    try {
      await ports.gitlab.revokeDeployToken(owner, id);
      ids.push(id);
      ports.log.info(
        pending.includes(id)
          ? `Revoked deploy token ${id}, left pending by an earlier run`
          : `Swept orphaned deploy token ${id} (${byId.get(id)?.name ?? "?"}): no Secret references it`,
      );
    } catch (err) {
      problems.push(`Could not sweep orphaned deploy token ${id}: ${(err as Error).message}`);
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
