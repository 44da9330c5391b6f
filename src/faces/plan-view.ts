// How `plan` shows its result: the lines people read and the object `--json`
// prints. The plan itself is worked out by commands/plan.ts.
import type { PlannedToken, RotationPlan } from "../commands/plan.js";
import { overlapMessage, type Spared } from "../model/ownership.js";

function sparedWhy(s: Spared): string {
  return s.why === "held-elsewhere"
    ? `held by ${(s.elsewhere ?? []).join(", ")}`
    : s.why === "unproven"
      ? "name not ours"
      : `${s.why} ${s.target}`;
}

function tokenList(tokens: readonly PlannedToken[]): string {
  return tokens.length
    ? tokens.map((t) => `${t.id} (${t.name}${t.expiresAt ? `, expires ${t.expiresAt.slice(0, 10)}` : ""})`).join(", ")
    : "none";
}

/** The plan for people. Never holds a secret: a plan has none. */
export function planLines(p: RotationPlan): string[] {
  const width = Math.max(...p.namespaces.map((n) => n.namespace.length), 9);
  const who = p.owner ? `${p.owner.kind} ${p.owner.path}` : `static credentials of ${p.static?.username ?? "?"}`;
  const hosts = [p.registry, ...p.registryAliases].join(", ");
  return [
    `Plan for Secret "${p.secretName}" (${who}, registry ${hosts}): ${p.due ? (p.owner ? "rotate" : "apply") : p.fill ? "fill" : "nothing due"}, because ${p.reason}`,
    ...p.namespaces.map(
      (n) =>
        `  ${n.namespace.padEnd(width)}  ${n.createNamespace ? `create namespace + ${n.action} Secret` : n.action}${n.reason ? ` (${n.reason === "missing" ? "no such namespace" : "being deleted"})` : ""}`,
    ),
    p.mint
      ? `Mint:    a deploy token with scopes ${p.mint.scopes.join(", ")} named ${p.mint.namePattern}, expiring ${p.mint.expiresAt} 00:00 UTC`
      : p.fill
        ? `Mint:    nothing (fill ${p.fill.namespaces.join(", ")} with deploy token ${p.fill.tokenId}, which the other Secrets hold; nothing is revoked for it)`
        : p.owner
          ? `Mint:    nothing (the Secrets keep deploy token ${p.current.join(", ") || "-"})`
          : `Mint:    nothing (static credentials are applied as given; no token is minted or revoked, GitLab is not called)`,
    `Keep:    ${tokenList(p.keep)}`,
    `Revoke:  ${tokenList(p.revoke)}`,
    `Sweep:   ${tokenList(p.sweep)}`,
    ...(p.spared.length
      ? [`Leave alive (not this target's to revoke): ${p.spared.map((t) => `${t.id} (${sparedWhy(t)})`).join(", ")}`]
      : []),
    ...p.overlaps.map((o) => `warning: ${overlapMessage(o, p.secretName, p.target)}`),
    ...(p.clusterWide === false
      ? ["Note: RBAC does not allow listing Secrets cluster-wide; only token names decide what is revoked"]
      : []),
    ...(p.serviceAccounts.length ? [`ServiceAccounts to get "${p.secretName}": ${p.serviceAccounts.join(", ")}`] : []),
    ...(p.apiToken
      ? [
          p.apiToken.action === "would-rotate"
            ? `API token: rotate it last, after the deploy token (${p.apiToken.reason}), and write it to ${p.apiToken.store}`
            : `API token: leave it (${p.apiToken.reason})`,
        ]
      : []),
    ...(p.namespaces.some((n) => n.createNamespace)
      ? [
          "The namespace(s) marked create namespace do not exist yet: the API server accepted creating them (server dry run), but a " +
            "dry-run namespace is not kept, so the check of the Secret inside (quota, admission) runs when rotate creates them.",
        ]
      : []),
    ...(p.namespaces.some((n) => n.action === "skip")
      ? [
          "rotate would skip the namespace(s) marked skip and exit 1 naming them (--missing-namespace fail stops it instead).",
        ]
      : []),
    "Nothing was changed: no token minted, no Lease taken, no Secret written.",
  ];
}

/** `plan --json`: the plan as is (it holds ids, names and dates only). */
export function planJson(p: RotationPlan): Record<string, unknown> {
  return { command: "plan", ...p };
}
