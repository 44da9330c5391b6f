// Server-side apply (PATCH with application/apply-patch+yaml): the applier's
// fields merged over the live object, conflicts with other managers refused
// unless forced, fields the applier gave up removed when nobody else owns them.
// Ownership is per label/annotation/data key and per top-level field (lists
// atomic), as ../managed-fields.ts models it; conflict messages follow
// structured-merge-diff's.
import { load as yamlLoad } from "js-yaml";
import type { Cluster, Ctx } from "../context.ts";
import { clone, deepEqual, isObj, nowRFC3339 } from "../json.ts";
import {
  type MFEntry,
  deleteAt,
  fieldsOf,
  getAt,
  pathString,
  readManaged,
  setAt,
  unkey,
  writeManaged,
} from "../managed-fields.ts";
import { LEASE_SPEC_ORDER, type ResDef, apiVersionOf } from "../resources.ts";
import { ApiError, type Cause, badRequest, conflict, notFound, q } from "../status.ts";
import { applyDefaults, checkTypeMeta, normalize } from "./request.ts";
import { finishCreate, finishUpdate, namespaceMustExist } from "./write.ts";

export function doApply(
  k: Cluster,
  ctx: Ctx,
  r: ResDef,
  ns: string,
  name: string,
  nsAttr: string,
  text: string,
  dryRun: boolean,
): void {
  let cfg: any;
  try {
    cfg = text.trim().startsWith("{") ? JSON.parse(text) : yamlLoad(text);
  } catch (e) {
    throw badRequest(`error decoding YAML: ${(e as Error).message}`);
  }
  if (!isObj(cfg)) throw badRequest("error decoding YAML: object is not a map");
  if (!cfg.apiVersion || !cfg.kind) {
    throw badRequest(`invalid object type: ${cfg.apiVersion ? "" : "/"}, Kind=${cfg.kind ?? ""}`);
  }
  cfg = checkTypeMeta(ctx, r, cfg, true);
  if (ctx.url.searchParams.get("fieldValidation") === "Strict" && isObj(cfg.spec) && r.kind === "Lease") {
    for (const key of Object.keys(cfg.spec))
      if (!LEASE_SPEC_ORDER.includes(key)) throw badRequest(`.spec.${key}: field not declared in schema`);
  }
  normalize(r, cfg);
  if ((cfg.metadata.name ?? "") !== name) {
    throw badRequest(
      `the name of the object (${cfg.metadata.name ?? ""}) does not match the name on the URL (${name})`,
    );
  }
  if (r.namespaced && cfg.metadata.namespace && cfg.metadata.namespace !== ns) {
    throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
  }
  if (r.namespaced) cfg.metadata.namespace = ns;
  const manager = ctx.url.searchParams.get("fieldManager") ?? "";
  const force = ["true", "1"].includes(ctx.url.searchParams.get("force") ?? "");
  const cur = k.store.get(r, ns, name);
  if (!cur) {
    // patchCreater: mutating admission (NamespaceLifecycle) first, then the "create" authorization
    namespaceMustExist(k, r, ns, name);
    k.authz.authorizeCreateOnUpdate(ctx, r, nsAttr, name);
    if (cfg.metadata.resourceVersion) throw notFound(r, name);
    return finishCreate(k, ctx, r, clone(cfg), dryRun, manager, "Apply");
  }
  if (cfg.metadata.resourceVersion && cfg.metadata.resourceVersion !== cur.metadata.resourceVersion)
    throw conflict(r, name);
  const cfgFields = fieldsOf(r, cfg);
  let entries = readManaged(cur);
  if (entries.length === 0) {
    const all = fieldsOf(r, cur);
    if (all.size)
      entries = [{ manager: "before-first-apply", operation: "Update", apiVersion: apiVersionOf(r), fields: all }];
  }
  let mine = entries.find((e) => e.manager === manager && e.operation === "Apply");
  // conflicts: another manager owns a field this config sets to a different value
  const conflicts: Array<{ e: MFEntry; k: string }> = [];
  for (const e of entries) {
    if (e === mine) continue;
    for (const key of cfgFields) {
      const p = unkey(key);
      const owned = [...e.fields].some(
        (ok) => ok === key || key.startsWith(`${ok}\u0000`) || ok.startsWith(`${key}\u0000`),
      );
      if (owned && !deepEqual(getAt(cur, p), getAt(cfg, p))) conflicts.push({ e, k: key });
    }
  }
  if (conflicts.length && !force) throw applyConflict(conflicts);
  for (const { e, k: key } of conflicts) {
    for (const ok of [...e.fields])
      if (ok === key || ok.startsWith(`${key}\u0000`) || key.startsWith(`${ok}\u0000`)) e.fields.delete(ok);
  }
  const next = clone(cur);
  if (mine) {
    for (const key of mine.fields) {
      if (cfgFields.has(key) || unkey(key).at(-1) === ".") continue;
      const sharedWith = entries.some(
        (e) => e !== mine && [...e.fields].some((ok) => ok === key || ok.startsWith(`${key}\u0000`)),
      );
      if (!sharedWith) deleteAt(next, unkey(key));
    }
  } else {
    mine = { manager, operation: "Apply", apiVersion: apiVersionOf(r), fields: new Set() };
    entries.push(mine);
  }
  for (const key of cfgFields) setAt(next, unkey(key), getAt(cfg, unkey(key)));
  applyDefaults(r, next);
  const before = new Set(mine.fields);
  mine.fields = cfgFields;
  const sameFields = before.size === cfgFields.size && [...before].every((key) => cfgFields.has(key));
  if (!sameFields || !mine.time) mine.time = nowRFC3339();
  writeManaged(next, entries);
  finishUpdate(k, ctx, r, cur, next, dryRun, undefined);
}

/** The 409 a conflicting apply gets: one line for one conflict, else grouped by manager (sorted). */
function applyConflict(conflicts: Array<{ e: MFEntry; k: string }>): ApiError {
  const who = (e: MFEntry): string =>
    e.operation === "Update" ? `${q(e.manager)} using ${e.apiVersion}${e.time ? ` at ${e.time}` : ""}` : q(e.manager);
  const causes: Cause[] = conflicts.map(({ e, k }) => ({
    reason: "FieldManagerConflict",
    message: `conflict with ${who(e)}`,
    field: pathString(unkey(k)),
  }));
  let message: string;
  if (conflicts.length === 1) {
    const c = conflicts[0]!;
    message = `Apply failed with 1 conflict: conflict with ${who(c.e)}: ${pathString(unkey(c.k))}`;
  } else {
    const byManager = new Map<string, { e: MFEntry; paths: string[] }>();
    for (const { e, k } of conflicts) {
      const id = `${e.manager}\u0000${e.operation}`;
      if (!byManager.has(id)) byManager.set(id, { e, paths: [] });
      byManager.get(id)!.paths.push(pathString(unkey(k)));
    }
    const lines: string[] = [];
    for (const id of [...byManager.keys()].sort()) {
      const g = byManager.get(id)!;
      lines.push(`conflicts with ${who(g.e)}:`);
      for (const p of g.paths) lines.push(`- ${p}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`;
  }
  return new ApiError(409, "Conflict", message, { causes });
}
