// The orchestration: read -> check -> mint -> apply -> revoke previous, with
// rollback. It talks to the world only through ports and returns a report;
// the faces decide how to show it.
import { dockerConfigJson, secretForms, type RegistryCredentials } from "./dockerconfig.js";
import { expiryDateFor } from "./duration.js";
import { GpsError, RotationError, UnmanagedSecretError, UsageError } from "./errors.js";
import type { Config } from "./inputs.js";
import { recordAnnotations, secretList } from "./manifests.js";
import { Annotations, MANAGED_BY_LABEL, MANAGER, targetId, tokenName } from "./naming.js";
import type { Clock, ExistingSecret, GitLabPort, KubePort, Log, ResolvedOwner } from "./ports.js";
import { Secret } from "./secret.js";

export interface RotationReport {
  changed: boolean;
  dryRun: boolean;
  secretName: string;
  namespaces: string[];
  /** Namespaces where the Secret did not exist before. */
  created: string[];
  token: { id: number; username: string; expiresAt: string } | null;
  previousTokenIds: number[];
  revokedTokenIds: number[];
  owner: { kind: string; id: number; path: string };
  registry: string;
  /** Things that went wrong after the Secrets were safely rotated (e.g. a revoke that failed). */
  problems: string[];
}

export interface Ports {
  gitlab: GitLabPort;
  kube: KubePort;
  clock: Clock;
  log: Log;
  /** Unique suffix for this run's token name. */
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

export function isManaged(s: ExistingSecret): boolean {
  return s.labels[MANAGED_BY_LABEL] === MANAGER;
}

/** Ids of the tokens our Secrets hold that belong to this owner (others cannot be revoked through it). */
export function previousTokenIds(existing: readonly ExistingSecret[], owner: ResolvedOwner): number[] {
  const ids = new Set<number>();
  for (const s of existing) {
    if (!isManaged(s)) continue;
    const id = Number(s.annotations[Annotations.tokenId]);
    if (Number.isInteger(id) && id > 0 && s.annotations[Annotations.owner] === `${owner.kind}/${owner.id}`) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

function placeholderList(config: Config, registry: string): Secret {
  const creds: RegistryCredentials = { host: registry, username: "dry-run", password: new Secret("dry-run") };
  return secretList({
    namespaces: config.namespaces,
    secretName: config.secretName,
    dockerConfigJson: dockerConfigJson([creds]),
    annotations: {},
  });
}

export async function rotate(config: Config, ports: Ports): Promise<RotationReport> {
  const { gitlab, kube, clock, log } = ports;

  const owner = await gitlab.resolveOwner(config.owner);
  const registry = registryHost(config, owner);
  log.info(`Owner: ${owner.kind} ${owner.path} (id ${owner.id}); registry ${registry}`);

  const existing = await kube.readSecrets(config.namespaces, config.secretName);
  const foreign = existing.filter((s) => !isManaged(s)).map((s) => s.namespace);
  if (foreign.length > 0 && !config.adopt) throw new UnmanagedSecretError(config.secretName, foreign);
  const previous = previousTokenIds(existing, owner);
  const present = new Set(existing.map((s) => s.namespace));
  const created = config.namespaces.filter((ns) => !present.has(ns));

  // The API server authorizes and validates a server-side dry run exactly like
  // the real apply, so a missing namespace or a missing RBAC verb is found
  // before a token exists.
  await kube.applySecrets(placeholderList(config, registry), { dryRun: true, force: config.adopt });
  log.info(`The cluster accepts Secret "${config.secretName}" in ${config.namespaces.join(", ")}`);

  const base = {
    dryRun: config.dryRun,
    secretName: config.secretName,
    namespaces: [...config.namespaces],
    created,
    previousTokenIds: previous,
    owner: { kind: owner.kind, id: owner.id, path: owner.path },
    registry,
    problems: [] as string[],
  };
  if (config.dryRun) {
    log.info(`Dry run: would mint a read_registry deploy token, write it to ${config.namespaces.length} Secret(s) and revoke ${previous.length ? previous.join(", ") : "nothing"}`);
    return { ...base, changed: false, token: null, revokedTokenIds: [] };
  }

  const now = clock.now();
  const minted = await gitlab.createDeployToken(owner, {
    name: tokenName(config.tokenNamePrefix, targetId(config.context, config.secretName), now, ports.nonce()),
    expiresAt: expiryDateFor(now, config.expiresInMs),
  });
  const creds: RegistryCredentials = { host: registry, username: minted.username, password: minted.token };
  for (const form of secretForms([creds])) log.secret(form);
  log.info(`Minted deploy token ${minted.id} (${minted.username}), expires ${minted.expiresAt}`);

  const list = secretList({
    namespaces: config.namespaces,
    secretName: config.secretName,
    dockerConfigJson: dockerConfigJson([creds]),
    annotations: recordAnnotations({
      id: minted.id,
      username: minted.username,
      expiresAt: minted.expiresAt,
      owner: `${owner.kind}/${owner.id}`,
      registry,
      rotatedAt: now.toISOString(),
    }),
  });
  try {
    await kube.applySecrets(list, { dryRun: false, force: config.adopt });
  } catch (err) {
    throw new RotationError(err as Error, await rollBack(config, ports, owner, minted.id));
  }
  log.info(`Applied Secret "${config.secretName}" to ${config.namespaces.join(", ")}`);

  const revoked: number[] = [];
  const problems: string[] = [];
  for (const id of previous.filter((p) => p !== minted.id)) {
    try {
      const outcome = await gitlab.revokeDeployToken(owner, id);
      revoked.push(id);
      log.info(outcome === "revoked" ? `Revoked previous deploy token ${id}` : `Previous deploy token ${id} was already gone`);
    } catch (err) {
      problems.push(`Could not revoke previous deploy token ${id}: ${(err as Error).message}`);
    }
  }
  for (const p of problems) log.warn(p);

  return {
    ...base,
    changed: true,
    token: { id: minted.id, username: minted.username, expiresAt: minted.expiresAt },
    revokedTokenIds: revoked,
    problems,
  };
}

/**
 * After a failed apply: revoke the new token unless some Secret already holds
 * it (kubectl applies item by item, so a late failure can leave earlier
 * namespaces updated). A Secret must never point at a dead token.
 */
async function rollBack(config: Config, ports: Ports, owner: ResolvedOwner, newId: number): Promise<string> {
  let holders: string[];
  try {
    const now = await ports.kube.readSecrets(config.namespaces, config.secretName);
    holders = now.filter((s) => s.annotations[Annotations.tokenId] === String(newId)).map((s) => s.namespace);
  } catch (err) {
    return `could not re-read the Secrets (${(err as GpsError).message}); deploy token ${newId} is kept alive in case a Secret holds it`;
  }
  if (holders.length > 0) {
    return `Secret(s) in ${holders.join(", ")} already hold new deploy token ${newId}, so it is kept; previous tokens are kept too. Re-run to finish the rotation`;
  }
  try {
    await ports.gitlab.revokeDeployToken(owner, newId);
    return `new deploy token ${newId} revoked; the Secrets are as they were`;
  } catch (err) {
    return `revoking new deploy token ${newId} failed too (${(err as Error).message}); revoke it in GitLab`;
  }
}

