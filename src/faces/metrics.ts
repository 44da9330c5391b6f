// The reports as Prometheus metrics, for the monitoring a platform team
// already runs. Built with prom-client from the status report (what the
// cluster and GitLab hold) and the run's facts (what rotate did), then
// rendered as OpenMetrics (`status --format openmetrics`) or the Prometheus
// text format (node-exporter's textfile collector and the Pushgateway read
// that one). Pure apart from prom-client's own async rendering: the files and
// the push are in metrics-out.ts.
//
// Every value is a gauge: a CLI run is a snapshot, not a process that counts,
// so "tokens minted by the last run" is a gauge, and no sample carries a
// `_total` or `_created` that the two formats would spell differently.
// Names follow prometheus.io/docs/practices/naming: one prefix, base units,
// `_timestamp_seconds` for points in time, `_info` for the labels-only metric.
import type { Finding, StatusReport } from "../commands/status-report.js";
import { RUN_RESULTS, type RunResult } from "../commands/run-signals.js";

export const PREFIX = "gitlab_pull_secret_";

export type MetricsFormat = "openmetrics" | "text";

/** What rotate adds to the status metrics. */
export interface RunFacts {
  secretName: string;
  result: RunResult;
  /** Exit 0. */
  success: boolean;
  finishedAt: Date;
  durationSeconds: number;
  /** Unix seconds of the last run that succeeded: this one, or carried from before when this one did not. */
  lastSuccessSeconds: number | undefined;
  minted: number;
  revoked: number;
  swept: number;
  filled: number;
  skipped: number;
  /** With --rotate-api-token-within: 1 when the run rotated (and stored) the API token, else 0; undefined without. */
  apiTokenRotated?: number | undefined;
}

/** The findings that make a Secret unhealthy: an expiring token still pulls (its own alert says so), the others do not or are not ours. */
const UNHEALTHY: ReadonlySet<Finding["kind"]> = new Set([
  "missing-namespace",
  "missing-secret",
  "unmanaged-secret",
  "other-owner",
  "wrong-type",
  "dead-token",
  "overlap",
]);

/**
 * Healthy: the Secret is there, managed by us, of the right type, holding a
 * live token (or static credentials), and no finding that needs a person
 * names its namespace (another owner or target, a dead token).
 */
export function secretHealthy(r: StatusReport, namespace: string): boolean {
  const s = r.secrets.find((x) => x.namespace === namespace);
  if (!s || !s.present || !s.managed) return false;
  if (s.credentials !== "static" && s.tokenState !== "live") return false;
  return !r.findings.some(
    (f) => f.severity === "attention" && UNHEALTHY.has(f.kind) && f.namespaces?.includes(namespace),
  );
}

const seconds = (iso: string | null | undefined): number | undefined => {
  if (!iso) return undefined;
  // GitLab's dates (YYYY-MM-DD) end at 00:00 UTC that day.
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(iso) ? `${iso}T00:00:00Z` : iso);
  return Number.isFinite(ms) ? ms / 1000 : undefined;
};

type PromClient = typeof import("prom-client");

/** A gauge family: its samples are added as they are known (a family with none is left out). */
interface Family {
  name: string;
  help: string;
  labels: readonly string[];
  samples: Array<{ labels: Record<string, string>; value: number }>;
}

