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
  constructor(readonly secretName: string, readonly namespaces: string[]) {
    super(
      `Secret "${secretName}" already exists in namespace(s) ${namespaces.join(", ")} and is not managed by ` +
        `gitlab-pull-secret (no label app.kubernetes.io/managed-by=gitlab-pull-secret). Nothing was changed. ` +
        `Pass --adopt (Action input adopt: true) to take it over, or choose another --secret-name.`,
    );
  }
}

export class GitLabError extends GpsError {
  readonly exitCode = ExitCode.remote;
  constructor(
    readonly operation: string,
    readonly status: number | undefined,
    readonly detail: string,
    hint = "",
  ) {
    super(`GitLab: ${operation} failed${status ? ` (HTTP ${status})` : ""}: ${detail}${hint ? `. ${hint}` : ""}`);
  }
}

export class KubeError extends GpsError {
  readonly exitCode = ExitCode.remote;
  constructor(
    readonly operation: string,
    readonly detail: string,
    readonly namespaces: string[] = [],
  ) {
    super(
      `Kubernetes: ${operation} failed${namespaces.length ? ` in namespace(s) ${namespaces.join(", ")}` : ""}: ${detail}`,
    );
  }
}

/** A failure after the new token was minted; says what rollback did. */
export class RotationError extends GpsError {
  readonly exitCode = ExitCode.remote;
  constructor(override readonly cause: GpsError | Error, readonly rollback: string) {
    super(`${cause.message}\nRollback: ${rollback}`);
  }
}

export function exitCodeOf(err: unknown): ExitCodeValue {
  return err instanceof GpsError ? err.exitCode : ExitCode.remote;
}
