// Our retry policy for GitLab calls. gitbeaker's own loop retries only 429/502,
// waits 0.25-128 ms, ignores Retry-After and re-sends POST on 502 (which can mint
// a second token), so gitlab.ts switches it off and uses this instead.
//
// The scheduling is pure (failure + clock in, decision out); `retrying` and
// `Attempts` are the small runner around it, with sleep, clock and randomness
// injectable so the unit tests run on a fake clock.

export interface RetryOptions {
  /** Overall budget of one operation, retries and waits included. A wait that would cross it is not started. */
  deadlineMs: number;
  /** First backoff step; doubles per retry. */
  baseDelayMs: number;
  /** Upper bound of one backoff step (advertised waits are not capped: the deadline bounds them). */
  maxDelayMs: number;
  sleep(ms: number): Promise<void>;
  /** Epoch milliseconds. */
  now(): number;
  /** [0, 1), for jitter. */
  random(): number;
}

export const RETRY_DEFAULTS: RetryOptions = {
  deadlineMs: 60_000,
  baseDelayMs: 500,
  maxDelayMs: 10_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  now: () => Date.now(),
  random: () => Math.random(),
};

export function retryOptions(partial: Partial<RetryOptions> = {}): RetryOptions {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  return { ...RETRY_DEFAULTS, ...defined };
}

/** What went wrong with one attempt, as far as retrying cares. */
export type Failure =
  | { kind: "status"; status: number; headers: Readonly<Record<string, string>> }
  /** `code`: a Node/undici error code (ECONNRESET, UND_ERR_SOCKET, ...), or "timeout" / "lost-response". */
  | { kind: "connection"; code: string };

/**
 * - not-processed: GitLab did not act on the request; sending it again is safe even for a create.
 * - unknown: GitLab may or may not have acted (5xx, dropped connection, timeout, lost response).
 * - final: retrying cannot help (a 4xx other than 429, a TLS or DNS name error, ...).
 */
export type Outcome = "not-processed" | "unknown" | "final";

