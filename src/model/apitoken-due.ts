// Whether a scheduled rotate also rotates the GitLab API token
// (--rotate-api-token-within). Pure, so rotate, its dry run and plan decide it
// alike from the expiry the run already read (GET /personal_access_tokens/self).
import { formatDuration } from "./plan.js";

/** The API token's expiry as the run found it: a date (null: never expires), or why it could not be read. */
export type ApiTokenExpiry = { known: true; expiresAt: string | null } | { known: false; why: string };

export type ApiTokenDue =
  | { rotate: true; expiresAt: string; reason: string }
  /** `unknown`: the expiry could not be read, so the run cannot tell; a warning, not a failure. */
  | { rotate: false; unknown: boolean; expiresAt: string | null; reason: string };

/** Epoch ms at which a token with this expiry date stops working (GitLab: 00:00 UTC that day); null: unreadable. */
function endOf(expiresAt: string): number | null {
  const ms = Date.parse(`${expiresAt}T00:00:00Z`);
  return Number.isFinite(ms) ? ms : null;
}

export function apiTokenDue(expiry: ApiTokenExpiry, now: Date, withinMs: number): ApiTokenDue {
  const within = `--rotate-api-token-within ${formatDuration(withinMs)}`;
  if (!expiry.known) {
    return {
      rotate: false,
      unknown: true,
      expiresAt: null,
      reason: `its expiry could not be read, so whether it is within ${within} is unknown (${expiry.why})`,
    };
  }
  const { expiresAt } = expiry;
  const end = expiresAt === null ? null : endOf(expiresAt);
  // A token without an expiry date (made before GitLab 16.0) is left as it is: nothing says it is due.
  if (expiresAt === null || end === null)
    return { rotate: false, unknown: false, expiresAt, reason: `it never expires, so it is not within ${within}` };
  const left = end - now.getTime();
  const when = left > 0 ? `expires on ${expiresAt} (in ${formatDuration(left)})` : `expired on ${expiresAt}`;
  if (left <= withinMs) return { rotate: true, expiresAt, reason: `it ${when}, within ${within}` };
  const dueOn = new Date(end - withinMs);
  return {
    rotate: false,
    unknown: false,
    expiresAt,
    reason: `it ${when}, not within ${within} (due from ${dueOn.toISOString().slice(0, 16).replace("T", " ")} UTC)`,
  };
}
