// An access token's own details: GET /personal_access_tokens/self (GitLab
// 15.5 and later; any scope may read it) and GET /personal_access_tokens/:id
// (15.1 and later). Which of these exist follows setPatSelf(), so the tool's
// fallbacks for older GitLab versions can be tested.
import { json, notFound, unauthorized } from "../http.ts";
import type { Route } from "../router.ts";
import type { Pat, Store } from "../store.ts";

/** API::Entities::PersonalAccessTokenWithLastUsedIps. */
export function patEntity(s: Store, p: Pat): Record<string, unknown> {
  return {
    id: p.id,
    name: p.name,
    revoked: p.revoked,
    created_at: p.createdAt.toISOString(),
    description: null,
    scopes: [...p.scopes],
    user_id: s.users.get(p.username)!.id,
    last_used_at: s.now().toISOString(),
    active: !p.revoked && !s.patExpired(p),
    expires_at: p.expiresAt,
    last_used_ips: ["127.0.0.1"],
  };
}

/** "self" is the token itself only where GitLab has the self route; before 15.5 it is an id that finds nothing. */
const isSelf = (s: Store, path: Record<string, string>): boolean => path.id === "self" && s.patSelf === "self";

export const routes: Route[] = [
  {
    method: "GET",
    path: "personal_access_tokens/:id",
    exists: (s) => s.patSelf !== "absent",
    anyScope: isSelf,
    handle: ({ s, path, caller }) => {
      if (!caller) return unauthorized();
      if (isSelf(s, path)) return json(200, patEntity(s, caller.pat));
      // GET /personal_access_tokens/:id: PersonalAccessToken.find_by_id, then "only admins
      // should be informed if the token doesn't exist". "self" is no id before 15.5.
      const id = /^\d+$/.test(path.id!) ? Number(path.id) : NaN;
      const token = [...s.pats.values()].find((p) => p.id === id);
      if (token && (token.username === caller.user.username || caller.user.admin))
        return json(200, patEntity(s, token));
      return caller.user.admin ? notFound() : unauthorized();
    },
  },
];
