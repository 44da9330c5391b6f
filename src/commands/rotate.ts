// The orchestration: lock -> read -> decide -> check -> mint -> verify ->
// apply -> revoke previous -> sweep, with rollback. It talks to the world only
// through ports and returns a report; the faces decide how to show it.
// Static credentials (--username) take the same lock, read, check, apply and
// ServiceAccount steps without the GitLab ones (static.ts).
import { checkApiToken } from "./apitoken.js";
import { checkApply, ensureServiceAccounts, readChecked, verifyCredentials, wouldAddTo } from "./apply.js";
import { credentialsFor, pullSecretPayload, registryHosts, secretForms } from "../model/dockerconfig.js";
import { expiryDateFor } from "../config/duration.js";
import { GpsError, OwnershipError, RotationError, UsageError, type UnavailableNamespace } from "../model/errors.js";
import type { Config } from "../config/inputs.js";
import { acquireTargetLock, readTargetLeaseUid } from "./lock.js";
import { recordAnnotations, secretList } from "../model/manifests.js";
import { Annotations, tokenName } from "../model/naming.js";
import { targetOf, type TargetRef } from "./target.js";
import { isLiveToken, referencedIds, revocationPlan, rotationDue, sweepCandidates } from "../model/plan.js";
import { assessOwnership, overlapMessage, sparedMessage, type Ownership } from "../model/ownership.js";
import type { Clock, GitLabPort, KubePort, Log, MintedToken, ResolvedOwner, LockPort, Ports, TokenView } from "../model/ports.js";
import type { RotationReport } from "./rotation-report.js";
import type { Secret } from "../model/secret.js";
import { applyStaticLocked, staticSummary } from "./static.js";
import { KubeError } from "../model/errors.js";
import { skippedProblem } from "./lifecycle.js";

/** The registry host: given, or the part of the project's image prefix before the first '/'. */
export function registryHost(config: Config, owner: ResolvedOwner): string {
  if (config.registry) return config.registry;
  if (owner.registryAccessLevel === "disabled") {
    throw new UsageError("--registry", undefined, `the container registry is disabled for project ${owner.path}; enable it in the project's settings`);
  }
  const prefix = owner.registryImagePrefix;
  if (!prefix) {
    throw new UsageError(
      "--registry",
      undefined,
      `required: GitLab reports no container registry for ${owner.kind} ${owner.path} (the instance registry is off); give the registry host[:port]`,
    );
  }
  return prefix.split("/")[0]!.toLowerCase();
}

/** The repository the pull check reads: given, or the project's own. */
export function verifyTarget(config: Config, owner: ResolvedOwner): { repository: string; tag: string | undefined } | null {
  if (config.verify === false) return null;
  if (config.verify.repository) return { repository: config.verify.repository, tag: config.verify.tag };
  const path = owner.registryImagePrefix?.split("/").slice(1).join("/") || owner.path.toLowerCase();
  return { repository: path, tag: config.verify.tag };
}

/** The namespaces of this run: the list, plus the selector's matches, minus the exclusions. */
export async function resolveNamespaces(config: Config, kube: KubePort): Promise<string[]> {
  const chosen = [...config.namespaces];
  if (config.namespaceSelector !== undefined) {
    for (const ns of await kube.listNamespaces(config.namespaceSelector)) if (!chosen.includes(ns)) chosen.push(ns);
  }
  const result = chosen.filter((ns) => !config.excludeNamespaces.includes(ns));
  if (result.length === 0) {
    throw new KubeError("choosing namespaces", `no namespace is left to manage (selector ${config.namespaceSelector ?? "none"}, excluded ${config.excludeNamespaces.join(", ") || "none"})`);
  }
  return result;
}

