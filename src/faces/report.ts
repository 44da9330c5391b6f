// One way to tell people what happened, for each face: the CLI (stderr for
// humans, one JSON object on stdout for machines) and the Action (log,
// outputs, job summary). Every line passes redaction first.
import { type Redactor } from "../model/secret.js";
import type { Log } from "../model/ports.js";
import { unavailableText, type UnavailableNamespace } from "../model/errors.js";
import type { ApiTokenOutcome, RotationReport } from "../commands/rotation-report.js";
import { apiTokenLine } from "../commands/api-token-step.js";
import { runResult } from "../commands/run-signals.js";

/** The machine-readable result, identical for `--json` and the Action outputs. */
export interface ResultJson {
  changed: boolean;
  dryRun: boolean;
  secretName: string;
  namespaces: string[];
  token: { id: number; username: string; expiresAt: string } | null;
  revokedTokenIds: number[];
  /** Listed namespaces left out because they do not exist ("missing") or are being deleted ("terminating"); the run exits 1. */
  skippedNamespaces: UnavailableNamespace[];
  /** Namespaces that lacked the Secret and got the current token, nothing being due (no token minted: `token` is null). */
  filledNamespaces: string[];
  /** With --rotate-api-token-within: what became of the GitLab API token; absent without. */
  apiToken?: ApiTokenOutcome;
}

export function resultJson(r: RotationReport): ResultJson {
  return {
    changed: r.changed,
    dryRun: r.dryRun,
    secretName: r.secretName,
    namespaces: r.namespaces,
    token: r.token,
    revokedTokenIds: r.revokedTokenIds,
    skippedNamespaces: r.skipped,
    filledNamespaces: r.filled?.namespaces ?? [],
    ...(r.apiToken ? { apiToken: r.apiToken } : {}),
  };
}

/** What the run's ports saw beside its report (faces/signals.ts). */
export interface RunExtras {
  /** The API token's expiry date; null: it never expires; undefined: not read. */
  apiTokenExpiresAt?: string | null | undefined;
}

/** Action outputs, named as in action.yml. */
export function actionOutputs(r: RotationReport, extras: RunExtras = {}): Record<string, string> {
  return {
    changed: String(r.changed),
    "secret-name": r.secretName,
    namespaces: JSON.stringify(r.namespaces),
    "token-id": r.token ? String(r.token.id) : "",
    // With static credentials: the username the Secrets hold (no token id, no expiry).
    "token-username": r.token?.username ?? r.static?.username ?? "",
    "expires-at": r.token?.expiresAt ?? "",
    "revoked-token-ids": JSON.stringify(r.revokedTokenIds),
    "skipped-namespaces": JSON.stringify(r.skipped.map((s) => s.namespace)),
    "filled-namespaces": JSON.stringify(r.filled?.namespaces ?? []),
    result: runResult({ report: r }),
    "token-expiry-timestamp": r.token ? String(Math.floor(Date.parse(r.token.expiresAt) / 1000)) : "",
    "api-token-expires-at": extras.apiTokenExpiresAt ?? "",
    "api-token-rotated": r.apiToken ? String(r.apiToken.action === "rotated") : "",
  };
}

/** The same outputs as dotenv lines for GitLab's `artifacts:reports:dotenv` (never secret). */
export function dotenvText(r: RotationReport, extras: RunExtras = {}, prefix = "GITLAB_PULL_SECRET_"): string {
  return (
    Object.entries(actionOutputs(r, extras))
      .map(([name, value]) => `${prefix}${name.toUpperCase().replace(/-/g, "_")}=${value}`)
      .join("\n") + "\n"
  );
}

