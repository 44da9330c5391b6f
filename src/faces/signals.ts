// A run's signals for the monitoring beside its log: the metrics textfile,
// the Pushgateway push and the Kubernetes Events (--metrics-file,
// --pushgateway-url, --events). The rotation itself is untouched: its ports
// are watched, not changed, for the two facts its report does not carry (the
// Lease it held, the API token's expiry), and whatever the signals meet after
// the run is a warning, never the run's failure: the Secrets are what matter.
import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { kubectlEventPort } from "../adapters/kubectl-events.js";
import { pushMetrics } from "../adapters/pushgateway.js";
import { readCaFile } from "../adapters/tls.js";
import { liveRotationPorts } from "../adapters/wiring.js";
import type { Config } from "../config/inputs.js";
import { rotate } from "../commands/rotate.js";
import type { RotationReport } from "../commands/rotation-report.js";
import {
  announce,
  expectedLease,
  runEvents,
  runResult,
  runSucceeded,
  type RunOutcome,
} from "../commands/run-signals.js";
import { readStatus } from "../commands/status.js";
import type { StatusReport } from "../commands/status-report.js";
import { UsageError } from "../model/errors.js";
import type { ObjectRef } from "../model/events.js";
import type { ApiTokenSelf, LeaseState, Log, Ports } from "../model/ports.js";
import type { Redactor } from "../model/secret.js";
import { metricsText, previousLastSuccess, type RunFacts } from "./metrics.js";

/** What the ports saw that the report does not say. */
interface Seen {
  lease?: ObjectRef;
  apiToken?: ApiTokenSelf;
}

/** The same ports, noting the Lease the run read or took (Events go on it) and the API token's own details. */
function watched(ports: Ports, seen: Seen): Ports {
  const { lock, gitlab } = ports;
  const note =
    (namespace: string, name: string) =>
    (lease: LeaseState | undefined): LeaseState | undefined => {
      if (lease?.uid)
        seen.lease = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", namespace, name, uid: lease.uid };
      return lease;
    };
  const watchedLock: Ports["lock"] = {
    ...lock,
    readLease: (ns, name) => lock.readLease(ns, name).then(note(ns, name)),
    createLease: (ns, name, ...rest) => lock.createLease(ns, name, ...rest).then(note(ns, name)),
    claimLease: (ns, name, ...rest) => lock.claimLease(ns, name, ...rest).then(note(ns, name)),
    releaseLease: (...args) => lock.releaseLease(...args),
    renewLease: (...args) => lock.renewLease(...args),
  };
  const watchedGitLab: Ports["gitlab"] = {
    ...gitlab,
    apiTokenSelf: async () => {
      const t = await gitlab.apiTokenSelf();
      seen.apiToken = t;
      return t;
    },
  };
  return { ...ports, lock: watchedLock, gitlab: watchedGitLab };
}

/** A --metrics-file that cannot be written is bad input, found before anything remote happens (as --dotenv). */
export function checkMetricsFile(config: Config): void {
  const path = config.observe.metricsFile;
  if (!path) return;
  const probe = tempBeside(path);
  try {
    writeFileSync(probe, "", { mode: 0o644 });
    rmSync(probe, { force: true });
  } catch (err) {
    throw new UsageError(
      "--metrics-file",
      path,
      `a file in a writable directory (${(err as { code?: string }).code ?? "unwritable"})`,
    );
  }
}

