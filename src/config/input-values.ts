// Scalar options: durations, counts, the token's lifetime and name, the render
// format. Bounds live here so every duration is checked the same way.
import { DAY_MS, MAX_EXPIRY_DAYS, durationRange, formatDuration, parseDuration } from "./duration.js";
import { UsageError } from "../model/errors.js";
import type { OptionKey } from "./options.js";
import { RENDER_FORMATS, type RenderFormat } from "./config-shape.js";
import type { Reader } from "./input-reader.js";

export const MAX_LIFETIME_MS = MAX_EXPIRY_DAYS * DAY_MS;
const MIN_LIFETIME_MS = 3_600_000;

const TOKEN_PREFIX = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function renderFormat(r: Reader): RenderFormat | undefined {
  const value = r.explicit("format");
  if (value === undefined) return undefined;
  if (!(RENDER_FORMATS as readonly string[]).includes(value)) {
    throw new UsageError(r.label("format"), value, "secret (a Secret manifest) or config.json (a docker config.json)");
  }
  return value as RenderFormat;
}

export function optionalDuration(r: Reader, key: OptionKey, minMs: number, maxMs: number): number | undefined {
  const value = r.string(key);
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined || ms < minMs || ms > maxMs) {
    throw new UsageError(r.label(key), value, durationRange(minMs, maxMs));
  }
  return ms;
}

/** Below 15 s a busy API server's latency eats the renewal margin; kube leader election's default is 15 s too. */
export const MIN_LOCK_LEASE_MS = 15_000;
const MAX_LOCK_LEASE_MS = 3_600_000;

export function lockLease(r: Reader): number {
  const value = r.string("lockLeaseDuration")!;
  const ms = parseDuration(value);
  if (ms === undefined || ms < MIN_LOCK_LEASE_MS || ms > MAX_LOCK_LEASE_MS) {
    throw new UsageError(r.label("lockLeaseDuration"), value, durationRange(MIN_LOCK_LEASE_MS, MAX_LOCK_LEASE_MS));
  }
  return ms;
}

export function integer(r: Reader, key: OptionKey, min: number, max: number): number {
  const value = r.string(key)!;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(r.label(key), value, `a whole number from ${min} to ${max}`);
  }
  return Number(value);
}

export function lifetime(r: Reader): number {
  const value = r.string("expiresIn")!;
  const ms = parseDuration(value);
  if (ms === undefined || ms < MIN_LIFETIME_MS || ms > MAX_LIFETIME_MS) {
    throw new UsageError(r.label("expiresIn"), value, durationRange(MIN_LIFETIME_MS, MAX_LIFETIME_MS));
  }
  return ms;
}

export function tokenNamePrefix(r: Reader): string {
  const value = r.string("tokenName")!;
  // GitLab exposes an active token named gitlab-deploy-token to every CI job of the project.
  if (!TOKEN_PREFIX.test(value) || value === "gitlab-deploy-token") {
    throw new UsageError(
      r.label("tokenName"),
      value,
      "1-64 characters of letters, digits, '.', '_' and '-', and not gitlab-deploy-token (GitLab hands that one to every CI job)",
    );
  }
  return value;
}

/**
 * A new token expires --expires-in from now; with --rotate-before as long or
 * longer it is due again at once, so every scheduled run would mint a token
 * and revoke the last one: the window must be shorter than the lifetime.
 */
export function rotationWindow(r: Reader, rotateBeforeMs: number | undefined, expiresInMs: number): void {
  if (rotateBeforeMs === undefined || rotateBeforeMs < expiresInMs) return;
  throw new UsageError(
    `${r.label("rotateBefore")} and ${r.label("expiresIn")}`,
    `${r.string("rotateBefore")}, ${r.string("expiresIn")}`,
    `${r.label("rotateBefore")} shorter than ${r.label("expiresIn")}: a token that lives ${formatDuration(expiresInMs)} is due ` +
      `${formatDuration(rotateBeforeMs)} before it expires, so every run would rotate it (mint a new token, revoke the last). ` +
      `E.g. ${r.label("expiresIn")} 30d with ${r.label("rotateBefore")} 7d`,
  );
}
