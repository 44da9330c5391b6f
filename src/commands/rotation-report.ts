// What a rotation (or a static apply) did: the one result every face shows
// (CLI lines and --json, Action outputs and job summary).
import type { Overlap, Spared } from "../model/ownership.js";
import type { UnavailableNamespace } from "../model/errors.js";
import type { Config } from "../config/inputs.js";
import type { TargetRecall } from "./target-memory.js";

export interface RotationReport {
  changed: boolean;
  dryRun: boolean;
  secretName: string;
  /** The namespaces the Secret was written to (or, with nothing due, is in): the listed ones minus `skipped`. */
  namespaces: string[];
  /** Listed namespaces that were skipped: missing or being deleted. The run exits 1 naming them. */
  skipped: UnavailableNamespace[];
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
  /** The GitLab owner whose deploy tokens the Secrets hold; null with static credentials. */
  owner: { kind: string; id: number; path: string } | null;
  /** With static credentials (--username): whose, and whether this run wrote them. null for a minted deploy token. */
  static: { username: string; applied: boolean } | null;
  registry: string;
  /** --registry-alias hosts written with the same credentials. */
  registryAliases: string[];
  /** Things that went wrong after the Secrets were safely rotated (e.g. a revoke that failed). */
  problems: string[];
  /** Nothing was due, and these namespaces, which lacked the Secret, got the current token (dry run: would get). */
  filled?: { namespaces: string[]; tokenId: number };
  /** Tokens our Secrets hold or record that this run left alive because it cannot prove they are its own to revoke. */
  spared?: Spared[];
  /** Namespaces whose Secret another target wrote last (two pipelines write them). */
  overlaps?: Overlap[];
  /** What the run recalled of its target (target-memory.ts): plan's view of the same decision. Not part of any output. */
  recall?: TargetRecall;
}

/** What every run's report says from what it read, before it decides anything: where, what was skipped or new, why, which registry. */
export function reportBase(args: {
  config: Pick<Config, "dryRun" | "secretName" | "namespaces">;
  skipped: UnavailableNamespace[];
  /** Namespaces where the Secret exists already. */
  present: ReadonlySet<string>;
  reason: string;
  /** The registry, then its aliases. */
  hosts: readonly string[];
}): Pick<
  RotationReport,
  | "dryRun"
  | "secretName"
  | "namespaces"
  | "skipped"
  | "created"
  | "reason"
  | "registry"
  | "registryAliases"
  | "verified"
> {
  const { config, hosts } = args;
  return {
    dryRun: config.dryRun,
    secretName: config.secretName,
    namespaces: [...config.namespaces],
    skipped: args.skipped,
    created: config.namespaces.filter((ns) => !args.present.has(ns)),
    reason: args.reason,
    registry: hosts[0]!,
    registryAliases: hosts.slice(1),
    verified: null,
  };
}
