// What a write request carries, checked before any handler touches the store:
// the body decoded (JSON, YAML or protobuf) and its type meta matched to the
// URL's resource, the Create/Update/PatchOptions in the query validated, and
// the v1 conversion and defaulting every stored object goes through.
import { load as yamlLoad } from "js-yaml";
import type { Ctx } from "../context.ts";
import { decodeKubeProtobuf } from "../discovery.ts";
import { isObj } from "../json.ts";
import { type ResDef, apiVersionOf } from "../resources.ts";
import { ApiError, type FieldErr, badRequest, fe, invalid, q } from "../status.ts";

export function decodeBody(ctx: Ctx, r: ResDef): any {
  const ct = String(ctx.req.headers["content-type"] ?? "application/json")
    .split(";")[0]!
    .trim();
  const text = ctx.body.toString("utf8");
  let obj: any;
  if (ct === "application/json" || ct === "") {
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw badRequest(
        `the object provided is unrecognized (must be of type ${r.kind}): couldn't get version/kind; json parse error: ${(e as Error).message}`,
      );
    }
  } else if (ct === "application/yaml") {
    try {
      obj = yamlLoad(text);
    } catch (e) {
      throw badRequest(`the object provided is unrecognized (must be of type ${r.kind}): ${(e as Error).message}`);
    }
  } else if (ct === "application/vnd.kubernetes.protobuf") {
    try {
      obj = decodeKubeProtobuf(ctx.body);
    } catch (e) {
      throw badRequest(`the object provided is unrecognized (must be of type ${r.kind}): ${(e as Error).message}`);
    }
  } else {
    throw new ApiError(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`,
    );
  }
  return checkTypeMeta(ctx, r, obj);
}

/** The decoder's checks: kind and apiVersion, unknown fields under Strict (apply words it differently), base64 data. */
export function checkTypeMeta(ctx: Ctx, r: ResDef, obj: any, apply = false): any {
  if (!isObj(obj)) throw badRequest(`the object provided is unrecognized (must be of type ${r.kind})`);
  const av = obj.apiVersion ?? apiVersionOf(r);
  const kind = obj.kind ?? r.kind;
  if (kind !== r.kind || av !== apiVersionOf(r)) {
    throw badRequest(
      `${kind} in version ${q(String(av).split("/").pop() ?? "")} cannot be handled as a ${r.kind}: no kind ${q(kind)} is registered for version ${q(av)} in scheme "pkg/api/legacyscheme/scheme.go:30"`,
    );
  }
  if (ctx.url.searchParams.get("fieldValidation") === "Strict") {
    for (const k of Object.keys(obj)) {
      if (r.fields.includes(k)) continue;
      if (apply) throw badRequest(`.${k}: field not declared in schema`);
      throw badRequest(
        `${r.kind} in version ${q(r.version)} cannot be handled as a ${r.kind}: strict decoding error: unknown field ${q(k)}`,
      );
    }
  }
  for (const [k, v] of Object.entries(isObj(obj.data) ? obj.data : {})) {
    if (typeof v !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.replace(/=+$/, "").length % 4 === 1) {
      throw badRequest(
        `${r.kind} in version ${q(r.version)} cannot be handled as a ${r.kind}: illegal base64 data at input byte ${Math.max(0, String(v).search(/[^A-Za-z0-9+/=]/))} (key ${k})`,
      );
    }
  }
  return obj;
}

/** v1 conversion: stringData is written into data and never stored. */
export function normalize(r: ResDef, obj: any): void {
  obj.metadata = isObj(obj.metadata) ? obj.metadata : {};
  if (r.kind === "Secret") {
    if (isObj(obj.stringData)) {
      obj.data = { ...(isObj(obj.data) ? obj.data : {}) };
      for (const [k, v] of Object.entries(obj.stringData))
        obj.data[k] = Buffer.from(String(v), "utf8").toString("base64");
    }
    delete obj.stringData;
  }
  delete obj.metadata.selfLink;
}

/** SetDefaults_* for what the four kinds default (applied to the merged object, never owned by an applier). */
export function applyDefaults(r: ResDef, obj: any): void {
  if (r.kind === "Secret") obj.type ??= "Opaque";
}

export function dryRunOf(ctx: Ctx): boolean {
  const v = ctx.url.searchParams.getAll("dryRun");
  if (v.length === 0) return false;
  for (const x of v) if (x !== "All") throw invalidOptions(ctx, [fe.notSupported("dryRun", x, ["All"])]);
  return true;
}

function invalidOptions(ctx: Ctx, errs: FieldErr[]): ApiError {
  const kind =
    ctx.req.method === "POST" ? "CreateOptions" : ctx.req.method === "PUT" ? "UpdateOptions" : "PatchOptions";
  return invalid(kind, "meta.k8s.io", "", errs);
}

/** ValidateCreate/Update/PatchOptions: fieldManager, fieldValidation, force, dryRun. */
export function checkOptions(ctx: Ctx, applyPatch: boolean): void {
  const errs: FieldErr[] = [];
  const fm = ctx.url.searchParams.get("fieldManager") ?? "";
  const fv = ctx.url.searchParams.get("fieldValidation") ?? "";
  if (ctx.req.method === "PATCH") {
    if (!applyPatch && ctx.url.searchParams.has("force"))
      errs.push(fe.forbidden("force", "may not be specified for non-apply patch"));
    if (applyPatch && !fm) errs.push(fe.required("fieldManager", "is required for apply patch"));
  }
  if (fm.length > 128) errs.push(fe.tooLong("fieldManager", 128));
  if (fv && !["Ignore", "Warn", "Strict"].includes(fv))
    errs.push(fe.notSupported("fieldValidation", fv, ["", "Ignore", "Warn", "Strict"]));
  if (errs.length) throw invalidOptions(ctx, errs);
  dryRunOf(ctx);
}

/** The manager an update is recorded under: fieldManager, else the user agent's first word (kubectl's default). */
export function managerFor(ctx: Ctx): string {
  const fm = ctx.url.searchParams.get("fieldManager");
  if (fm) return fm;
  const ua = String(ctx.req.headers["user-agent"] ?? "unknown");
  return ua.split("/")[0] ?? ua;
}
