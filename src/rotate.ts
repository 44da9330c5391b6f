// The orchestration: lock -> read -> decide -> check -> mint -> verify ->
// apply -> revoke previous -> sweep, with rollback. It talks to the world only
// through ports and returns a report; the faces decide how to show it.
import { dockerConfigJson, secretForms, type RegistryCredentials } from "./dockerconfig.js";
import { expiryDateFor } from "./duration.js";
import { GpsError, RotationError, UnmanagedSecretError, UsageError } from "./errors.js";
import type { Config } from "./inputs.js";
import { acquireLock, leaseName, lockNamespace, type LockPort } from "./lock.js";
import { recordAnnotations, secretList } from "./manifests.js";
import { Annotations, tokenName } from "./naming.js";
import { targetOf } from "./target.js";
import { heldTokens, isLiveToken, isManaged, referencedIds, revocationPlan, rotationDue, sweepCandidates, type TokenView } from "./plan.js";
import type { Clock, GitLabPort, KubePort, Log, MintedToken, ResolvedOwner } from "./ports.js";
import { Secret } from "./secret.js";
import { missingServiceAccounts, selectServiceAccounts, withPullSecret, type ServiceAccountState } from "./serviceaccounts.js";
import { KubeError } from "./errors.js";

export interface RotationReport {
  changed: boolean;
  dryRun: boolean;
  secretName: string;
  namespaces: string[];
  /** Namespaces where the Secret did not exist before. */
  created: string[];
  /** Why the run rotated or not. */
  reason: string;
  token: { id: number; username: string; expiresAt: string } | null;
  previousTokenIds: number[];
  keptTokenIds: number[];
  revokedTokenIds: number[];
  sweptTokenIds: number[];
  verified: { repository: string; tag?: string; digest?: string } | null;
  /** ServiceAccounts (namespace/name) that got the Secret added to imagePullSecrets by this run. */
  serviceAccountsUpdated: string[];
  owner: { kind: string; id: number; path: string };
  registry: string;
  /** Things that went wrong after the Secrets were safely rotated (e.g. a revoke that failed). */
  problems: string[];
}

/** Lists every deploy token of the owner (all pages). */
export interface TokenLister {
  listDeployTokens(owner: ResolvedOwner): Promise<TokenView[]>;
}

export interface PullVerifier {
  verifyPull(req: { registry: string; repository: string; tag: string | undefined; username: string; password: Secret }): Promise<{ digest?: string; anonymous?: boolean }>;
}

export interface Ports {
  gitlab: GitLabPort & TokenLister;
  kube: KubePort;
  lock: LockPort;
  verifier: PullVerifier;
  clock: Clock;
  log: Log;
  sleep: (ms: number) => Promise<void>;
  /** Unique suffix for this run's token name and lock holder. */
  nonce: () => string;
}

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

function placeholderList(config: Config, registry: string): Secret {
  const creds: RegistryCredentials = { host: registry, username: "dry-run", password: new Secret("dry-run") };
  return secretList({ namespaces: config.namespaces, secretName: config.secretName, dockerConfigJson: dockerConfigJson([creds]), annotations: {} });
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
  const owner = await ports.gitlab.resolveOwner(input.owner);
  const registry = registryHost(input, owner);
  ports.log.info(`Owner: ${owner.kind} ${owner.path} (id ${owner.id}); registry ${registry}`);
  const config = { ...input, namespaces: await resolveNamespaces(input, ports.kube) };

  // A dry run changes nothing, not even a Lease.
  if (config.dryRun) return rotateLocked(config, ports, owner, registry);
  // Before the lock: the Lease lives in the first namespace, which may be one to create.
  if (config.createNamespace) await ports.kube.applyNamespaces(config.namespaces);
  const held = await acquireLock({
    port: ports.lock,
    namespace: lockNamespace(config.namespaces),
    name: leaseName(config.secretName),
    holder: `gps-${ports.nonce()}`,
    timeoutMs: config.lockTimeoutMs,
    clock: ports.clock,
    log: ports.log,
    sleep: ports.sleep,
  });
  try {
    return await rotateLocked(config, ports, owner, registry);
  } finally {
    try {
      await held.release();
    } catch (err) {
      ports.log.warn(`Could not release the rotation lock (${(err as Error).message}); it expires by itself`);
    }
  }
}

