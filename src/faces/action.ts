// The GitHub Action face: inputs -> Config -> rotation -> outputs, job summary.
// It runs rotate only: plan is the dry-run input; status, revoke and render
// are CLI commands on purpose (status's exit 3 is no step result, revoke is a
// teardown to run deliberately, and render's output is a secret that has no
// safe place in a job log or a step output).
import * as core from "@actions/core";
import { GpsError } from "../model/errors.js";
import { inputSecrets, parseConfig } from "../config/inputs.js";
import { OPTIONS, type RawSettings } from "../config/options.js";
import type { Log } from "../model/ports.js";
import { actionOutputs, escapeHtml, jobSummary, summaryLines } from "./report.js";
import { checkMetricsFile, observedRotation } from "./signals.js";
import { checkLocalSetup } from "../adapters/wiring.js";
import { Redactor } from "../model/secret.js";
import type { RotationReport } from "../commands/rotation-report.js";

export function readInputs(): RawSettings {
  const raw: RawSettings = {};
  for (const o of OPTIONS) {
    if (!o.input) continue;
    const value = o.kind === "list" ? core.getMultilineInput(o.input) : core.getInput(o.input);
    if (value.length > 0) raw[o.key] = value;
  }
  return raw;
}

function actionLog(redactor: Redactor): Log {
  return {
    info: (m) => core.info(redactor.redact(m)),
    warn: (m) => core.warning(redactor.redact(m)),
    secret: (v) => {
      // Mask in the runner log first, then in our own output.
      core.setSecret(v);
      redactor.add(v);
    },
  };
}

/**
 * The job summary: a table per namespace (Secret, change, token id,
 * username, expiry, revoked ids), then why the run did what it did. Every
 * cell passes the redactor and HTML escaping, though none should hold a secret.
 */
async function writeSummary(r: RotationReport, redactor: Redactor): Promise<void> {
  const clean = (t: string): string => escapeHtml(redactor.redact(t));
  const sum = jobSummary(r);
  const s = core.summary.addHeading(clean(sum.heading), 3);
  s.addTable([sum.header.map((h) => ({ data: clean(h), header: true })), ...sum.rows.map((row) => row.map(clean))]);
  s.addList(sum.notes.map(clean));
  await s.write();
}

export async function runAction(): Promise<void> {
  const redactor = new Redactor();
  try {
    const config = parseConfig(readInputs(), process.env, "action");
    const log = actionLog(redactor);
    // The GitLab token, or every form of the static credentials, before anything could print them.
    for (const form of inputSecrets(config)) log.secret(form);
    checkMetricsFile(config);
    await checkLocalSetup(config, redactor, {
      cluster: true,
      labels: { kubeconfig: "input 'kubeconfig'", context: "input 'context'" },
    });
    const { report, apiTokenExpiresAt } = await observedRotation(config, log, redactor);
    for (const line of summaryLines(report)) log.info(line);
    for (const [name, value] of Object.entries(actionOutputs(report, { apiTokenExpiresAt })))
      core.setOutput(name, value);
    try {
      await writeSummary(report, redactor);
    } catch (err) {
      // The rotation is done and its outputs are written: a report that cannot be written (no
      // GITHUB_STEP_SUMMARY on older self-hosted runners) must not turn that into a failed step.
      log.warn(
        `The job summary was not written (${(err as Error).message}); the rotation itself succeeded, see the log and the step outputs.`,
      );
    }
    if (report.problems.length > 0) core.setFailed(redactor.redact(report.problems.join("\n")));
  } catch (err) {
    const message = err instanceof GpsError ? err.message : `unexpected error: ${(err as Error).message}`;
    // A workflow's later steps (an alert, a metric) can branch on it.
    core.setOutput("result", "failed");
    core.setFailed(redactor.redact(message));
  }
}
