// PATCH: the content type picks JSON patch, merge patch or strategic merge
// patch (the algorithms are in ../patch.ts); apply-patch+yaml goes to
// server-side apply (./apply.ts). The patched object then takes the same
// checks and tail as an update.
import type { Cluster, Ctx } from "../context.ts";
import { isObj } from "../json.ts";
import { trackUpdate } from "../managed-fields.ts";
import { jsonPatch, mergePatch, strategicMergePatch } from "../patch.ts";
import { type ResDef, canonical } from "../resources.ts";
import { ApiError, badRequest, conflict, genericServerResponse, notFound } from "../status.ts";
import { doApply } from "./apply.ts";
import { nsAttrOf } from "./read.ts";
import { applyDefaults, checkOptions, checkTypeMeta, dryRunOf, managerFor, normalize } from "./request.ts";
import { finishUpdate } from "./write.ts";

const PATCH_TYPES = [
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
  "application/apply-patch+yaml",
];

export function doPatch(k: Cluster, ctx: Ctx, r: ResDef, ns: string, name: string): void {
  const nsAttr = nsAttrOf(r, ns, name);
  k.authz.authorize(ctx, r, "patch", nsAttr, name);
  const ct = String(ctx.req.headers["content-type"] ?? "")
    .split(";")[0]!
    .trim();
  if (!PATCH_TYPES.includes(ct)) {
    throw new ApiError(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(", ")}`,
    );
  }
  const apply = ct === "application/apply-patch+yaml";
  checkOptions(ctx, apply);
  const dryRun = dryRunOf(ctx);
  const text = ctx.body.toString("utf8");
  if (apply) return doApply(k, ctx, r, ns, name, nsAttr, text, dryRun);

  let patch: any;
  try {
    patch = JSON.parse(text);
  } catch (e) {
    throw badRequest(
      ct === "application/json-patch+json"
        ? `invalid character in JSON patch: ${(e as Error).message}`
        : `error decoding patch: ${(e as Error).message}`,
    );
  }
  const cur = k.store.get(r, ns, name);
  if (!cur) throw notFound(r, name);
  const curJson = canonical(r, cur);
  let next: any;
  if (ct === "application/json-patch+json") {
    if (!Array.isArray(patch)) throw badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
    if (patch.length > 10000)
      throw new ApiError(
        413,
        "RequestEntityTooLarge",
        `The allowed maximum operations in a JSON patch is 10000, got ${patch.length}`,
      );
    try {
      next = jsonPatch(curJson, patch);
    } catch (e) {
      throw genericServerResponse(422, (e as Error).message);
    }
  } else if (ct === "application/merge-patch+json") {
    if (!isObj(patch))
      throw badRequest("error decoding patch: json: cannot unmarshal into Go value of type map[string]interface {}");
    next = mergePatch(curJson, patch);
  } else {
    if (!isObj(patch))
      throw badRequest("error decoding patch: json: cannot unmarshal into Go value of type map[string]interface {}");
    next = strategicMergePatch(r, curJson, patch);
  }
  if (!isObj(next)) throw badRequest(`the object provided is unrecognized (must be of type ${r.kind})`);
  next = checkTypeMeta(ctx, r, next);
  normalize(r, next);
  applyDefaults(r, next);
  // a resourceVersion in the patched object is a precondition (rest.ValidateObjectUpdate / GuaranteedUpdate)
  const rv = next.metadata?.resourceVersion;
  if (rv !== undefined && rv !== "" && rv !== cur.metadata.resourceVersion) throw conflict(r, name);
  if (next.metadata?.uid && next.metadata.uid !== cur.metadata.uid) {
    throw conflict(
      r,
      name,
      `Precondition failed: UID in precondition: ${next.metadata.uid}, UID in object meta: ${cur.metadata.uid}`,
    );
  }
  next.metadata.managedFields = cur.metadata.managedFields;
  finishUpdate(k, ctx, r, cur, next, dryRun, () => trackUpdate(r, cur, next, managerFor(ctx)));
}
