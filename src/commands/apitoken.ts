// The API token's own lifecycle. GitLab 16.0 and later caps access tokens at
// 365 days; when the token that mints everything lapses, every scheduled
// rotation fails, and nothing in the cluster shows it coming. So status and
// rotate read its expiry from GET /personal_access_tokens/self, which answers
// personal, project and group access tokens alike (the last two are tokens of
// bot users). GitLab before 15.5 refuses that call: the run says so once and
// carries on, since the token itself may be fine.
import { DAY_MS } from "../config/duration.js";
import { GitLabError } from "../model/errors.js";
import { formatDuration } from "../model/plan.js";
import type { GitLabReader, Log, ResolvedOwner } from "../model/ports.js";

/** rotate warns when the API token has less than this left: time to make a new one before the schedule breaks. */
export const ROTATE_WARN_MS = 14 * DAY_MS;

export type ApiTokenStatus =
  | {
      checked: true;
      name: string;
      scopes: string[];
      /** `YYYY-MM-DD` (it stops working at 00:00 UTC that day); null: never expires. */
      expiresAt: string | null;
      /** Floored to a tenth; null when it never expires. */
      daysLeft: number | null;
    }
  | { checked: false; reason: string };

type Checked = Extract<ApiTokenStatus, { checked: true }>;

const SELF = "GET /personal_access_tokens/self";

/** Epoch ms at which a token with this expiry date stops working; null for never (or a date GitLab would not send). */
function endOf(expiresAt: string | null): number | null {
  if (expiresAt === null) return null;
  const ms = Date.parse(`${expiresAt}T00:00:00Z`);
  return Number.isFinite(ms) ? ms : null;
}

/** Why the expiry is unknown, in words a person can act on. Never holds the token: GitLabError's detail is scrubbed. */
function unchecked(err: GitLabError): string {
  const answer = `${err.status ? `HTTP ${err.status}: ` : ""}${err.detail}`;
  if (err.status !== undefined && [400, 401, 403, 404].includes(err.status)) {
    return (
      `GitLab refused ${SELF} (${answer}): GitLab before 15.5 has no such endpoint, and only personal, project and group ` +
      `access tokens can read their own details. The API token's expiry is not checked; see it in GitLab under Access tokens`
    );
  }
  return `GitLab did not answer ${SELF} (${answer}). The API token's expiry is not checked this time`;
}

/** Never throws for GitLab's sake: an unanswered question is `checked: false`, with why. */
export async function readApiToken(gitlab: Pick<GitLabReader, "apiTokenSelf">, now: Date): Promise<ApiTokenStatus> {
  try {
    const t = await gitlab.apiTokenSelf();
    const end = endOf(t.expiresAt);
    const daysLeft = end === null ? null : Math.floor(((end - now.getTime()) / DAY_MS) * 10) / 10;
    return { checked: true, name: t.name, scopes: t.scopes, expiresAt: t.expiresAt, daysLeft };
  } catch (err) {
    if (!(err instanceof GitLabError)) throw err;
    return { checked: false, reason: unchecked(err) };
  }
}

/** Pure: whether the token stops working within `withinMs` of now. */
export function apiTokenExpiresWithin(t: ApiTokenStatus | null, now: Date, withinMs: number): t is Checked {
  if (!t?.checked) return false;
  const end = endOf(t.expiresAt);
  return end !== null && end - now.getTime() <= withinMs;
}

/** Pure: the warning, naming the date and what to do. `within` says which limit it crossed. */
export function apiTokenExpiryMessage(t: Checked, now: Date, within: string): string {
  const left = (endOf(t.expiresAt) ?? Number.POSITIVE_INFINITY) - now.getTime();
  const when =
    left > 0 ? `expires in ${formatDuration(left)}, on ${t.expiresAt} 00:00 UTC` : `expired on ${t.expiresAt}`;
  return (
    `the GitLab API token "${t.name}" ${when} (${within}): create a new access token with the api scope (same role) ` +
    `and update the variable that holds it (GITLAB_TOKEN); once it lapses, every rotation fails`
  );
}

