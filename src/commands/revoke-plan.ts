// Pure: what a teardown would do (the plan and the report's shape), and the
// error that shows the plan when --yes is missing. No port is touched here.
import { ExitCode, GpsError } from "../model/errors.js";
import { Annotations, ownerRef as ownerRefOf } from "../model/naming.js";
import { isLiveToken, isManaged, namedForTarget } from "../model/plan.js";
import { assessOwnership, type Spared } from "../model/ownership.js";
import type { ExistingSecret, ManagedSecretRef, ResolvedOwner, DeployTokenInfo } from "../model/ports.js";
import { selectServiceAccounts, withoutPullSecret, type ServiceAccountState } from "../model/serviceaccounts.js";
import type { TargetRef } from "./target.js";

export interface TeardownToken {
  id: number;
  name: string;
  state: "live" | "expired" | "revoked";
  /** Why it is ours: a Secret holds / keeps / left it pending, or its name is this target's. */
  why: "current" | "kept" | "pending" | "named";
}

export interface TeardownPlan {
  secretName: string;
  /** null with static credentials (--username). */
  owner: { kind: string; id: number; path: string } | null;
  /** Namespaces whose Secret is ours and goes. */
  deleteSecrets: string[];
  /** Namespaces whose Secret is not ours: never touched. */
  unmanaged: string[];
  /** Namespaces whose Secret of ours records another owner's token (or static credentials, or a token when static): kept, since this owner cannot revoke it. */
  otherOwner: string[];
  /** What each of those Secrets records: "project/42", "group/7" or "static". */
  otherOwnerRefs: Record<string, string>;
  revoke: TeardownToken[];
  /** Token ids the Secrets record that GitLab no longer lists. */
  alreadyGone: number[];
  /** Tokens the Secrets hold or record that are not this target's to revoke (another target's, another cluster's, held elsewhere): left alive. */
  spared: Spared[];
  /** Namespaces whose Secret holds a token of another target or cluster: kept, since deleting it would stop pulls there. */
  keepSecrets: string[];
  /** ServiceAccounts (namespace/name) losing our entry; null when no --service-account was given. */
  serviceAccounts: string[] | null;
  /** Namespaces where RBAC would refuse deleting the Secret (the access reviews said no): revoke --yes stops there. */
  deleteForbidden?: string[];
}

export interface TeardownReport extends TeardownPlan {
  /** false: --yes was not given, nothing changed. */
  applied: boolean;
  revokedTokenIds: number[];
  deletedSecrets: string[];
  problems: string[];
}

/** revoke without --yes, when there is something to tear down. */
export class ConfirmationRequiredError extends GpsError {
  readonly exitCode = ExitCode.usage;
  constructor(readonly plan: TeardownPlan) {
    super(
      plan.deleteForbidden?.length
        ? `--yes: required to revoke; nothing was changed. It would ${intentText(plan)}, but RBAC does not allow deleting the Secret in ` +
            `${plan.deleteForbidden.join(", ")}: grant examples/rbac/role-revoke.yaml (delete on secrets) there first, then re-run with --yes.`
        : `--yes: required to revoke; nothing was changed. It would ${intentText(plan)}. Re-run with --yes to do it.`,
    );
  }
}

function intentText(p: TeardownPlan): string {
  const parts = [
    p.revoke.length ? `revoke deploy token(s) ${p.revoke.map((t) => t.id).join(", ")}` : undefined,
    p.serviceAccounts?.length
      ? `remove "${p.secretName}" from ServiceAccount(s) ${p.serviceAccounts.join(", ")}`
      : undefined,
    p.deleteSecrets.length ? `delete Secret "${p.secretName}" in ${p.deleteSecrets.join(", ")}` : undefined,
  ].filter((x): x is string => x !== undefined);
  return parts.join(", ") || "do nothing";
}

export function isEmptyPlan(p: TeardownPlan): boolean {
  return p.revoke.length === 0 && p.deleteSecrets.length === 0 && !p.serviceAccounts?.length;
}