async function rotateLocked(config: Config, ports: Ports, owner: ResolvedOwner, registry: string): Promise<RotationReport> {
  const { gitlab, kube, log } = ports;
  const target = targetOf(config, config.namespaces);

  const state = await kube.readTarget(config.namespaces, config.secretName, config.serviceAccounts);
  const existing = state.secrets;
  const missingSas = missingServiceAccounts(state.serviceAccounts, config.namespaces, config.serviceAccounts);
  if (missingSas.length > 0) {
    throw new KubeError("finding the ServiceAccounts", `not found: ${missingSas.join(", ")}. Nothing was changed`, [...new Set(missingSas.map((k) => k.split("/")[0]!))]);
  }
  const accounts = selectServiceAccounts(state.serviceAccounts, config.namespaces, config.serviceAccounts);
  const foreign = existing.filter((s) => !isManaged(s)).map((s) => s.namespace);
  if (foreign.length > 0 && !config.adopt) throw new UnmanagedSecretError(config.secretName, foreign);
  const held = heldTokens(existing, owner);
  const present = new Set(existing.map((s) => s.namespace));

  const now = ports.clock.now();
  const tokens = await gitlab.listDeployTokens(owner);
  const liveIds = new Set(tokens.filter((t) => isLiveToken(t, now)).map((t) => t.id));
  const due = rotationDue({ namespaces: config.namespaces, existing, owner, liveIds, now, rotateBeforeMs: config.rotateBeforeMs, force: config.force });

  const base = {
    dryRun: config.dryRun,
    secretName: config.secretName,
    namespaces: [...config.namespaces],
    created: config.namespaces.filter((ns) => !present.has(ns)),
    reason: due.reason,
    previousTokenIds: held.current,
    owner: { kind: owner.kind, id: owner.id, path: owner.path },
    registry,
    verified: null,
    serviceAccountsUpdated: [] as string[],
  };

  if (!due.due) {
    log.info(`Nothing to do: ${due.reason}`);
    // Leftovers of an earlier run: pending revokes still live, then orphans.
    const pending = held.pending.filter((id) => liveIds.has(id));
    const swept = config.dryRun ? { ids: [], problems: [] } : await sweep(config, ports, owner, tokens, target, referencedIds({ ...held, pending: [] }), pending);
    const sas = config.dryRun ? { updated: [], problems: [] } : await ensureServiceAccounts(config, ports, accounts);
    const problems = [...swept.problems, ...sas.problems];
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

  // The API server authorizes and validates a server-side dry run exactly like
  // the real apply, so a missing namespace or RBAC verb is found before a token exists.
  await kube.applySecrets(placeholderList(config, registry), { dryRun: true, force: config.adopt });
  log.info(`The cluster accepts Secret "${config.secretName}" in ${config.namespaces.join(", ")}`);

  if (config.dryRun) {
    const plan = revocationPlan(held, 0, config.keepPrevious, liveIds);
    log.info(`Dry run: would mint a read_registry deploy token, write it to ${config.namespaces.length} Secret(s), keep ${plan.keep.join(", ") || "none"} and revoke ${plan.revoke.join(", ") || "none"}`);
    const wouldUpdate = accounts.filter((sa) => withPullSecret(sa, config.secretName)).map((sa) => `${sa.namespace}/${sa.name}`);
    if (wouldUpdate.length) log.info(`Dry run: would add "${config.secretName}" to imagePullSecrets of ${wouldUpdate.join(", ")}`);
    return { ...base, changed: false, token: null, keptTokenIds: [], revokedTokenIds: [], sweptTokenIds: [], problems: [] };
  }

  const minted = await gitlab.createDeployToken(owner, {
    name: tokenName(config.tokenNamePrefix, target, now, ports.nonce()),
    expiresAt: expiryDateFor(now, config.expiresInMs),
  });
  const creds: RegistryCredentials = { host: registry, username: minted.username, password: minted.token };
  for (const form of secretForms([creds])) log.secret(form);
  log.info(`Minted deploy token ${minted.id} (${minted.username}), expires ${minted.expiresAt}`);

  let verified: RotationReport["verified"] = null;
  const check = verifyTarget(config, owner);
  if (check) {
    try {
      const r = await ports.verifier.verifyPull({ registry, ...check, username: minted.username, password: minted.token });
      verified = { repository: check.repository, ...(check.tag ? { tag: check.tag } : {}), ...(r.digest ? { digest: r.digest } : {}) };
      const image = `${check.repository}${check.tag ? `:${check.tag}` : ""}`;
      if (r.anonymous) log.warn(`${registry} serves ${image} without authentication, so the pull check says nothing about the new token`);
      else log.info(`Verified: the new token pulls ${image} from ${registry}`);
    } catch (err) {
      throw new RotationError(err as Error, await revokeNew(ports, owner, minted, "the cluster was not touched"));
    }
  }

  const plan = revocationPlan(held, minted.id, config.keepPrevious, liveIds);
  const listWith = (pending: number[]) =>
    secretList({
      namespaces: config.namespaces,
      secretName: config.secretName,
      dockerConfigJson: dockerConfigJson([creds]),
      annotations: {
        ...recordAnnotations({
          id: minted.id,
          username: minted.username,
          expiresAt: minted.expiresAt,
          owner: `${owner.kind}/${owner.id}`,
          registry,
          rotatedAt: now.toISOString(),
        }),
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
  const problems: string[] = [];
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
  const referenced = new Set([minted.id, ...plan.keep, ...plan.revoke]);
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

const SERVICE_ACCOUNT_ATTEMPTS = 5;

/**
 * Adds the Secret to every chosen ServiceAccount that lacks it, all in one
 * kubectl call; a 409 (someone changed one since we read it) re-reads and
 * retries. Idempotent: accounts that already list it are not written.
 */
async function ensureServiceAccounts(config: Config, ports: Ports, initial: readonly ServiceAccountState[]): Promise<{ updated: string[]; problems: string[] }> {
  let accounts = initial;
  const updated: string[] = [];
  for (let attempt = 1; attempt <= SERVICE_ACCOUNT_ATTEMPTS; attempt++) {
    const changes = accounts.flatMap((sa) => {
      const next = withPullSecret(sa, config.secretName);
      return next ? [{ key: `${sa.namespace}/${sa.name}`, next }] : [];
    });
    if (changes.length === 0) return { updated, problems: [] };
    try {
      if ((await ports.kube.replaceServiceAccounts(changes.map((c) => c.next))) === "ok") {
        updated.push(...changes.map((c) => c.key));
        ports.log.info(`Added "${config.secretName}" to imagePullSecrets of ${changes.map((c) => c.key).join(", ")}`);
        return { updated, problems: [] };
      }
    } catch (err) {
      return { updated, problems: [`The Secrets are rotated, but the ServiceAccounts were not updated: ${(err as Error).message}`] };
    }
    const fresh = await ports.kube.readTarget(config.namespaces, config.secretName, config.serviceAccounts);
    accounts = selectServiceAccounts(fresh.serviceAccounts, config.namespaces, config.serviceAccounts);
  }
  return { updated, problems: [`ServiceAccounts kept changing under us; gave up after ${SERVICE_ACCOUNT_ATTEMPTS} attempts. Re-run to finish`] };
}

/** Revokes our live tokens for this target that nothing references (a run that died half way left them). */
async function sweep(
  config: Config,
  ports: Ports,
  owner: ResolvedOwner,
  tokens: readonly TokenView[],
  target: string,
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
