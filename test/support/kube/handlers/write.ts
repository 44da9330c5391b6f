// The write verbs that take a whole object: create (POST), update (PUT, with
// create-on-update where the kind allows it) and delete. finishCreate and
// finishUpdate are the common tail patch and apply end in too: validation,
// managed fields, no-op detection, the resourceVersion bump and the watch event.
import { randomBytes } from "node:crypto";
import type { Cluster, Ctx } from "../context.ts";
import { output, send } from "../context.ts";
import { decodeKubeProtobuf } from "../discovery.ts";
import { clone, deepEqual, isObj, nowRFC3339 } from "../json.ts";
import { type MFEntry, fieldsOf, trackUpdate, writeManaged } from "../managed-fields.ts";
import { RESOURCES, type ResDef, apiVersionOf, canonical } from "../resources.ts";
import { ApiError, alreadyExists, badRequest, conflict, groupResource, invalid, notFound, q } from "../status.ts";
import { namespaceDefaults, stampNew } from "../store.ts";
import { validateObject, validateUpdate } from "../validation.ts";
import { nsAttrOf } from "./read.ts";
import { applyDefaults, checkOptions, decodeBody, dryRunOf, managerFor, normalize } from "./request.ts";

/**
 * NamespaceLifecycle admission on a create (plugin/pkg/admission/namespace/lifecycle):
 * 404 for a namespace that does not exist; 403 with the NamespaceTerminating cause for
 * one being deleted (admission.NewForbidden -> errors.NewForbidden(resource, name, err)).
 * Updates of objects already there are not refused.
 */
export function namespaceMustExist(k: Cluster, r: ResDef, ns: string, name: string): void {
  if (!r.namespaced) return;
  const namespace = k.store.get(RESOURCES.namespaces, undefined, ns);
  if (!namespace) {
    throw new ApiError(404, "NotFound", `namespaces ${q(ns)} not found`, { name: ns, kind: "namespaces" });
  }
  if (namespace.status?.phase === "Terminating") {
    const gr = groupResource(r);
    const reason = `unable to create new content in namespace ${ns} because it is being terminated`;
    throw new ApiError(
      403,
      "Forbidden",
      name ? `${gr} ${q(name)} is forbidden: ${reason}` : `${gr} is forbidden: ${reason}`,
      {
        name,
        group: r.group,
        kind: r.name,
        causes: [
          {
            reason: "NamespaceTerminating",
            message: `namespace ${ns} is being terminated`,
            field: "metadata.namespace",
          },
        ],
      },
    );
  }
}

