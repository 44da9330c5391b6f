// plan: what `rotate` would do with the same options, changing nothing. It
// runs rotate itself as a dry run, so the plan passes every check a rotation
// makes first (owner, registry, an unmanaged Secret, the API server's dry run
// of the apply), while watching what the ports returned; then it states the
// decisions the pure rules of plan.ts take on exactly those inputs.
//
// The ports it hands rotate refuse every mutation (mint, revoke, Lease, a
// real apply), so "no change" does not rest on rotate's dry-run branch alone.
import { expiryDateFor } from "../config/duration.js";
import type { Config } from "../config/inputs.js";
import { payloadSha256, pullSecretPayload } from "../model/dockerconfig.js";
import { isLiveToken, referencedIds, revocationPlan, staticDue, sweepCandidates, type Due } from "../model/plan.js";
import { rotationDecision, type Decision } from "../model/fill.js";
import type {
  KubePort,
  ManagedSecretRef,
  ResolvedOwner,
  TargetState,
  LockPort,
  TokenView,
  Ports,
} from "../model/ports.js";
import { assessOwnership, type Overlap, type Spared } from "../model/ownership.js";
import type { TargetRef } from "../model/naming.js";
import { withUnproven } from "./rotate-ownership.js";
import type { TargetRecall } from "./target-memory.js";
import { rotate } from "./rotate.js";
import { selectServiceAccounts, withPullSecret } from "../model/serviceaccounts.js";

import { staticCredentials } from "./static.js";
import { targetOf } from "./target.js";
import { KubeError, type NamespaceLifecycle, type UnavailableNamespace } from "../model/errors.js";

/** skip: the namespace does not exist or is being deleted (see reason); rotate leaves it out and exits 1. */
/** fill: the namespace lacks the Secret and gets the current token; nothing is minted (model/fill.ts). */
export type NamespaceAction = "create" | "update" | "unchanged" | "skip" | "fill";

export interface PlannedToken {
  id: number;
  name: string;
  expiresAt: string | null;
}

export interface RotationPlan {
  secretName: string;
  /** null with static credentials (--username). */
  owner: { kind: string; id: number; path: string } | null;
  static: { username: string } | null;
  registry: string;
  registryAliases: string[];
  /** Whether rotate would mint and apply, and why (rotationDue's reason). */
  due: boolean;
  reason: string;
  /**
   * createNamespace: the namespace does not exist and rotate would create it
   * (--create-namespace); the Secret's own server check runs only then.
   */
  namespaces: Array<{
    namespace: string;
    action: NamespaceAction;
    reason?: NamespaceLifecycle;
    createNamespace?: true;
  }>;
  /** ServiceAccounts (namespace/name) rotate would add the Secret to. */
  serviceAccounts: string[];
  /** Nothing due: the namespaces without the Secret would get the current token, this one; null otherwise. */
  fill: { tokenId: number; namespaces: string[] } | null;
  /** The token rotate would mint; null when nothing is due. */
  mint: { namePattern: string; expiresAt: string; scopes: ["read_registry"] } | null;
  /** Token ids the Secrets hold now. */
  current: number[];
  keep: PlannedToken[];
  revoke: PlannedToken[];
  sweep: PlannedToken[];
  /** Tokens the Secrets hold or record that rotate would leave alive: another target's, another cluster's, or held elsewhere. */
  spared: Spared[];
  /** Namespaces whose Secret another target wrote last. */
  overlaps: Overlap[];
  /** This run's target. */
  target: TargetRef;
  /** Whether the cluster-wide list of managed Secrets was read (null: not needed, nothing could die). */
  clusterWide: boolean | null;
}

/** How rotate names the token it mints (naming.ts tokenName), with the per-run parts left open. */
export function tokenNamePattern(prefix: string, target: string): string {
  return `${prefix}/${target}/<UTC timestamp>-<nonce>`;
}

