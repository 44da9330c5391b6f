// Durations as people write them in pipelines: 90s, 10m, 36h, 7d, 2w.

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const EXAMPLES = ["90s", "10m", "36h", "7d", "2w"] as const;

/**
 * How a duration is written, with examples an option actually accepts: an
 * example below the option's minimum (90s for a 1h minimum) would be advice
 * that fails, so each message gets the examples within its bounds.
 */
export function durationForm(minMs = 0, maxMs = Number.POSITIVE_INFINITY): string {
  const fitting = EXAMPLES.filter((e) => {
    const ms = parseDuration(e)!;
    return ms >= minMs && ms <= maxMs;
  });
  return `a whole number followed by s, m, h, d or w${fitting.length ? ` (e.g. ${fitting.join(", ")})` : ""}`;
}

/** A bound as people write it: the largest unit that divides it (3600000 -> 1h, 365 days -> 365d). */
export function formatDuration(ms: number): string {
  for (const unit of ["d", "h", "m", "s"] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms / 1000}s`;
}

/** The accepted form and range of a duration option, for its error message. */
export function durationRange(minMs: number, maxMs: number): string {
  const range =
    minMs > 0 ? `from ${formatDuration(minMs)} to ${formatDuration(maxMs)}` : `at most ${formatDuration(maxMs)}`;
  return `${durationForm(minMs, maxMs)}, ${range}`;
}

export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,6})([smhdw])$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

export const DAY_MS = UNIT_MS.d;

/** GitLab's longest token lifetime, and ours: an expiry date at most this many days after today (UTC). */
export const MAX_EXPIRY_DAYS = 365;

/**
 * The `expires_at` date to send GitLab. A deploy token stops working at 00:00 UTC
 * of its expiry date, so the date is the first midnight at or after now + lifetime:
 * the token lives at least as long as asked, and less than a day longer. The one
 * exception is the upper limit: rounding 365d up would give a date 366 days out,
 * past the limit, so the date is capped at today + 365 days.
 */
export function expiryDateFor(now: Date, lifetimeMs: number): string {
  const end = now.getTime() + lifetimeMs;
  const midnight = Math.ceil(end / DAY_MS) * DAY_MS;
  const latest = (Math.floor(now.getTime() / DAY_MS) + MAX_EXPIRY_DAYS) * DAY_MS;
  return new Date(Math.min(midnight, latest)).toISOString().slice(0, 10);
}