export function doCreate(k: Cluster, ctx: Ctx, r: ResDef, ns: string): void {
  k.authz.authorize(ctx, r, "create", ns, "");
  checkOptions(ctx, false);
  const dryRun = dryRunOf(ctx);
  const obj = decodeBody(ctx, r);
  normalize(r, obj);
  applyDefaults(r, obj);
  if (!obj.metadata.name && typeof obj.metadata.generateName === "string" && obj.metadata.generateName) {
    const alphabet = "bcdfghjklmnpqrstvwxz2456789";
    let suffix = "";
    for (const b of randomBytes(5)) suffix += alphabet[b % alphabet.length];
    obj.metadata.name = obj.metadata.generateName + suffix;
  }
  if (r.namespaced) {
    if (obj.metadata.namespace && obj.metadata.namespace !== ns) {
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    obj.metadata.namespace = ns;
  } else delete obj.metadata.namespace;
  namespaceMustExist(k, r, ns, obj.metadata.name ?? "");
  finishCreate(k, ctx, r, obj, dryRun, managerFor(ctx), "Update");
}

/** A new object from create, create-on-update or apply: server-set metadata replaced, ownership recorded. */
export function finishCreate(
  k: Cluster,
  ctx: Ctx,
  r: ResDef,
  obj: any,
  dryRun: boolean,
  manager: string,
  op: "Update" | "Apply",
): void {
  const applied = op === "Apply" ? fieldsOf(r, obj) : undefined;
  applyDefaults(r, obj);
  if (r.name === "namespaces") namespaceDefaults(obj);
  delete obj.metadata.resourceVersion;
  delete obj.metadata.uid;
  delete obj.metadata.creationTimestamp;
  delete obj.metadata.deletionTimestamp;
  delete obj.metadata.managedFields;
  const errs = validateObject(r, obj);
  if (errs.length) throw invalid(r.kind, r.group, obj.metadata.name ?? "", errs);
  if (k.store.get(r, obj.metadata.namespace, obj.metadata.name)) throw alreadyExists(r, obj.metadata.name);
  stampNew(obj);
  if (op === "Update") trackUpdate(r, undefined, obj, manager);
  else {
    const entry: MFEntry = {
      manager,
      operation: "Apply",
      apiVersion: apiVersionOf(r),
      time: nowRFC3339(),
      fields: applied ?? new Set(),
    };
    writeManaged(obj, [entry]);
  }
  if (dryRun) return output(ctx, 201, r, obj);
  obj.metadata.resourceVersion = k.store.nextRV();
  const saved = k.store.put(r, obj);
  k.watches.notify(r, "ADDED", saved);
  if (r.name === "namespaces") k.store.ensureDefaultServiceAccount(obj.metadata.name);
  output(ctx, 201, r, saved);
}

/** Writes `next` over `cur` (both full objects): validation, managed fields, no-op detection. */
export function finishUpdate(
  k: Cluster,
  ctx: Ctx,
  r: ResDef,
  cur: any,
  next: any,
  dryRun: boolean,
  track: (() => void) | undefined,
): void {
  next.metadata.name = cur.metadata.name;
  if (r.namespaced) next.metadata.namespace = cur.metadata.namespace;
  else delete next.metadata.namespace;
  next.metadata.uid = cur.metadata.uid;
  next.metadata.creationTimestamp = cur.metadata.creationTimestamp;
  if (r.name === "namespaces") next.status = cur.status;
  const errs = validateUpdate(r, next, cur);
  if (errs.length) throw invalid(r.kind, r.group, cur.metadata.name, errs);
  if (track) track();
  next.metadata.resourceVersion = cur.metadata.resourceVersion;
  // A write that changes nothing but managed-field timestamps is a no-op: same resourceVersion, no event.
  const unchanged = deepEqual(withoutMFTimes(canonical(r, next)), withoutMFTimes(canonical(r, cur)));
  if (unchanged) return output(ctx, 200, r, cur);
  if (dryRun) return output(ctx, 200, r, next);
  next.metadata.resourceVersion = k.store.nextRV();
  const saved = k.store.put(r, next);
  k.watches.notify(r, "MODIFIED", saved);
  output(ctx, 200, r, saved);
}

function withoutMFTimes(o: any): any {
  const c = clone(o);
  for (const e of c.metadata?.managedFields ?? []) delete e.time;
  return c;
}

export function doUpdate(k: Cluster, ctx: Ctx, r: ResDef, ns: string, name: string): void {
  const nsAttr = nsAttrOf(r, ns, name);
  k.authz.authorize(ctx, r, "update", nsAttr, name);
  checkOptions(ctx, false);
  const dryRun = dryRunOf(ctx);
  const obj = decodeBody(ctx, r);
  normalize(r, obj);
  applyDefaults(r, obj);
  if (obj.metadata.name !== name) {
    throw badRequest(
      `the name of the object (${obj.metadata.name ?? ""}) does not match the name on the URL (${name})`,
    );
  }
  if (r.namespaced && obj.metadata.namespace && obj.metadata.namespace !== ns) {
    throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
  }
  if (r.namespaced) obj.metadata.namespace = ns;
  const cur = k.store.get(r, ns, name);
  if (!cur) {
    if (!r.createOnUpdate) throw notFound(r, name);
    if (obj.metadata.resourceVersion) throw notFound(r, name);
    namespaceMustExist(k, r, ns, name);
    k.authz.authorizeCreateOnUpdate(ctx, r, nsAttr, name);
    return finishCreate(k, ctx, r, obj, dryRun, managerFor(ctx), "Update");
  }
  const rv = obj.metadata.resourceVersion;
  if (rv && rv !== cur.metadata.resourceVersion) throw conflict(r, name);
  obj.metadata.managedFields = cur.metadata.managedFields;
  finishUpdate(k, ctx, r, cur, obj, dryRun, () => trackUpdate(r, cur, obj, managerFor(ctx)));
}

export function doDelete(k: Cluster, ctx: Ctx, r: ResDef, ns: string, name: string): void {
  k.authz.authorize(ctx, r, "delete", nsAttrOf(r, ns, name), name);
  let dryRun = dryRunOf(ctx);
  const cur = k.store.get(r, ns, name);
  if (!cur) throw notFound(r, name);
  if (ctx.body.length) {
    let opts: any;
    try {
      const ct = String(ctx.req.headers["content-type"] ?? "");
      opts = ct.startsWith("application/vnd.kubernetes.protobuf")
        ? decodeKubeProtobuf(ctx.body)
        : JSON.parse(ctx.body.toString("utf8"));
    } catch {
      opts = undefined;
    }
    // kubectl sends --dry-run=server for a delete in the DeleteOptions body, not the query.
    if (isObj(opts) && Array.isArray(opts.dryRun) && opts.dryRun.includes("All")) dryRun = true;
    const pre = isObj(opts) && isObj(opts.preconditions) ? opts.preconditions : {};
    if (pre.uid && pre.uid !== cur.metadata.uid) {
      throw conflict(
        r,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`,
      );
    }
    if (pre.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
      throw conflict(
        r,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`,
      );
    }
  }
  if (r.name === "namespaces") {
    // Answered as Terminating; the namespace controller's work (contents, RoleBindings, the object) is done at once.
    const gone = canonical(r, cur);
    gone.metadata.deletionTimestamp = nowRFC3339();
    gone.spec = { finalizers: ["kubernetes"] };
    gone.status = { phase: "Terminating" };
    if (!dryRun) {
      gone.metadata.resourceVersion = k.store.nextRV();
      k.store.purgeNamespace(name);
      k.store.delete("namespaces", undefined, name);
      k.watches.notify(r, "DELETED", gone);
    }
    return send(ctx, 200, gone);
  }
  if (!dryRun) {
    k.store.delete(r.name, ns, name);
    k.watches.notify(r, "DELETED", { ...cur, metadata: { ...cur.metadata, resourceVersion: k.store.nextRV() } });
  }
  send(ctx, 200, {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    details: { name, ...(r.group ? { group: r.group } : {}), kind: r.name, uid: cur.metadata.uid },
  });
}