/** Pure: rotate's decisions on these inputs, as a plan. */
export function buildPlan(args: {
  /** With the namespaces rotate resolved (list, selector, exclusions). */
  config: Config;
  /** null with static credentials. */
  owner: ResolvedOwner | null;
  /** The registry, then its aliases. */
  hosts: readonly string[];
  state: TargetState;
  tokens: readonly TokenView[];
  now: Date;
  /** What rotate's dry run recalled of the target (its cluster, departed namespaces); absent with static credentials. */
  recall?: TargetRecall | undefined;
  /** What the cluster-wide list of managed Secrets returned, if rotate read it. */
  managed?: readonly ManagedSecretRef[] | "forbidden" | undefined;
  /** Listed namespaces rotate would skip (missing or being deleted). */
  skipped?: readonly UnavailableNamespace[];
  /** Why rotate's dry run rotated where the Secrets' records said fill (the source Secret did not hold what it records). */
  fillRefused?: string | undefined;
  /** Listed namespaces that do not exist, which rotate would create (--create-namespace). */
  toCreate?: readonly string[];
}): RotationPlan {
  const { owner, tokens, now, hosts } = args;
  const skipped = args.skipped ?? [];
  const existing = args.state.secrets;
  // The target is the configured one; the decisions are about the namespaces that can take the Secret.
  const target = args.recall?.target ?? targetOf(args.config, args.config.namespaces, undefined);
  const config = {
    ...args.config,
    namespaces: args.config.namespaces.filter((ns) => !skipped.some((s) => s.namespace === ns)),
  };
  const departed = args.recall?.departed ?? [];
  const listed = Array.isArray(args.managed);
  const assessed = owner
    ? assessOwnership({
        existing,
        owner,
        tokens,
        prefix: config.tokenNamePrefix,
        target,
        namespaces: args.config.namespaces,
        managed: listed ? (args.managed as ManagedSecretRef[]) : departed.length ? departed : undefined,
      })
    : undefined;
  // As rotate: an unknown holder spares every token, unless the cluster-wide list saw them all.
  const own = assessed && !listed ? withUnproven(assessed, args.recall?.unproven) : assessed;
  const held = own?.revocable ?? { current: [], kept: [], pending: [] };
  const liveIds = new Set(tokens.filter((t) => isLiveToken(t, now)).map((t) => t.id));
  let decision: Decision | undefined = owner
    ? rotationDecision({
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
      })
    : undefined;
  if (decision?.action === "fill" && args.fillRefused !== undefined)
    decision = { action: "rotate", reason: args.fillRefused };
  const fill = decision?.action === "fill" ? { tokenId: decision.tokenId, namespaces: decision.namespaces } : null;
  const due: Due = decision
    ? { due: decision.action === "rotate", reason: decision.reason }
    : staticDue({
        namespaces: config.namespaces,
        existing,
        configSha256: payloadSha256(pullSecretPayload(config.secretType, staticCredentials(config))),
        force: config.force,
      });
  const byId = new Map(tokens.map((t) => [t.id, t]));
  const view = (id: number): PlannedToken => ({
    id,
    name: byId.get(id)?.name ?? "?",
    expiresAt: byId.get(id)?.expiresAt ?? null,
  });
  const present = new Set(existing.map((s) => s.namespace));

  // The same sets rotate computes: after a mint (due), or the leftovers it
  // clears on a run with nothing due.
  let keep: number[];
  let revoke: number[];
  let referenced: Set<number>;
  if (!owner) {
    // Static credentials: nothing is minted, kept, revoked or swept.
    keep = [];
    revoke = [];
    referenced = new Set();
  } else if (due.due) {
    const plan = revocationPlan(held, 0, config.keepPrevious, liveIds);
    keep = plan.keep;
    revoke = plan.revoke;
    referenced = new Set([...referencedIds(own!.all), ...own!.heldElsewhere]);
  } else {
    keep = held.kept;
    revoke = held.pending.filter((id) => liveIds.has(id));
    referenced = new Set([...referencedIds(own!.all), ...own!.heldElsewhere].filter((id) => !revoke.includes(id)));
  }
  const mintedFrom = args.recall?.sweepFrom ?? 0;
  const sweep = (
    owner
      ? sweepCandidates({
          tokens,
          prefix: config.tokenNamePrefix,
          target,
          referenced,
          now,
          graceMs: config.sweepGraceMs,
          mintedFrom,
        })
      : []
  )
    .map((t) => t.id)
    .filter((id) => !revoke.includes(id));

  return {
    secretName: config.secretName,
    owner: owner ? { kind: owner.kind, id: owner.id, path: owner.path } : null,
    static: config.credentials.kind === "static" ? { username: config.credentials.username } : null,
    registry: hosts[0]!,
    registryAliases: hosts.slice(1),
    due: due.due,
    reason: due.reason,
    namespaces: args.config.namespaces.map((namespace) => {
      const skip = skipped.find((s) => s.namespace === namespace);
      if (skip) return { namespace, action: "skip" as const, reason: skip.reason };
      if (fill?.namespaces.includes(namespace)) return { namespace, action: "fill" as const };
      const action = !due.due
        ? ("unchanged" as const)
        : present.has(namespace)
          ? ("update" as const)
          : ("create" as const);
      return { namespace, action, ...(args.toCreate?.includes(namespace) ? { createNamespace: true as const } : {}) };
    }),
    fill,
    serviceAccounts: selectServiceAccounts(args.state.serviceAccounts, config.namespaces, config.serviceAccounts)
      .filter((sa) => withPullSecret(sa, config.secretName) !== undefined)
      .map((sa) => `${sa.namespace}/${sa.name}`),
    mint:
      due.due && owner
        ? {
            namePattern: tokenNamePattern(
              config.tokenNamePrefix,
              target.id ?? `cluster-<uid of the Lease the first run creates>/${target.secretName}/${target.set}`,
            ),
            expiresAt: expiryDateFor(now, config.expiresInMs),
            scopes: ["read_registry"],
          }
        : null,
    current: held.current,
    keep: keep.map(view),
    revoke: revoke.map(view),
    sweep: sweep.map(view),
    spared: own?.spared ?? [],
    overlaps: own?.overlaps ?? [],
    target,
    clusterWide: args.managed === undefined ? null : args.managed !== "forbidden",
  };
}

