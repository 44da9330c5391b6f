// Injected faults: the next N requests matching method, path and query get a
// chosen status with a proper Status body (or a dropped connection), checked
// after authentication and before the body is read, as an overloaded or
// failing apiserver would answer.
import type { Fault } from "./api.ts";
import { ApiError } from "./status.ts";

/** metav1.StatusReason for the codes a test is likely to inject. */
const FAULT_REASON: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  410: "Expired",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

/** Whether a request is one a fault (or a hold, holds.ts) names: its method if given, its path, its query if given. */
export function matches(
  rule: { method?: string; path: RegExp; query?: RegExp },
  method: string,
  path: string,
  query: string,
): boolean {
  return (
    (!rule.method || rule.method.toUpperCase() === method) &&
    rule.path.test(path) &&
    (!rule.query || rule.query.test(query))
  );
}

export class Faults {
  private pending: Array<Fault & { left: number }> = [];

  add(f: Fault): void {
    this.pending.push({ ...f, left: f.times ?? 1 });
  }

  clear(): void {
    this.pending = [];
  }

  /** The first fault matching this request, used up by one. */
  take(method: string, path: string, query: string): Fault | undefined {
    const f = this.pending.find((x) => x.left > 0 && matches(x, method, path, query));
    if (!f) return undefined;
    f.left--;
    this.pending = this.pending.filter((x) => x.left > 0);
    return f;
  }
}

/** The Status body a fault answers with; 429 and 5xx word it as the apiserver does. */
export function faultError(f: Fault): ApiError {
  const reason = FAULT_REASON[f.status] ?? "";
  const retry = f.retryAfterSeconds ?? (f.status === 429 ? 1 : 0);
  const message =
    f.message ??
    (f.status === 429
      ? "Too many requests, please try again later."
      : f.status >= 500
        ? `Internal error occurred: injected fault (${f.status})`
        : `injected fault (${f.status})`);
  const headers: Record<string, string> = retry > 0 ? { "Retry-After": String(retry) } : {};
  return new ApiError(f.status, reason, message, retry > 0 ? { retryAfterSeconds: retry } : {}, headers);
}
