// The caller and the instance: GET /user (who the token belongs to) and
// GET /version (which GitLab answers). Both need a signed-in caller.
import { json, unauthorized } from "../http.ts";
import type { Route } from "../router.ts";
import type { Store, User } from "../store.ts";

/** GET /user: API::Entities::UserPublic, or UserWithAdmin (is_admin) for administrators. */
export function currentUserEntity(s: Store, u: User): Record<string, unknown> {
  return {
    id: u.id,
    username: u.username,
    name: u.username,
    state: "active",
    locked: false,
    avatar_url: null,
    web_url: `${s.baseUrl}/${u.username}`,
    created_at: "2024-01-01T00:00:00.000Z",
    // A project or group access token's user is that resource's bot (addResourceAccessToken names them so).
    bot: /^(project|group)_\d+_bot_/.test(u.username),
    ...(u.admin ? { is_admin: true } : {}),
  };
}

export const routes: Route[] = [
  {
    method: "GET",
    path: "version",
    handle: ({ user }) => {
      if (!user) return unauthorized();
      return json(200, { version: "17.11.0-ee", revision: "0000000000", kas: { enabled: false }, enterprise: true });
    },
  },
  {
    method: "GET",
    path: "user",
    handle: ({ s, user }) => {
      if (!user) return unauthorized();
      return json(200, currentUserEntity(s, user));
    },
  },
];
