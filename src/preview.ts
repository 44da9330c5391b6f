// plan: what `rotate` would do with the same options, changing nothing. It
// runs rotate itself as a dry run, so the plan passes every check a rotation
// makes first (owner, registry, an unmanaged Secret, the API server's dry run
// of the apply), while watching what the ports returned; then it states the
// decisions the pure rules of plan.ts take on exactly those inputs.
//
// The ports it hands rotate refuse every mutation (mint, revoke, Lease, a
// real apply), so "no change" does not rest on rotate's dry-run branch alone.
import { expiryDateFor } from "./duration.js";
import type { Config } from "./inputs.js";
import type { LockPort } from "./lock.js";
import { payloadSha256, pullSecretPayload } from "./dockerconfig.js";
import { heldTokens, isLiveToken, referencedIds, revocationPlan, rotationDue, staticDue, sweepCandidates, type Due, type TokenView } from "./plan.js";
import type { KubePort, ResolvedOwner, TargetState } from "./ports.js";
import { rotate, type Ports } from "./rotate.js";
import { selectServiceAccounts, withPullSecret } from "./serviceaccounts.js";
import { staticCredentials } from "./static.js";
import { targetOf } from "./target.js";

export type NamespaceAction = "create" | "update" | "unchanged";

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
  namespaces: Array<{ namespace: string; action: NamespaceAction }>;
  /** ServiceAccounts (namespace/name) rotate would add the Secret to. */
  serviceAccounts: string[];
  /** The token rotate would mint; null when nothing is due. */
  mint: { namePattern: string; expiresAt: string; scopes: ["read_registry"] } | null;
  /** Token ids the Secrets hold now. */
  current: number[];
  keep: PlannedToken[];
  revoke: PlannedToken[];
  sweep: PlannedToken[];
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
}): RotationPlan {
  const { config, owner, tokens, now, hosts } = args;
  const existing = args.state.secrets;
  const target = targetOf(config, config.namespaces);
  const held = heldTokens(existing, owner);
  const liveIds = new Set(tokens.filter((t) => isLiveToken(t, now)).map((t) => t.id));
  const due: Due = owner
    ? rotationDue({ namespaces: config.namespaces, existing, owner, hosts, liveIds, now, rotateBeforeMs: config.rotateBeforeMs, force: config.force })
    : staticDue({
        namespaces: config.namespaces,
        existing,
        configSha256: payloadSha256(pullSecretPayload(config.secretType, staticCredentials(config))),
        force: config.force,
      });
  const byId = new Map(tokens.map((t) => [t.id, t]));
  const view = (id: number): PlannedToken => ({ id, name: byId.get(id)?.name ?? "?", expiresAt: byId.get(id)?.expiresAt ?? null });
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
    referenced = new Set([...plan.keep, ...plan.revoke]);
  } else {
    keep = held.kept;
    revoke = held.pending.filter((id) => liveIds.has(id));
    referenced = referencedIds({ ...held, pending: [] });
  }
  const sweep = (owner ? sweepCandidates({ tokens, prefix: config.tokenNamePrefix, target, referenced, now, graceMs: config.sweepGraceMs }) : [])
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
    namespaces: config.namespaces.map((namespace) => ({
      namespace,
      action: !due.due ? "unchanged" : present.has(namespace) ? "update" : "create",
    })),
    serviceAccounts: selectServiceAccounts(args.state.serviceAccounts, config.namespaces, config.serviceAccounts)
      .filter((sa) => withPullSecret(sa, config.secretName) !== undefined)
      .map((sa) => `${sa.namespace}/${sa.name}`),
    mint: due.due && owner
      ? { namePattern: tokenNamePattern(config.tokenNamePrefix, target), expiresAt: expiryDateFor(now, config.expiresInMs), scopes: ["read_registry"] }
      : null,
    current: held.current,
    keep: keep.map(view),
    revoke: revoke.map(view),
    sweep: sweep.map(view),
  };
}

function refuse(what: string): never {
  throw new Error(`plan must not ${what}`);
}

/** Runs rotate as a dry run through ports that only read, and returns its plan. */
export async function planRotation(config: Config, ports: Ports): Promise<RotationPlan> {
  // One instant for rotate's decision and ours, so both see the same expiries.
  const now = ports.clock.now();
  const seen: { owner?: ResolvedOwner; namespaces?: string[]; state?: TargetState; tokens?: TokenView[] } = {};
  const kube: KubePort = {
    ...ports.kube,
    async readTarget(namespaces, secretName, serviceAccounts) {
      seen.namespaces = [...namespaces];
      return (seen.state = await ports.kube.readTarget(namespaces, secretName, serviceAccounts));
    },
    async applySecrets(list, opts) {
      if (!opts.dryRun) refuse("write Secrets");
      return ports.kube.applySecrets(list, opts);
    },
    replaceServiceAccounts: async () => refuse("write ServiceAccounts"),
    applyNamespaces: async () => refuse("create namespaces"),
    deleteSecrets: async () => refuse("delete Secrets"),
  };
  const lock: LockPort = {
    createLease: async () => refuse("take a Lease"),
    takeOverLease: async () => refuse("take a Lease"),
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
      ...(ports.gitlab.apiTokenSelf ? { apiTokenSelf: () => ports.gitlab.apiTokenSelf!() } : {}),
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
  });
}

function tokenList(tokens: readonly PlannedToken[]): string {
  return tokens.length ? tokens.map((t) => `${t.id} (${t.name}${t.expiresAt ? `, expires ${t.expiresAt.slice(0, 10)}` : ""})`).join(", ") : "none";
}

/** The plan for people. Never holds a secret: a plan has none. */
export function planLines(p: RotationPlan): string[] {
  const width = Math.max(...p.namespaces.map((n) => n.namespace.length), 9);
  const who = p.owner ? `${p.owner.kind} ${p.owner.path}` : `static credentials of ${p.static?.username ?? "?"}`;
  const hosts = [p.registry, ...p.registryAliases].join(", ");
  return [
    `Plan for Secret "${p.secretName}" (${who}, registry ${hosts}): ${p.due ? (p.owner ? "rotate" : "apply") : "nothing due"}, because ${p.reason}`,
    ...p.namespaces.map((n) => `  ${n.namespace.padEnd(width)}  ${n.action}`),
    p.mint
      ? `Mint:    a read_registry deploy token named ${p.mint.namePattern}, expiring ${p.mint.expiresAt} 00:00 UTC`
      : p.owner
        ? `Mint:    nothing (the Secrets keep deploy token ${p.current.join(", ") || "-"})`
        : `Mint:    nothing (static credentials are applied as given; no token is minted or revoked, GitLab is not called)`,
    `Keep:    ${tokenList(p.keep)}`,
    `Revoke:  ${tokenList(p.revoke)}`,
    `Sweep:   ${tokenList(p.sweep)}`,
    ...(p.serviceAccounts.length ? [`ServiceAccounts to get "${p.secretName}": ${p.serviceAccounts.join(", ")}`] : []),
    "Nothing was changed: no token minted, no Lease taken, no Secret written.",
  ];
}

/** `plan --json`: the plan as is (it holds ids, names and dates only). */
export function planJson(p: RotationPlan): Record<string, unknown> {
  return { command: "plan", ...p };
}
