// Pure: the Secrets and the owner's tokens -> the status report, findings
// included. No port is touched here, so every finding is unit-testable.
import { ROTATE_WARN_MS, apiTokenExpiresWithin, apiTokenExpiryMessage, type ApiTokenStatus } from "./apitoken.js";
import { SECRET_TYPES, type SecretType } from "../model/dockerconfig.js";
import { DAY_MS } from "../config/duration.js";
import { Annotations, STATIC_OWNER, ownerRef as ownerRefOf } from "../model/naming.js";
import {
  formatDuration,
  heldTokens,
  isLiveToken,
  isManaged,
  namedForTarget,
  referencedIds,
  sweepCandidates,
} from "../model/plan.js";
import { assessOwnership, claimOf, overlapMessage, sparedMessage } from "../model/ownership.js";
import type {
  ExistingSecret,
  ManagedSecretRef,
  NamespaceState,
  ResolvedOwner,
  DeployTokenInfo,
} from "../model/ports.js";
import { unavailableText } from "../model/errors.js";
import type { TargetRef } from "./target.js";
import { renderTarget } from "./render.js";
import { ownsTokenName } from "../model/naming.js";
import type { Finding, SecretStatus, StatusReport, TokenRole, TokenState, TokenStatus } from "./status-report.js";

/** Days from now to `expiresAt`, floored to a tenth; null for a token that never expires. */
export function daysLeft(expiresAt: string | null, now: Date): number | null {
  if (expiresAt === null) return null;
  const ms = Date.parse(expiresAt);
  return Number.isFinite(ms) ? Math.floor(((ms - now.getTime()) / DAY_MS) * 10) / 10 : null;
}

function stateOf(t: DeployTokenInfo, now: Date): TokenState {
  return t.revoked ? "revoked" : isLiveToken(t, now) ? "live" : "expired";
}

function idOf(text: string | undefined): number | null {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : null;
}

const list = (items: readonly string[]): string => items.join(", ");