/** 500 is included: GitLab answers it for transient trouble too (statement timeouts, Gitaly hiccups). */
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);
/** The connection never carried the request, so nothing was processed. */
const NOT_SENT = new Set(["ECONNREFUSED", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH", "UND_ERR_CONNECT_TIMEOUT"]);
/** The request may have reached GitLab before the connection failed. */
const MAYBE_SENT = new Set([
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "socket hang up",
  "timeout",
  "lost-response",
]);

export function outcomeOf(f: Failure): Outcome {
  if (f.kind === "status") {
    if (f.status === 429) return "not-processed";
    return TRANSIENT_STATUS.has(f.status) ? "unknown" : "final";
  }
  if (NOT_SENT.has(f.code)) return "not-processed";
  return MAYBE_SENT.has(f.code) ? "unknown" : "final";
}

/** Whether to try the same request again. A non-idempotent one only when GitLab surely did not process it. */
export function isRetryable(f: Failure, idempotent: boolean): boolean {
  const o = outcomeOf(f);
  return o === "not-processed" || (o === "unknown" && idempotent);
}

function header(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

/**
 * The wait the server asked for, in ms, or undefined when it did not say.
 * `Retry-After` (seconds, or an HTTP date) wins; on a 429, `RateLimit-Reset`
 * (epoch seconds) is next. The reset is measured against the response's own
 * `Date` when present, so a skewed local clock does not stretch or skip it.
 */
export function advertisedWaitMs(f: Failure, nowMs: number): number | undefined {
  if (f.kind !== "status") return undefined;
  const retryAfter = header(f.headers, "retry-after")?.trim();
  if (retryAfter) {
    if (/^\d+$/.test(retryAfter)) return Number(retryAfter) * 1000;
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.max(0, at - nowMs);
  }
  if (f.status !== 429) return undefined;
  const reset = header(f.headers, "ratelimit-reset")?.trim();
  if (reset && /^\d+$/.test(reset)) {
    const value = Number(reset);
    // GitLab documents epoch seconds; a small number can only be a delta (the IETF draft's form).
    if (value < 1_000_000_000) return value * 1000;
    const serverNow = Date.parse(header(f.headers, "date") ?? "");
    return Math.max(0, value * 1000 - (Number.isNaN(serverNow) ? nowMs : serverNow));
  }
  return undefined;
}

/**
 * Exponential backoff with "equal jitter": step n (1-based) is d = min(max, base·2^(n-1)),
 * and the wait is uniform in [d/2, d). Never zero, so clients that failed together spread out.
 */
export function backoffMs(
  retryNumber: number,
  opts: Pick<RetryOptions, "baseDelayMs" | "maxDelayMs">,
  random: number,
): number {
  const step = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** Math.max(0, retryNumber - 1));
  return step / 2 + random * (step / 2);
}

export type Step =
  | { retry: true; waitMs: number }
  | { retry: false; why: "final" | "unknown-outcome" }
  | { retry: false; why: "deadline"; waitMs: number };

/** The decision after a failed attempt: retry after `waitMs`, or stop and why. */
export function nextStep(
  f: Failure,
  ctx: { idempotent: boolean; retryNumber: number; nowMs: number; deadlineAt: number },
  opts: Pick<RetryOptions, "baseDelayMs" | "maxDelayMs">,
  random: number,
): Step {
  if (!isRetryable(f, ctx.idempotent))
    return { retry: false, why: outcomeOf(f) === "unknown" ? "unknown-outcome" : "final" };
  const waitMs = advertisedWaitMs(f, ctx.nowMs) ?? backoffMs(ctx.retryNumber, opts, random);
  if (ctx.nowMs + waitMs > ctx.deadlineAt) return { retry: false, why: "deadline", waitMs };
  return { retry: true, waitMs };
}

export function describeFailure(f: Failure): string {
  if (f.kind === "status") return `HTTP ${f.status}`;
  if (f.code === "timeout") return "no answer (timeout)";
  if (f.code === "lost-response") return "response lost";
  return f.code;
}

const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(1))} s`;

/** Out of time: says how many attempts were made and how the last one failed. Carries no request data. */
export class RetryExhaustedError extends Error {
  override name = "RetryExhaustedError";
  constructor(
    readonly attempts: number,
    readonly last: Failure,
    readonly elapsedMs: number,
    readonly waitMs: number,
    readonly deadlineMs: number,
    /** The last attempt's error (already free of request data). */
    readonly lastError: unknown,
  ) {
    super(
      `gave up after ${attempts} attempt${attempts === 1 ? "" : "s"} in ${seconds(elapsedMs)} (last: ${describeFailure(last)}); ` +
        `the next try, ${seconds(waitMs)} later, would pass the ${seconds(deadlineMs)} deadline`,
    );
  }
}

/**
 * Counts attempts of one request against a deadline and does the waiting.
 * Shared by `retrying` and by the deploy-token create, whose repair steps run
 * between attempts under the same deadline.
 */
export class Attempts {
  count = 0;
  readonly startedAt: number;
  readonly deadlineAt: number;
  constructor(
    readonly opts: RetryOptions,
    /** Absolute deadline (epoch ms) when the caller already runs under one. */
    deadlineAt?: number,
  ) {
    this.startedAt = opts.now();
    this.deadlineAt = deadlineAt ?? this.startedAt + opts.deadlineMs;
  }

  /**
   * After attempt `count` failed with `f`: waits and returns when another try is allowed;
   * throws `err` itself when it must not be retried, RetryExhaustedError when out of time.
   * `idempotent` false still retries what GitLab did not process (429, refused connection).
   */
  async pause(f: Failure, err: unknown, idempotent: boolean): Promise<void> {
    const nowMs = this.opts.now();
    const step = nextStep(
      f,
      { idempotent, retryNumber: this.count, nowMs, deadlineAt: this.deadlineAt },
      this.opts,
      this.opts.random(),
    );
    if (!step.retry) {
      if (step.why === "deadline") {
        throw new RetryExhaustedError(
          this.count,
          f,
          nowMs - this.startedAt,
          step.waitMs,
          this.deadlineAt - this.startedAt,
          err,
        );
      }
      throw err;
    }
    await this.opts.sleep(step.waitMs);
  }
}

/**
 * Runs `attempt` until it succeeds, a failure is final, or the deadline would be crossed.
 * `classify` maps a thrown error to a Failure; errors it does not know are thrown at once.
 */
export async function retrying<T>(
  attempt: () => Promise<T>,
  how: {
    idempotent: boolean;
    classify: (err: unknown) => Failure | undefined;
    opts: RetryOptions;
    deadlineAt?: number;
  },
): Promise<T> {
  const attempts = new Attempts(how.opts, how.deadlineAt);
  for (;;) {
    attempts.count++;
    try {
      return await attempt();
    } catch (err) {
      const f = how.classify(err);
      if (!f) throw err;
      await attempts.pause(f, err, how.idempotent);
    }
  }
}
