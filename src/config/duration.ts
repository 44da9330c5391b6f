// Durations as people write them in pipelines: 90s, 10m, 36h, 7d, 2w.

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
export const DURATION_FORM = "a whole number followed by s, m, h, d or w (e.g. 90s, 36h, 7d, 2w)";

export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,6})([smhdw])$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

export const DAY_MS = UNIT_MS.d;

/**
 * The `expires_at` date to send GitLab. A deploy token stops working at 00:00 UTC
 * of its expiry date, so the date is the first midnight at or after now + lifetime:
 * the token lives at least as long as asked, and less than a day longer.
 */
export function expiryDateFor(now: Date, lifetimeMs: number): string {
  const end = now.getTime() + lifetimeMs;
  const midnight = Math.ceil(end / DAY_MS) * DAY_MS;
  return new Date(midnight).toISOString().slice(0, 10);
}
