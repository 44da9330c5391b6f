// How `status` shows its report: the tables people read on stderr and the
// object `--json` prints. The report itself is read by commands/status.ts.
import type { StatusReport } from "../commands/status.js";
import { apiTokenLine } from "../commands/apitoken.js";
import { textTable } from "./report.js";

const dash = (v: string | number | null | undefined): string =>
  v === null || v === undefined || v === "" ? "-" : String(v);

export function statusLines(r: StatusReport): string[] {
  const whose = r.owner
    ? `of ${r.owner.kind} ${r.owner.path} (id ${r.owner.id})`
    : `with static credentials of ${r.static?.username ?? "?"}`;
  const lines = [
    `Secret "${r.secretName}" ${whose}, checked ${r.checkedAt}`,
    ...(r.apiToken ? [apiTokenLine(r.apiToken)] : []),
    "",
  ];
  lines.push(
    ...textTable([
      ["NAMESPACE", "TYPE", "TOKEN", "EXPIRES", "DAYS LEFT", "TOKEN STATE"],
      ...r.secrets.map((s) =>
        s.present
          ? s.credentials === "static"
            ? [s.namespace, s.type ?? "-", "static", "-", "-", `static (${s.username ?? "?"})`]
            : [
                s.namespace,
                s.type ?? "-",
                dash(s.tokenId),
                dash(s.expiresAt?.slice(0, 10)),
                dash(s.daysLeft),
                s.managed ? dash(s.tokenState) : "unmanaged",
              ]
          : [
              s.namespace,
              "-",
              "-",
              "-",
              "-",
              s.namespaceState === "missing"
                ? "no such namespace"
                : s.namespaceState === "terminating"
                  ? "namespace being deleted"
                  : s.fillWith !== null
                    ? `missing: rotate fills it with ${s.fillWith}`
                    : "missing",
            ],
      ),
    ]),
  );
  lines.push("");
  if (!r.owner) lines.push("Static credentials: no deploy tokens (GitLab was not asked).");
  else if (r.tokens.length === 0) lines.push("No deploy token of this target in GitLab.");
  else {
    lines.push(
      ...textTable([
        ["TOKEN", "STATE", "ROLE", "EXPIRES", "DAYS LEFT", "USED BY", "NAME"],
        ...r.tokens.map((t) => [
          String(t.id),
          t.state,
          t.role,
          dash(t.expiresAt?.slice(0, 10)),
          dash(t.daysLeft),
          dash(t.usedBy.join(",")),
          t.name,
        ]),
      ]),
    );
  }
  const attention = r.findings.filter((f) => f.severity === "attention");
  const info = r.findings.filter((f) => f.severity === "info");
  if (attention.length || info.length) lines.push("");
  for (const f of attention) lines.push(`attention: ${f.message}`);
  for (const f of info) lines.push(`note: ${f.message}`);
  if (!attention.length) lines.push("", "Nothing needs attention.");
  return lines;
}

/** `status --json`: every field as is (ids, names, dates; never a secret). */
export function statusJson(r: StatusReport): Record<string, unknown> {
  const { warnWithinMs, ...rest } = r;
  return { command: "status", ...rest, warnWithinSeconds: warnWithinMs === undefined ? null : warnWithinMs / 1000 };
}
