// Static credentials (--username + password): a pull Secret for any registry
// (Docker Hub, Harbor, IBM Cloud's iamapikey, ...) through the same lock,
// read, checks, apply and ServiceAccount steps as a rotation, without minting,
// revoking or calling GitLab at all.
//
// There is no token whose expiry says when to act, so a run compares content:
// the Secrets record the SHA-256 of the docker config they hold, and a run
// writes only when it differs from what it would write (a new password, host
// or alias), a Secret is missing, or one holds a deploy token. Otherwise it
// changes nothing. The password itself is never read back from the cluster.
import { ensureServiceAccounts } from "./link-serviceaccounts.js";
import { verifyCredentials } from "./pull-check.js";
import {
  credentialsFor,
  payloadSha256,
  pullSecretPayload,
  registryHosts,
  type RegistryCredentials,
} from "../model/dockerconfig.js";
import { RotationError } from "../model/errors.js";
import { skippedProblem } from "./lifecycle.js";
import type { Config } from "../config/inputs.js";
import { staticAnnotations, secretList } from "../model/manifests.js";
import { Annotations, STATIC_OWNER } from "../model/naming.js";
import { isManaged } from "../model/plan.js";
import type { ExistingSecret, Ports } from "../model/ports.js";
import type { Secret } from "../model/secret.js";
import { decidedReport, type RotationReport } from "./rotation-report.js";
import type { Observed } from "./observed.js";
import { decisionLine } from "../model/decide.js";

export function staticSummary(username: string, hosts: readonly string[]): string {
  return `Static credentials of ${username} for ${hosts.join(", ")}: nothing is minted or revoked, GitLab is never called`;
}

/** The username and password of a Config with static credentials; only commands that write credentials have a password. */
export function staticLogin(config: Config): { username: string; password: Secret } {
  const c = config.credentials;
  if (c.kind !== "static" || c.password === undefined) throw new Error("static credentials with a password expected");
  return { username: c.username, password: c.password };
}

/** One entry per host (the registry, then its aliases), as the docker config holds them. */
export function staticCredentials(config: Config): RegistryCredentials[] {
  const { username, password } = staticLogin(config);
  return credentialsFor(registryHosts(config.registry!, config.registryAliases), username, password);
}

/** The pull check with static credentials runs only on request: there is no project repository to default to. */
export function staticVerifyTarget(config: Config): { repository: string; tag: string | undefined } | null {
  return config.verify && config.verify.repository
    ? { repository: config.verify.repository, tag: config.verify.tag }
    : null;
}

/** Deploy tokens the Secrets held before static credentials replace them: nobody revokes those here. */
export function replacedTokens(
  existing: readonly ExistingSecret[],
): Array<{ namespace: string; owner: string; tokenId: string }> {
  return existing
    .filter(
      (s) => isManaged(s) && s.annotations[Annotations.owner] !== STATIC_OWNER && s.annotations[Annotations.tokenId],
    )
    .map((s) => ({
      namespace: s.namespace,
      owner: s.annotations[Annotations.owner] ?? "?",
      tokenId: s.annotations[Annotations.tokenId]!,
    }));
}

/**
 * Carries out the decision for static credentials: nothing due leaves the
 * Secrets (the ServiceAccounts are still linked); otherwise the pull check
 * (when asked), one apply, the ServiceAccounts.
 */
export async function writeStatic(seen: Observed, ports: Ports): Promise<RotationReport> {
  const { decision, work: config } = seen;
  const { log } = ports;
  const { username, password } = staticLogin(config);
  const hosts = seen.observation.hosts;
  const registry = hosts[0]!;
  const report = decidedReport(seen);
  const problems = [...skippedProblem(seen.observation.skipped)];

  log.info(decisionLine(decision, true));
  if (decision.action === "none") {
    const sas = await ensureServiceAccounts(config, ports, seen.observation.accounts);
    problems.push(...sas.problems);
    for (const p of problems) log.warn(p);
    return { ...report, changed: sas.updated.length > 0, serviceAccountsUpdated: sas.updated, problems };
  }

  let verified: RotationReport["verified"] = null;
  const check = staticVerifyTarget(config);
  if (check) {
    try {
      verified = await verifyCredentials(ports, {
        registry,
        ...check,
        username,
        password,
        credentials: "static",
        what: `the credentials of ${username}`,
      });
    } catch (err) {
      throw new RotationError(
        err as Error,
        "nothing to roll back (static credentials: nothing was minted); the cluster was not touched",
      );
    }
  }

  const payload = pullSecretPayload(config.secretType, credentialsFor(hosts, username, password));
  const list = secretList({
    namespaces: decision.namespaces,
    secretName: config.secretName,
    secretType: config.secretType,
    payload,
    annotations: staticAnnotations({
      username,
      registry,
      aliases: hosts.slice(1),
      configSha256: seen.observation.staticSha256 ?? payloadSha256(payload),
      rotatedAt: ports.clock.now().toISOString(),
    }),
  });
  try {
    await ports.kube.applySecrets(list, { force: config.adopt });
  } catch (err) {
    // kubectl applies item by item: namespaces before the failing one hold the new
    // content and its SHA-256, the rest the old, so the next run finishes the job.
    throw new RotationError(
      err as Error,
      "nothing to revoke (static credentials); Secrets the apply reached hold the new credentials, the others are as they were. Re-run to finish",
    );
  }
  log.info(`Applied Secret "${config.secretName}" to ${decision.namespaces.join(", ")}`);

  for (const t of replacedTokens(seen.observation.existing)) {
    // A warning, not a failure: the switch was asked for, and the token dies at its expiry.
    log.warn(
      `The Secret in ${t.namespace} held deploy token ${t.tokenId} of ${t.owner}; static runs never call GitLab, so it stays live until it ` +
        `expires: delete it in GitLab (or run revoke with that --project/--group before switching)`,
    );
  }
  const sas = await ensureServiceAccounts(config, ports, seen.observation.accounts);
  problems.push(...sas.problems);
  for (const p of problems) log.warn(p);
  return {
    ...report,
    changed: true,
    static: { username, applied: true },
    verified,
    serviceAccountsUpdated: sas.updated,
    problems,
  };
}
