// The GitHub Action face: inputs -> Config -> rotation -> outputs, job summary.
import * as core from "@actions/core";
import { GpsError } from "./errors.js";
import { parseConfig } from "./inputs.js";
import { OPTIONS, type RawSettings } from "./options.js";
import type { Log } from "./ports.js";
import { Redactor, actionOutputs, summaryLines } from "./report.js";
import type { RotationReport } from "./rotate.js";
import { runRotation } from "./run.js";

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

async function writeSummary(r: RotationReport): Promise<void> {
  const s = core.summary.addHeading(r.dryRun ? "gitlab-pull-secret: dry run" : "gitlab-pull-secret: rotated", 3);
  s.addTable([
    [
      { data: "Namespace", header: true },
      { data: "Secret", header: true },
      { data: "Token id", header: true },
      { data: "Username", header: true },
      { data: "Expires", header: true },
    ],
    ...r.namespaces.map((ns) => [ns, r.secretName, r.token ? String(r.token.id) : "-", r.token?.username ?? "-", r.token?.expiresAt ?? "-"]),
  ]);
  s.addRaw(`Revoked deploy token ids: ${r.revokedTokenIds.length ? r.revokedTokenIds.join(", ") : "none"}`, true);
  for (const p of r.problems) s.addRaw(`Warning: ${p}`, true);
  await s.write();
}

export async function runAction(): Promise<void> {
  const redactor = new Redactor();
  try {
    const config = parseConfig(readInputs(), process.env, "action");
    const log = actionLog(redactor);
    log.secret(config.gitlabToken.reveal());
    const report = await runRotation(config, log, redactor);
    for (const line of summaryLines(report)) log.info(line);
    for (const [name, value] of Object.entries(actionOutputs(report))) core.setOutput(name, value);
    await writeSummary(report);
    if (report.problems.length > 0) core.setFailed(redactor.redact(report.problems.join("\n")));
  } catch (err) {
    const message = err instanceof GpsError ? err.message : `unexpected error: ${(err as Error).message}`;
    core.setFailed(redactor.redact(message));
  }
}