/** Pure: which Secrets go, which stay, which tokens are ours to revoke. */
export function teardownPlan(args: {
  /** null: static credentials (no tokens; args.tokens is empty). */
  owner: ResolvedOwner | null;
  secretName: string;
  /** The target rotate named the tokens for (target.ts). */
  target: TargetRef;
  namespaces: readonly string[];
  prefix: string;
  existing: readonly ExistingSecret[];
  tokens: readonly DeployTokenInfo[];
  now: Date;
  /** The cluster-wide list of managed Secrets, when read and allowed. */
  managed?: readonly ManagedSecretRef[];
}): Omit<TeardownPlan, "serviceAccounts"> {
  const { owner, existing, target } = args;
  const ownerRef = ownerRefOf(owner);
  const managed = existing.filter(isManaged);
  const ours = managed.filter((s) => s.annotations[Annotations.owner] === ownerRef);
  const own = owner
    ? assessOwnership({
        existing,
        owner,
        tokens: args.tokens,
        prefix: args.prefix,
        target,
        namespaces: args.namespaces,
        managed: args.managed,
      })
    : undefined;
  const held = own?.all ?? { current: [], kept: [], pending: [] };
  const mine = own?.revocable ?? held;
  const why = (t: DeployTokenInfo): TeardownToken["why"] | undefined =>
    mine.current.includes(t.id)
      ? "current"
      : mine.kept.includes(t.id)
        ? "kept"
        : mine.pending.includes(t.id)
          ? "pending"
          : namedForTarget(args.prefix, target, t.name) &&
              !own?.heldElsewhere.has(t.id) &&
              !own?.spared.some((s) => s.id === t.id)
            ? "named"
            : undefined;
  const listed = new Set(args.tokens.map((t) => t.id));
  const revoke: TeardownToken[] = [];
  for (const t of args.tokens) {
    const w = why(t);
    // Expired and revoked ones too: teardown leaves nothing of ours listed.
    if (w)
      revoke.push({
        id: t.id,
        name: t.name,
        state: t.revoked ? "revoked" : isLiveToken(t, args.now) ? "live" : "expired",
        why: w,
      });
  }
  // A Secret whose token is another target's or cluster's still serves them: deleting it would stop pulls there.
  const foreignCurrent = new Set((own?.spared ?? []).filter((s) => s.why !== "held-elsewhere").map((s) => s.id));
  const keepSecrets = ours
    .filter((s) => foreignCurrent.has(Number(s.annotations[Annotations.tokenId])))
    .map((s) => s.namespace);
  const others = managed.filter((s) => s.annotations[Annotations.owner] !== ownerRef);
  return {
    secretName: args.secretName,
    owner: owner ? { kind: owner.kind, id: owner.id, path: owner.path } : null,
    deleteSecrets: ours.map((s) => s.namespace).filter((ns) => !keepSecrets.includes(ns)),
    unmanaged: existing.filter((s) => !isManaged(s)).map((s) => s.namespace),
    otherOwner: others.map((s) => s.namespace),
    otherOwnerRefs: Object.fromEntries(others.map((s) => [s.namespace, s.annotations[Annotations.owner] ?? "?"])),
    revoke: revoke.sort((a, b) => b.id - a.id),
    alreadyGone: [...held.current, ...held.kept, ...held.pending].filter((id) => !listed.has(id)),
    spared: own?.spared ?? [],
    keepSecrets,
  };
}

/** Pure: the named ServiceAccounts that list our Secret, and each without it. */
export function serviceAccountChanges(
  accounts: readonly ServiceAccountState[],
  namespaces: readonly string[],
  names: readonly string[],
  secretName: string,
): Array<{ key: string; next: Record<string, unknown> }> {
  return selectServiceAccounts(accounts, namespaces, names).flatMap((sa) => {
    const next = withoutPullSecret(sa, secretName);
    return next ? [{ key: `${sa.namespace}/${sa.name}`, next }] : [];
  });
}