export function summaryLines(r: RotationReport): string[] {
  const extra = [
    ...(r.apiToken ? [apiTokenLine(r.apiToken)] : []),
    ...(r.sweptTokenIds.length ? [`Swept orphaned deploy token(s) ${r.sweptTokenIds.join(", ")}`] : []),
    ...(r.serviceAccountsUpdated?.length
      ? [`Added "${r.secretName}" to imagePullSecrets of ${r.serviceAccountsUpdated.join(", ")}`]
      : []),
    ...(r.skipped.length ? [`Skipped namespace(s) ${unavailableText(r.skipped)}`] : []),
  ];
  if (r.dryRun && r.static) {
    return [
      `Dry run: nothing changed. A run would write the static credentials of ${r.static.username} to Secret "${r.secretName}" in ` +
        `${r.namespaces.join(", ")}${r.created.length ? ` (new in ${r.created.join(", ")})` : ""} if due (${r.reason}). Run plan for the full picture.`,
      ...extra,
    ];
  }
  if (r.dryRun && r.filled) {
    return [
      `Dry run: nothing changed. A run would fill ${r.filled.namespaces.join(", ")} with deploy token ${r.filled.tokenId} (no rotation due: ${r.reason}). Run plan for the full picture.`,
      ...extra,
    ];
  }
  if (r.dryRun) {
    return [
      `Dry run: nothing changed. A rotation would write Secret "${r.secretName}" to ${r.namespaces.join(", ")}` +
        (r.created.length ? ` (new in ${r.created.join(", ")})` : "") +
        ` and revoke ${r.previousTokenIds.length ? `deploy token(s) ${r.previousTokenIds.join(", ")}` : "no previous token"}` +
        ` if due (${r.reason}). Run plan for the full picture.`,
      ...extra,
    ];
  }
  const hosts = [r.registry, ...r.registryAliases].join(", ");
  if (r.static?.applied) {
    return [
      `Applied the static credentials of ${r.static.username} to Secret "${r.secretName}" in ${r.namespaces.join(", ")}` +
        (r.created.length ? ` (created in ${r.created.join(", ")})` : ""),
      `Registry ${hosts}; nothing was minted or revoked`,
      ...extra,
    ];
  }
  // Nothing was due (--rotate-before, or static credentials already in place): the Secrets keep what they hold.
  if (r.filled) {
    return [
      `Filled ${r.filled.namespaces.join(", ")} with deploy token ${r.filled.tokenId} (no rotation due: ${r.reason})`,
      `Secret "${r.secretName}" for ${hosts}; nothing was minted or revoked`,
      ...extra,
    ];
  }
  if (!r.token) return [`Unchanged: ${r.reason}`, ...extra];
  const t = r.token;
  return [
    `Rotated Secret "${r.secretName}" in ${r.namespaces.join(", ")}` +
      (r.created.length ? ` (created in ${r.created.join(", ")})` : ""),
    `Deploy token ${t.id} (${t.username}) for ${hosts}, expires ${t.expiresAt}`,
    r.revokedTokenIds.length
      ? `Revoked deploy token(s) ${r.revokedTokenIds.join(", ")}`
      : "No previous token to revoke",
    ...extra,
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

/** Left-aligned columns for terminal output; the last column is not padded. */
export function textTable(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd(),
  );
}

/** The Action's job summary as data: a heading, one table row per namespace, then notes. Pure, so it is unit-tested. */
export interface JobSummary {
  heading: string;
  header: string[];
  rows: string[][];
  notes: string[];
}

export function jobSummary(r: RotationReport): JobSummary {
  const written = r.token !== null || r.static?.applied === true;
  const heading = r.token
    ? "gitlab-pull-secret: rotated"
    : written
      ? "gitlab-pull-secret: static credentials applied"
      : r.dryRun
        ? "gitlab-pull-secret: dry run (nothing changed)"
        : r.filled
          ? `gitlab-pull-secret: filled ${r.filled.namespaces.join(", ")}`
          : r.changed
            ? "gitlab-pull-secret: ServiceAccounts updated"
            : "gitlab-pull-secret: unchanged";
  const filled = (ns: string): boolean => r.filled?.namespaces.includes(ns) === true;
  const change = (ns: string): string =>
    written
      ? r.created.includes(ns)
        ? "created"
        : "updated"
      : r.dryRun
        ? filled(ns)
          ? "would fill"
          : r.created.includes(ns)
            ? "would create"
            : "checked"
        : filled(ns)
          ? "filled"
          : "unchanged";
  const revoked = r.revokedTokenIds.join(", ") || "none";
  const skippedRows = r.skipped.map((s) => [
    s.namespace,
    r.secretName,
    s.reason === "missing" ? "skipped: no such namespace" : "skipped: being deleted",
    "-",
    "-",
    "-",
    revoked,
  ]);
  const rows = r.namespaces.map((ns) => [
    ns,
    r.secretName,
    change(ns),
    // An unchanged run keeps the token the Secrets already hold.
    r.token ? String(r.token.id) : r.static ? "static" : r.previousTokenIds.join(", ") || "-",
    r.token?.username ?? r.static?.username ?? "-",
    r.token?.expiresAt ?? "-",
    revoked,
  ]);
  const notes = [
    `Reason: ${r.reason}`,
    r.owner
      ? `Owner: ${r.owner.kind} ${r.owner.path} (id ${r.owner.id}); registry ${[r.registry, ...r.registryAliases].join(", ")}`
      : `Static credentials of ${r.static?.username ?? "?"} (nothing minted or revoked); registry ${[r.registry, ...r.registryAliases].join(", ")}`,
  ];
  if (r.verified)
    notes.push(
      `Pull check: ${r.verified.repository}${r.verified.tag ? `:${r.verified.tag}` : ""}${r.verified.digest ? ` (${r.verified.digest})` : ""}`,
    );
  if (r.keptTokenIds.length) notes.push(`Kept alive: deploy token(s) ${r.keptTokenIds.join(", ")}`);
  if (r.sweptTokenIds.length) notes.push(`Swept orphaned deploy token(s) ${r.sweptTokenIds.join(", ")}`);
  if (r.serviceAccountsUpdated?.length)
    notes.push(`Added to imagePullSecrets of ${r.serviceAccountsUpdated.join(", ")}`);
  if (r.apiToken) notes.push(apiTokenLine(r.apiToken));
  for (const p of r.problems) notes.push(`Warning: ${p}`);
  return {
    heading,
    header: ["Namespace", "Secret", "Change", "Token id", "Username", "Expires", "Revoked token ids"],
    rows: [...rows, ...skippedRows],
    notes,
  };
}

/** The job summary is HTML: text from servers (problems) must not become markup. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