/** Pure: one line for status. */
export function apiTokenLine(t: ApiTokenStatus): string {
  if (!t.checked) return `API token: not checked. ${t.reason}`;
  const expiry = t.expiresAt === null ? "never expires" : `expires ${t.expiresAt} (${t.daysLeft ?? "-"} days left)`;
  return `API token "${t.name}": ${expiry}; scopes ${t.scopes.join(", ") || "none"}`;
}

/** rotate: one line about the API token, a warning when it expires within 14 days. Carries on whatever GitLab says. */
export async function checkApiToken(gitlab: Pick<GitLabReader, "apiTokenSelf">, now: Date, log: Log): Promise<void> {
  logApiToken(await readApiToken(gitlab, now), now, log);
}

function logApiToken(t: ApiTokenStatus, now: Date, log: Log): void {
  if (!t.checked) log.info(`Note: ${t.reason}`);
  else if (apiTokenExpiresWithin(t, now, ROTATE_WARN_MS)) {
    const message = apiTokenExpiryMessage(t, now, "within 14 days");
    log.warn(message.charAt(0).toUpperCase() + message.slice(1));
  } else log.info(apiTokenLine(t));
}

/** GitLab's access levels that create deploy tokens: Maintainer on a project, Owner on a group. */
const NEEDED = { project: { level: 40, role: "Maintainer" }, group: { level: 50, role: "Owner" } } as const;
const ROLES: Record<number, string> = {
  0: "no role",
  5: "Minimal Access",
  10: "Guest",
  15: "Planner",
  20: "Reporter",
  30: "Developer",
  40: "Maintainer",
  50: "Owner",
};

/**
 * What rotate needs from GitLab, checked before anything is minted: the api
 * scope, and the role the owner kind needs. One function for rotate, plan and
 * status, so plan and status refuse what rotate would (a read_api token, a
 * Maintainer asked for group deploy tokens) instead of approving it. What
 * GitLab does not say (an older GitLab without /personal_access_tokens/self,
 * a port that cannot ask) is not held against the token. Returns the token's
 * status for the caller's report.
 */
export async function checkGitLabAccess(
  gitlab: Pick<GitLabReader, "apiTokenSelf" | "callerAccess">,
  owner: ResolvedOwner,
  now: Date,
): Promise<ApiTokenStatus> {
  const t = await readApiToken(gitlab, now);
  const who = `${owner.kind} ${owner.path}`;
  if (t.checked && !t.scopes.includes("api")) {
    throw new GitLabError(
      "checking the API token's scopes",
      undefined,
      `the GitLab API token "${t.name}" has the scopes ${t.scopes.join(", ") || "none"}, not api`,
      `Creating and revoking deploy tokens needs the api scope (read_api only reads): rotate would fail with HTTP 403. ` +
        `Create an access token with the api scope (${NEEDED[owner.kind].role} of ${who}) and put it in GITLAB_TOKEN`,
    );
  }
  const access = await gitlab.callerAccess(owner);
  const need = NEEDED[owner.kind];
  if (access.level !== undefined && access.level < need.level && !(await access.isAdmin())) {
    throw new GitLabError(
      "checking the API token's role",
      undefined,
      `the GitLab API token's user is ${ROLES[access.level] ?? `access level ${access.level}`} of ${who}; ${owner.kind} deploy tokens need ${need.role}`,
      owner.kind === "group"
        ? `Group deploy tokens need the Owner role (Maintainer is not enough): rotate would fail with HTTP 403. Use a token of an Owner of ${who}, or a project's deploy token (--project)`
        : `Project deploy tokens need at least Maintainer: rotate would fail with HTTP 403. Use a token of a Maintainer of ${who}`,
    );
  }
  return t;
}

/** rotate and plan: the access check, then the one line (or warning) about the API token; its status for the decision on it. */
export async function checkRotateAccess(
  gitlab: Pick<GitLabReader, "apiTokenSelf" | "callerAccess">,
  owner: ResolvedOwner,
  now: Date,
  log: Log,
): Promise<ApiTokenStatus> {
  const t = await checkGitLabAccess(gitlab, owner, now);
  logApiToken(t, now, log);
  return t;
}