/** Pure: the Secrets and the owner's tokens -> the report, findings included. */
export function assessStatus(args: {
  /** null: static credentials, whose Secrets hold no token. */
  owner: ResolvedOwner | null;
  /** With static credentials, whose (only for the report). */
  staticUsername?: string;
  secretName: string;
  /** --secret-type; default dockerconfigjson. */
  secretType?: SecretType;
  namespaces: readonly string[];
  /** The target rotate named the tokens for (target.ts). */
  target: TargetRef;
  prefix: string;
  existing: readonly ExistingSecret[];
  tokens: readonly DeployTokenInfo[];
  now: Date;
  warnWithinMs: number | undefined;
  graceMs: number;
  /** The cluster-wide list of managed Secrets, "forbidden" when RBAC refused it, undefined when not read. */
  managed?: readonly ManagedSecretRef[] | "forbidden";
  /** What the API server said of the namespaces where the Secret is absent (status asks only about those). */
  namespaceStates?: ReadonlyMap<string, NamespaceState>;
  /** What rotate with these options would fill (model/fill.ts): the namespaces without the Secret and the token they would get. */
  fill?: { tokenId: number; namespaces: readonly string[] } | null;
  /** What GitLab said about the API token itself; null or absent: not asked. */
  apiToken?: ApiTokenStatus | null;
  /** These namespaces are part of a larger target (ownership.ts coveringTarget): tokens held outside them are not judged. */
  partOf?: TargetRef | undefined;
}): StatusReport {
  const { owner, now } = args;
  const ownerRef = ownerRefOf(owner);
  const wantedType = SECRET_TYPES[args.secretType ?? "dockerconfigjson"].type;
  const { target } = args;
  const byId = new Map(args.tokens.map((t) => [t.id, t]));
  const bySecretNs = new Map(args.existing.map((s) => [s.namespace, s]));
  const findings: Finding[] = [];

  const secrets: SecretStatus[] = args.namespaces.map((namespace) => {
    const s = bySecretNs.get(namespace);
    if (!s) {
      const state = args.namespaceStates?.get(namespace);
      const namespaceState = state === "missing" || state === "terminating" ? state : null;
      const fillWith = args.fill?.namespaces.includes(namespace) ? args.fill.tokenId : null;
      return {
        namespace,
        present: false,
        managed: false,
        type: null,
        credentials: null,
        owner: null,
        tokenId: null,
        username: null,
        expiresAt: null,
        daysLeft: null,
        tokenState: null,
        fillWith,
        namespaceState,
      };
    }
    const managed = isManaged(s);
    const tokenId = managed ? idOf(s.annotations[Annotations.tokenId]) : null;
    const recordedOwner = managed ? (s.annotations[Annotations.owner] ?? null) : null;
    // Our owner's tokens are looked up in GitLab; another owner's cannot be from here.
    const t = tokenId !== null && recordedOwner === ownerRef ? byId.get(tokenId) : undefined;
    const expiresAt = t ? t.expiresAt : managed ? (s.annotations[Annotations.expiresAt] ?? null) : null;
    return {
      namespace,
      present: true,
      managed,
      type: s.type,
      credentials: !managed ? null : recordedOwner === STATIC_OWNER ? "static" : "deploy-token",
      owner: recordedOwner,
      tokenId,
      username: t?.username ?? (managed ? (s.annotations[Annotations.tokenUsername] ?? null) : null),
      expiresAt,
      daysLeft: daysLeft(expiresAt, now),
      tokenState: tokenId === null || recordedOwner !== ownerRef ? null : t ? stateOf(t, now) : "gone",
      fillWith: null,
      namespaceState: null,
    };
  });

  const gone = secrets.filter((s) => s.namespaceState !== null);
  if (gone.length) {
    findings.push({
      severity: "attention",
      kind: "missing-namespace",
      namespaces: gone.map((s) => s.namespace),
      message:
        `listed namespace(s) ${unavailableText(gone.map((s) => ({ namespace: s.namespace, reason: s.namespaceState! })))}: rotate skips them and exits 1 ` +
        `(--missing-namespace fail stops it). Recreate them (the next rotate fills them) or remove them from the list`,
    });
  }
  const missing = secrets.filter((s) => !s.present && s.namespaceState === null).map((s) => s.namespace);
  if (missing.length) {
    const next = args.fill
      ? `rotate fills it with deploy token ${args.fill.tokenId}, the one the other Secrets hold (nothing minted)`
      : "rotate creates it";
    findings.push({
      severity: "attention",
      kind: "missing-secret",
      namespaces: missing,
      message: `no Secret "${args.secretName}" in ${list(missing)}: pods there cannot pull; ${next}`,
    });
  }
  const unmanaged = secrets.filter((s) => s.present && !s.managed).map((s) => s.namespace);
  if (unmanaged.length) {
    findings.push({
      severity: "attention",
      kind: "unmanaged-secret",
      namespaces: unmanaged,
      message: `Secret "${args.secretName}" in ${list(unmanaged)} is not managed by gitlab-pull-secret: rotate refuses it without --adopt`,
    });
  }
  for (const s of secrets.filter((x) => x.managed && x.owner !== ownerRef)) {
    // A Secret of another type is one rotate refuses (a Secret's type cannot change): never promise to replace it.
    const fate = s.type === wantedType ? "rotate replaces it" : `rotate refuses it, since it is ${s.type} (see below)`;
    const message =
      s.credentials === "static"
        ? `the Secret in ${s.namespace} holds static credentials (of ${s.username ?? "?"}), not a deploy token of ${ownerRef}: ${fate}`
        : owner === null
          ? `the Secret in ${s.namespace} holds deploy token ${s.tokenId ?? "?"} of ${s.owner ?? "an unknown owner"}, not the static credentials: ${fate}${s.type === wantedType ? " (without revoking that token: run revoke with its --project/--group)" : ""}`
          : `the Secret in ${s.namespace} holds a token of ${s.owner ?? "an unknown owner"}, not ${ownerRef}: ${fate}`;
    findings.push({ severity: "attention", kind: "other-owner", namespaces: [s.namespace], message });
  }
  const wrongType = secrets.filter((s) => s.present && s.type !== wantedType);
  if (wrongType.length) {
    findings.push({
      severity: "attention",
      kind: "wrong-type",
      namespaces: wrongType.map((s) => s.namespace),
      message:
        `Secret "${args.secretName}" in ${list(wrongType.map((s) => `${s.namespace} (${s.type})`))} is not ${wantedType}: rotate refuses it, ` +
        `since a Secret's type cannot change. Use the --secret-type it has, or another --secret-name`,
    });
  }

  // One finding per token the Secrets hold, naming every namespace holding it.
  const holders = new Map<number, string[]>();
  for (const s of secrets)
    if (s.tokenId !== null && s.tokenState !== null)
      holders.set(s.tokenId, [...(holders.get(s.tokenId) ?? []), s.namespace]);
  for (const [id, namespaces] of holders) {
    const s = secrets.find((x) => x.tokenId === id)!;
    const where = `the Secret in ${list(namespaces)}`;
    if (s.tokenState !== "live") {
      const why =
        s.tokenState === "gone"
          ? "GitLab no longer has it"
          : s.tokenState === "revoked"
            ? "it was revoked"
            : `it expired ${s.expiresAt?.slice(0, 10) ?? ""}`.trim();
      findings.push({
        severity: "attention",
        kind: "dead-token",
        tokenId: id,
        namespaces,
        message: `${where} holds deploy token ${id}, which cannot pull: ${why}. Run rotate`,
      });
    } else if (
      args.warnWithinMs !== undefined &&
      s.expiresAt !== null &&
      Date.parse(s.expiresAt) - now.getTime() <= args.warnWithinMs
    ) {
      const left = formatDuration(Date.parse(s.expiresAt) - now.getTime());
      findings.push({
        severity: "attention",
        kind: "expiring",
        tokenId: id,
        namespaces,
        message: `deploy token ${id} in ${list(namespaces)} expires in ${left} (${s.expiresAt.slice(0, 10)} 00:00 UTC), within --warn-within: run rotate`,
      });
    }
  }

  // Our tokens: recorded by a Secret of ours, or named for this target (or legacy-named for it).
  const held = heldTokens(args.existing, owner);
  const own = owner
    ? assessOwnership({
        existing: args.existing,
        owner,
        tokens: args.tokens,
        prefix: args.prefix,
        target,
        namespaces: args.namespaces,
        managed: Array.isArray(args.managed) ? args.managed : undefined,
      })
    : undefined;
  const referenced = new Set([...referencedIds(held), ...(own?.heldElsewhere ?? [])]);
  // Part of a target: a token no Secret here references may be held in its other namespaces, so none is called an orphan.
  const orphans = new Set(
    args.partOf
      ? []
      : sweepCandidates({
          tokens: args.tokens,
          prefix: args.prefix,
          target,
          referenced,
          now,
          graceMs: args.graceMs,
        }).map((t) => t.id),
  );
  const elsewhere = own?.elsewhereHolders ?? new Map<number, readonly string[]>();
  const spared = new Map((own?.spared ?? []).map((s) => [s.id, s]));
  const legacy = (name: string): boolean => claimOf(args.prefix, target, name).kind === "legacy";
  // render's tokens (GitOps copies, node configs): never rotate's to revoke or sweep, but live credentials people should see.
  const rendered = (t: DeployTokenInfo): boolean =>
    ownsTokenName(args.prefix, renderTarget(args.secretName), t.name) && isLiveToken(t, now);
  const tokens: TokenStatus[] = args.tokens
    .filter(
      (t) =>
        referenced.has(t.id) ||
        ((namedForTarget(args.prefix, target, t.name) || legacy(t.name)) && !args.partOf) ||
        rendered(t),
    )
    .map((t) => {
      const state = stateOf(t, now);
      const sparedAs = spared.get(t.id)?.why;
      const role: TokenRole =
        sparedAs && sparedAs !== "held-elsewhere"
          ? sparedAs
          : held.current.includes(t.id)
            ? "current"
            : held.kept.includes(t.id)
              ? "kept"
              : held.pending.includes(t.id)
                ? "pending"
                : orphans.has(t.id)
                  ? "orphan"
                  : own?.heldElsewhere.has(t.id)
                    ? "held-elsewhere"
                    : rendered(t)
                      ? "render"
                      : legacy(t.name)
                        ? "legacy"
                        : state === "live"
                          ? "in-flight"
                          : "stale";
      // Held here: the namespaces; held only outside the target: the Secrets there, so the table says who still needs it.
      const usedBy = holders.get(t.id) ?? [...(elsewhere.get(t.id) ?? [])];
      return {
        id: t.id,
        name: t.name,
        username: t.username,
        expiresAt: t.expiresAt,
        daysLeft: daysLeft(t.expiresAt, now),
        state,
        role,
        usedBy,
      };
    })
    .sort((a, b) => b.id - a.id);

  for (const o of own?.overlaps ?? []) {
    findings.push({
      severity: "attention",
      kind: "overlap",
      tokenId: o.tokenId,
      namespaces: [o.namespace],
      message: overlapMessage(o, args.secretName, target),
    });
  }
  for (const s of own?.spared ?? []) {
    // Overlaps are named above; the other spared tokens are worth knowing.
    if (s.why === "other-target" && own!.overlaps.some((o) => o.tokenId === s.id)) continue;
    findings.push({
      severity: "info",
      kind: "spared",
      tokenId: s.id,
      namespaces: s.namespaces,
      message: sparedMessage(s).replace(/^Left/, "rotate leaves"),
    });
  }
  if (args.partOf) {
    findings.push({
      severity: "info",
      kind: "part-of-target",
      message: `these namespaces are part of target ${args.partOf.id} (${args.partOf.describe}): tokens held only outside them are not shown; give status that target's own namespaces or selector to see them all`,
    });
  }
  if (args.managed === "forbidden") {
    findings.push({
      severity: "info",
      kind: "cluster-wide",
      message: "RBAC does not allow listing Secrets cluster-wide: Secrets outside these namespaces were not checked",
    });
  }
  for (const t of tokens) {
    if (t.role === "orphan") {
      findings.push({
        severity: "attention",
        kind: "orphan",
        tokenId: t.id,
        message: `deploy token ${t.id} (${t.name}) is an orphan: live, ours, and no Secret references it. rotate sweeps it; revoke deletes it`,
      });
    } else if (t.role === "pending" && t.state === "live") {
      findings.push({
        severity: "attention",
        kind: "pending-revoke",
        tokenId: t.id,
        message: `deploy token ${t.id} is still live although an earlier run meant to revoke it; the next rotate revokes it`,
      });
    } else if (t.role === "in-flight") {
      findings.push({
        severity: "info",
        kind: "in-flight",
        tokenId: t.id,
        message: `deploy token ${t.id} is unreferenced but younger than --sweep-grace: a rotation may be running`,
      });
    } else if (t.role === "legacy" && t.state === "live") {
      findings.push({
        severity: "info",
        kind: "legacy",
        tokenId: t.id,
        message:
          `deploy token ${t.id} (${t.name}) is legacy, not ours to sweep: it was named before token names carried the cluster's identity, ` +
          `so another cluster may hold it. It expires by itself${t.expiresAt ? ` on ${t.expiresAt.slice(0, 10)}` : ""}`,
      });
    } else if (t.role === "render") {
      findings.push({
        severity: "info",
        kind: "render",
        tokenId: t.id,
        message:
          `deploy token ${t.id} (${t.name}) was minted by render for a GitOps copy or a node's config: rotate never revokes or sweeps it. ` +
          `It expires by itself${t.expiresAt ? ` on ${t.expiresAt.slice(0, 10)}` : ""}; revoke it in GitLab when that copy is retired`,
      });
    } else if (t.role === "stale") {
      findings.push({
        severity: "info",
        kind: "stale",
        tokenId: t.id,
        message: `deploy token ${t.id} is ${t.state} and still listed by GitLab; it cannot pull (revoke deletes it)`,
      });
    }
  }

  // Without --warn-within, the same 14 days rotate warns at.
  const apiToken = args.apiToken ?? null;
  if (apiTokenExpiresWithin(apiToken, now, args.warnWithinMs ?? ROTATE_WARN_MS)) {
    const within = args.warnWithinMs !== undefined ? "within --warn-within" : "within 14 days";
    findings.push({
      severity: "attention",
      kind: "api-token-expiring",
      message: apiTokenExpiryMessage(apiToken, now, within),
    });
  }

  return {
    secretName: args.secretName,
    owner: owner ? { kind: owner.kind, id: owner.id, path: owner.path } : null,
    static: owner ? null : { username: args.staticUsername ?? "?" },
    secretType: wantedType,
    checkedAt: now.toISOString(),
    warnWithinMs: args.warnWithinMs,
    secrets,
    tokens,
    apiToken,
    // Attention first; stable within each severity.
    findings: [...findings.filter((f) => f.severity === "attention"), ...findings.filter((f) => f.severity === "info")],
    attention: findings.some((f) => f.severity === "attention"),
  };
}
