// One way to tell people what happened, for each face: the CLI (stderr for
// humans, one JSON object on stdout for machines) and the Action (log,
// outputs, job summary). Every line passes redaction first.
import { redact } from "./secret.js";
import type { Log } from "./ports.js";
import type { RotationReport } from "./rotate.js";

/** Remembers every secret form registered so far and masks them. */
export class Redactor {
  readonly #forms: string[] = [];
  add(form: string): void {
    if (form) this.#forms.push(form);
  }
  redact = (text: string): string => redact(text, this.#forms);
}

/** The machine-readable result, identical for `--json` and the Action outputs. */
export interface ResultJson {
  changed: boolean;
  dryRun: boolean;
  secretName: string;
  namespaces: string[];
  token: { id: number; username: string; expiresAt: string } | null;
  revokedTokenIds: number[];
}

export function resultJson(r: RotationReport): ResultJson {
  return {
    changed: r.changed,
    dryRun: r.dryRun,
    secretName: r.secretName,
    namespaces: r.namespaces,
    token: r.token,
    revokedTokenIds: r.revokedTokenIds,
  };
}

/** Action outputs, named as in action.yml. */
export function actionOutputs(r: RotationReport): Record<string, string> {
  return {
    changed: String(r.changed),
    "secret-name": r.secretName,
    namespaces: JSON.stringify(r.namespaces),
    "token-id": r.token ? String(r.token.id) : "",
    "token-username": r.token?.username ?? "",
    "expires-at": r.token?.expiresAt ?? "",
    "revoked-token-ids": JSON.stringify(r.revokedTokenIds),
  };
}

/** The same outputs as dotenv lines for GitLab's `artifacts:reports:dotenv` (never secret). */
export function dotenvText(r: RotationReport, prefix = "GITLAB_PULL_SECRET_"): string {
  return (
    Object.entries(actionOutputs(r))
      .map(([name, value]) => `${prefix}${name.toUpperCase().replace(/-/g, "_")}=${value}`)
      .join("\n") + "\n"
  );
}

export function summaryLines(r: RotationReport): string[] {
  if (r.dryRun) {
    return [
      `Dry run: nothing changed. A rotation would write Secret "${r.secretName}" to ${r.namespaces.join(", ")}` +
        (r.created.length ? ` (new in ${r.created.join(", ")})` : "") +
        ` and revoke ${r.previousTokenIds.length ? `deploy token(s) ${r.previousTokenIds.join(", ")}` : "no previous token"}.`,
    ];
  }
  const t = r.token!;
  return [
    `Rotated Secret "${r.secretName}" in ${r.namespaces.join(", ")}` + (r.created.length ? ` (created in ${r.created.join(", ")})` : ""),
    `Deploy token ${t.id} (${t.username}) for ${r.registry}, expires ${t.expiresAt}`,
    r.revokedTokenIds.length ? `Revoked deploy token(s) ${r.revokedTokenIds.join(", ")}` : "No previous token to revoke",
  ];
}

/** Human log lines on a stream (stderr for the CLI). */
export function streamLog(write: (line: string) => void, redactor: Redactor): Log {
  return {
    info: (m) => write(redactor.redact(m)),
    warn: (m) => write(redactor.redact(`warning: ${m}`)),
    secret: (v) => redactor.add(v),
  };
}