/** In the same directory, so the rename is atomic; not *.prom, so the textfile collector never reads it half written. */
function tempBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(3).toString("hex")}.tmp`);
}

/** Write, then rename: node-exporter reads either the old file or the new one, never a torn one. */
export function writeAtomically(path: string, text: string): void {
  const tmp = tempBeside(path);
  try {
    writeFileSync(tmp, text, { mode: 0o644 });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

function readIfThere(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** Writes and pushes the metrics as the options ask; a failure is a warning. Every byte passes the run's redaction. */
async function emit(
  config: Config,
  parts: { status?: StatusReport; run?: RunFacts },
  log: Log,
  redactor: Redactor,
): Promise<void> {
  const { metricsFile, pushgatewayUrl } = config.observe;
  if (!metricsFile && !pushgatewayUrl) return;
  const { text, contentType } = await metricsText("text", parts);
  const clean = redactor.redact(text);
  if (metricsFile) {
    try {
      writeAtomically(metricsFile, clean);
      log.info(`Wrote the metrics to ${metricsFile}`);
    } catch (err) {
      log.warn(
        `Could not write the metrics to ${metricsFile}: ${(err as { code?: string }).code ?? (err as Error).message}`,
      );
    }
  }
  if (pushgatewayUrl) {
    try {
      await pushMetrics({
        baseUrl: pushgatewayUrl,
        secretName: config.secretName,
        text: clean,
        contentType,
        caPem: config.caFile ? readCaFile(config.caFile) : undefined,
        proxy: config.proxy,
        timeoutMs: config.requestTimeoutMs,
      });
      log.info(`Pushed the metrics to the Pushgateway at ${new URL(pushgatewayUrl).host}`);
    } catch (err) {
      log.warn(`Could not push the metrics: ${(err as Error).message}`);
    }
  }
}

/** status's metrics to the file and the Pushgateway; with --format openmetrics the caller prints them too. */
export async function emitStatusMetrics(
  config: Config,
  report: StatusReport,
  log: Log,
  redactor: Redactor,
): Promise<void> {
  await emit(config, { status: report }, log, redactor);
}

export interface ObservedRotation {
  report: RotationReport;
  /** The API token's expiry as GitLab answered it (null: never); undefined when it was not read. */
  apiTokenExpiresAt: string | null | undefined;
}

function runFacts(config: Config, outcome: RunOutcome, startedMs: number, finished: Date): RunFacts {
  const r = outcome.report;
  const success = runSucceeded(outcome);
  const before = config.observe.metricsFile
    ? previousLastSuccess(readIfThere(config.observe.metricsFile), config.secretName)
    : undefined;
  return {
    secretName: config.secretName,
    result: runResult(outcome),
    success,
    finishedAt: finished,
    durationSeconds: (finished.getTime() - startedMs) / 1000,
    lastSuccessSeconds: success ? finished.getTime() / 1000 : before,
    minted: r?.token ? 1 : 0,
    revoked: r?.revokedTokenIds.length ?? 0,
    swept: r?.sweptTokenIds.length ?? 0,
    filled: r?.filled?.namespaces.length ?? 0,
    skipped: r?.skipped.length ?? 0,
    // A run that failed before its report asked for the API token's rotation as much as one that got there.
    ...(config.apiToken.rotateWithinMs !== undefined
      ? { apiTokenRotated: r?.apiToken?.action === "rotated" ? 1 : 0 }
      : {}),
  };
}

/**
 * rotate on the live ports, then its signals. A dry run changes nothing and
 * claims no run, so it sends none. The run's error, if any, is rethrown as it
 * was, after the signals have said so.
 */
export async function observedRotation(config: Config, log: Log, redactor: Redactor): Promise<ObservedRotation> {
  checkMetricsFile(config);
  const started = Date.now();
  const seen: Seen = {};
  const live = liveRotationPorts(config, log, redactor);
  const ports = watched(live.ports, seen);
  let outcome: RunOutcome;
  try {
    outcome = { report: await rotate(config, ports, live.apiToken) };
  } catch (err) {
    outcome = { error: err as Error };
  }
  if (!config.dryRun) {
    const finished = new Date();
    const { metricsFile, pushgatewayUrl, events } = config.observe;
    if (events) {
      const lease = seen.lease ?? expectedLease(outcome.report?.namespaces ?? config.namespaces, config.secretName);
      const port = kubectlEventPort({
        kubeconfig: config.kubeconfig,
        context: config.context,
        redact: redactor.redact,
        holdsSecret: redactor.holds,
        reportingInstance: `${hostname()}`,
      });
      const list = runEvents({
        outcome,
        lease: lease ?? undefined,
        secretName: config.secretName,
        redact: redactor.redact,
      });
      await announce(port, list, finished, log);
    }
    if (metricsFile || pushgatewayUrl) {
      // The expiries and health the alerts need, read as status reads them: one more listing and one read of the Secrets.
      let status: StatusReport | undefined;
      try {
        status = await readStatus(config, ports);
      } catch (err) {
        log.warn(
          `The metrics hold the run only: reading the Secrets and tokens after it failed: ${(err as Error).message}`,
        );
      }
      await emit(
        config,
        { ...(status ? { status } : {}), run: runFacts(config, outcome, started, finished) },
        log,
        redactor,
      );
    }
  }
  if (outcome.error) throw outcome.error;
  const rotated = outcome.report.apiToken?.rotated;
  return {
    report: outcome.report,
    apiTokenExpiresAt: rotated ? rotated.expiresAt : seen.apiToken ? seen.apiToken.expiresAt : undefined,
  };
}
