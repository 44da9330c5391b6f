// revoke: tear a target down. Revoke every token of ours for it (the ones the
// Secrets hold, keep or left pending, and orphans named for the target),
// remove our entry from the imagePullSecrets of the ServiceAccounts named
// with --service-account (an optional step: nothing records which ones rotate
// touched, so it runs only when asked), and delete the Secrets we manage;
// never an unmanaged one.
//
// Order: everything is checked first (access reviews ask the API server
// whether the deletes are allowed), so a missing RBAC verb is found while
// every token still works. Then the tokens go, because that is what the command is for and
// GitLab is reachable right now. The Secrets go last: they are the record of
// which tokens exist, so when a revoke fails they are kept and a re-run finds
// the same tokens again. Without --yes it stops after the checks and exits 2.
//
// With static credentials (--username) there is no token: it removes the
// ServiceAccount entries and deletes the Secrets holding static credentials,
// with no GitLab call. A Secret holding a deploy token is then another owner's.
// The plan and the report's shape are in teardown-plan.ts (pure); this module
// reads the world and carries the plan out.
import { KubeError } from "../model/errors.js";
import type { Config } from "../config/inputs.js";
import { acquireTargetLock, readTargetLease } from "./lock.js";
import { recallTarget } from "./target-memory.js";
import { guardWrites } from "./lease-guard.js";
import { STATIC_OWNER } from "../model/naming.js";
import { sparedMessage } from "../model/ownership.js";
import type { LeaseState, ResolvedOwner, Ports } from "../model/ports.js";
import { isLiveToken } from "../model/plan.js";
import { resolveNamespaces } from "./rotate.js";
import type { ServiceAccountState } from "../model/serviceaccounts.js";
import { targetOf } from "./target.js";
import {
  ConfirmationRequiredError,
  isEmptyPlan,
  serviceAccountChanges,
  teardownPlan,
  type TeardownPlan,
  type TeardownReport,
} from "./revoke-plan.js";

export {
  ConfirmationRequiredError,
  isEmptyPlan,
  serviceAccountChanges,
  teardownPlan,
  type TeardownPlan,
  type TeardownReport,
  type TeardownToken,
} from "./revoke-plan.js";

export type TeardownPorts = Omit<Ports, "verifier">;

interface Inspection {
  plan: TeardownPlan;
  namespaces: string[];
  /** Namespaces where an imagePullSecrets entry of that name is ours to remove. */
  saNamespaces: string[];
  accounts: ServiceAccountState[];
}

/** The target's Lease as revoke has it: held, or only read without --yes. */
interface Hand {
  lease: LeaseState | undefined;
  namespace: string | undefined;
  fresh: boolean;
}

/** Reads (one kubectl for Secrets and ServiceAccounts), plans, and asks the cluster whether the deletes are allowed. */
async function inspect(
  config: Config,
  ports: TeardownPorts,
  owner: ResolvedOwner | null,
  namespaces: string[],
  hand: Hand,
  confirmed: boolean,
): Promise<Inspection> {
  const state = await ports.kube.readTarget(namespaces, config.secretName, config.serviceAccounts);
  const tokens = owner ? await ports.gitlab.listDeployTokens(owner) : [];
  const now = ports.clock.now();
  // The cluster as rotate recalls it (target-memory.ts), so revoke names the tokens rotate minted.
  const live = tokens.filter((t) => isLiveToken(t, now));
  const recalled = owner
    ? await recallTarget(ports.lock, {
        config,
        namespaces,
        held: hand.lease,
        heldNamespace: hand.namespace,
        fresh: hand.fresh,
        existing: state.secrets,
        live,
      })
    : undefined;
  const input = {
    owner,
    secretName: config.secretName,
    target: targetOf(config, namespaces, recalled?.clusterUid, recalled?.earlier),
    namespaces,
    prefix: config.tokenNamePrefix,
    existing: state.secrets,
    tokens,
    now,
  };
  let base = teardownPlan(input);
  // Before any live token dies: is one still held by a managed Secret outside the target? (One request, when allowed.)
  if (base.revoke.some((t) => t.state === "live")) {
    const managed = await ports.kube.listManagedSecrets();
    if (managed === "forbidden") {
      ports.log.info("Note: RBAC does not allow listing Secrets cluster-wide; only token names decide what is revoked");
    } else {
      base = teardownPlan({ ...input, managed });
    }
  }
  // An entry in a namespace where the Secret is someone else's points at theirs: leave it.
  const saNamespaces = namespaces.filter(
    (ns) => !base.unmanaged.includes(ns) && !base.otherOwner.includes(ns) && !base.keepSecrets.includes(ns),
  );
  const serviceAccounts =
    config.serviceAccounts.length === 0
      ? null
      : serviceAccountChanges(state.serviceAccounts, saNamespaces, config.serviceAccounts, config.secretName).map(
          (c) => c.key,
        );
  const forbidden = await ports.kube.forbiddenSecretDeletes(base.deleteSecrets, config.secretName);
  // Without --yes the plan is the product: show it, with the grant it lacks, and exit 2 as documented.
  if (forbidden.length && !confirmed) base = { ...base, deleteForbidden: forbidden };
  else if (forbidden.length) {
    throw new KubeError(
      `checking the permission to delete Secret "${config.secretName}"`,
      "not allowed. Nothing was changed. revoke needs the verb delete on secrets (beside the rotation Role's get, create, patch): grant examples/rbac/role-revoke.yaml",
      forbidden,
    );
  }
  return { plan: { ...base, serviceAccounts }, namespaces, saNamespaces, accounts: state.serviceAccounts };
}

