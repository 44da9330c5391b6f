// The orchestration: lock -> read -> decide -> check -> mint -> verify ->
// apply -> revoke previous -> sweep, with rollback. When nothing is due, the
// namespaces without the Secret are filled with the current token (fill.ts). It talks to the world only
// through ports and returns a report; the faces decide how to show it.
// Static credentials (--username) take the same lock, read, check, apply and
// ServiceAccount steps without the GitLab ones (static.ts).
// The run's scope (rotate-scope.ts), the ownership check (rotate-ownership.ts)
// and revoking (rotate-revoke.ts) are their own modules, re-exported here.
import { checkRotateAccess } from "./apitoken.js";
import { checkApply, ensureServiceAccounts, readChecked, wouldAddTo } from "./apply.js";
import { pullSecretPayload, registryHosts } from "../model/dockerconfig.js";
import { RotationError } from "../model/errors.js";
import type { Config } from "../config/inputs.js";
import { acquireTargetLock, readTargetLease } from "./lock.js";
import { guardWrites } from "./lease-guard.js";
import { mintedRecord, recordAnnotations, secretList } from "../model/manifests.js";
import { Annotations, tokenName } from "../model/naming.js";
import { isLiveToken, referencedIds, revocationPlan } from "../model/plan.js";
import { rotationDecision } from "../model/fill.js";
import { fillSecrets, readCurrent } from "./fill.js";
import type { LeaseState, ResolvedOwner, Ports } from "../model/ports.js";
import { recallForRun, remember } from "./target-memory.js";
import { reportBase, type RotationReport } from "./rotation-report.js";
import { applyStaticLocked, staticSummary } from "./static.js";
import { skippedProblem } from "./lifecycle.js";
import { registryHost, resolveNamespaces } from "./rotate-scope.js";
import { assessForRun, reportOwnership } from "./rotate-ownership.js";
import { rollBackApply, sweep } from "./rotate-revoke.js";
import { mintChecked } from "./mint.js";

export { registryHost, resolveNamespaces, verifyTarget } from "./rotate-scope.js";
export { assessForRun, reportOwnership } from "./rotate-ownership.js";

/** The target's Lease as a run has it: held (rotate), or only read (a dry run). */
export interface LeaseInHand {
  lease: LeaseState | undefined;
  namespace: string | undefined;
  /** Created by this run. */
  fresh: boolean;
  /** Writes our annotations onto it; absent in a dry run. */
  annotate?: (patch: Record<string, string>) => Promise<boolean>;
  /** Has it carry them with its next write (the release at the latest); absent in a dry run. */
  stage?: (patch: Record<string, string>) => void;
}

export async function rotate(input: Config, ports: Ports): Promise<RotationReport> {
  let locked: (config: Config, hand: LeaseInHand, ports: Ports) => Promise<RotationReport>;
  const creds = input.credentials;
  if (creds.kind === "static") {
    // No GitLab call at all: the registry was given, the credentials too.
    const hosts = registryHosts(input.registry!, input.registryAliases);
    ports.log.info(staticSummary(creds.username, hosts));
    locked = (config, _, p) => applyStaticLocked(config, p, hosts);
  } else {
    const owner = await ports.gitlab.resolveOwner(creds.owner);
    const hosts = registryHosts(registryHost(input, owner), input.registryAliases);
    ports.log.info(`Owner: ${owner.kind} ${owner.path} (id ${owner.id}); registry ${hosts.join(", ")}`);
    await checkRotateAccess(ports.gitlab, owner, ports.clock.now(), ports.log);
    locked = (config, hand, p) => rotateLocked(config, p, owner, hosts, hand);
  }
  const config = { ...input, namespaces: await resolveNamespaces(input, ports.kube) };

  // A dry run changes nothing, not even a Lease: it only reads the Lease's uid (the cluster's identity).
  // Before the lock: the Lease lives in the first namespace, which may be one to create. A dry run only asks the server.
  const created = config.createNamespace
    ? config.dryRun
      ? await ports.kube.dryRunNamespaces(config.namespaces).then(() => [])
      : await ports.kube.applyNamespaces(config.namespaces)
    : [];
  if (config.dryRun) {
    const read =
      creds.kind === "static"
        ? { lease: undefined, namespace: undefined }
        : await readTargetLease(ports.lock, config, ports.kube);
    return locked(config, { ...read, fresh: false }, ports);
  }
  try {
    return await lockedRun(config, ports, locked);
  } catch (err) {
    // Namespaces are created first (the Lease and the Secrets' dry run need them), so a later failure
    // (no grant to write Secrets there, say) would leave them behind unnoticed: say which, and how to remove them.
    if (created.length) {
      ports.log.warn(
        `--create-namespace created namespace(s) ${created.join(", ")} before the run failed; they were left in place, empty of our Secret. ` +
          `Delete them if they are not wanted (kubectl delete namespace ${created.join(" ")}), or fix the cause and run again.`,
      );
    }
    throw err;
  }
}

