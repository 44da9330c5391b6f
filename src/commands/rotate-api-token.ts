// rotate-api-token = observe -> decide -> execute, for the API token this run
// holds. The order is the safety (issue 23, docs/security.md):
//   1. observe: the token's own details and whose it is, the store's value,
//      and a write to the store that changes nothing (the proof it can be
//      written); the recovery file, if configured, is created empty. Any
//      refusal here leaves everything as it was.
//   2. decide (pure): the scopes the rotation and the write back need, the
//      store holding this token and no other value, the new expiry date.
//   3. execute: rotate ONCE (never retried: the old value dies with the
//      request, and presenting it again revokes the whole token family),
//      then write the new value with the NEW token, retrying the write, and
//      read it back (a store that never shows its value, an Actions secret,
//      confirms the write its own way). A write that still fails keeps the new
//      value in the recovery file (only if one was configured) and exits 1 saying so.
// Every form of both values is registered with the Log before anything prints.
import { DAY_MS } from "../config/duration.js";
import { ApiTokenRefusalError, ApiTokenStoreWriteError, GitLabError, GpsError } from "../model/errors.js";
import type { ApiTokenOwner, ApiTokenPorts, ApiTokenSelf, ApiTokenStore, RotatedApiToken } from "../model/ports.js";
import type { Secret } from "../model/secret.js";

/** How often the write back is tried after the rotation (the rotation itself: once). */
export const WRITE_ATTEMPTS = 3;
const WRITE_PAUSE_MS = 1_000;

export interface ApiTokenRotationSettings {
  expiresInMs: number;
}

export interface ApiTokenObservation {
  self: ApiTokenSelf;
  owner: ApiTokenOwner;
  storeKind: ApiTokenStore["kind"];
  /** What the store holds: this run's token, another value, or unknown (a hidden variable). */
  holds: "this-token" | "other" | "unknown";
}

export interface ApiTokenDecision {
  /** `YYYY-MM-DD` sent as expires_at. */
  expiresAt: string;
}

export interface ApiTokenRotationReport {
  command: "rotate-api-token";
  previous: { id: number; name: string; expiresAt: string | null };
  rotated: { id: number; name: string; expiresAt: string };
  /** `confirmation`: how the write was confirmed, in words ("read back", GitHub's updated_at), or why it was not. */
  store: { kind: ApiTokenStore["kind"]; where: string; confirmed: boolean; confirmation: string };
  writeAttempts: number;
}

/** Every text form a token can take on its way out: as is, and base64 (a Secret's data). */
export function tokenForms(value: string): string[] {
  return [value, Buffer.from(value).toString("base64")];
}

const isoDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * Pure. The expiry date: now + lifetime, rounded up to a date (GitLab expires a
 * token at 00:00 UTC), never past today + 365 days (GitLab's limit).
 */
export function apiTokenExpiryDate(now: Date, lifetimeMs: number): string {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const wanted = Math.ceil((now.getTime() + lifetimeMs - today) / DAY_MS) * DAY_MS + today;
  return isoDate(Math.min(wanted, today + 365 * DAY_MS));
}

/** Pure: whether the rotation may go ahead, and with which expiry. Throws the refusal, naming what is missing. */
export function decideApiTokenRotation(
  seen: ApiTokenObservation,
  now: Date,
  settings: ApiTokenRotationSettings,
  where: string,
): ApiTokenDecision {
  const { self } = seen;
  const scopes = self.scopes.join(", ") || "none";
  if (!self.scopes.includes("api") && !self.scopes.includes("self_rotate")) {
    throw new ApiTokenRefusalError(
      `the GitLab API token "${self.name}" has the scopes ${scopes}: rotating itself needs api or self_rotate (GitLab 17.9+). Nothing was changed`,
    );
  }
  if (seen.storeKind === "gitlab-variable" && !self.scopes.includes("api")) {
    throw new ApiTokenRefusalError(
      `the GitLab API token "${self.name}" has the scopes ${scopes}: the rotated token inherits them, and writing it back to ${where} ` +
        `needs api (self_rotate and read_api cannot write CI/CD variables). Nothing was changed`,
    );
  }
  if (seen.holds === "other") {
    throw new ApiTokenRefusalError(
      `${where} holds another value than the API token this run uses: writing the rotated token there would replace something ` +
        `else, and the store this token came from would keep its dead value. Point --api-token-store at where GITLAB_TOKEN comes from. Nothing was changed`,
    );
  }
  return { expiresAt: apiTokenExpiryDate(now, settings.expiresInMs) };
}

/** Reads and proves, changing nothing. */
export async function observeApiToken(current: Secret, ports: ApiTokenPorts): Promise<ApiTokenObservation> {
  const { gitlab, store, log } = ports;
  for (const form of tokenForms(current.reveal())) log.secret(form);
  const self = await gitlab.apiTokenSelf();
  const owner = await gitlab.apiTokenOwner().catch((err: unknown) => {
    if (err instanceof GitLabError && err.status === 403)
      throw new ApiTokenRefusalError(
        `the GitLab API token "${self.name}" (scopes ${self.scopes.join(", ") || "none"}) may not read GET /user, which tells ` +
          `a personal access token from a project's or group's (each has its own rotate endpoint): give it api, or read_user ` +
          `besides self_rotate. Nothing was changed`,
      );
    throw err;
  });
  const held = await store.read(current);
  if (held) for (const form of tokenForms(held.reveal())) log.secret(form);
  const holds = held === undefined ? "unknown" : held.reveal() === current.reveal() ? "this-token" : "other";
  return { self, owner, storeKind: store.kind, holds };
}

function describeOwner(owner: ApiTokenOwner): string {
  return owner.kind === "personal" ? "personal access token" : `${owner.kind} ${owner.id}'s access token`;
}

/** What the preparation established: the token, what was observed of it and its store, and the expiry to ask for. */
export interface PreparedApiTokenRotation {
  current: Secret;
  seen: ApiTokenObservation;
  decision: ApiTokenDecision;
}

/**
 * observe -> decide -> the proof and the recovery file: everything before the
 * one step that cannot be undone. Changes nothing a person would notice (the
 * store's own value written back unchanged; an empty recovery file).
 */
export async function prepareApiTokenRotation(
  current: Secret,
  settings: ApiTokenRotationSettings,
  ports: ApiTokenPorts,
): Promise<PreparedApiTokenRotation> {
  const { store, recovery } = ports;
  const seen = await observeApiToken(current, ports);
  const decision = decideApiTokenRotation(seen, ports.clock.now(), settings, store.where);
  await store.proveWritable(seen.holds === "this-token" ? current : undefined, current);
  if (recovery) await recovery.prepare();
  return { current, seen, decision };
}

/** The rotation will not happen after all: the prepared (empty) recovery file goes. */
export async function abandonApiTokenRotation(ports: ApiTokenPorts): Promise<void> {
  if (ports.recovery) await ports.recovery.discard().catch(() => undefined);
}

export async function rotateApiToken(
  current: Secret,
  settings: ApiTokenRotationSettings,
  ports: ApiTokenPorts,
): Promise<ApiTokenRotationReport> {
  return executeApiTokenRotation(await prepareApiTokenRotation(current, settings, ports), ports, { recheck: false });
}

/**
 * execute: rotate once, write back with the new token, read back.
 * `recheck`: time has passed since the preparation (rotate's deploy token
 * came first), so first make sure no other run rotated this token meanwhile:
 * presenting a rotated value to the rotate endpoint would revoke the family.
 */
export async function executeApiTokenRotation(
  prepared: PreparedApiTokenRotation,
  ports: ApiTokenPorts,
  opts: { recheck: boolean },
): Promise<ApiTokenRotationReport> {
  const { gitlab, store, log } = ports;
  const { seen, decision } = prepared;
  if (opts.recheck) {
    try {
      await stillCurrent(prepared, ports);
    } catch (err) {
      await abandonApiTokenRotation(ports);
      throw err;
    }
  }
  log.info(
    `${store.where} can be written; rotating the ${describeOwner(seen.owner)} "${seen.self.name}" (id ${seen.self.id}, ` +
      `expires ${seen.self.expiresAt ?? "never"}) to expire on ${decision.expiresAt}`,
  );

  let rotated: RotatedApiToken;
  try {
    rotated = await gitlab.rotateApiTokenSelf(seen.owner, decision.expiresAt);
  } catch (err) {
    await abandonApiTokenRotation(ports);
    throw rotateFailure(err, store.where);
  }
  for (const form of tokenForms(rotated.token.reveal())) log.secret(form);
  log.info(
    `Rotated: the old token is revoked; the new one (id ${rotated.id}) expires on ${rotated.expiresAt}. Writing it to ${store.where}`,
  );

  const written = await writeBack(rotated.token, ports);
  if (written.ok) {
    await abandonApiTokenRotation(ports);
    log.info(
      written.confirmed
        ? `${store.where} holds the new token (${written.confirmation})`
        : `${store.where} took the new token (${written.confirmation})`,
    );
    return {
      command: "rotate-api-token",
      previous: { id: seen.self.id, name: seen.self.name, expiresAt: seen.self.expiresAt },
      rotated: { id: rotated.id, name: rotated.name, expiresAt: rotated.expiresAt },
      store: {
        kind: store.kind,
        where: store.where,
        confirmed: written.confirmed,
        confirmation: written.confirmation,
      },
      writeAttempts: written.attempts,
    };
  }
  throw await lostWrite(rotated, written.error, written.attempts, ports);
}

/**
 * Just before the rotate request: the token still works and its store still
 * holds it. Either failing means another run (another cluster's job with the
 * same token) rotated it since this run read it: this run must not present it again.
 */
async function stillCurrent(prepared: PreparedApiTokenRotation, ports: ApiTokenPorts): Promise<void> {
  const { current, seen } = prepared;
  const { store, log } = ports;
  const notAgain =
    "It was not rotated again (presenting a rotated value to a rotate endpoint revokes every token of its family)";
  try {
    await ports.gitlab.apiTokenSelf();
  } catch (err) {
    if (err instanceof GitLabError && err.status === 401)
      throw new ApiTokenRefusalError(
        `GitLab no longer accepts the API token "${seen.self.name}" (HTTP 401), which it did when this run started: another ` +
          `run with the same token may have rotated it meanwhile. ${notAgain}; ${store.where} should hold the new value. ` +
          `Let one job rotate a shared API token`,
      );
    throw err;
  }
  const held = await store.read(current);
  if (held === undefined || held.reveal() === current.reveal()) return;
  for (const form of tokenForms(held.reveal())) log.secret(form);
  throw new ApiTokenRefusalError(
    `${store.where} no longer holds the API token this run started with: another run has written a new value meanwhile. ` +
      `${notAgain}. Let one job rotate a shared API token`,
  );
}

type WriteOutcome =
  | { ok: true; confirmed: boolean; confirmation: string; attempts: number }
  | { ok: false; error: string; attempts: number };

/** The write with the new token, and its confirmation (the read back, or the store's own); retried, unlike the rotation. */
async function writeBack(value: Secret, ports: ApiTokenPorts): Promise<WriteOutcome> {
  const { store, log } = ports;
  let error = "";
  for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
    try {
      const confirmedBy = await store.write(value, value);
      if (confirmedBy !== undefined) return { ok: true, confirmed: true, confirmation: confirmedBy, attempts: attempt };
      const back = await store.read(value);
      if (back === undefined)
        return {
          ok: true,
          confirmed: false,
          confirmation: "its value is hidden, so it was not read back",
          attempts: attempt,
        };
      if (back.reveal() === value.reveal())
        return { ok: true, confirmed: true, confirmation: "read back with it", attempts: attempt };
      error = `${store.where} did not hold the new token when read back`;
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      error = err.message;
    }
    if (attempt < WRITE_ATTEMPTS) {
      log.warn(
        `Writing the new token to ${store.where} failed (${error}); trying again (${attempt}/${WRITE_ATTEMPTS})`,
      );
      await ports.sleep(WRITE_PAUSE_MS * attempt);
    }
  }
  return { ok: false, error, attempts: WRITE_ATTEMPTS };
}