const SERVICE_ACCOUNT_ATTEMPTS = 5;

/** Writes the ServiceAccounts back without our entry; a 409 re-reads and retries (the list is atomic). */
async function removeFromServiceAccounts(config: Config, ports: TeardownPorts, seen: Inspection): Promise<string[]> {
  let accounts = seen.accounts;
  for (let attempt = 1; attempt <= SERVICE_ACCOUNT_ATTEMPTS; attempt++) {
    const changes = serviceAccountChanges(accounts, seen.saNamespaces, config.serviceAccounts, config.secretName);
    if (changes.length === 0) return [];
    if ((await ports.kube.replaceServiceAccounts(changes.map((c) => c.next))) === "ok")
      return changes.map((c) => c.key);
    accounts = (await ports.kube.readTarget(seen.namespaces, config.secretName, config.serviceAccounts))
      .serviceAccounts;
  }
  throw new Error(`the ServiceAccounts kept changing under us; gave up after ${SERVICE_ACCOUNT_ATTEMPTS} attempts`);
}

function otherOwnerProblems(p: TeardownPlan): string[] {
  return p.otherOwner.map((ns) =>
    p.otherOwnerRefs[ns] === STATIC_OWNER
      ? `The Secret in ${ns} holds static credentials; it was kept. Run revoke with that --username for it.`
      : `The Secret in ${ns} records a token of another GitLab owner (${p.otherOwnerRefs[ns] ?? "?"}); it was kept. Run revoke with that --project/--group for it.`,
  );
}

