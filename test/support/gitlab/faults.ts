// Injected faults: a status GitLab or its proxy might answer with (a Rack::Attack
// throttle, an application rate limit, a 5xx), a dropped connection, a request
// never answered, an answer lost after the work was done, or a slow answer.
// A fault applies to matching requests until used up (default: until cleared).
import type { Fault } from "./api.ts";
import type { Resp } from "./http.ts";

/** The reason phrase in GitLab's default `{"message":"<status> <reason>"}` body. */
const REASONS: Record<number, string> = {
  400: "Bad request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export class Faults {
  private list: Array<Fault & { left: number }> = [];

  add(f: Fault): void {
    this.list.push({ ...f, left: f.times ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.list = [];
  }

  /** The first fault matching this request, used up by one. */
  take(method: string, path: string): Fault | undefined {
    const f = this.list.find(
      (x) => x.left > 0 && x.path.test(path) && (!x.method || x.method.toUpperCase() === method),
    );
    if (f) f.left--;
    return f;
  }
}

/** A status fault's answer; a throttle's RateLimit-* headers count from `now` (the model's clock). */
export function faultResponse(f: Extract<Fault, { kind: "status" }>, now: () => Date): Resp {
  const headers: Record<string, string> = {};
  let body = f.body;
  if (f.status === 429 && f.rateLimitHeaders === false) {
    if (f.retryAfter !== undefined) headers["retry-after"] = String(f.retryAfter);
    body ??= JSON.stringify({
      message: { error: "This endpoint has been requested too many times. Try again later." },
    });
  } else if (f.status === 429) {
    const retryAfter = f.retryAfter ?? 60;
    const reset = Math.ceil(now().getTime() / 1000) + retryAfter;
    Object.assign(headers, {
      "ratelimit-limit": "2000",
      "ratelimit-name": "throttle_authenticated_api",
      "ratelimit-observed": "2001",
      "ratelimit-remaining": "0",
      "ratelimit-reset": String(reset),
      "ratelimit-resettime": new Date(reset * 1000).toUTCString(),
      "retry-after": String(retryAfter),
    });
    body ??= "Retry later\n";
  } else if (f.retryAfter !== undefined) {
    headers["retry-after"] = String(f.retryAfter);
  }
  if (body === undefined) body = JSON.stringify({ message: `${f.status} ${REASONS[f.status] ?? "Error"}` });
  let isJson = false;
  try {
    JSON.parse(body);
    isJson = true;
  } catch {
    /* plain text */
  }
  headers["content-type"] = isJson ? "application/json" : "text/plain";
  return { status: f.status, headers, body };
}
