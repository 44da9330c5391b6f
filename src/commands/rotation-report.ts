// What a rotation (or a static apply) did: the one result every face shows
// (CLI lines and --json, Action outputs and job summary).
import type { Overlap, Spared } from "../model/ownership.js";
import type { UnavailableNamespace } from "../model/errors.js";
import type { Observed } from "./observed.js";
import type { Recalled } from "../model/decide.js";

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
  /** What the run recalled of its target (target-memory.ts), for the ownership property's checks. Not part of any output. */
  recall?: Recalled;
  /** With --rotate-api-token-within: what became of the GitLab API token (api-token-step.ts). */
  apiToken?: ApiTokenOutcome;
}

/**
 * The API token's part of a run. `rotated`: rotated and written to its store;
 * `would-rotate`: a dry run found it due; `not-due`; `unknown`: its expiry
 * could not be read; `failed`: due, but not rotated or not stored (the
 * message, with how to recover, is among the report's problems).
 */
export interface ApiTokenOutcome {
  action: "rotated" | "would-rotate" | "not-due" | "unknown" | "failed";
  reason: string;
  /** Its expiry when the run started (YYYY-MM-DD; null: never, or not known). */
  expiresAt: string | null;
  /** --api-token-store, as given (never a value). */
  store: string;
  /** `rotated`: the new token, and whether the store was read back holding it. */
  rotated?: { id: number; expiresAt: string; confirmed: boolean };
}

/** What a run's report says from what it observed and decided, before it executes anything. */
export function decidedReport(seen: Observed): RotationReport {
  const { observation: o, decision: d, work: config } = seen;
  const present = new Set(o.existing.map((s) => s.namespace));
  const owner = o.owner;
  return {
    changed: false,
    dryRun: config.dryRun,
    secretName: config.secretName,
    namespaces: [...d.namespaces],
    skipped: [...o.skipped],
    created: d.namespaces.filter((ns) => !present.has(ns)),
    reason: d.reason,
    token: null,
    previousTokenIds: d.current,
    // Nothing minted: the tokens kept on purpose stay kept, as the Secrets record them.
    keptTokenIds: d.action === "rotate" ? [] : d.keep,
    revokedTokenIds: [],
    sweptTokenIds: [],
    verified: null,
    serviceAccountsUpdated: [],
    owner: owner ? { kind: owner.kind, id: owner.id, path: owner.path } : null,
    static: config.credentials.kind === "static" ? { username: config.credentials.username, applied: false } : null,
    registry: o.hosts[0]!,
    registryAliases: o.hosts.slice(1),
    problems: [],
    ...(d.ownership ? { spared: d.ownership.spared, overlaps: d.ownership.overlaps } : {}),
    ...(o.recall ? { recall: o.recall } : {}),
  };
}