/** The rotate request failed: whether the old token still works depends on whether GitLab answered. */
function rotateFailure(err: unknown, where: string): Error {
  if (!(err instanceof GitLabError)) return err instanceof Error ? err : new Error(String(err));
  if (err.status === undefined) {
    return new ApiTokenStoreWriteError(
      `${err.message}. GitLab's answer never arrived, so whether it rotated the token is unknown. It is NOT retried: if it did, ` +
        `the old token is revoked, and presenting it again to a rotate endpoint would revoke every token of its family. ` +
        `Check the token in GitLab (Access tokens): if it still works, run again; if not, create a new one and put it in ${where}`,
    );
  }
  if (err.status === 401) {
    return new ApiTokenStoreWriteError(
      `${err.message}. GitLab refused the token itself: it is expired or revoked (a token rotated earlier and used again ` +
        `revokes its whole family). Create a new access token and put it in ${where}`,
    );
  }
  return new ApiTokenStoreWriteError(
    `${err.message}. GitLab refused the rotation: the old token still works and nothing was changed`,
  );
}

/** After the rotation, the write failed for good: keep the new value where the user allowed, and say how to recover. */
async function lostWrite(
  rotated: RotatedApiToken,
  error: string,
  attempts: number,
  ports: ApiTokenPorts,
): Promise<GpsError> {
  const { store, recovery } = ports;
  const head =
    `the API token was rotated (the old value is revoked; the new token, id ${rotated.id}, expires on ${rotated.expiresAt}), ` +
    `but writing it to ${store.where} failed ${attempts} times: ${error}`;
  if (recovery) {
    try {
      await recovery.keep(rotated.token);
      return new ApiTokenStoreWriteError(
        `${head}. The new token is kept in ${recovery.where} (mode 0600). To recover: put that file's content into ` +
          `${store.where} (for example with the GitLab UI or \`gitlab-pull-secret rotate-api-token\` once the store is fixed, ` +
          `using the file as --gitlab-token-file), then delete the file. Do not run with the old token: it is dead, and ` +
          `presenting it to a rotate endpoint revokes the new one too`,
      );
    } catch (err) {
      return new ApiTokenStoreWriteError(
        `${head}; keeping it in ${recovery.where} failed too (${(err as Error).message}). The new token cannot be recovered: ` +
          `revoke token ${rotated.id} in GitLab (Access tokens), create a new one and put it in ${store.where}`,
      );
    }
  }
  return new ApiTokenStoreWriteError(
    `${head}. No --api-token-recovery-file was given, so the new value was not kept anywhere and is lost. Revoke token ` +
      `${rotated.id} in GitLab (Access tokens), create a new access token and put it in ${store.where}`,
  );
}