function families(status: StatusReport | undefined, run: RunFacts | undefined): Family[] {
  const out: Family[] = [];
  const family = (name: string, help: string, labels: readonly string[]): Family => {
    const f: Family = { name: PREFIX + name, help, labels, samples: [] };
    out.push(f);
    return f;
  };
  if (status) {
    const secret = status.secretName;
    const expiry = family(
      "token_expiry_timestamp_seconds",
      "When the deploy token a managed Secret holds expires (Unix time).",
      ["namespace", "secret"],
    );
    const healthy = family(
      "secret_healthy",
      "1 when the Secret is present, ours, of the right type and holds a live token of this target; 0 otherwise.",
      ["namespace", "secret"],
    );
    for (const s of status.secrets) {
      const at = s.present && s.managed ? seconds(s.expiresAt) : undefined;
      if (at !== undefined) expiry.samples.push({ labels: { namespace: s.namespace, secret }, value: at });
      healthy.samples.push({
        labels: { namespace: s.namespace, secret },
        value: secretHealthy(status, s.namespace) ? 1 : 0,
      });
    }
    const byKind = new Map<string, { severity: string; count: number }>();
    for (const f of status.findings) {
      const key = `${f.kind}\u0000${f.severity}`;
      byKind.set(key, { severity: f.severity, count: (byKind.get(key)?.count ?? 0) + 1 });
    }
    const findings = family(
      "findings",
      "What status found, counted by reason (the findings of its table); attention ones make --warn-within exit 3.",
      ["secret", "reason", "severity"],
    );
    for (const [key, v] of [...byKind].sort(([a], [b]) => (a < b ? -1 : 1))) {
      findings.samples.push({
        labels: { secret, reason: key.split("\u0000")[0]!, severity: v.severity },
        value: v.count,
      });
    }
    family("attention", "1 when something needs a person (what makes status --warn-within exit 3).", [
      "secret",
    ]).samples.push({ labels: { secret }, value: status.attention ? 1 : 0 });
    family("status_timestamp_seconds", "When status read the cluster and GitLab (Unix time).", ["secret"]).samples.push(
      { labels: { secret }, value: seconds(status.checkedAt) ?? 0 },
    );
    const api = status.apiToken;
    if (api?.checked) {
      const info = family(
        "api_token_info",
        "The GitLab API token that mints the deploy tokens: its name and scopes (value always 1).",
        ["secret", "name", "scopes"],
      );
      info.samples.push({ labels: { secret, name: api.name, scopes: [...api.scopes].sort().join(",") }, value: 1 });
      const at = seconds(api.expiresAt);
      if (at !== undefined) {
        family(
          "api_token_expiry_timestamp_seconds",
          "When the GitLab API token expires (Unix time; absent when it never expires).",
          ["secret"],
        ).samples.push({ labels: { secret }, value: at });
      }
    }
  }
  if (run) {
    const secret = run.secretName;
    const one = (name: string, help: string, value: number | undefined): void => {
      if (value !== undefined) family(name, help, ["secret"]).samples.push({ labels: { secret }, value });
    };
    one("last_run_timestamp_seconds", "When the last rotate run ended (Unix time).", run.finishedAt.getTime() / 1000);
    one(
      "last_run_success",
      "1 when the last rotate run exited 0; 0 when it failed or left a problem (a skipped namespace, a failed revoke).",
      run.success ? 1 : 0,
    );
    const result = family("last_run_result", "The last rotate run's result: 1 for the one it had, 0 for the others.", [
      "secret",
      "result",
    ]);
    for (const r of RUN_RESULTS)
      result.samples.push({ labels: { secret, result: r }, value: r === run.result ? 1 : 0 });
    one("last_success_timestamp_seconds", "When a rotate run last exited 0 (Unix time).", run.lastSuccessSeconds);
    one("last_run_duration_seconds", "How long the last rotate run took.", run.durationSeconds);
    one("last_run_minted_tokens", "Deploy tokens the last run minted.", run.minted);
    one("last_run_revoked_tokens", "Previous deploy tokens the last run revoked.", run.revoked);
    one("last_run_swept_tokens", "Orphaned deploy tokens the last run swept.", run.swept);
    one(
      "last_run_filled_namespaces",
      "Namespaces the last run filled with the current token (nothing due).",
      run.filled,
    );
    one(
      "last_run_skipped_namespaces",
      "Listed namespaces the last run skipped (missing or being deleted).",
      run.skipped,
    );
    one(
      "last_run_api_token_rotated",
      "With --rotate-api-token-within: 1 when the last run rotated the GitLab API token and stored it, else 0.",
      run.apiTokenRotated,
    );
  }
  return out.filter((f) => f.samples.length > 0);
}

/** The metrics as text: OpenMetrics (ends with `# EOF`) or the Prometheus text format 0.0.4. */
export async function metricsText(
  format: MetricsFormat,
  parts: { status?: StatusReport | undefined; run?: RunFacts | undefined },
): Promise<{ text: string; contentType: string }> {
  // Loaded when asked: runs without metrics do not pay for it.
  const prom: PromClient = await import("prom-client");
  const contentType =
    format === "openmetrics" ? prom.Registry.OPENMETRICS_CONTENT_TYPE : prom.Registry.PROMETHEUS_CONTENT_TYPE;
  const registry = new prom.Registry<typeof contentType>();
  registry.setContentType(contentType);
  for (const f of families(parts.status, parts.run)) {
    const gauge = new prom.Gauge({ name: f.name, help: f.help, labelNames: [...f.labels], registers: [registry] });
    for (const s of f.samples) gauge.set(s.labels, s.value);
  }
  let text = await registry.metrics();
  if (!text.endsWith("\n")) text += "\n";
  return { text, contentType };
}

/** The last success carried from a textfile this tool wrote before (a failed run must not erase it). */
export function previousLastSuccess(text: string, secretName: string): number | undefined {
  const name = `${PREFIX}last_success_timestamp_seconds`;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^[a-z_]+(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    if (m[1] && !m[1].includes(`secret="${secretName.replace(/[\\"]/g, (c) => `\\${c}`)}"`)) continue;
    const v = Number(m[2]);
    if (Number.isFinite(v)) return v;
  }
  return undefined;
}