async function lockedRun(
  config: Config,
  ports: Ports,
  locked: (config: Config, hand: LeaseInHand, ports: Ports) => Promise<RotationReport>,
): Promise<RotationReport> {
  const held = await acquireTargetLock(ports, config);
  // Every write under the lock first checks the Lease is still ours (renewed in the background).
  const guard = guardWrites(ports, held);
  try {
    const hand: LeaseInHand = {
      lease: held.current(),
      namespace: held.lease.namespace,
      fresh: held.fresh,
      annotate: (patch) => held.annotate(patch),
      stage: (patch) => held.stage(patch),
    };
    return guard.settle(await locked(config, hand, guard.ports));
  } finally {
    try {
      await held.release();
    } catch (err) {
      ports.log.warn(`Could not release the rotation lock (${(err as Error).message}); it expires by itself`);
    }
  }
}

async function rotateLocked(
  listed: Config,
  ports: Ports,
  owner: ResolvedOwner,
  hosts: readonly string[],
  hand: LeaseInHand,
): Promise<RotationReport> {
  const { gitlab, kube, log } = ports;

  // From here on, config holds only the namespaces that can take the Secret.
  const { config, skipped, checked, existing, accounts, present } = await readChecked(listed, ports, hosts);
  const skipProblems = skippedProblem(skipped, config.dryRun);

  const now = ports.clock.now();
  const tokens = await gitlab.listDeployTokens(owner);
  const liveIds = new Set(tokens.filter((t) => isLiveToken(t, now)).map((t) => t.id));
  // The configured target, never the namespaces that happen to exist: tokens
  // stay attributed (and swept) the same when a namespace is deleted. Its
  // cluster is what the Leases remember, wherever the lock is now.
  const recall = await recallForRun(listed, ports, {
    owner,
    hand,
    existing,
    live: tokens.filter((t) => liveIds.has(t.id)),
    now,
  });
  const { target } = recall;
  let decision = rotationDecision({
    namespaces: config.namespaces,
    existing,
    owner,
    hosts,
    liveIds,
    now,
    rotateBeforeMs: config.rotateBeforeMs,
    force: config.force,
    tokens,
    prefix: config.tokenNamePrefix,
    target,
  });
  const current = decision.action === "fill" ? await readCurrent(config, ports, hosts, decision) : undefined;
  if (typeof current === "string")
    decision = { action: "rotate", reason: `${current}, so the namespaces without it cannot be filled` };
  const due = { due: decision.action === "rotate", reason: decision.reason };
  // A skipped namespace's Secret is still the target's own, not a holder elsewhere.
  // The ownership LIST and the server dry run are independent reads, each
  // seconds of kubectl on a large fleet: they run side by side.
  const [own] = await settledInOrder(
    assessForRun({ ...config, namespaces: listed.namespaces }, ports, {
      owner,
      tokens,
      target,
      existing,
      liveIds,
      now,
      due: due.due,
      departed: recall.departed,
      unproven: recall.unproven,
    }),
    due.due && !checked ? checkApply(config, ports, hosts) : Promise.resolve(),
  );
  reportOwnership(config, log, own, target);
  // Only tokens this target may revoke are "previous"; the others are left as they are.
  const held = own.revocable;
  // Nothing our Secrets hold or record, nor anything a Secret elsewhere holds, is ever swept.
  const untouchable = new Set([...referencedIds(own.all), ...own.heldElsewhere]);

  if (!config.dryRun) await remember(hand, recall, listed.namespaceSelector !== undefined);

  const base = {
    ...reportBase({ config, skipped, present, reason: due.reason, hosts }),
    recall,
    previousTokenIds: held.current,
    owner: { kind: owner.kind, id: owner.id, path: owner.path },
    static: null,
    serviceAccountsUpdated: [] as string[],
    spared: own.spared,
    overlaps: own.overlaps,
  };

  if (decision.action !== "rotate") {
    const fill = decision.action === "fill" && typeof current === "object" ? { decision, current } : undefined;
    log.info(
      fill
        ? `Filling ${fill.decision.namespaces.join(", ")} with deploy token ${fill.decision.tokenId}, no rotation due: ${due.reason}`
        : `Nothing to do: ${due.reason}`,
    );
    const verified = fill
      ? await fillSecrets(config, ports, {
          owner,
          hosts,
          fill: fill.decision,
          current: fill.current,
          checked,
          leaseNamespace: hand.namespace,
        })
      : null;
    const filled = fill ? { namespaces: fill.decision.namespaces, tokenId: fill.decision.tokenId } : undefined;
    // Leftovers of an earlier run: pending revokes still live, then orphans.
    const pending = held.pending.filter((id) => liveIds.has(id));
    const swept = config.dryRun
      ? { ids: [], problems: [] }
      : await sweep(
          config,
          ports,
          owner,
          tokens,
          target,
          new Set([...untouchable].filter((id) => !pending.includes(id))),
          pending,
          recall.sweepFrom,
        );
    const sas = config.dryRun ? { updated: [], problems: [] } : await ensureServiceAccounts(config, ports, accounts);
    const problems = [...skipProblems, ...swept.problems, ...sas.problems];
    for (const p of problems) log.warn(p);
    return {
      ...base,
      changed: (filled !== undefined && !config.dryRun) || sas.updated.length > 0,
      ...(filled ? { filled } : {}),
      verified,
      token: null,
      keptTokenIds: held.kept,
      revokedTokenIds: [],
      sweptTokenIds: swept.ids,
      serviceAccountsUpdated: sas.updated,
      problems,
    };
  }
  log.info(`Rotating: ${due.reason}`);

  if (config.dryRun) {
    const plan = revocationPlan(held, 0, config.keepPrevious, liveIds);
    log.info(
      `Dry run: would mint a read_registry deploy token, write it to ${config.namespaces.length} Secret(s), keep ${plan.keep.join(", ") || "none"} and revoke ${plan.revoke.join(", ") || "none"}`,
    );
    const wouldUpdate = wouldAddTo(config, accounts);
    if (wouldUpdate.length)
      log.info(`Dry run: would add "${config.secretName}" to imagePullSecrets of ${wouldUpdate.join(", ")}`);
    for (const p of skipProblems) log.warn(p);
    return {
      ...base,
      changed: false,
      token: null,
      keptTokenIds: [],
      revokedTokenIds: [],
      sweptTokenIds: [],
      problems: skipProblems,
    };
  }

  // A real run holds the Lease, so the cluster is known; without it no name could be proven ours later.
  if (target.id === undefined) throw new Error("internal: minting without the target's Lease");
  const { minted, creds, verified } = await mintChecked(config, ports, {
    owner,
    hosts,
    name: tokenName(config.tokenNamePrefix, target.id, now, ports.nonce()),
    untouched: "the cluster was not touched",
  });

  const plan = revocationPlan(held, minted.id, config.keepPrevious, liveIds);
  const listWith = (pending: number[]) =>
    secretList({
      namespaces: config.namespaces,
      secretName: config.secretName,
      secretType: config.secretType,
      payload: pullSecretPayload(config.secretType, creds),
      annotations: {
        ...recordAnnotations(mintedRecord(minted, owner, hosts, now)),
        [Annotations.target]: target.id ?? "",
        [Annotations.targetSpec]: target.describe,
        [Annotations.lease]: hand.namespace ?? "",
        [Annotations.keptTokenIds]: plan.keep.join(","),
        [Annotations.revokePending]: pending.join(","),
      },
    });
  try {
    await kube.applySecrets(listWith(plan.revoke), { force: config.adopt });
  } catch (err) {
    throw new RotationError(err as Error, await rollBackApply(config, ports, owner, minted));
  }
  log.info(`Applied Secret "${config.secretName}" to ${config.namespaces.join(", ")}`);

  // The Secrets went out listing the tokens to revoke as pending, so a revoke
  // that fails here (or a run killed here) leaves them recorded: the next run
  // revokes those still live.
  const revoked: number[] = [];
  const problems: string[] = [...skipProblems];
  for (const id of plan.revoke) {
    try {
      const outcome = await gitlab.revokeDeployToken(owner, id);
      revoked.push(id);
      log.info(
        outcome === "revoked" ? `Revoked previous deploy token ${id}` : `Previous deploy token ${id} was already gone`,
      );
    } catch (err) {
      problems.push(
        `Could not revoke previous deploy token ${id} (recorded; the next run revokes it): ${(err as Error).message}`,
      );
    }
  }
  if (plan.keep.length)
    log.info(`Kept previous deploy token(s) ${plan.keep.join(", ")} alive (--keep-previous ${config.keepPrevious})`);
  const referenced = new Set([minted.id, ...untouchable]);
  const swept = await sweep(config, ports, owner, tokens, target, referenced, [], recall.sweepFrom);
  problems.push(...swept.problems);
  const sas = await ensureServiceAccounts(config, ports, accounts);
  problems.push(...sas.problems);
  for (const p of problems) log.warn(p);

  return {
    ...base,
    changed: true,
    token: { id: minted.id, username: minted.username, expiresAt: minted.expiresAt },
    verified,
    keptTokenIds: plan.keep,
    revokedTokenIds: revoked,
    sweptTokenIds: swept.ids,
    serviceAccountsUpdated: sas.updated,
    problems,
  };
}

/** Both results once both have settled (no kubectl left running behind an error); the first failure, in argument order. */
async function settledInOrder<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === "rejected") throw ra.reason;
  if (rb.status === "rejected") throw rb.reason;
  return [ra.value, rb.value];
}