export async function rotate(input: Config, ports: Ports): Promise<RotationReport> {
  let locked: (config: Config, leaseUid: string | undefined) => Promise<RotationReport>;
  const creds = input.credentials;
  if (creds.kind === "static") {
    // No GitLab call at all: the registry was given, the credentials too.
    const hosts = registryHosts(input.registry!, input.registryAliases);
    ports.log.info(staticSummary(creds.username, hosts));
    locked = (config) => applyStaticLocked(config, ports, hosts);
  } else {
    const owner = await ports.gitlab.resolveOwner(creds.owner);
    const hosts = registryHosts(registryHost(input, owner), input.registryAliases);
    ports.log.info(`Owner: ${owner.kind} ${owner.path} (id ${owner.id}); registry ${hosts.join(", ")}`);
    await checkApiToken(ports.gitlab, ports.clock.now(), ports.log);
    locked = (config, leaseUid) => rotateLocked(config, ports, owner, hosts, leaseUid);
  }
  const config = { ...input, namespaces: await resolveNamespaces(input, ports.kube) };

  // A dry run changes nothing, not even a Lease: it only reads the Lease's uid (the cluster's identity).
  if (config.dryRun) return locked(config, creds.kind === "static" ? undefined : await readTargetLeaseUid(ports.lock, config, ports.kube));
  // Before the lock: the Lease lives in the first namespace, which may be one to create.
  if (config.createNamespace) await ports.kube.applyNamespaces(config.namespaces);
  const held = await acquireTargetLock(ports, config);
  try {
    return await locked(config, held.uid);
  } finally {
    try {
      await held.release();
    } catch (err) {
      ports.log.warn(`Could not release the rotation lock (${(err as Error).message}); it expires by itself`);
    }
  }
}

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
  },
): Promise<Ownership> {
  const input = { existing: args.existing, owner: args.owner, tokens: args.tokens, prefix: config.tokenNamePrefix, target: args.target, namespaces: config.namespaces };
  const alone = assessOwnership({ ...input, managed: undefined });
  const r = alone.revocable;
  const sweepable = sweepCandidates({ tokens: args.tokens, prefix: config.tokenNamePrefix, target: args.target, referenced: referencedIds(alone.all), now: args.now, graceMs: config.sweepGraceMs });
  const dying = args.due ? [...r.current, ...r.kept, ...r.pending] : r.pending;
  const couldDie = dying.some((id) => args.liveIds.has(id)) || sweepable.length > 0;
  if (!couldDie || !ports.kube.listManagedSecrets) return alone;
  const managed = await ports.kube.listManagedSecrets();
  if (managed === "forbidden") {
    ports.log.info(
      "Note: RBAC does not allow listing Secrets cluster-wide, so this run cannot see Secrets outside its namespaces; " +
        "it revokes only tokens whose name proves they were minted for this target",
    );
    return alone;
  }
  return assessOwnership({ ...input, managed });
}

/** Says what the ownership check found: overlaps loudly, spared tokens plainly; refuses with --strict-ownership. */
export function reportOwnership(config: Config, log: Log, own: Ownership, target: TargetRef): void {
  if (own.overlaps.length && config.strictOwnership) throw new OwnershipError(config.secretName, own.overlaps, target);
  for (const o of own.overlaps) log.warn(overlapMessage(o, config.secretName, target));
  for (const s of own.spared) log.info(sparedMessage(s));
}

