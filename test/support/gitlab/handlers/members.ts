// GET /groups/:id/members/all/:user_id: a user's membership of a group,
// inherited from ancestor groups included (the tool reads the API token's
// role in a group from it). An administrator's implicit access is not
// membership: it counts only where they are a member.
import { groupVisible, memberLevel } from "../auth.ts";
import { grapeError, intParam, json, unauthorized } from "../http.ts";
import type { Route } from "../router.ts";
import { findBy } from "../store.ts";
import { currentUserEntity } from "./users.ts";

export const routes: Route[] = [
  {
    method: "GET",
    path: "groups/:id/members/all/:user_id",
    handle: ({ s, path, user }) => {
      if (!user) return unauthorized();
      const g = findBy(s.groups, path.id!);
      if (!g || !groupVisible(s, user, g)) return json(404, { message: "404 Group Not Found" });
      const uid = intParam(path.user_id);
      if (uid === undefined || Number.isNaN(uid)) return grapeError(["user_id is invalid"]);
      const member = [...s.users.values()].find((u) => u.id === uid);
      const level = member ? memberLevel(s, member.username, g) : 0;
      if (!member || level === 0) return json(404, { message: "404 Not found" });
      return json(200, {
        ...currentUserEntity(s, { ...member, admin: false }),
        access_level: level,
        created_at: "2024-01-01T00:00:00.000Z",
        expires_at: null,
        membership_state: "active",
      });
    },
  },
];