function refuse(what: string): never {
  throw new Error(`plan must not ${what}`);
}

/** Runs rotate as a dry run through ports that only read, and returns its plan. */
export async function planRotation(config: Config, ports: Ports): Promise<RotationPlan> {
  // One instant for rotate's decision and ours, so both see the same expiries.
  const now = ports.clock.now();
  const seen: {
    owner?: ResolvedOwner;
    namespaces?: string[];
    state?: TargetState;
    tokens?: TokenView[];
    managed?: ManagedSecretRef[] | "forbidden";
  } = {};
  // Namespaces the API server said do not exist, as rotate's own checks asked it (no request of plan's own).
  const missing = new Set<string>();
  const kube: KubePort = {
    ...ports.kube,
    async listManagedSecrets() {
      return (seen.managed = await ports.kube.listManagedSecrets());
    },
    async readTarget(namespaces, secretName, serviceAccounts) {
      seen.namespaces = [...namespaces];
      return (seen.state = await ports.kube.readTarget(namespaces, secretName, serviceAccounts));
    },
    applySecrets: async () => refuse("write Secrets"),
    async dryRunSecrets(list, opts) {
      try {
        return await ports.kube.dryRunSecrets(list, opts);
      } catch (err) {
        for (const ns of err instanceof KubeError ? (err.refusals?.missing ?? []) : []) missing.add(ns);
        throw err;
      }
    },
    async namespaceStates(names: readonly string[]) {
      const states = await ports.kube.namespaceStates(names);
      for (const [ns, state] of states) if (state === "missing") missing.add(ns);
      return states;
    },
    replaceServiceAccounts: async () => refuse("write ServiceAccounts"),
    // --create-namespace: the API server's dry run of the creation only.
    applyNamespaces: async () => refuse("create namespaces"),
    dryRunNamespaces: (names) => ports.kube.dryRunNamespaces(names),
    deleteSecrets: async () => refuse("delete Secrets"),
  };
  const lock: LockPort = {
    readLease: (namespace, name) => ports.lock.readLease(namespace, name),
    readLeases: (namespaces, name) => ports.lock.readLeases(namespaces, name),
    renewLease: async () => refuse("renew a Lease"),
    createLease: async () => refuse("take a Lease"),
    claimLease: async () => refuse("take a Lease"),
    releaseLease: async () => refuse("release a Lease"),
  };
  const observed: Ports = {
    ...ports,
    clock: { now: () => now },
    gitlab: {
      async resolveOwner(o) {
        return (seen.owner = await ports.gitlab.resolveOwner(o));
      },
      async listDeployTokens(o) {
        return (seen.tokens = await ports.gitlab.listDeployTokens(o));
      },
      // Read-only, so plan warns about the API token's expiry as rotate would.
      apiTokenSelf: () => ports.gitlab.apiTokenSelf(),
      // Read-only too: plan refuses a token rotate cannot use (scope, role), as rotate would.
      callerAccess: (o: ResolvedOwner) => ports.gitlab.callerAccess(o),
      createDeployToken: async () => refuse("mint a token"),
      revokeDeployToken: async () => refuse("revoke a token"),
    },
    kube,
    lock,
  };
  const report = await rotate({ ...config, dryRun: true }, observed);
  return buildPlan({
    config: { ...config, namespaces: seen.namespaces ?? report.namespaces },
    // Static credentials resolve no owner (and make no GitLab call at all).
    owner: seen.owner ?? null,
    hosts: [report.registry, ...report.registryAliases],
    state: seen.state ?? { secrets: [], serviceAccounts: [] },
    tokens: seen.tokens ?? [],
    now,
    recall: report.recall,
    managed: seen.managed,
    skipped: report.skipped,
    fillRefused: report.filled ? undefined : report.reason,
    toCreate: config.createNamespace ? (seen.namespaces ?? []).filter((ns) => missing.has(ns)) : [],
  });
}
