// Self-rotation of the access token a request carries (GitLab 16.10 and
// later): POST /personal_access_tokens/self/rotate and
// POST /projects/:id/access_tokens/self/rotate, /groups/:id/access_tokens/self/rotate.
// The caller needs `api` or `self_rotate`. The old token is revoked at once;
// presenting a revoked token to any of these routes revokes its whole family
// (reuse detection, in the router, before the route runs). The answer is the
// token entity with the new `token` and `expires_at` (plus `access_level` for
// a project or group token).
import { randomBytes } from "node:crypto";
import { groupVisible, projectRole } from "../auth.ts";
import { json, msg, parseIso8601, type Resp } from "../http.ts";
import type { ApiCall, Route } from "../router.ts";
import { findBy, type Pat } from "../store.ts";
import { patEntity } from "./access-tokens.ts";

const DAY = 86_400_000;
const isoDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

function rotate(call: ApiCall, kind: "personal" | "project" | "group"): Resp {
  const { s, caller, params, path } = call;
  if (!caller) return msg(401, "401 Unauthorized");
  const pat = caller.pat;
  if (kind !== "personal") {
    const list = kind === "project" ? s.projects : s.groups;
    const found = findBy<{ id: number; path: string }>(list, path.id!);
    const visible =
      found !== undefined &&
      (kind === "project"
        ? projectRole(
            s,
            caller.user,
            s.projects.find((x) => x.id === found.id)!,
          ) > 0
        : groupVisible(
            s,
            caller.user,
            s.groups.find((x) => x.id === found.id)!,
          ));
    if (!found || !visible) return msg(404, `404 ${kind === "project" ? "Project" : "Group"} Not Found`);
    // A personal token, or another resource's, is the wrong token type for this route.
    if (!pat.resource || pat.resource.kind !== kind || pat.resource.id !== found.id)
      return msg(405, "405 Method Not Allowed");
  }
  const today = Date.UTC(s.now().getUTCFullYear(), s.now().getUTCMonth(), s.now().getUTCDate());
  let expires = today + 7 * DAY;
  if (params.expires_at !== undefined && params.expires_at !== null && params.expires_at !== "") {
    const ms = typeof params.expires_at === "string" ? parseIso8601(params.expires_at) : null;
    if (ms === null) return json(400, { error: "expires_at is invalid" });
    const max = today + 365 * DAY;
    if (ms > max) return msg(400, `400 Bad request - Expires at must be before ${isoDate(max + DAY)}`);
    if (ms < today) return msg(400, "400 Bad request - Expires at must be in the future");
    expires = ms;
  }
  pat.revoked = true;
  const secret = `glpat-${randomBytes(15).toString("base64url")}`;
  const next: Pat = s.addPat(pat.username, secret, pat.scopes, {
    name: pat.name,
    expiresAt: isoDate(expires),
    family: pat.family,
    ...(pat.resource ? { resource: pat.resource } : {}),
  });
  const entity: Record<string, unknown> = { ...patEntity(s, next), token: secret };
  delete entity.last_used_ips;
  entity.last_used_at = null;
  if (next.resource) entity.access_level = next.resource.accessLevel;
  return json(200, entity);
}

export const routes: Route[] = [
  {
    method: "POST",
    path: "personal_access_tokens/self/rotate",
    alsoScopes: ["self_rotate"],
    rotation: true,
    handle: (call) => rotate(call, "personal"),
  },
  {
    method: "POST",
    path: "projects/:id/access_tokens/self/rotate",
    alsoScopes: ["self_rotate"],
    rotation: true,
    handle: (call) => rotate(call, "project"),
  },
  {
    method: "POST",
    path: "groups/:id/access_tokens/self/rotate",
    alsoScopes: ["self_rotate"],
    rotation: true,
    handle: (call) => rotate(call, "group"),
  },
];
