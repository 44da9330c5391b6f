// rotate --rotate-api-token-within: the GitLab API token's rotation as part
// of a scheduled rotation, so one job keeps the whole chain young. Its three
// steps sit around the deploy token's rotation (rotate.ts):
//   decide (model/apitoken-due.ts, pure) from the expiry observeSubject read;
//   prepare before anything changes: rotate-api-token's observe, decide and
//     proof of the store, so a store that will not do stops the run before a
//     deploy token is minted;
//   finish last, after the deploy token's rotation succeeded and while the
//     target's Lease is still held: rotate once, write back, read back. The old
//     value dies with the rotation, so nothing may use it afterwards.
// After the deploy rotation, a failure here is a problem of the run (exit 1),
// whose message says whether the token was rotated and how to recover.
import type { Config } from "../config/inputs.js";
import { apiTokenStoreText } from "../config/input-apitoken.js";
import { apiTokenDue, type ApiTokenDue } from "../model/apitoken-due.js";
import type { ApiTokenPorts, Log } from "../model/ports.js";
import type { Subject } from "./observed.js";
import {
  abandonApiTokenRotation,
  executeApiTokenRotation,
  prepareApiTokenRotation,
  type PreparedApiTokenRotation,
} from "./rotate-api-token.js";
import type { ApiTokenOutcome, RotationReport } from "./rotation-report.js";

export interface ApiTokenStep {
  due: ApiTokenDue;
  /** --api-token-store as given. */
  store: string;
}

/** What the run does with the API token; null when not asked (no --rotate-api-token-within, static credentials). */
export function apiTokenStep(config: Config, subject: Subject, now: Date): ApiTokenStep | null {
  const within = config.apiToken.rotateWithinMs;
  const t = subject.apiToken;
  if (within === undefined || t === undefined || config.apiToken.store === undefined) return null;
  const expiry = t.checked
    ? { known: true as const, expiresAt: t.expiresAt }
    : { known: false as const, why: t.reason };
  return { due: apiTokenDue(expiry, now, within), store: apiTokenStoreText(config.apiToken.store) };
}

/** One line for the log and the summaries. */
export function apiTokenLine(o: ApiTokenOutcome): string {
  switch (o.action) {
    case "rotated":
      return (
        `Rotated the GitLab API token (${o.reason}): the new token ${o.rotated!.id} expires on ${o.rotated!.expiresAt}, ` +
        `written to ${o.store}${o.rotated!.confirmed ? " and read back" : ""}`
      );
    case "would-rotate":
      return `Dry run: would rotate the GitLab API token (${o.reason}) and write it to ${o.store}, after the deploy token`;
    case "not-due":
    case "unknown":
      return `GitLab API token not rotated: ${o.reason}`;
    case "failed":
      return "GitLab API token: its rotation after the deploy token's failed (the warning says whether it was rotated and how to recover)";
  }
}

function outcomeOf(step: ApiTokenStep, dryRun: boolean): ApiTokenOutcome {
  const { due, store } = step;
  const action = due.rotate ? (dryRun ? "would-rotate" : "rotated") : due.unknown ? "unknown" : "not-due";
  return { action, reason: due.reason, expiresAt: due.expiresAt, store };
}

/** A dry run, or a run with the API token not due: the decision, said once. */
export function apiTokenDecided(step: ApiTokenStep, report: RotationReport, log: Log): RotationReport {
  const outcome = outcomeOf(step, report.dryRun);
  const line = apiTokenLine(outcome);
  if (outcome.action === "unknown") log.warn(line);
  else log.info(line);
  return { ...report, apiToken: outcome };
}

/** Before anything changes, when the API token is due: observe, decide and prove (rotate-api-token's first two steps). */
export function prepareApiTokenStep(config: Config, ports: ApiTokenPorts): Promise<PreparedApiTokenRotation> {
  if (config.credentials.kind !== "deploy-token") throw new Error("internal: the API token's rotation without one");
  ports.log.info(`The GitLab API token is due: proving ${ports.store.where} can be written before anything changes`);
  return prepareApiTokenRotation(config.credentials.gitlabToken, { expiresInMs: config.apiToken.expiresInMs }, ports);
}

/** The deploy token's rotation failed: the API token stays as it is. */
export async function dropApiTokenStep(ports: ApiTokenPorts): Promise<void> {
  ports.log.info("The GitLab API token was not rotated: the deploy token's rotation failed first");
  await abandonApiTokenRotation(ports);
}

/** Last, after the deploy token's rotation succeeded: rotate the API token and store it. A failure becomes a problem of the report. */
export async function finishApiTokenStep(
  step: ApiTokenStep,
  prepared: PreparedApiTokenRotation,
  report: RotationReport,
  ports: ApiTokenPorts,
): Promise<RotationReport> {
  const base = outcomeOf(step, false);
  try {
    const done = await executeApiTokenRotation(prepared, ports, { recheck: true });
    const outcome: ApiTokenOutcome = {
      ...base,
      rotated: { id: done.rotated.id, expiresAt: done.rotated.expiresAt, confirmed: done.store.confirmed },
    };
    ports.log.info(apiTokenLine(outcome));
    return { ...report, apiToken: outcome };
  } catch (err) {
    if (!(err instanceof Error)) throw err;
    // The Secrets hold the new deploy token whatever happened here: the run reports, it does not roll back.
    const problem = `The GitLab API token's rotation failed after the deploy token's: ${err.message}`;
    ports.log.warn(problem);
    return {
      ...report,
      apiToken: { ...base, action: "failed", reason: err.message },
      problems: [...report.problems, problem],
    };
  }
}
