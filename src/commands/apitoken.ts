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
import type { GitLabPort, Log } from "../model/ports.js";

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

/** null when the port cannot ask (static credentials, a test's port). Never throws for GitLab's sake. */
export async function readApiToken(gitlab: Pick<GitLabPort, "apiTokenSelf">, now: Date): Promise<ApiTokenStatus | null> {
  if (!gitlab.apiTokenSelf) return null;
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
  const when = left > 0 ? `expires in ${formatDuration(left)}, on ${t.expiresAt} 00:00 UTC` : `expired on ${t.expiresAt}`;
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
export async function checkApiToken(gitlab: Pick<GitLabPort, "apiTokenSelf">, now: Date, log: Log): Promise<void> {
  const t = await readApiToken(gitlab, now);
  if (t === null) return;
  if (!t.checked) log.info(`Note: ${t.reason}`);
  else if (apiTokenExpiresWithin(t, now, ROTATE_WARN_MS)) {
    const message = apiTokenExpiryMessage(t, now, "within 14 days");
    log.warn(message.charAt(0).toUpperCase() + message.slice(1));
  } else log.info(apiTokenLine(t));
}
