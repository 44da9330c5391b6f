// What a run tells the monitoring beside its log: its result in one word (for
// metrics, Action outputs and the Event's reason) and the Kubernetes Events it
// leaves. Pure except `announce`, which writes through the EventPort and never
// fails the run: the rotation already happened (or failed) either way.
//
// The Events are bounded on purpose: one per run, on the target's Lease (it is
// in the cluster for as long as the target), and a Warning per namespace that
// needs a person, at most WARNING_CAP of them; a 1,000-namespace fleet gets no
// per-namespace Normal Event. A namespace that was skipped because it does not
// exist or is being deleted cannot hold an Event (the API server refuses to
// create anything there), so the run's Event names it instead.
import { leaseName, lockNamespace } from "./lock.js";
import {
  KubeError,
  OwnershipError,
  REFUSAL_LINES,
  RotationError,
  SecretTypeError,
  UnmanagedSecretError,
  unavailableText,
} from "../model/errors.js";
import type { KubeEvent, ObjectRef } from "../model/events.js";
import type { EventPort, Log } from "../model/ports.js";
import type { RotationReport } from "./rotation-report.js";

/** applied: static credentials written; nothing-due: the Secrets kept what they hold (ServiceAccounts may have been linked). */
export type RunResult = "rotated" | "applied" | "filled" | "nothing-due" | "failed";
export const RUN_RESULTS: readonly RunResult[] = ["rotated", "applied", "filled", "nothing-due", "failed"];

/** A run that returned a report, or threw. */
export type RunOutcome = { report: RotationReport; error?: undefined } | { report?: undefined; error: Error };

export function runResult(o: RunOutcome): RunResult {
  const r = o.report;
  if (!r) return "failed";
  if (r.token) return "rotated";
  if (r.static?.applied) return "applied";
  if (r.filled) return "filled";
  return "nothing-due";
}

/** Exit 0: no error and no problem (a skipped namespace is one: the run exits 1 naming it). */
export function runSucceeded(o: RunOutcome): boolean {
  return o.report !== undefined && o.report.problems.length === 0;
}

const REASONS: Record<RunResult, string> = {
  rotated: "Rotated",
  applied: "Applied",
  filled: "Filled",
  "nothing-due": "NothingDue",
  failed: "RotationFailed",
};

/** At most this many per-namespace Warnings per run; the run's Event counts the rest. */
export const WARNING_CAP = REFUSAL_LINES;

export function leaseRef(namespace: string, secretName: string, uid?: string): ObjectRef {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    namespace,
    name: leaseName(secretName),
    ...(uid ? { uid } : {}),
  };
}

/** The Lease a run that failed before taking it would have taken, when its namespaces are known. */
export function expectedLease(namespaces: readonly string[], secretName: string): ObjectRef | undefined {
  return namespaces.length ? leaseRef(lockNamespace(namespaces), secretName) : undefined;
}

interface NamespaceWarning {
  namespace: string;
  reason: string;
  note: string;
}

/** The namespaces that need a person, from the error that stopped the run or from the report of one that went on. */
function namespaceWarnings(o: RunOutcome, secretName: string): NamespaceWarning[] {
  const err = o.error instanceof RotationError ? o.error.cause : o.error;
  const secret = `Secret "${secretName}"`;
  if (err instanceof UnmanagedSecretError) {
    return err.namespaces.map((namespace) => ({
      namespace,
      reason: "SecretNotManaged",
      note: `${secret} exists and is not managed by gitlab-pull-secret: the rotation refused to touch it and changed nothing. Adopt it (--adopt) or choose another --secret-name.`,
    }));
  }
  if (err instanceof SecretTypeError) {
    return err.found.map((f) => ({
      namespace: f.namespace,
      reason: "SecretTypeMismatch",
      note: `${secret} has type ${f.type}; the rotation writes ${err.wanted} and a Secret's type cannot change. Nothing was changed.`,
    }));
  }
  if (err instanceof OwnershipError) {
    return err.overlaps.map((ov) => ({
      namespace: ov.namespace,
      reason: "SecretOfAnotherTarget",
      note: `${secret} holds deploy token ${ov.tokenId} of another target (${ov.otherTarget}); --strict-ownership refused to overwrite it. Nothing was changed.`,
    }));
  }
  if (err instanceof KubeError && err.refused.length) {
    return err.refused.map((r) => ({
      namespace: r.namespace,
      reason: "SecretRefused",
      note: `The API server refused ${secret} here: ${r.reason}`,
    }));
  }
  return (o.report?.overlaps ?? []).map((ov) => ({
    namespace: ov.namespace,
    reason: "SecretOfAnotherTarget",
    note: `${secret} was written last by another target (${ov.otherTarget}); this run overwrote it. Two pipelines manage this Secret: give each its own --secret-name.`,
  }));
}

