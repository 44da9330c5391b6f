// Project and group lookups: GET /projects/:id (with the caller's
// `permissions`) and GET /groups/:id, by numeric id or URL-encoded full path.
// Every stand-in project and group is private: one the caller cannot see is
// a 404, as GitLab hides it.
import { ROLE_LEVEL, groupVisible, projectRole } from "../auth.ts";
import { json, notFound } from "../http.ts";
import type { Route } from "../router.ts";
import { type Group, type Project, type Store, type User, findBy, under } from "../store.ts";

/**
 * GET /projects/:id's `permissions` for the caller (API::Entities::ProjectWithAccess): the direct
 * membership as project_access, the closest group membership as group_access; null where none.
 */
function permissionsFor(s: Store, user: User | undefined, p: Project): Record<string, unknown> {
  const access = (level: number) => (level > 0 ? { access_level: level, notification_level: 3 } : null);
  const direct = user && p.members[user.username] ? ROLE_LEVEL[p.members[user.username]!] : 0;
  const inherited = user
    ? Math.max(
        0,
        ...s.groups
          .filter((g) => under(p.path, g.path))
          .map((g) => (g.members[user.username] ? ROLE_LEVEL[g.members[user.username]!] : 0)),
      )
    : 0;
  return { project_access: access(direct), group_access: access(inherited) };
}

/** API::Entities::Project, the fields the tool and the tests read. */
function projectEntity(s: Store, p: Project): Record<string, unknown> {
  const parts = p.path.split("/");
  const name = parts[parts.length - 1]!;
  const namespacePath = parts.slice(0, -1).join("/");
  const out: Record<string, unknown> = {
    id: p.id,
    description: null,
    name,
    name_with_namespace: parts.join(" / "),
    path: name,
    path_with_namespace: p.path,
    created_at: "2024-01-01T00:00:00.000Z",
    default_branch: "main",
    visibility: "private",
    web_url: `${s.baseUrl}/${p.path}`,
    http_url_to_repo: `${s.baseUrl}/${p.path}.git`,
    namespace: {
      id: s.rootNamespaceId(p.path),
      name: parts[parts.length - 2] ?? "",
      path: parts[parts.length - 2] ?? "",
      kind: s.groups.some((g) => g.path.toLowerCase() === namespacePath.toLowerCase()) ? "group" : "user",
      full_path: namespacePath,
    },
  };
  if (s.registry) out.container_registry_image_prefix = `${s.registry.host}/${p.path.toLowerCase()}`;
  out.container_registry_access_level = p.registryEnabled ? "enabled" : "disabled";
  out.container_registry_enabled = p.registryEnabled;
  return out;
}

/** API::Entities::Group. */
function groupEntity(s: Store, g: Group): Record<string, unknown> {
  const parts = g.path.split("/");
  const name = parts[parts.length - 1]!;
  const parent = s.groups.find((x) => x.path.toLowerCase() === parts.slice(0, -1).join("/").toLowerCase());
  return {
    id: g.id,
    name,
    path: name,
    full_name: parts.join(" / "),
    full_path: g.path,
    description: "",
    visibility: "private",
    web_url: `${s.baseUrl}/groups/${g.path}`,
    parent_id: parent ? parent.id : null,
  };
}

export const routes: Route[] = [
  {
    method: "GET",
    path: "projects/:id",
    handle: ({ s, path, user }) => {
      const p = findBy(s.projects, path.id!);
      if (!p || projectRole(s, user, p) === 0) return notFound();
      return json(200, { ...projectEntity(s, p), permissions: permissionsFor(s, user, p) });
    },
  },
  {
    method: "GET",
    path: "groups/:id",
    handle: ({ s, path, user }) => {
      const g = findBy(s.groups, path.id!);
      if (!g || !groupVisible(s, user, g)) return notFound();
      return json(200, groupEntity(s, g));
    },
  },
];
