// The shapes observe.ts hands on: what a run writes for, the Lease as it has
// it, and what it observed with the decision made on it. Types only, so the
// steps that read them (execute, fill, static, the report) import no reader.
import type { Config } from "../config/inputs.js";
import type { Observation, RotationDecision } from "../model/decide.js";
import type { LeaseState, ResolvedOwner } from "../model/ports.js";
import type { ApiTokenStatus } from "./apitoken.js";
import type { TargetRecall } from "./target-memory.js";

/** Who the run writes for and where: settled before the lock (the Lease's namespace is one of them). */
export interface Subject {
  /** null with static credentials. */
  owner: ResolvedOwner | null;
  /** The registry, then its aliases. */
  hosts: string[];
  /** The configured target's namespaces as they resolve now (list, selector, exclusions). */
  namespaces: string[];
  /** The API token's own expiry and scopes as GitLab answered; undefined with static credentials. */
  apiToken: ApiTokenStatus | undefined;
}

/** The target's Lease as the run has it: held (rotate) or only read (plan, a dry run). */
export interface LeaseInHand {
  lease: LeaseState | undefined;
  namespace: string | undefined;
  /** Created by this run. */
  fresh: boolean;
}

export interface Observed {
  observation: Observation;
  decision: RotationDecision;
  /** The run's Config with the namespaces that can take the Secret. */
  work: Config;
  /** The listed namespaces the API server says do not exist, kept because --create-namespace makes them. */
  toCreate: string[];
  /** What the Leases remember of the target; undefined with static credentials. */
  recall: TargetRecall | undefined;
}
