// Pure: what a run does with what it observed. rotate executes this decision,
// plan shows it, status takes its promises from it: one function, so the
// three cannot disagree. It composes the rules of plan.ts (due, keep/revoke,
// sweep), fill.ts (fill instead of rotating) and ownership.ts (which tokens
// this target may revoke).
//
// Some facts cost a request and matter only for some decisions (the fill's
// source Secret, the cluster-wide list of managed Secrets, the server's dry
// run of the writes). The decision names the ones it still lacks in `needs`;
// the observer (commands/observe.ts) reads them and asks again, so nothing
// is read that cannot change the outcome.
import type { RegistryCredentials } from "./dockerconfig.js";
import type { UnavailableNamespace } from "./errors.js";
import { rotationDecision } from "./fill.js";
import type { TargetRef } from "./naming.js";
import { assessOwnership, type Ownership } from "./ownership.js";
import { isLiveToken, referencedIds, revocationPlan, staticDue, sweepCandidates, type Held } from "./plan.js";
import type { ExistingSecret, ManagedSecretRef, ResolvedOwner, TokenView } from "./ports.js";
import { withPullSecret, type ServiceAccountState } from "./serviceaccounts.js";

/** The current token as one of our Secrets holds it (read to fill). */
export interface CurrentToken {
  source: ExistingSecret;
  creds: RegistryCredentials[];
}

/** What the Leases remember of the target (commands/target-memory.ts). */
export interface Recalled {
  target: TargetRef;
  /** Our Secrets in namespaces a selector's target wrote to and no longer selects. */
  departed: readonly ManagedSecretRef[];
  /** Why some holder of this target's tokens cannot be known: then none dies by its name alone. */
  unproven: string | undefined;
  /** Only tokens minted at or after this (ms) are swept by name. */
  sweepFrom: number;
}

export interface Observation {
  /** The GitLab owner; null with static credentials (--username). */
  owner: ResolvedOwner | null;
  /** The registry, then its aliases. */
  hosts: readonly string[];
  /** The namespaces the run is about (the list, the selector's matches, minus exclusions). */
  namespaces: readonly string[];
  /** Those that cannot take the Secret (missing or being deleted) and are left out. */
  skipped: readonly UnavailableNamespace[];
  /** The Secrets of the namespaces that can take one. */
  existing: readonly ExistingSecret[];
  /** The chosen ServiceAccounts of those namespaces. */
  accounts: readonly ServiceAccountState[];
  /** The server's dry run of the apply passed for every namespace that can take the Secret. */
  checked: boolean;
  /** The owner's deploy tokens (none with static credentials). */
  tokens: readonly TokenView[];
  /** undefined with static credentials. */
  recall: Recalled | undefined;
  /** The cluster-wide list of managed Secrets; undefined: not read. */
  managed: readonly ManagedSecretRef[] | "forbidden" | undefined;
  /** The fill's source as read; a string says why it cannot be copied; undefined: not read. */
  current: CurrentToken | string | undefined;
  /** Static credentials: the SHA-256 of the docker config this run would write. */
  staticSha256: string | undefined;
}

export interface Policy {
  secretName: string;
  tokenNamePrefix: string;
  rotateBeforeMs: number | undefined;
  force: boolean;
  keepPrevious: number;
  sweepGraceMs: number;
  /** The scopes a mint asks for (--scope); a current token with others is due. */
  scopes: readonly string[];
}

/** A fact the decision lacks, and that could change it. */
export type Need =
  | { kind: "fill-source"; namespace: string; tokenId: number }
  | { kind: "managed-secrets" }
  /** The server must still accept the writes to these namespaces (dry run) before anything changes. */
  | { kind: "dry-run"; namespaces: string[] };

export interface RotationDecision {
  /** rotate: mint (or, with static credentials, write them) everywhere; fill: copy the current token; none: leave the Secrets. */
  action: "rotate" | "fill" | "none";
  reason: string;
  /** The namespaces that can take the Secret: the listed ones minus the skipped. */
  namespaces: string[];
  fill: { namespaces: string[]; tokenId: number; source: string } | null;
  /** Tokens the Secrets hold now, this target's own. */
  current: number[];
  /** Previous tokens left alive (--keep-previous). */
  keep: number[];
  /** Tokens this run revokes: the previous ones after a mint, or those left pending by an earlier run. */
  revoke: number[];
  /** Orphans: this target's live tokens that nothing references, past the grace. */
  sweep: number[];
  /** Which tokens this target may revoke, and why the others are spared; null with static credentials. */
  ownership: Ownership | null;
  /** ServiceAccounts ("namespace/name") that lack the Secret in imagePullSecrets. */
  serviceAccounts: string[];
  /** Facts still to read before this decision is final; empty when it is. */
  needs: Need[];
}

