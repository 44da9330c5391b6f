// Typed errors. Each carries what a user needs to fix the problem and the
// exit code that tells scripts whether retrying can help.

export const ExitCode = {
  ok: 0,
  /** A remote system (GitLab, the cluster) failed; rollback has run. Retrying may help. */
  remote: 1,
  /** The invocation is wrong; nothing was touched. Retrying the same command will not help. */
  usage: 2,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export abstract class GpsError extends Error {
  abstract readonly exitCode: ExitCodeValue;
  override name = this.constructor.name;
}

/** Bad input, found before anything remote was called. */
export class UsageError extends GpsError {
  readonly exitCode = ExitCode.usage;
  constructor(
    readonly option: string,
    /** The offending value, never a secret (callers pass undefined for secrets). */
    readonly value: string | undefined,
    readonly accepted: string,
  ) {
    super(
      value === undefined
        ? `${option}: ${accepted}`
        : `${option}: invalid value ${JSON.stringify(value)}; expected ${accepted}`,
    );
  }
}

/** The cluster holds a Secret of our name that another owner made; we do not take it silently. */
export class UnmanagedSecretError extends GpsError {
  readonly exitCode = ExitCode.usage;
  constructor(
    readonly secretName: string,
    readonly namespaces: string[],
  ) {
    super(
      `Secret "${secretName}" already exists in namespace(s) ${namespaces.join(", ")} and is not managed by ` +
        `gitlab-pull-secret (no label app.kubernetes.io/managed-by=gitlab-pull-secret). Nothing was changed. ` +
        `Pass --adopt (Action input adopt: true) to take it over, or choose another --secret-name.`,
    );
  }
}

/**
 * A Secret of our name exists with another type than --secret-type asks for.
 * The API server never changes a Secret's type (422 "field is immutable"), so
 * this is found in the state we read, before anything is minted or written.
 */
export class SecretTypeError extends GpsError {
  readonly exitCode = ExitCode.usage;
  constructor(
    readonly secretName: string,
    /** The Kubernetes type the run would write, e.g. kubernetes.io/dockercfg. */
    readonly wanted: string,
    /** `option`: the --secret-type value that writes that type (dockercfg), absent for types we never write (Opaque). */
    readonly found: ReadonlyArray<{ namespace: string; type: string; option?: string }>,
  ) {
    const where = found.map((f) => `${f.namespace} (${f.type})`).join(", ");
    // The advice must be one that works: --secret-type takes option values (dockercfg), not Kubernetes types,
    // and an Opaque (or any other) Secret can be neither written by us nor changed to a pull Secret, so --adopt cannot help.
    const options = [...new Set(found.map((f) => f.option))];
    const only = options.length === 1 ? options[0] : undefined;
    const fix = only
      ? `Pass --secret-type ${only} (Action input secret-type), the type the Secret has, or give this tool another --secret-name.`
      : `--adopt cannot help: only a kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg Secret can be taken over. Give this tool ` +
        `another --secret-name (Action input secret-name), or, if nothing uses that Secret, delete it ` +
        `(kubectl delete secret ${secretName} -n ${found.find((f) => !f.option)?.namespace ?? found[0]?.namespace ?? "NAMESPACE"}) and run again.`;
    super(
      `Secret "${secretName}" already exists with another type in namespace(s) ${where}; this run would write ${wanted}. ` +
        `A Secret's type cannot change (the API server refuses it as immutable). Nothing was changed. ${fix}`,
    );
  }
}

/**
 * --strict-ownership: a namespace's Secret was written by another target (two
 * pipelines manage the same Secret name there). Found before anything is minted.
 */
export class OwnershipError extends GpsError {
  readonly exitCode = ExitCode.usage;
  constructor(
    readonly secretName: string,
    readonly overlaps: ReadonlyArray<{
      namespace: string;
      tokenId: number;
      otherTarget: string;
      otherSpec: string | undefined;
    }>,
    target: { id: string | undefined; describe: string },
  ) {
    const where = overlaps
      .map(
        (o) => `${o.namespace} (deploy token ${o.tokenId} of ${o.otherTarget}${o.otherSpec ? `, ${o.otherSpec}` : ""})`,
      )
      .join("; ");
    super(
      `--strict-ownership: Secret "${secretName}" in ${where} belongs to another target; this run's target is ` +
        `${target.id ?? "?"} (${target.describe}). Nothing was changed. Give each pipeline its own --secret-name, ` +
        `or manage each namespace from one pipeline only.`,
    );
  }
}

/** A REST API (GitLab's, GitHub's) refused or failed an operation: its words, the HTTP status, and what to do. */
abstract class ApiError extends GpsError {
  readonly exitCode = ExitCode.remote;
  constructor(
    server: string,
    readonly operation: string,
    readonly status: number | undefined,
    readonly detail: string,
    hint = "",
  ) {
    super(`${server}: ${operation} failed${status ? ` (HTTP ${status})` : ""}: ${detail}${hint ? `. ${hint}` : ""}`);
  }
}

export class GitLabError extends ApiError {
  constructor(operation: string, status: number | undefined, detail: string, hint = "") {
    super("GitLab", operation, status, detail, hint);
  }
}

/** GitHub's REST API refused or failed (the github: store of rotate-api-token). Never holds a token. */
export class GitHubError extends ApiError {
  constructor(operation: string, status: number | undefined, detail: string, hint = "") {
    super("GitHub", operation, status, detail, hint);
  }
}

/**
 * kubectl's error lines sorted by what they mean for each namespace: the
 * namespace does not exist (404 `namespaces "x" not found`), it is being
 * deleted (NamespaceLifecycle's 403 "is being terminated"), RBAC said no
 * (403 "User ... cannot ... in the namespace"), or anything else.
 */
export interface Refusals {
  missing: string[];
  terminating: string[];
  forbidden: string[];
  /** Error lines that are none of the above. */
  other: string[];
}

/** What the API server said about one namespace's object, in its own words (the namespace is not repeated in front). */
export interface NamespaceRefusal {
  namespace: string;
  reason: string;
}

/** At most this many namespaces get their own line in a message; the rest are counted. The full list is on the error. */
export const REFUSAL_LINES = 20;

/** One line per refused namespace, indented, capped at REFUSAL_LINES. */
export function refusalLines(refused: readonly NamespaceRefusal[], cap = REFUSAL_LINES): string[] {
  const shown = refused.length > cap ? refused.slice(0, cap) : refused;
  const lines = shown.map((r) => `  ${r.namespace}: ${r.reason}`);
  const more = refused.length - shown.length;
  if (more > 0) lines.push(`  … and ${more} more namespace${more === 1 ? "" : "s"}`);
  return lines;
}

export class KubeError extends GpsError {
  readonly exitCode: ExitCodeValue = ExitCode.remote;
  constructor(
    readonly operation: string,
    readonly detail: string,
    readonly namespaces: string[] = [],
    /** What kubectl's error lines said, per namespace, when they came from kubectl. */
    readonly refusals?: Refusals,
    /**
     * Each namespace whose object the API server refused, with its reason,
     * in the order kubectl sent them. The message shows the first
     * REFUSAL_LINES; `detail` then holds what could not be given a namespace.
     */
    readonly refused: readonly NamespaceRefusal[] = [],
  ) {
    super(
      refused.length
        ? [
            `Kubernetes: ${operation} failed in ${refused.length} namespace${refused.length === 1 ? "" : "s"}:`,
            ...refusalLines(refused),
            ...(detail ? [detail] : []),
          ].join("\n")
        : `Kubernetes: ${operation} failed${namespaces.length ? ` in namespace(s) ${namespaces.join(", ")}` : ""}: ${detail}`,
    );
  }
}

/**
 * Server-side apply refused because another field manager owns fields of the
 * Secret (someone applied or edited it with another tool). The cluster did
 * not fail and will refuse the same apply every time: only the user can
 * decide whether to take the fields over (--adopt), so it is exit 2, not
 * "retrying may help".
 */
export class FieldConflictError extends KubeError {
  override readonly exitCode: ExitCodeValue = ExitCode.usage;
}

/** The per-namespace refusals behind an error, also when a rollback wrapped it. */
export function refusedOf(err: unknown): readonly NamespaceRefusal[] {
  const inner = err instanceof RotationError ? err.cause : err;
  return inner instanceof KubeError ? inner.refused : [];
}

export type NamespaceLifecycle = "missing" | "terminating";

/** A listed namespace that cannot take the Secret: it does not exist, or it is being deleted. */
export interface UnavailableNamespace {
  namespace: string;
  reason: NamespaceLifecycle;
}

export function unavailableText(list: readonly UnavailableNamespace[]): string {
  return list
    .map((u) => `${u.namespace} (${u.reason === "missing" ? "does not exist" : "is being deleted"})`)
    .join(", ");
}

/**
 * Listed namespaces that do not exist or are being deleted, where the run
 * may not go on without them: --missing-namespace fail, or none is left.
 */
export class NamespacesUnavailableError extends KubeError {
  constructor(
    readonly unavailable: readonly UnavailableNamespace[],
    why: string,
  ) {
    super(
      "finding the namespaces",
      `${unavailableText(unavailable)}. ${why}`,
      unavailable.map((u) => u.namespace),
    );
  }
}

/** A failure after the new token was minted; says what rollback did. */
export class RotationError extends GpsError {
  readonly exitCode: ExitCodeValue;
  constructor(
    override readonly cause: GpsError | Error,
    readonly rollback: string,
  ) {
    super(`${cause.message}\nRollback: ${rollback}`);
    // After the rollback a conflict is still the user's to decide, as before the mint.
    this.exitCode = cause instanceof FieldConflictError ? ExitCode.usage : ExitCode.remote;
  }
}

export function exitCodeOf(err: unknown): ExitCodeValue {
  return err instanceof GpsError ? err.exitCode : ExitCode.remote;
}

/**
 * rotate-api-token found, before rotating, that the token or its store will not
 * do (a scope missing, the store holding another value): nothing was changed.
 */
export class ApiTokenRefusalError extends GpsError {
  readonly exitCode = ExitCode.usage;
}

/**
 * rotate-api-token rotated the API token (the old value is dead) and could not
 * store the new one. The message says what happened and how to recover; it never
 * holds a token.
 */
export class ApiTokenStoreWriteError extends GpsError {
  readonly exitCode = ExitCode.remote;
}
