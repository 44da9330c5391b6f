// CI/CD variables of a project or a group, one by key:
// GET/PUT /projects/:id/variables/:key and /groups/:id/variables/:key
// (lib/api/ci/variables.rb, lib/api/group_variables.rb). Every call, reads
// too, needs a project Maintainer or a group Owner (admin_cicd_variables);
// `read_api` reads but the scope check refuses its PUT. Several variables
// with one key need `filter[environment_scope]`, else 409. A masked value is
// one line without whitespace, at least 8 characters, and (raw: false) only
// `[a-zA-Z0-9_+=/@:.~-]` (Ci::Maskable). A PUT keeps every flag it is not
// given; a hidden variable's value is null in every answer.
import { ROLE_LEVEL, groupRole, groupVisible, projectRole } from "../auth.ts";
import { boolParam, forbidden, grapeError, json, msg, type Resp } from "../http.ts";
import type { ApiCall, Route } from "../router.ts";
import { findBy, type Store, type User, type Variable } from "../store.ts";

export function variableEntity(v: Variable): Record<string, unknown> {
  return {
    variable_type: v.variableType,
    key: v.key,
    value: v.hidden ? null : v.value,
    hidden: v.hidden,
    protected: v.protected,
    masked: v.masked,
    raw: v.raw,
    environment_scope: v.environmentScope,
    description: v.description,
  };
}

/** Ci::Maskable: why a value cannot be masked, or undefined when it can. */
export function maskRefusal(value: string, raw: boolean): string | undefined {
  if (value.length < 8 || /\s/.test(value)) return "is invalid";
  if (!raw && !/^[a-zA-Z0-9_+=/@:.~-]+$/.test(value)) return "is invalid";
  return undefined;
}

type Owner = { kind: "project" | "group"; id: number };

/** The owner the caller may administer the variables of, or the refusal. */
function owner(s: Store, user: User | undefined, kind: "project" | "group", raw: string): Owner | Resp {
  if (kind === "project") {
    const p = findBy(s.projects, raw);
    if (!p || projectRole(s, user, p) === 0) return msg(404, "404 Project Not Found");
    if (projectRole(s, user, p) < ROLE_LEVEL.maintainer) return forbidden();
    return { kind, id: p.id };
  }
  const g = findBy(s.groups, raw);
  if (!g || !groupVisible(s, user, g)) return msg(404, "404 Group Not Found");
  if (groupRole(s, user, g) < ROLE_LEVEL.owner) return forbidden();
  return { kind, id: g.id };
}

function envFilter(params: Record<string, unknown>): string | undefined {
  const flat = params["filter[environment_scope]"];
  if (typeof flat === "string") return flat;
  const nested = params.filter;
  if (nested && typeof nested === "object" && typeof (nested as Record<string, unknown>).environment_scope === "string")
    return (nested as Record<string, string>).environment_scope;
  return undefined;
}

/** The one variable the call names, or the refusal (404 none, 409 several without a filter). */
function find(call: ApiCall, kind: "project" | "group"): { v: Variable } | Resp {
  const o = owner(call.s, call.user, kind, call.path.id!);
  if ("status" in o) return o;
  let key: string;
  try {
    key = decodeURIComponent(call.path.key!);
  } catch {
    return msg(404, "404 Variable Not Found");
  }
  const scope = envFilter(call.params);
  const all = call.s.variables.filter(
    (v) =>
      v.owner.kind === o.kind &&
      v.owner.id === o.id &&
      v.key === key &&
      (scope === undefined || v.environmentScope === scope),
  );
  if (all.length === 0) return msg(404, "404 Variable Not Found");
  if (all.length > 1)
    return msg(409, "There are multiple variables with provided parameters. Please use 'filter[environment_scope]'");
  return { v: all[0]! };
}

function put(call: ApiCall, kind: "project" | "group"): Resp {
  const hit = find(call, kind);
  if ("status" in hit) return hit;
  const v = hit.v;
  const p = call.params;
  const flags: Record<string, boolean | undefined> = {};
  const errors: string[] = [];
  for (const name of ["protected", "masked", "raw"]) {
    const b = boolParam(p[name]);
    if (b === null) errors.push(`${name} is invalid`);
    else flags[name] = b;
  }
  if (p.value !== undefined && typeof p.value !== "string") errors.push("value is invalid");
  if (errors.length) return grapeError(errors);
  const value = typeof p.value === "string" ? p.value : v.value;
  const masked = flags.masked ?? v.masked;
  const raw = flags.raw ?? v.raw;
  if (value.length > 10_000) return json(400, { message: { value: ["is too long (maximum is 10000 characters)"] } });
  if (masked || v.hidden) {
    const why = maskRefusal(value, raw);
    if (why) return json(400, { message: { value: [why] } });
  }
  v.value = value;
  v.masked = masked;
  v.raw = raw;
  v.protected = flags.protected ?? v.protected;
  if (p.variable_type === "env_var" || p.variable_type === "file") v.variableType = p.variable_type;
  if (typeof p.environment_scope === "string" && kind === "project") v.environmentScope = p.environment_scope;
  if (typeof p.description === "string") v.description = p.description;
  return json(200, variableEntity(v));
}

function get(call: ApiCall, kind: "project" | "group"): Resp {
  const hit = find(call, kind);
  return "status" in hit ? hit : json(200, variableEntity(hit.v));
}

export const routes: Route[] = [
  { method: "GET", path: "projects/:id/variables/:key", handle: (c) => get(c, "project") },
  { method: "PUT", path: "projects/:id/variables/:key", handle: (c) => put(c, "project") },
  { method: "GET", path: "groups/:id/variables/:key", handle: (c) => get(c, "group") },
  { method: "PUT", path: "groups/:id/variables/:key", handle: (c) => put(c, "group") },
];
