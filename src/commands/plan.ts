// plan: what `rotate` would do with the same options, changing nothing. It
// observes exactly as rotate does (observe.ts: every check a rotation makes
// before it writes, the API server's dry run included) through readers only,
// so its type refuses any write; then it shows the decision rotate would
// execute (model/decide.ts), the same function on the same facts.
import { expiryDateFor } from "../config/duration.js";
import type { Config } from "../config/inputs.js";
import { decide, type CurrentToken, type Observation, type Recalled } from "../model/decide.js";
import type { NamespaceLifecycle, UnavailableNamespace } from "../model/errors.js";
import type { TargetRef } from "../model/naming.js";
import type { Overlap, Spared } from "../model/ownership.js";
import { payloadSha256, pullSecretPayload } from "../model/dockerconfig.js";
import type { ManagedSecretRef, Readers, ResolvedOwner, TargetState, TokenView } from "../model/ports.js";
import { selectServiceAccounts } from "../model/serviceaccounts.js";
import { apiTokenDecided, apiTokenStep } from "./api-token-step.js";
import { wouldDo } from "./execute.js";
import type { ApiTokenOutcome } from "./rotation-report.js";
import { observeSubject, observeUnlocked, policyOf, type Observed } from "./observe.js";
import { staticCredentials } from "./static.js";
import { targetOf } from "./target.js";

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
  /** `scopes`: what the token would be minted with (--scope), in GitLab's order. */
  mint: { namePattern: string; expiresAt: string; scopes: string[] } | null;
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
  /** With --rotate-api-token-within: whether rotate would rotate the API token too (would-rotate, not-due, unknown), and why. */
  apiToken: ApiTokenOutcome | null;
}

/** How rotate names the token it mints (naming.ts tokenName), with the per-run parts left open. */
export function tokenNamePattern(prefix: string, target: string): string {
  return `${prefix}/${target}/<UTC timestamp>-<nonce>`;
}

/** Observes as rotate would, through readers only, and returns rotate's decision as a plan. */
export async function planRotation(config: Config, readers: Readers): Promise<RotationPlan> {
  // One instant for every expiry and grace the decision compares.
  const now = readers.clock.now();
  const at: Readers = { ...readers, clock: { now: () => now } };
  const subject = await observeSubject(config, at);
  const seen = await observeUnlocked({ ...config, dryRun: true }, subject, at, now);
  // The same lines rotate --dry-run prints, then the plan itself.
  const said = wouldDo(seen, readers, { ...config, dryRun: true });
  const step = apiTokenStep(config, subject, now);
  return { ...planOf(seen, config, now), apiToken: step ? apiTokenDecided(step, said, readers.log).apiToken! : null };
}

/** Pure: the plan a final decision makes. */
export function planOf(seen: Observed, config: Config, now: Date): RotationPlan {
  const { observation: o, decision: d } = seen;
  const due = d.action === "rotate";
  const owner = o.owner;
  const target = o.recall?.target ?? targetOf(config, o.namespaces, undefined);
  const byId = new Map(o.tokens.map((t) => [t.id, t]));
  const view = (id: number): PlannedToken => ({
    id,
    name: byId.get(id)?.name ?? "?",
    expiresAt: byId.get(id)?.expiresAt ?? null,
  });
  const present = new Set(o.existing.map((s) => s.namespace));
  return {
    secretName: config.secretName,
    owner: owner ? { kind: owner.kind, id: owner.id, path: owner.path } : null,
    static: config.credentials.kind === "static" ? { username: config.credentials.username } : null,
    registry: o.hosts[0]!,
    registryAliases: o.hosts.slice(1),
    due,
    reason: d.reason,
    namespaces: o.namespaces.map((namespace) => {
      const skip = o.skipped.find((s) => s.namespace === namespace);
      if (skip) return { namespace, action: "skip" as const, reason: skip.reason };
      if (d.fill?.namespaces.includes(namespace)) return { namespace, action: "fill" as const };
      const action = !due ? ("unchanged" as const) : present.has(namespace) ? ("update" as const) : ("create" as const);
      return { namespace, action, ...(seen.toCreate.includes(namespace) ? { createNamespace: true as const } : {}) };
    }),
    fill: d.fill ? { tokenId: d.fill.tokenId, namespaces: d.fill.namespaces } : null,
    serviceAccounts: d.serviceAccounts,
    mint:
      due && owner
        ? {
            namePattern: tokenNamePattern(
              config.tokenNamePrefix,
              target.id ?? `cluster-<uid of the Lease the first run creates>/${target.secretName}/${target.set}`,
            ),
            expiresAt: expiryDateFor(now, config.expiresInMs),
            scopes: [...config.scopes],
          }
        : null,
    current: d.current,
    keep: d.keep.map(view),
    revoke: d.revoke.map(view),
    sweep: d.sweep.map(view),
    spared: d.ownership?.spared ?? [],
    overlaps: d.ownership?.overlaps ?? [],
    target,
    clusterWide: o.managed === undefined ? null : o.managed !== "forbidden",
    apiToken: null,
  };
}

/**
 * Pure, for tests and tools: the plan on facts given by hand, as if observed
 * (a fill's source taken to hold what it records unless `fillRefused` says not).
 */
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
  recall?: Recalled | undefined;
  managed?: readonly ManagedSecretRef[] | "forbidden" | undefined;
  skipped?: readonly UnavailableNamespace[];
  fillRefused?: string | undefined;
  toCreate?: readonly string[];
}): RotationPlan {
  const { config, owner } = args;
  const skipped = args.skipped ?? [];
  const writable = config.namespaces.filter((ns) => !skipped.some((s) => s.namespace === ns));
  const recall: Recalled | undefined = owner
    ? (args.recall ?? {
        target: targetOf(config, config.namespaces, undefined),
        departed: [],
        unproven: undefined,
        sweepFrom: 0,
      })
    : undefined;
  const source: CurrentToken = { source: args.state.secrets[0]!, creds: [] };
  const observation: Observation = {
    owner,
    hosts: args.hosts,
    namespaces: config.namespaces,
    skipped,
    existing: args.state.secrets,
    accounts: selectServiceAccounts(args.state.serviceAccounts, writable, config.serviceAccounts),
    checked: true,
    tokens: args.tokens,
    recall,
    managed: args.managed,
    current: args.fillRefused ?? source,
    staticSha256: owner ? undefined : payloadSha256(pullSecretPayload(config.secretType, staticCredentials(config))),
  };
  const decision = decide(observation, policyOf(config), args.now);
  const work = { ...config, namespaces: decision.namespaces };
  return planOf(
    { observation, decision, work, toCreate: [...(args.toCreate ?? [])], recall: undefined },
    config,
    args.now,
  );
}
