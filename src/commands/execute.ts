// Execute: carry out a final decision (model/decide.ts) through the writers,
// in the order that keeps the cluster pulling at every point: record the
// target on its Lease, mint and prove the new token (or fill, or write static
// credentials), apply, then revoke, sweep, and link the ServiceAccounts. A
// failure before the apply takes the new token back; one after it is a
// problem in the report, recorded on the Secrets for the next run.
import { ensureServiceAccounts } from "./link-serviceaccounts.js";
import type { Config } from "../config/inputs.js";
import { decisionLine, type RotationDecision } from "../model/decide.js";
import { pullSecretPayload } from "../model/dockerconfig.js";
import { RotationError } from "../model/errors.js";
import { mintedRecord, recordAnnotations, secretList } from "../model/manifests.js";
import { Annotations, tokenName } from "../model/naming.js";
import { scopesText } from "../model/scopes.js";
import type { Ports, ResolvedOwner } from "../model/ports.js";
import { fillSecrets } from "./fill.js";
import { skippedProblem } from "./lifecycle.js";
import type { HeldLease } from "./lock.js";
import { mintChecked } from "./mint.js";
import type { Observed } from "./observed.js";
import { revokePrevious, rollBackApply, sweep } from "./rotate-revoke.js";
import { decidedReport, type RotationReport } from "./rotation-report.js";
import { writeStatic } from "./static.js";
import { remember } from "./target-memory.js";

export async function execute(seen: Observed, ports: Ports, lease: HeldLease): Promise<RotationReport> {
  const { decision, work: config } = seen;
  const owner = seen.observation.owner;
  if (owner === null) return writeStatic(seen, ports);
  const { log } = ports;
  // Before any Secret is written: the Lease records the target (its cluster, where a selector wrote).
  await remember(lease, seen.recall!, config.namespaceSelector !== undefined);

  const report = decidedReport(seen);
  const problems = [...skippedProblem(seen.observation.skipped)];
  let written: Pick<RotationReport, "token" | "verified" | "keptTokenIds" | "revokedTokenIds" | "changed">;
  log.info(decisionLine(decision, false));
  if (decision.action === "rotate") {
    const minted = await mintAndApply(seen, ports, owner, lease.lease.namespace);
    written = { ...minted, changed: true, keptTokenIds: decision.keep, revokedTokenIds: [] };
  } else {
    const fill = decision.fill;
    const current = seen.observation.current;
    const verified =
      fill && typeof current === "object"
        ? await fillSecrets(config, ports, {
            owner,
            hosts: seen.observation.hosts,
            fill,
            current,
            leaseNamespace: lease.lease.namespace,
          })
        : null;
    written = { token: null, verified, changed: fill !== null, keptTokenIds: decision.keep, revokedTokenIds: [] };
  }
  const { revoke } = decision;

  // After a mint the Secrets went out listing the tokens to revoke as pending, so a revoke that
  // fails here (or a run killed here) leaves them recorded: the next run revokes those still live.
  const rotated = decision.action === "rotate";
  const revoked = rotated ? await revokePrevious(ports, owner, revoke) : { ids: [], problems: [] };
  problems.push(...revoked.problems);
  if (rotated && decision.keep.length)
    log.info(
      `Kept previous deploy token(s) ${decision.keep.join(", ")} alive (--keep-previous ${config.keepPrevious})`,
    );
  const swept = await sweep(ports, owner, seen.observation.tokens, rotated ? [] : revoke, decision.sweep);
  problems.push(...swept.problems);
  const sas = await ensureServiceAccounts(config, ports, seen.observation.accounts);
  problems.push(...sas.problems);
  for (const p of problems) log.warn(p);
  return {
    ...report,
    ...written,
    ...(decision.fill ? { filled: { namespaces: decision.fill.namespaces, tokenId: decision.fill.tokenId } } : {}),
    changed: written.changed || sas.updated.length > 0,
    revokedTokenIds: revoked.ids,
    sweptTokenIds: swept.ids,
    serviceAccountsUpdated: sas.updated,
    problems,
  };
}

/** Mint a token named for the target, prove it pulls, apply it everywhere; a failure takes it back. */
async function mintAndApply(
  seen: Observed,
  ports: Ports,
  owner: ResolvedOwner,
  leaseNamespace: string,
): Promise<Pick<RotationReport, "token" | "verified">> {
  const { decision, work: config } = seen;
  const { hosts } = seen.observation;
  const target = seen.recall!.target;
  const now = ports.clock.now();
  // A real run holds the Lease, so the cluster is known; without it no name could be proven ours later.
  if (target.id === undefined) throw new Error("internal: minting without the target's Lease");
  const { minted, creds, verified } = await mintChecked(config, ports, {
    owner,
    hosts,
    name: tokenName(config.tokenNamePrefix, target.id, now, ports.nonce()),
    untouched: "the cluster was not touched",
  });
  const list = secretList({
    namespaces: decision.namespaces,
    secretName: config.secretName,
    secretType: config.secretType,
    payload: pullSecretPayload(config.secretType, creds),
    annotations: {
      ...recordAnnotations(mintedRecord(minted, owner, hosts, now)),
      [Annotations.target]: target.id,
      [Annotations.targetSpec]: target.describe,
      [Annotations.lease]: leaseNamespace,
      [Annotations.keptTokenIds]: decision.keep.join(","),
      [Annotations.revokePending]: decision.revoke.join(","),
    },
  });
  try {
    await ports.kube.applySecrets(list, { force: config.adopt });
  } catch (err) {
    throw new RotationError(err as Error, await rollBackApply(config, ports, owner, minted));
  }
  ports.log.info(`Applied Secret "${config.secretName}" to ${decision.namespaces.join(", ")}`);
  return { token: { id: minted.id, username: minted.username, expiresAt: minted.expiresAt }, verified };
}

/** What a run that does not execute (a dry run) reports and says it would do. */
export function wouldDo(seen: Observed, ports: Pick<Ports, "log">, config: Config): RotationReport {
  const { decision } = seen;
  const { log } = ports;
  const problems = skippedProblem(seen.observation.skipped, true);
  const report = { ...decidedReport(seen), problems };
  describe(decision, log, config, seen.observation.owner);
  for (const p of problems) log.warn(p);
  return decision.fill
    ? { ...report, filled: { namespaces: decision.fill.namespaces, tokenId: decision.fill.tokenId } }
    : report;
}

function describe(
  decision: RotationDecision,
  log: Pick<Ports, "log">["log"],
  config: Config,
  owner: ResolvedOwner | null,
): void {
  const sas = decision.serviceAccounts;
  log.info(decisionLine(decision, owner === null));
  if (decision.action === "none") return;
  if (decision.fill) {
    log.info(
      `Dry run: would fill ${decision.fill.namespaces.join(", ")} with deploy token ${decision.fill.tokenId}; nothing would be minted or revoked`,
    );
    return;
  }
  if (owner === null) {
    const username = config.credentials.kind === "static" ? config.credentials.username : "?";
    log.info(`Dry run: would write the static credentials of ${username} to ${decision.namespaces.length} Secret(s)`);
  } else {
    log.info(
      `Dry run: would mint a deploy token with scopes ${scopesText(config.scopes)}, write it to ${decision.namespaces.length} Secret(s), keep ${decision.keep.join(", ") || "none"} and revoke ${decision.revoke.join(", ") || "none"}`,
    );
  }
  if (sas.length) log.info(`Dry run: would add "${config.secretName}" to imagePullSecrets of ${sas.join(", ")}`);
}
