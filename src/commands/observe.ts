// Observe: everything a rotation's decision rests on, read through readers
// only. rotate observes under the target's lock, plan and a dry run without
// it; both get the same facts, so both get the same decision (model/decide.ts).
// The checks that need a person stop the run here, before anything changes:
// an unmanaged Secret, one of another type, a namespace that cannot take the
// Secret (--missing-namespace fail), a ServiceAccount that does not exist.
import { checkRotateAccess } from "./apitoken.js";
import { checkApply, readChecked } from "./read-target.js";
import type { Config } from "../config/inputs.js";
import { decide, type Observation, type Policy } from "../model/decide.js";
import { credentialsFor, payloadSha256, pullSecretPayload, registryHosts, secretForms } from "../model/dockerconfig.js";
import { isLiveToken } from "../model/plan.js";
import type { Readers } from "../model/ports.js";
import { readCurrent } from "./fill.js";
import { registryHost, resolveNamespaces } from "./rotate-scope.js";
import { staticLogin, staticSummary } from "./static.js";
import { recallForRun } from "./target-memory.js";
import { readTargetLease } from "./lock.js";
import { announceOwnership } from "./rotate-ownership.js";
import type { LeaseInHand, Observed, Subject } from "./observed.js";

export type { LeaseInHand, Observed, Subject } from "./observed.js";
import type { UnavailableNamespace } from "../model/errors.js";

export function policyOf(config: Config): Policy {
  return {
    secretName: config.secretName,
    tokenNamePrefix: config.tokenNamePrefix,
    rotateBeforeMs: config.rotateBeforeMs,
    force: config.force,
    keepPrevious: config.keepPrevious,
    sweepGraceMs: config.sweepGraceMs,
    scopes: config.scopes,
  };
}

/** The owner (and whether the API token can mint there), the registry and the namespaces. */
export async function observeSubject(config: Config, readers: Readers): Promise<Subject> {
  const { gitlab, log } = readers;
  if (config.credentials.kind === "static") {
    // No GitLab call at all: the registry was given, the credentials too.
    const hosts = registryHosts(config.registry!, config.registryAliases);
    log.info(staticSummary(config.credentials.username, hosts));
    return { owner: null, hosts, namespaces: await resolveNamespaces(config, readers.kube), apiToken: undefined };
  }
  const owner = await gitlab.resolveOwner(config.credentials.owner);
  const hosts = registryHosts(registryHost(config, owner), config.registryAliases);
  log.info(`Owner: ${owner.kind} ${owner.path} (id ${owner.id}); registry ${hosts.join(", ")}`);
  const apiToken = await checkRotateAccess(gitlab, owner, readers.clock.now(), log);
  return { owner, hosts, namespaces: await resolveNamespaces(config, readers.kube), apiToken };
}

/**
 * The target as the cluster and GitLab hold it, read until the decision on it
 * is final: each fact the decision says it lacks is read, and it is asked again.
 */
export async function observeTarget(
  config: Config,
  subject: Subject,
  readers: Readers,
  hand: LeaseInHand,
  now: Date,
  /** Namespaces that do not exist yet and --create-namespace would create (a dry run): nothing to read there. */
  absent: readonly string[] = [],
): Promise<Observed> {
  const { owner, hosts } = subject;
  const listed = { ...config, namespaces: subject.namespaces };
  const read = await readChecked(listed, readers, hosts, absent);
  const work = read.config;
  const tokens = owner ? await readers.gitlab.listDeployTokens(owner) : [];
  // The configured target, never the namespaces that happen to exist: tokens stay attributed (and
  // swept) the same when a namespace is deleted. Its cluster is what the Leases remember.
  const recall = owner
    ? await recallForRun(listed, readers, {
        owner,
        hand,
        existing: read.existing,
        live: tokens.filter((t) => isLiveToken(t, now)),
        now,
      })
    : undefined;
  let observation: Observation = {
    owner,
    hosts,
    namespaces: subject.namespaces,
    skipped: read.skipped,
    existing: read.existing,
    accounts: read.accounts,
    checked: read.checked,
    tokens,
    recall,
    managed: undefined,
    current: undefined,
    staticSha256: owner ? undefined : staticSha256(config, hosts, readers),
  };
  const policy = policyOf(config);
  for (;;) {
    const decision = decide(observation, policy, now);
    if (decision.needs.length === 0) {
      return { observation, decision, work, toCreate: missingKept(read.unavailable, work), recall };
    }
    // The facts asked for are independent reads (each seconds of kubectl on a large fleet): side by side.
    const facts = await Promise.all(
      decision.needs.map(async (need): Promise<Partial<Observation>> => {
        switch (need.kind) {
          case "fill-source":
            return { current: await readCurrent(config, readers, hosts, need) };
          case "managed-secrets":
            return { managed: await listManaged(readers) };
          case "dry-run": {
            // A namespace a dry run of --create-namespace only pretends to make cannot take a dry-run Secret yet.
            const there = need.namespaces.filter((ns) => !absent.includes(ns));
            if (there.length) await checkApply({ ...config, namespaces: there }, readers, hosts);
            return { checked: true };
          }
        }
      }),
    );
    observation = Object.assign({ ...observation }, ...facts);
  }
}

/**
 * A run that takes no lock (a dry run, plan): the Lease is only read, where
 * rotate would take it; namespaces --create-namespace would make are only
 * asked about (the server's dry run), and nothing is read in them.
 */
export async function observeUnlocked(
  config: Config,
  subject: Subject,
  readers: Readers,
  now: Date,
): Promise<Observed> {
  const target = { ...config, namespaces: subject.namespaces };
  const absent = config.createNamespace ? await readers.kube.dryRunNamespaces(subject.namespaces) : [];
  const read = subject.owner ? await readTargetLease(readers.lock, target, readers.kube, absent) : undefined;
  const hand = { lease: read?.lease, namespace: read?.namespace, fresh: false };
  const seen = await observeTarget(config, subject, readers, hand, now, absent);
  announceOwnership(config, readers.log, seen);
  return seen;
}

async function listManaged(readers: Readers): Promise<Observation["managed"]> {
  const managed = await readers.kube.listManagedSecrets();
  if (managed === "forbidden") {
    readers.log.info(
      "Note: RBAC does not allow listing Secrets cluster-wide, so this run cannot see Secrets outside its namespaces; " +
        "it revokes only tokens whose name proves they were minted for this target",
    );
  }
  return managed;
}

/** Static credentials: every form registered before anything could print one; the digest of what would be written. */
function staticSha256(config: Config, hosts: readonly string[], readers: Pick<Readers, "log">): string {
  const { username, password } = staticLogin(config);
  const creds = credentialsFor(hosts, username, password);
  for (const form of secretForms(creds)) readers.log.secret(form);
  return payloadSha256(pullSecretPayload(config.secretType, creds));
}

function missingKept(unavailable: readonly UnavailableNamespace[], work: Config): string[] {
  return unavailable
    .filter((u) => u.reason === "missing" && work.namespaces.includes(u.namespace))
    .map((u) => u.namespace);
}