export function decide(obs: Observation, policy: Policy, now: Date): RotationDecision {
  const gone = new Set(obs.skipped.map((s) => s.namespace));
  const namespaces = obs.namespaces.filter((ns) => !gone.has(ns));
  const serviceAccounts = obs.accounts
    .filter((sa) => withPullSecret(sa, policy.secretName) !== undefined)
    .map((sa) => `${sa.namespace}/${sa.name}`);
  const nothing = { fill: null, current: [], keep: [], revoke: [], sweep: [], ownership: null };
  const dryRun = (due: boolean, into: string[]): Need[] =>
    due && !obs.checked ? [{ kind: "dry-run", namespaces: into }] : [];

  if (obs.owner === null) {
    const due = staticDue({
      namespaces,
      existing: obs.existing,
      configSha256: obs.staticSha256 ?? "",
      force: policy.force,
    });
    return {
      ...nothing,
      action: due.due ? "rotate" : "none",
      reason: due.reason,
      namespaces,
      serviceAccounts,
      needs: dryRun(due.due, namespaces),
    };
  }

  const owner = obs.owner;
  const recall = obs.recall!;
  const { target } = recall;
  const liveIds = new Set(obs.tokens.filter((t) => isLiveToken(t, now)).map((t) => t.id));
  let made = rotationDecision({
    namespaces,
    existing: obs.existing,
    owner,
    hosts: obs.hosts,
    liveIds,
    now,
    rotateBeforeMs: policy.rotateBeforeMs,
    force: policy.force,
    tokens: obs.tokens,
    scopes: policy.scopes,
    prefix: policy.tokenNamePrefix,
    target,
  });
  if (made.action === "fill" && obs.current === undefined) {
    // Whether it is a fill at all depends on what the source holds: nothing else is worth deciding yet.
    return {
      ...nothing,
      action: "fill",
      reason: made.reason,
      namespaces,
      serviceAccounts,
      needs: [{ kind: "fill-source", namespace: made.source, tokenId: made.tokenId }],
    };
  }
  if (made.action === "fill" && typeof obs.current === "string")
    made = { action: "rotate", reason: `${obs.current}, so the namespaces without it cannot be filled` };
  const due = made.action === "rotate";
  const fill =
    made.action === "fill" ? { namespaces: made.namespaces, tokenId: made.tokenId, source: made.source } : null;

  const { ownership, couldDie } = ownershipOf(obs, owner, recall, policy, now, liveIds, due);
  const held = ownership.revocable;
  // Nothing our Secrets hold or record, nor anything a Secret elsewhere holds, is ever swept.
  const untouchable = new Set([...referencedIds(ownership.all), ...ownership.heldElsewhere]);
  let keep: number[];
  let revoke: number[];
  if (due) {
    ({ keep, revoke } = revocationPlan(held, 0, policy.keepPrevious, liveIds));
  } else {
    keep = held.kept;
    revoke = held.pending.filter((id) => liveIds.has(id));
  }
  const referenced = new Set([...untouchable].filter((id) => !revoke.includes(id)));
  const sweep = sweepCandidates({
    tokens: obs.tokens,
    prefix: policy.tokenNamePrefix,
    target,
    referenced,
    now,
    graceMs: policy.sweepGraceMs,
    mintedFrom: recall.sweepFrom,
  })
    .map((t) => t.id)
    .filter((id) => !revoke.includes(id));

  return {
    action: made.action,
    reason: made.reason,
    namespaces,
    fill,
    current: held.current,
    keep,
    revoke,
    sweep,
    ownership,
    serviceAccounts,
    needs: [
      ...(couldDie ? [{ kind: "managed-secrets" } as const] : []),
      ...dryRun(due, namespaces),
      ...dryRun(fill !== null, fill?.namespaces ?? []),
    ],
  };
}

/**
 * Which tokens this target may revoke. The cluster-wide list of managed
 * Secrets costs a request, so it is asked for only when some live token could
 * die; refused ("forbidden"), the run goes by the token names alone, and a
 * holder it cannot know spares every token instead (withUnproven).
 */
function ownershipOf(
  obs: Observation,
  owner: ResolvedOwner,
  recall: Recalled,
  policy: Policy,
  now: Date,
  liveIds: ReadonlySet<number>,
  due: boolean,
): { ownership: Ownership; couldDie: boolean } {
  const input = {
    existing: obs.existing,
    owner,
    tokens: obs.tokens,
    prefix: policy.tokenNamePrefix,
    target: recall.target,
    namespaces: obs.namespaces,
  };
  // The cluster-wide list sees every holder: nothing is left unproven.
  if (Array.isArray(obs.managed))
    return { ownership: assessOwnership({ ...input, managed: obs.managed }), couldDie: false };
  const plain = assessOwnership({ ...input, managed: recall.departed.length ? recall.departed : undefined });
  const alone = withUnproven(plain, recall.unproven);
  if (obs.managed === "forbidden") return { ownership: alone, couldDie: false };
  // What could die if the list proved it: without the list, nothing unproven does.
  const r = plain.revocable;
  const sweepable = sweepCandidates({
    tokens: obs.tokens,
    prefix: policy.tokenNamePrefix,
    target: recall.target,
    referenced: referencedIds(alone.all),
    now,
    graceMs: policy.sweepGraceMs,
  });
  const dying = due ? [...r.current, ...r.kept, ...r.pending] : r.pending;
  return { ownership: alone, couldDie: dying.some((id) => liveIds.has(id)) || sweepable.length > 0 };
}

/** With a holder unknown, every token this target would revoke is spared instead, saying why. */
export function withUnproven(own: Ownership, why: string | undefined): Ownership {
  if (!why) return own;
  const r = own.revocable;
  const ids = [...new Set([...r.current, ...r.kept, ...r.pending])];
  const spared = ids.map((id) => ({
    id,
    name: "",
    why: "unrecorded" as const,
    reason: why,
    namespaces: [] as string[],
  }));
  const none: Held = { current: [], kept: [], pending: [] };
  return { ...own, revocable: none, spared: [...own.spared, ...spared].sort((a, b) => b.id - a.id) };
}

/** The line every run says what it decided with (static credentials are applied, not rotated). */
export function decisionLine(decision: RotationDecision, staticCredentials: boolean): string {
  if (decision.action === "none") return `Nothing to do: ${decision.reason}`;
  const fill = decision.fill;
  if (fill)
    return `Filling ${fill.namespaces.join(", ")} with deploy token ${fill.tokenId}, no rotation due: ${decision.reason}`;
  return `${staticCredentials ? "Applying" : "Rotating"}: ${decision.reason}`;
}