function runNote(o: RunOutcome, result: RunResult): string {
  const r = o.report;
  if (!r) return `Rotation failed: ${o.error!.message}`;
  const parts: string[] = [];
  const where = `${r.namespaces.length} namespace${r.namespaces.length === 1 ? "" : "s"}`;
  if (result === "rotated") {
    const t = r.token!;
    parts.push(
      `Rotated Secret "${r.secretName}" in ${where}: deploy token ${t.id} (${t.username}), expires ${t.expiresAt}.`,
    );
    parts.push(r.revokedTokenIds.length ? `Revoked ${r.revokedTokenIds.join(", ")}.` : "No previous token revoked.");
  } else if (result === "applied") {
    parts.push(`Applied the static credentials of ${r.static!.username} to Secret "${r.secretName}" in ${where}.`);
  } else if (result === "filled") {
    parts.push(
      `Filled ${r.filled!.namespaces.length} namespace(s) with deploy token ${r.filled!.tokenId}; no rotation due: ${r.reason}.`,
    );
  } else {
    parts.push(`Nothing due for Secret "${r.secretName}" in ${where}: ${r.reason}.`);
  }
  if (r.sweptTokenIds.length) parts.push(`Swept ${r.sweptTokenIds.join(", ")}.`);
  if (r.skipped.length) parts.push(`Skipped ${unavailableText(r.skipped)}.`);
  for (const p of r.problems.filter((p) => !p.startsWith("Skipped"))) parts.push(p);
  return parts.join(" ");
}

/**
 * The Events of one run: one on the Lease (Normal when the run exits 0,
 * Warning otherwise) and up to WARNING_CAP Warnings on the Secrets of the
 * namespaces that need a person. `redact` is the run's: every note passes it.
 */
export function runEvents(args: {
  outcome: RunOutcome;
  lease: ObjectRef | undefined;
  secretName: string;
  redact: (text: string) => string;
}): KubeEvent[] {
  const { outcome, secretName, redact } = args;
  const result = runResult(outcome);
  const warnings = namespaceWarnings(outcome, secretName);
  const shown = warnings.slice(0, WARNING_CAP);
  const more = warnings.length - shown.length;
  const events: KubeEvent[] = [];
  if (args.lease) {
    const note =
      runNote(outcome, result) +
      (more > 0 ? ` ${more} more namespace(s) need attention (Warnings on the first ${shown.length}).` : "");
    events.push({
      type: runSucceeded(outcome) ? "Normal" : "Warning",
      reason: REASONS[result],
      action: "Rotate",
      regarding: args.lease,
      note: redact(note),
    });
  }
  for (const w of shown) {
    events.push({
      type: "Warning",
      reason: w.reason,
      action: "WriteSecret",
      regarding: { apiVersion: "v1", kind: "Secret", namespace: w.namespace, name: secretName },
      note: redact(w.note),
    });
  }
  return events;
}

/** Writes the Events; a refusal is said once and the run goes on. */
export async function announce(port: EventPort, events: readonly KubeEvent[], at: Date, log: Log): Promise<void> {
  if (events.length === 0) return;
  try {
    const r = await port.createEvents(events, at);
    if (r.refused) {
      log.warn(
        `Kubernetes Events: RBAC refuses create on events (API group events.k8s.io) in some namespace; ${r.created} of ${events.length} recorded. ` +
          "Grant it (the optional rule in examples/rbac/) or drop --events. The run goes on",
      );
    }
    if (r.failures.length) log.warn(`Kubernetes Events: ${events.length - r.created} not recorded: ${r.failures[0]}`);
  } catch (err) {
    log.warn(`Kubernetes Events not recorded: ${(err as Error).message}`);
  }
}