async function rotateLocked(listed: Config, ports: Ports, owner: ResolvedOwner, hosts: readonly string[], leaseUid: string | undefined): Promise<RotationReport> {
  const { gitlab, kube, log } = ports;
  // The configured target, never the namespaces that happen to exist: tokens
  // stay attributed (and swept) the same when a namespace is deleted.
  const target = targetOf(listed, listed.namespaces, leaseUid);
  const registry = hosts[0]!;

  // From here on, config holds only the namespaces that can take the Secret.
  const { config, skipped, checked, existing, accounts, present } = await readChecked(listed, ports, hosts);
  const skipProblems = skippedProblem(skipped);

  const now = ports.clock.now();
  const tokens = await gitlab.listDeployTokens(owner);
  const liveIds = new Set(tokens.filter((t) => isLiveToken(t, now)).map((t) => t.id));
  const due = rotationDue({ namespaces: config.namespaces, existing, owner, hosts, liveIds, now, rotateBeforeMs: config.rotateBeforeMs, force: config.force });
  // A skipped namespace's Secret is still the target's own, not a holder elsewhere.
  const own = await assessForRun({ ...config, namespaces: listed.namespaces }, ports, { owner, tokens, target, existing, liveIds, now, due: due.due });
  reportOwnership(config, log, own, target);
  // Only tokens this target may revoke are "previous"; the others are left as they are.
  const held = own.revocable;
  // Nothing our Secrets hold or record, nor anything a Secret elsewhere holds, is ever swept.
  const untouchable = new Set([...referencedIds(own.all), ...own.heldElsewhere]);

  const base = {
    dryRun: config.dryRun,
    secretName: config.secretName,
    namespaces: [...config.namespaces],
    skipped,
    created: config.namespaces.filter((ns) => !present.has(ns)),
    reason: due.reason,
    previousTokenIds: held.current,
    owner: { kind: owner.kind, id: owner.id, path: owner.path },
    static: null,
    registry,
    registryAliases: hosts.slice(1),
    verified: null,
    serviceAccountsUpdated: [] as string[],
    spared: own.spared,
    overlaps: own.overlaps,
  };

  if (!due.due) {
    log.info(`Nothing to do: ${due.reason}`);
    // Leftovers of an earlier run: pending revokes still live, then orphans.
    const pending = held.pending.filter((id) => liveIds.has(id));
    const swept = config.dryRun ? { ids: [], problems: [] } : await sweep(config, ports, owner, tokens, target, new Set([...untouchable].filter((id) => !pending.includes(id))), pending);
    const sas = config.dryRun ? { updated: [], problems: [] } : await ensureServiceAccounts(config, ports, accounts);
    const problems = [...skipProblems, ...swept.problems, ...sas.problems];
    for (const p of problems) log.warn(p);
    return {
      ...base,
      changed: sas.updated.length > 0,
      token: null,
      keptTokenIds: held.kept,
      revokedTokenIds: [],
      sweptTokenIds: swept.ids,
      serviceAccountsUpdated: sas.updated,
      problems,
    };
  }
  log.info(`Rotating: ${due.reason}`);

  if (!checked) await checkApply(config, ports, hosts);

  if (config.dryRun) {
    const plan = revocationPlan(held, 0, config.keepPrevious, liveIds);
    log.info(`Dry run: would mint a read_registry deploy token, write it to ${config.namespaces.length} Secret(s), keep ${plan.keep.join(", ") || "none"} and revoke ${plan.revoke.join(", ") || "none"}`);
    const wouldUpdate = wouldAddTo(config, accounts);
    if (wouldUpdate.length) log.info(`Dry run: would add "${config.secretName}" to imagePullSecrets of ${wouldUpdate.join(", ")}`);
    for (const p of skipProblems) log.warn(p);
    return { ...base, changed: false, token: null, keptTokenIds: [], revokedTokenIds: [], sweptTokenIds: [], problems: skipProblems };
  }

  // A real run holds the Lease, so the cluster is known; without it no name could be proven ours later.
  if (target.id === undefined) throw new Error("internal: minting without the target's Lease");
  const minted = await gitlab.createDeployToken(owner, {
    name: tokenName(config.tokenNamePrefix, target.id, now, ports.nonce()),
    expiresAt: expiryDateFor(now, config.expiresInMs),
  });
  const creds = credentialsFor(hosts, minted.username, minted.token);
  for (const form of secretForms(creds)) log.secret(form);
  log.info(`Minted deploy token ${minted.id} (${minted.username}), expires ${minted.expiresAt}`);

  let verified: RotationReport["verified"] = null;
  const check = verifyTarget(config, owner);
  if (check) {
    try {
      verified = await verifyCredentials(ports, { registry, ...check, username: minted.username, password: minted.token, what: "the new token" });
    } catch (err) {
      throw new RotationError(err as Error, await revokeNew(ports, owner, minted, "the cluster was not touched"));
    }
  }

  const plan = revocationPlan(held, minted.id, config.keepPrevious, liveIds);
  const listWith = (pending: number[]) =>
    secretList({
      namespaces: config.namespaces,
      secretName: config.secretName,
      secretType: config.secretType,
      payload: pullSecretPayload(config.secretType, creds),
      annotations: {
        ...recordAnnotations({
          id: minted.id,
          username: minted.username,
          expiresAt: minted.expiresAt,
          owner: `${owner.kind}/${owner.id}`,
          registry,
          aliases: hosts.slice(1),
          rotatedAt: now.toISOString(),
        }),
        [Annotations.target]: target.id ?? "",
        [Annotations.targetSpec]: target.describe,
        [Annotations.keptTokenIds]: plan.keep.join(","),
        [Annotations.revokePending]: pending.join(","),
      },
    });
  try {
    await kube.applySecrets(listWith(plan.revoke), { dryRun: false, force: config.adopt });
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
      log.info(outcome === "revoked" ? `Revoked previous deploy token ${id}` : `Previous deploy token ${id} was already gone`);
    } catch (err) {
      problems.push(`Could not revoke previous deploy token ${id} (recorded; the next run revokes it): ${(err as Error).message}`);
    }
  }
  if (plan.keep.length) log.info(`Kept previous deploy token(s) ${plan.keep.join(", ")} alive (--keep-previous ${config.keepPrevious})`);
  const referenced = new Set([minted.id, ...untouchable]);
  const swept = await sweep(config, ports, owner, tokens, target, referenced, []);
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

/** Revokes our live tokens for this target that nothing references (a run that died half way left them). */
async function sweep(
  config: Config,
  ports: Ports,
  owner: ResolvedOwner,
  tokens: readonly TokenView[],
  target: TargetRef,
  referenced: ReadonlySet<number>,
  pending: readonly number[],
): Promise<{ ids: number[]; problems: string[] }> {
  const orphans = [
    ...tokens.filter((t) => pending.includes(t.id)),
    ...sweepCandidates({ tokens, prefix: config.tokenNamePrefix, target, referenced, now: ports.clock.now(), graceMs: config.sweepGraceMs }),
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

async function revokeNew(ports: Ports, owner: ResolvedOwner, minted: MintedToken, state: string): Promise<string> {
  try {
    await ports.gitlab.revokeDeployToken(owner, minted.id);
    return `new deploy token ${minted.id} revoked; ${state}`;
  } catch (err) {
    return `revoking new deploy token ${minted.id} failed too (${(err as Error).message}); the next run sweeps it; ${state}`;
  }
}

/**
 * After a failed apply: revoke the new token unless some Secret already holds
 * it (kubectl applies item by item, so a late failure can leave earlier
 * namespaces updated). A Secret must never point at a dead token.
 */
async function rollBackApply(config: Config, ports: Ports, owner: ResolvedOwner, minted: MintedToken): Promise<string> {
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