export async function teardown(
  config: Config,
  ports: TeardownPorts,
  opts: { confirm: boolean },
): Promise<TeardownReport> {
  const creds = config.credentials;
  // Static credentials: no GitLab owner, no call to GitLab.
  const owner = creds.kind === "static" ? null : await ports.gitlab.resolveOwner(creds.owner);
  const namespaces = await resolveNamespaces(config, ports.kube);
  const done = (plan: TeardownPlan, r: Partial<TeardownReport>): TeardownReport => ({
    ...plan,
    applied: false,
    revokedTokenIds: [],
    deletedSecrets: [],
    problems: otherOwnerProblems(plan),
    ...r,
  });

  if (!opts.confirm) {
    const read = await readTargetLease(ports.lock, { namespaces, secretName: config.secretName }, ports.kube);
    const { plan } = await inspect(config, ports, owner, namespaces, { ...read, fresh: false }, false);
    if (isEmptyPlan(plan)) return done(plan, {});
    throw new ConfirmationRequiredError(plan);
  }

  // Under the target's Lease, so a rotation cannot mint and apply behind our back.
  const lease = await acquireTargetLock(ports, { ...config, namespaces });
  // Every write from here on first checks the Lease is still ours (renewed in the background).
  const guard = guardWrites(ports, lease);
  ports = guard.ports;
  try {
    const seen = await inspect(
      config,
      ports,
      owner,
      namespaces,
      { lease: lease.current(), namespace: lease.lease.namespace, fresh: lease.fresh },
      true,
    );
    const { plan } = seen;
    const { log } = ports;
    const revoked: number[] = [];
    const problems = otherOwnerProblems(plan);
    for (const s of plan.spared) log.info(sparedMessage(s));
    // Not a failure: the Secret serves the target that wrote it last, which tears it down itself.
    for (const ns of plan.keepSecrets)
      log.warn(
        `Kept the Secret in ${ns}: it holds a token another target (or cluster) wrote there, and deleting it would stop pulls`,
      );
    // Static credentials list no token (plan.revoke is empty), so owner is set whenever this loop runs.
    for (const t of owner ? plan.revoke : []) {
      try {
        const outcome = await ports.gitlab.revokeDeployToken(owner!, t.id);
        revoked.push(t.id);
        log.info(
          outcome === "revoked" ? `Revoked deploy token ${t.id} (${t.why})` : `Deploy token ${t.id} was already gone`,
        );
      } catch (err) {
        problems.push(`Could not revoke deploy token ${t.id}: ${(err as Error).message}`);
      }
    }
    if (revoked.length < plan.revoke.length) {
      problems.push(`Kept the Secrets, which record the tokens still to revoke: re-run revoke --yes`);
      return guard.settle(done(plan, { applied: true, revokedTokenIds: revoked, problems }));
    }
    if (plan.serviceAccounts?.length) {
      try {
        const changed = await removeFromServiceAccounts(config, ports, seen);
        log.info(
          `Removed "${config.secretName}" from imagePullSecrets of ${changed.join(", ") || "no ServiceAccount"}`,
        );
      } catch (err) {
        problems.push(
          `Tokens revoked, but removing "${config.secretName}" from the ServiceAccounts failed (${(err as Error).message}); the Secrets were kept: re-run revoke --yes`,
        );
        return guard.settle(done(plan, { applied: true, revokedTokenIds: revoked, problems }));
      }
    }
    try {
      await ports.kube.deleteSecrets(plan.deleteSecrets, config.secretName);
      if (plan.deleteSecrets.length)
        log.info(`Deleted Secret "${config.secretName}" in ${plan.deleteSecrets.join(", ")}`);
    } catch (err) {
      problems.push(`Tokens revoked, but deleting the Secrets failed (${(err as Error).message}): re-run revoke --yes`);
      return guard.settle(done(plan, { applied: true, revokedTokenIds: revoked, problems }));
    }
    return guard.settle(
      done(plan, { applied: true, revokedTokenIds: revoked, deletedSecrets: plan.deleteSecrets, problems }),
    );
  } finally {
    try {
      await lease.release();
    } catch (err) {
      ports.log.warn(`Could not release the lock (${(err as Error).message}); it expires by itself`);
    }
  }
}

export function teardownLines(r: TeardownReport): string[] {
  const lines: string[] = [];
  const head = r.applied ? "Tore down" : "Would tear down";
  lines.push(
    `${head} Secret "${r.secretName}" ${r.owner ? `of ${r.owner.kind} ${r.owner.path}` : "holding static credentials"}:`,
  );
  const tokens = r.revoke.map((t) => `${t.id} (${t.why}, ${t.state})`).join(", ") || "none";
  lines.push(
    `  ${r.applied ? "revoked" : "revoke"} deploy tokens: ${r.applied ? r.revokedTokenIds.join(", ") || "none" : tokens}`,
  );
  if (r.alreadyGone.length) lines.push(`  already gone from GitLab: ${r.alreadyGone.join(", ")}`);
  lines.push(
    r.serviceAccounts === null
      ? "  ServiceAccounts: none named (pass rotate's --service-account to remove its entries)"
      : `  ServiceAccounts losing "${r.secretName}": ${r.serviceAccounts.join(", ") || "none"}`,
  );
  lines.push(
    `  ${r.applied ? "deleted" : "delete"} Secrets in: ${(r.applied ? r.deletedSecrets : r.deleteSecrets).join(", ") || "none"}`,
  );
  if (r.deleteForbidden?.length)
    lines.push(
      `  not allowed to delete the Secret (RBAC; grant examples/rbac/role-revoke.yaml): ${r.deleteForbidden.join(", ")}`,
    );
  if (r.unmanaged.length) lines.push(`  left alone (not managed by gitlab-pull-secret): ${r.unmanaged.join(", ")}`);
  if (r.keepSecrets.length)
    lines.push(`  left alone (another target's or cluster's token): ${r.keepSecrets.join(", ")}`);
  if (r.spared.length)
    lines.push(
      `  left alive (not this target's to revoke): ${r.spared.map((t) => `${t.id} (${t.why}${t.target ? ` ${t.target}` : ""})`).join(", ")}`,
    );
  if (!r.applied && isEmptyPlan(r)) lines.push("Nothing of this target is left to tear down.");
  return lines;
}

export function teardownJson(r: TeardownReport): Record<string, unknown> {
  return { command: "revoke", ...r };
}
