// A local Kubernetes API server stand-in for tests that run the REAL kubectl.
//
// HTTPS on 127.0.0.1 (random port), bearer-token users, RBAC-like rules, and the
// four resources gitlab-pull-secret touches: namespaces, secrets, serviceaccounts
// (core/v1) and leases (coordination.k8s.io/v1). Discovery and OpenAPI documents
// are served from test/fixtures/kube/discovery exactly as a kube-apiserver v1.25.9
// served them; error bodies follow test/fixtures/kube/responses byte for byte in shape.
//
// Where the captures are silent the behaviour follows kube-apiserver's source
// (k8s.io/apiserver endpoints/handlers, pkg/apis/core/validation, evanphx/json-patch,
// structured-merge-diff); the comments name the place. It is a model, not a
// re-implementation: server-side apply tracks ownership per label/annotation/data
// key and per top-level field (lists are atomic), which is what the tool relies on.
//
// Facts worth knowing when you drive it with kubectl:
// - `kubectl apply -f` of a `v1 List` validates the items client side against
//   /openapi/v2, which kubectl only accepts as protobuf
//   (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`); a JSON body fails
//   with "proto: cannot parse invalid wire-format data". This server therefore
//   encodes openapi-v2.json's definitions into gnostic's OpenAPIv2 protobuf once per
//   process. Single objects are checked against /openapi/v3 (JSON) instead.
// - The Google Cloud SDK kubectl "dispatcher" GETs /version first (user agent
//   kubectl-dispatcher/...) to pick a kubectl binary; it shows up in `requests`.
// - Request bodies are never logged or recorded.

import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { load as yamlLoad } from "js-yaml";
import { issueServerCert, makeCA } from "../certs.ts";
import type { DenyRule, Fault, KubeResource, KubeStandIn, PolicyRule, RecordedRequest } from "./api.ts";
import { type StaticDoc, decodeKubeProtobuf, loadCaptures, openapiV2Proto } from "./discovery.ts";
import { clone, deepEqual, isObj, nowRFC3339 } from "./json.ts";
import {
  type MFEntry,
  deleteAt,
  fieldsOf,
  getAt,
  pathString,
  readManaged,
  setAt,
  trackUpdate,
  unkey,
  writeManaged,
} from "./managed-fields.ts";
import { jsonPatch, mergePatch, strategicMergePatch } from "./patch.ts";
import { LEASE_SPEC_ORDER, RESOURCES, type ResDef, apiVersionOf, canonical, coreEvent } from "./resources.ts";
import { parseFieldSelector, parseLabelSelector } from "./selectors.ts";
import {
  ApiError,
  type Cause,
  type FieldErr,
  alreadyExists,
  badRequest,
  conflict,
  fe,
  genericServerResponse,
  groupResource,
  invalid,
  notFound,
  q,
} from "./status.ts";
import { validateObject, validateUpdate } from "./validation.ts";
import { latencyFromEnv, ServiceSlots, type LatencyModel } from "./latency.ts";

interface User {
  name: string;
  token: string;
  rules: PolicyRule[] | "all";
}

interface Attrs {
  user: string;
  verb: string;
  group: string;
  resource: string;
  namespace: string;
  name: string;
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  user: User;
  body: Buffer;
}

const ADMIN = "admin";
/**
 * A request with no credentials at all: kube-apiserver's anonymous authenticator
 * (--anonymous-auth defaults to true) makes it system:anonymous, whom default RBAC
 * lets read only the public info paths (system:public-info-viewer). A credential
 * that fails is still 401.
 */
const ANONYMOUS = "system:anonymous";
const PUBLIC_INFO = new Set(["/version", "/healthz", "/livez", "/readyz"]);
const MAX_BODY = 3 * 1024 * 1024;

export async function startKubeStandIn(opts: { dir?: string; latency?: LatencyModel } = {}): Promise<KubeStandIn> {
  const latency = opts.latency ?? latencyFromEnv();
  const slots = latency && latency.serviceMs > 0 ? new ServiceSlots(latency.serviceMs, latency.slots ?? 2) : undefined;
  const serve = (): Promise<void> | undefined => slots?.serve();
  const captures = loadCaptures();
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "kube-standin-"));
  mkdirSync(dir, { recursive: true });
  const ca = makeCA(join(dir, "pki"), "kube-ca");
  const cert = issueServerCert(join(dir, "pki"), ca, "kube-apiserver");

  const users = new Map<string, User>();
  const newToken = (): string => randomBytes(24).toString("base64url");
  users.set(ADMIN, { name: ADMIN, token: newToken(), rules: "all" });
  let denials: DenyRule[] = [];
  let faults: Array<Fault & { left: number }> = [];
  const requests: RecordedRequest[] = [];
  const store = new Map<string, any>();
  let rvCounter = 100;
  const sockets = new Set<Socket>();

  const skey = (r: KubeResource, ns: string | undefined, name: string): string =>
    `${r}/${RESOURCES[r].namespaced ? (ns ?? "") : ""}/${name}`;
  const nextRV = (): string => String(++rvCounter);

  // ----- state helpers -----

  function stored(r: ResDef, ns: string | undefined, name: string): any | undefined {
    return store.get(skey(r.name, ns, name));
  }

  function persist(r: ResDef, obj: any): any {
    const c = canonical(r, obj);
    store.set(skey(r.name, c.metadata.namespace, c.metadata.name), c);
    return c;
  }

  function stampNew(obj: any): void {
    obj.metadata.uid ??= randomUUID();
    obj.metadata.creationTimestamp ??= nowRFC3339();
  }

  /** what the namespace controller and serviceaccount controller would add */
  function namespaceDefaults(obj: any): void {
    obj.metadata.labels = { ...(obj.metadata.labels ?? {}), "kubernetes.io/metadata.name": obj.metadata.name };
    obj.spec = { finalizers: ["kubernetes"], ...(isObj(obj.spec) ? obj.spec : {}) };
    obj.status = { phase: "Active" };
  }

  function ensureDefaultServiceAccount(ns: string): void {
    const r = RESOURCES.serviceaccounts;
    if (stored(r, ns, "default")) return;
    persist(r, {
      metadata: {
        name: "default",
        namespace: ns,
        uid: randomUUID(),
        resourceVersion: nextRV(),
        creationTimestamp: nowRFC3339(),
      },
    });
  }

  function createNamespaceDirect(name: string, labels?: Record<string, string>): void {
    const r = RESOURCES.namespaces;
    if (stored(r, undefined, name)) return;
    const obj: any = { metadata: { name, labels: { ...(labels ?? {}) } } };
    namespaceDefaults(obj);
    stampNew(obj);
    obj.metadata.resourceVersion = nextRV();
    trackUpdate(r, undefined, obj, "kubectl-create");
    persist(r, obj);
    ensureDefaultServiceAccount(name);
  }

  for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease"]) createNamespaceDirect(ns);

  // ----- authorization -----

  function ruleAllows(rule: PolicyRule, a: Attrs, r: ResDef): boolean {
    if (!rule.apiGroups.includes("*") && !rule.apiGroups.includes(a.group)) return false;
    if (!rule.resources.includes("*") && !rule.resources.includes(a.resource)) return false;
    if (!rule.verbs.includes("*") && !rule.verbs.includes(a.verb)) return false;
    if (rule.resourceNames && rule.resourceNames.length > 0 && !rule.resourceNames.includes(a.name)) return false;
    if (rule.namespaces === undefined) return true;
    // a Role: only namespaced requests inside one of its namespaces (a namespace's own object counts: RequestInfo sets namespace = name)
    void r;
    return a.namespace !== "" && rule.namespaces.includes(a.namespace);
  }

  function denied(a: Attrs): boolean {
    return denials.some(
      (d) =>
        (d.user === undefined || d.user === a.user) &&
        (d.namespace === undefined || d.namespace === a.namespace) &&
        (d.verb === undefined || d.verb === a.verb) &&
        (d.resource === undefined || d.resource === a.resource),
    );
  }

  function allowed(user: User, a: Attrs, r: ResDef): boolean {
    if (denied(a)) return false;
    if (user.rules === "all") return true;
    return user.rules.some((rule) => ruleAllows(rule, a, r));
  }

  /** responsewriters.forbiddenMessage + errors.NewForbidden */
  function forbidden(a: Attrs): ApiError {
    const inner = a.namespace
      ? `User ${q(a.user)} cannot ${a.verb} resource ${q(a.resource)} in API group ${q(a.group)} in the namespace ${q(a.namespace)}`
      : `User ${q(a.user)} cannot ${a.verb} resource ${q(a.resource)} in API group ${q(a.group)} at the cluster scope`;
    const gr = a.group ? `${a.resource}.${a.group}` : a.resource;
    const message = a.name ? `${gr} ${q(a.name)} is forbidden: ${inner}` : `${gr} is forbidden: ${inner}`;
    return new ApiError(403, "Forbidden", message, { name: a.name, group: a.group, kind: a.resource });
  }

  function authorize(ctx: Ctx, r: ResDef, verb: string, namespace: string, name: string): void {
    const a: Attrs = { user: ctx.user.name, verb, group: r.group, resource: r.name, namespace, name };
    if (!allowed(ctx.user, a, r)) throw forbidden(a);
  }

  /** patch.go withAuthorization: create-on-update/apply is also authorized as "create"; the message carries the (empty) RBAC reason. */
  function authorizeCreateOnUpdate(ctx: Ctx, r: ResDef, namespace: string, name: string): void {
    const a: Attrs = { user: ctx.user.name, verb: "create", group: r.group, resource: r.name, namespace, name };
    if (!allowed(ctx.user, a, r)) {
      const gr = r.group ? `${r.name}.${r.group}` : r.name;
      throw new ApiError(403, "Forbidden", `${gr} ${q(name)} is forbidden: `, { name, group: r.group, kind: r.name });
    }
  }

  // ----- HTTP plumbing -----

  function send(ctx: Ctx, code: number, body: any, headers: Record<string, string> = {}): void {
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    ctx.res.writeHead(code, {
      "Cache-Control": "no-cache, private",
      "Content-Type": "application/json",
      "Audit-Id": randomUUID(),
      "Content-Length": String(buf.length),
      ...headers,
    });
    ctx.res.end(buf);
  }

  function sendError(ctx: Ctx, err: ApiError): void {
    send(ctx, err.code, err.body(), err.headers);
  }

  function decodeBody(ctx: Ctx, r: ResDef): any {
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

  function checkTypeMeta(ctx: Ctx, r: ResDef, obj: any, apply = false): any {
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
  function normalize(r: ResDef, obj: any): void {
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
  function applyDefaults(r: ResDef, obj: any): void {
    if (r.kind === "Secret") obj.type ??= "Opaque";
  }

  function dryRunOf(ctx: Ctx): boolean {
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

  function checkOptions(ctx: Ctx, applyPatch: boolean): void {
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

  function managerFor(ctx: Ctx): string {
    const fm = ctx.url.searchParams.get("fieldManager");
    if (fm) return fm;
    const ua = String(ctx.req.headers["user-agent"] ?? "unknown");
    return ua.split("/")[0] ?? ua;
  }

  /**
   * NamespaceLifecycle admission on a create (plugin/pkg/admission/namespace/lifecycle):
   * 404 for a namespace that does not exist; 403 with the NamespaceTerminating cause for
   * one being deleted (admission.NewForbidden -> errors.NewForbidden(resource, name, err)).
   * Updates of objects already there are not refused.
   */
  function namespaceMustExist(r: ResDef, ns: string, name: string): void {
    if (!r.namespaced) return;
    const namespace = stored(RESOURCES.namespaces, undefined, ns);
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

  /**
   * What deleting a namespace takes with it beside its objects: the RoleBindings
   * in it. A PolicyRule with `namespaces` models a Role bound in each of them,
   * so the namespace leaves every such list (recreating the namespace does not
   * bring the binding back).
   */
  function dropBindings(ns: string): void {
    for (const user of users.values()) {
      if (user.rules === "all") continue;
      for (const rule of user.rules) if (rule.namespaces) rule.namespaces = rule.namespaces.filter((n) => n !== ns);
    }
  }

  function output(ctx: Ctx, code: number, r: ResDef, obj: any): void {
    send(ctx, code, canonical(r, obj));
  }

  // ----- verbs -----

  function doGet(ctx: Ctx, r: ResDef, ns: string, name: string): void {
    authorize(ctx, r, "get", r.namespaced ? ns : r.name === "namespaces" ? name : "", name);
    const obj = stored(r, ns, name);
    if (!obj) throw notFound(r, name);
    if (wantsTable(ctx)) return send(ctx, 200, toTable(r, [obj], obj.metadata.resourceVersion));
    output(ctx, 200, r, obj);
  }

  function selected(ctx: Ctx, r: ResDef, ns: string | undefined): any[] {
    const ls = ctx.url.searchParams.get("labelSelector");
    const fs = ctx.url.searchParams.get("fieldSelector");
    const lreqs = ls ? parseLabelSelector(ls) : [];
    const freqs = fs ? parseFieldSelector(r, fs) : [];
    const prefix = `${r.name}/${r.namespaced && ns ? ns : ""}/`;
    const items: any[] = [];
    for (const [k, v] of store) {
      if (!k.startsWith(`${r.name}/`)) continue;
      if (r.namespaced && ns && !k.startsWith(prefix)) continue;
      const labels = v.metadata?.labels ?? {};
      if (lreqs.every((f) => f(labels)) && freqs.every((f) => f(v))) items.push(v);
    }
    items.sort((a, b) =>
      `${a.metadata.namespace ?? ""}/${a.metadata.name}` < `${b.metadata.namespace ?? ""}/${b.metadata.name}` ? -1 : 1,
    );
    return items;
  }

  function doList(ctx: Ctx, r: ResDef, ns: string | undefined): void {
    const watch = ["1", "true"].includes(ctx.url.searchParams.get("watch") ?? "");
    authorize(ctx, r, watch ? "watch" : "list", ns ?? "", "");
    const items = selected(ctx, r, ns);
    const rv = String(rvCounter);
    if (watch) return startWatch(ctx, r, ns, items);
    if (wantsTable(ctx)) return send(ctx, 200, toTable(r, items, rv));
    send(ctx, 200, {
      kind: `${r.kind}List`,
      apiVersion: apiVersionOf(r),
      metadata: { resourceVersion: rv },
      items: items.map((o) => canonical(r, o, false)),
    });
  }

  function doCreate(ctx: Ctx, r: ResDef, ns: string): void {
    authorize(ctx, r, "create", ns, "");
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
    namespaceMustExist(r, ns, obj.metadata.name ?? "");
    finishCreate(ctx, r, obj, dryRun, managerFor(ctx), "Update");
  }

  function finishCreate(ctx: Ctx, r: ResDef, obj: any, dryRun: boolean, manager: string, op: "Update" | "Apply"): void {
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
    if (stored(r, obj.metadata.namespace, obj.metadata.name)) throw alreadyExists(r, obj.metadata.name);
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
    obj.metadata.resourceVersion = nextRV();
    const saved = persist(r, obj);
    notify(r, "ADDED", saved);
    if (r.name === "namespaces") ensureDefaultServiceAccount(obj.metadata.name);
    output(ctx, 201, r, saved);
  }

  /** Writes `next` over `cur` (both full objects): validation, managed fields, no-op detection. */
  function finishUpdate(
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
    const unchanged = deepEqual(withoutMFTimes(canonical(r, next)), withoutMFTimes(canonical(r, cur)));
    if (unchanged) return output(ctx, 200, r, cur);
    if (dryRun) return output(ctx, 200, r, next);
    next.metadata.resourceVersion = nextRV();
    const saved = persist(r, next);
    notify(r, "MODIFIED", saved);
    output(ctx, 200, r, saved);
  }

  function withoutMFTimes(o: any): any {
    const c = clone(o);
    for (const e of c.metadata?.managedFields ?? []) delete e.time;
    return c;
  }

  function doUpdate(ctx: Ctx, r: ResDef, ns: string, name: string): void {
    const nsAttr = r.namespaced ? ns : r.name === "namespaces" ? name : "";
    authorize(ctx, r, "update", nsAttr, name);
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
    const cur = stored(r, ns, name);
    if (!cur) {
      if (!r.createOnUpdate) throw notFound(r, name);
      if (obj.metadata.resourceVersion) throw notFound(r, name);
      namespaceMustExist(r, ns, name);
      authorizeCreateOnUpdate(ctx, r, nsAttr, name);
      return finishCreate(ctx, r, obj, dryRun, managerFor(ctx), "Update");
    }
    const rv = obj.metadata.resourceVersion;
    if (rv && rv !== cur.metadata.resourceVersion) throw conflict(r, name);
    obj.metadata.managedFields = cur.metadata.managedFields;
    finishUpdate(ctx, r, cur, obj, dryRun, () => trackUpdate(r, cur, obj, managerFor(ctx)));
  }

  function doDelete(ctx: Ctx, r: ResDef, ns: string, name: string): void {
    authorize(ctx, r, "delete", r.namespaced ? ns : r.name === "namespaces" ? name : "", name);
    let dryRun = dryRunOf(ctx);
    const cur = stored(r, ns, name);
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
      const gone = canonical(r, cur);
      gone.metadata.deletionTimestamp = nowRFC3339();
      gone.spec = { finalizers: ["kubernetes"] };
      gone.status = { phase: "Terminating" };
      if (!dryRun) {
        gone.metadata.resourceVersion = nextRV();
        for (const [k, v] of [...store]) {
          if (v.metadata?.namespace === name && !k.startsWith("namespaces/")) store.delete(k);
        }
        store.delete(skey("namespaces", undefined, name));
        dropBindings(name);
        notify(r, "DELETED", gone);
      }
      return send(ctx, 200, gone);
    }
    if (!dryRun) {
      store.delete(skey(r.name, ns, name));
      notify(r, "DELETED", { ...cur, metadata: { ...cur.metadata, resourceVersion: nextRV() } });
    }
    send(ctx, 200, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: { name, ...(r.group ? { group: r.group } : {}), kind: r.name, uid: cur.metadata.uid },
    });
  }

  function doPatch(ctx: Ctx, r: ResDef, ns: string, name: string): void {
    const nsAttr = r.namespaced ? ns : r.name === "namespaces" ? name : "";
    authorize(ctx, r, "patch", nsAttr, name);
    const ct = String(ctx.req.headers["content-type"] ?? "")
      .split(";")[0]!
      .trim();
    const types = [
      "application/json-patch+json",
      "application/merge-patch+json",
      "application/strategic-merge-patch+json",
      "application/apply-patch+yaml",
    ];
    if (!types.includes(ct)) {
      throw new ApiError(
        415,
        "UnsupportedMediaType",
        `the body of the request was in an unknown format - accepted media types include: ${types.join(", ")}`,
      );
    }
    const apply = ct === "application/apply-patch+yaml";
    checkOptions(ctx, apply);
    const dryRun = dryRunOf(ctx);
    const text = ctx.body.toString("utf8");
    if (apply) return doApply(ctx, r, ns, name, nsAttr, text, dryRun);

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
    const cur = stored(r, ns, name);
    if (!cur) throw notFound(r, name);
    const curJson = canonical(r, cur);
    let next: any;
    if (ct === "application/json-patch+json") {
      if (!Array.isArray(patch))
        throw badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
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
    finishUpdate(ctx, r, cur, next, dryRun, () => trackUpdate(r, cur, next, managerFor(ctx)));
  }

  function doApply(ctx: Ctx, r: ResDef, ns: string, name: string, nsAttr: string, text: string, dryRun: boolean): void {
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
      for (const k of Object.keys(cfg.spec))
        if (!LEASE_SPEC_ORDER.includes(k)) throw badRequest(`.spec.${k}: field not declared in schema`);
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
    const cur = stored(r, ns, name);
    if (!cur) {
      // patchCreater: mutating admission (NamespaceLifecycle) first, then the "create" authorization
      namespaceMustExist(r, ns, name);
      authorizeCreateOnUpdate(ctx, r, nsAttr, name);
      if (cfg.metadata.resourceVersion) throw notFound(r, name);
      return finishCreate(ctx, r, clone(cfg), dryRun, manager, "Apply");
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
      for (const k of cfgFields) {
        const p = unkey(k);
        const owned = [...e.fields].some(
          (ok) => ok === k || k.startsWith(`${ok}\u0000`) || ok.startsWith(`${k}\u0000`),
        );
        if (owned && !deepEqual(getAt(cur, p), getAt(cfg, p))) conflicts.push({ e, k });
      }
    }
    if (conflicts.length && !force) throw applyConflict(conflicts);
    for (const { e, k } of conflicts) {
      for (const ok of [...e.fields])
        if (ok === k || ok.startsWith(`${k}\u0000`) || k.startsWith(`${ok}\u0000`)) e.fields.delete(ok);
    }
    const next = clone(cur);
    if (mine) {
      for (const k of mine.fields) {
        if (cfgFields.has(k) || unkey(k).at(-1) === ".") continue;
        const sharedWith = entries.some(
          (e) => e !== mine && [...e.fields].some((ok) => ok === k || ok.startsWith(`${k}\u0000`)),
        );
        if (!sharedWith) deleteAt(next, unkey(k));
      }
    } else {
      mine = { manager, operation: "Apply", apiVersion: apiVersionOf(r), fields: new Set() };
      entries.push(mine);
    }
    for (const k of cfgFields) setAt(next, unkey(k), getAt(cfg, unkey(k)));
    applyDefaults(r, next);
    const before = new Set(mine.fields);
    mine.fields = cfgFields;
    const sameFields = before.size === cfgFields.size && [...before].every((k) => cfgFields.has(k));
    if (!sameFields || !mine.time) mine.time = nowRFC3339();
    writeManaged(next, entries);
    finishUpdate(ctx, r, cur, next, dryRun, undefined);
  }

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

  // ----- watch (minimal: current state as ADDED, then live events) -----

  interface Watcher {
    ctx: Ctx;
    r: ResDef;
    ns: string | undefined;
    filter: (o: any) => boolean;
    timer: NodeJS.Timeout;
  }
  const watchers = new Set<Watcher>();

  function startWatch(ctx: Ctx, r: ResDef, ns: string | undefined, initial: any[]): void {
    const ls = ctx.url.searchParams.get("labelSelector");
    const fs = ctx.url.searchParams.get("fieldSelector");
    const lreqs = ls ? parseLabelSelector(ls) : [];
    const freqs = fs ? parseFieldSelector(r, fs) : [];
    const filter = (o: any): boolean =>
      (!r.namespaced || !ns || o.metadata?.namespace === ns) &&
      lreqs.every((f) => f(o.metadata?.labels ?? {})) &&
      freqs.every((f) => f(o));
    const timeout = Math.min(Number(ctx.url.searchParams.get("timeoutSeconds") ?? "1800") || 1800, 1800);
    ctx.res.writeHead(200, {
      "Content-Type": "application/json",
      "Cache-Control": "no-cache, private",
      "Transfer-Encoding": "chunked",
    });
    const since = ctx.url.searchParams.get("resourceVersion");
    if (!since || since === "0")
      for (const o of initial) ctx.res.write(`${JSON.stringify({ type: "ADDED", object: canonical(r, o) })}\n`);
    const w: Watcher = {
      ctx,
      r,
      ns,
      filter,
      timer: setTimeout(() => {
        watchers.delete(w);
        ctx.res.end();
      }, timeout * 1000),
    };
    watchers.add(w);
    ctx.res.on("close", () => {
      clearTimeout(w.timer);
      watchers.delete(w);
    });
  }

  function notify(r: ResDef, type: string, obj: any): void {
    for (const w of watchers) {
      if (w.r !== r || !w.filter(obj)) continue;
      w.ctx.res.write(`${JSON.stringify({ type, object: canonical(r, obj) })}\n`);
    }
  }

  // ----- Table (kubectl get without -o) -----

  function wantsTable(ctx: Ctx): boolean {
    return /as=Table/.test(String(ctx.req.headers.accept ?? ""));
  }

  function age(ts: string | undefined): string {
    if (!ts) return "<unknown>";
    const s = Math.max(0, Math.floor((Date.now() - Date.parse(ts)) / 1000));
    if (s < 120) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ""}`;
    if (m < 180) return `${m}m`;
    const h = Math.floor(m / 60);
    if (h < 48) return `${h}h`;
    return `${Math.floor(h / 24)}d`;
  }

  function toTable(r: ResDef, items: any[], rv: string): any {
    const col = (name: string, type: string, description: string, format = ""): any => ({
      name,
      type,
      format,
      description,
      priority: 0,
    });
    const nameCol = col("Name", "string", "Name must be unique within a namespace.", "name");
    const ageCol = col(
      "Age",
      "string",
      "CreationTimestamp is a timestamp representing the server time when this object was created.",
    );
    let cols: any[];
    let cells: (o: any) => unknown[];
    switch (r.kind) {
      case "Secret":
        cols = [
          nameCol,
          col("Type", "string", "Used to facilitate programmatic handling of secret data."),
          col("Data", "string", "The total number of data entries."),
          ageCol,
        ];
        cells = (o) => [
          o.metadata.name,
          o.type ?? "Opaque",
          Object.keys(o.data ?? {}).length,
          age(o.metadata.creationTimestamp),
        ];
        break;
      case "ServiceAccount":
        cols = [
          nameCol,
          col(
            "Secrets",
            "string",
            "Secrets is the list of secrets allowed to be used by pods running using this ServiceAccount.",
          ),
          ageCol,
        ];
        cells = (o) => [o.metadata.name, (o.secrets ?? []).length, age(o.metadata.creationTimestamp)];
        break;
      case "Lease":
        cols = [
          nameCol,
          col("Holder", "string", "holderIdentity contains the identity of the holder of a current lease."),
          ageCol,
        ];
        cells = (o) => [o.metadata.name, o.spec?.holderIdentity ?? "", age(o.metadata.creationTimestamp)];
        break;
      default:
        cols = [nameCol, col("Status", "string", "The status of the namespace"), ageCol];
        cells = (o) => [o.metadata.name, o.status?.phase ?? "", age(o.metadata.creationTimestamp)];
    }
    return {
      kind: "Table",
      apiVersion: "meta.k8s.io/v1",
      metadata: { resourceVersion: rv },
      columnDefinitions: cols,
      rows: items.map((o) => {
        const meta = clone(o.metadata);
        delete meta.managedFields;
        return {
          cells: cells(o),
          object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: meta },
        };
      }),
    };
  }

  // ----- core/v1 Events: the events.k8s.io/v1 objects under their older names (kubectl events, kubectl describe) -----

  /** Read-only here: the tool writes events.k8s.io/v1; creating through core/v1 is not modelled. */
  function coreEvents(ctx: Ctx, rest: string[]): void {
    const r = RESOURCES.events;
    const core: ResDef = { ...r, group: "" };
    const ns = rest[0] === "namespaces" ? rest[1]! : "";
    const name = rest[0] === "namespaces" ? (rest[3] ?? "") : (rest[1] ?? "");
    const m = ctx.req.method === "HEAD" ? "GET" : ctx.req.method;
    if (m !== "GET" || ["1", "true"].includes(ctx.url.searchParams.get("watch") ?? "")) {
      throw new ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {
        kind: "events",
      });
    }
    if (name) {
      authorize(ctx, core, "get", ns, name);
      const obj = stored(r, ns, name);
      if (!obj) throw notFound(core, name);
      return send(ctx, 200, coreEvent(obj));
    }
    authorize(ctx, core, "list", ns, "");
    const items = selected(ctx, r, ns || undefined);
    send(ctx, 200, {
      kind: "EventList",
      apiVersion: "v1",
      metadata: { resourceVersion: String(rvCounter) },
      items: items.map((o) => coreEvent(o, false)),
    });
  }

  // ----- SelfSubjectAccessReview (kubectl auth can-i) -----

  function doSelfSubjectAccessReview(ctx: Ctx): void {
    let review: any;
    try {
      const ct = String(ctx.req.headers["content-type"] ?? "");
      review = ct.startsWith("application/vnd.kubernetes.protobuf")
        ? decodeKubeProtobuf(ctx.body)
        : JSON.parse(ctx.body.toString("utf8"));
    } catch {
      throw badRequest("the object provided is unrecognized (must be of type SelfSubjectAccessReview)");
    }
    const ra = review?.spec?.resourceAttributes;
    let ok = false;
    if (isObj(ra)) {
      const resName = String(ra.resource ?? "");
      const r = (RESOURCES as Record<string, ResDef | undefined>)[resName];
      const a: Attrs = {
        user: ctx.user.name,
        verb: String(ra.verb ?? ""),
        group: String(ra.group ?? ""),
        resource: resName,
        namespace: String(ra.namespace ?? ""),
        name: String(ra.name ?? ""),
      };
      ok = allowed(ctx.user, a, r ?? RESOURCES.secrets);
    } else if (isObj(review?.spec?.nonResourceAttributes)) ok = true;
    send(ctx, 201, {
      kind: "SelfSubjectAccessReview",
      apiVersion: "authorization.k8s.io/v1",
      metadata: { creationTimestamp: null },
      spec: review?.spec ?? {},
      status: { allowed: ok, ...(ok ? {} : { reason: "" }) },
    });
  }

  // ----- routing -----

  function serveDiscovery(ctx: Ctx, path: string): boolean {
    let doc: StaticDoc | undefined;
    let type = "application/json";
    if (path === "/openapi/v2") {
      const accept = String(ctx.req.headers.accept ?? "");
      if (accept.includes("protobuf")) {
        doc = openapiV2Proto(captures);
        type = "application/octet-stream";
      } else doc = captures.openapiV2Json;
    } else doc = captures.docs.get(path);
    if (!doc) return false;
    if (ctx.req.method !== "GET" && ctx.req.method !== "HEAD") {
      send(ctx, 405, genericServerResponse(405, "").body());
      return true;
    }
    const headers: Record<string, string> = {};
    if (path.startsWith("/openapi/")) {
      headers.ETag = doc.etag;
      headers.Vary = "Accept";
      if (ctx.req.headers["if-none-match"] === doc.etag) {
        ctx.res.writeHead(304, { ETag: doc.etag, "Cache-Control": "no-cache, private" });
        ctx.res.end();
        return true;
      }
      if (ctx.url.searchParams.has("hash")) headers["Cache-Control"] = "public, immutable";
    }
    send(ctx, 200, doc.body, { "Content-Type": type, ...headers });
    return true;
  }

  /**
   * What default RBAC refuses system:anonymous before any handler runs. Discovery
   * and openapi are non-resource paths for authenticated users only: the
   * authorizer's non-resource message, verb the lower-cased method (request
   * info). SelfSubjectAccessReviews need system:basic-user, also authenticated
   * only. Resource requests fall through to RBAC, which has no rules for anonymous.
   */
  function refuseAnonymous(ctx: Ctx, path: string): void {
    if (PUBLIC_INFO.has(path)) return;
    const seg = path.split("/").filter(Boolean);
    const resourceRequest = (seg[0] === "api" && seg.length >= 3) || (seg[0] === "apis" && seg.length >= 4);
    if (!resourceRequest) {
      const verb = (ctx.req.method ?? "GET").toLowerCase();
      throw new ApiError(
        403,
        "Forbidden",
        `forbidden: User ${q(ANONYMOUS)} cannot ${verb} path ${q(ctx.url.pathname)}`,
        {},
      );
    }
    if (path === "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") {
      throw forbidden({
        user: ANONYMOUS,
        verb: "create",
        group: "authorization.k8s.io",
        resource: "selfsubjectaccessreviews",
        namespace: "",
        name: "",
      });
    }
  }

  function route(ctx: Ctx): void {
    const path = ctx.url.pathname.replace(/\/+$/, "") || "/";
    if (ctx.user.name === ANONYMOUS) refuseAnonymous(ctx, path);
    if (serveDiscovery(ctx, path)) return;
    if (path === "/healthz" || path === "/livez" || path === "/readyz")
      return send(ctx, 200, Buffer.from("ok"), { "Content-Type": "text/plain; charset=utf-8" });
    if (path === "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" && ctx.req.method === "POST")
      return doSelfSubjectAccessReview(ctx);

    let rest: string[];
    let group: string;
    if (path.startsWith("/api/v1/") || path === "/api/v1") {
      group = "";
      rest = path.slice("/api/v1".length).split("/").filter(Boolean);
    } else if (path.startsWith("/apis/coordination.k8s.io/v1/")) {
      group = "coordination.k8s.io";
      rest = path.slice("/apis/coordination.k8s.io/v1".length).split("/").filter(Boolean);
    } else if (path.startsWith("/apis/events.k8s.io/v1/")) {
      group = "events.k8s.io";
      rest = path.slice("/apis/events.k8s.io/v1".length).split("/").filter(Boolean);
    } else throw genericServerResponse(404, "");
    rest = rest.map(decodeURIComponent);
    if (group === "" && (rest[0] === "events" || (rest[0] === "namespaces" && rest[2] === "events")))
      return coreEvents(ctx, rest);

    const res = (name: string | undefined): ResDef => {
      const r = (RESOURCES as Record<string, ResDef | undefined>)[name ?? ""];
      if (!r || r.group !== group) throw genericServerResponse(404, "");
      return r;
    };
    const m = ctx.req.method ?? "GET";
    const method = m === "HEAD" ? "GET" : m;
    let r: ResDef;
    let ns = "";
    let name = "";
    if (rest[0] === "namespaces" && rest.length >= 3) {
      ns = rest[1]!;
      r = res(rest[2]);
      if (!r.namespaced || rest.length > 4) throw genericServerResponse(404, "");
      name = rest[3] ?? "";
    } else if (rest.length === 1 || rest.length === 2) {
      r = res(rest[0]);
      name = rest[1] ?? "";
      if (r.namespaced && name) throw genericServerResponse(404, "");
    } else throw genericServerResponse(404, "");

    if (!name) {
      if (method === "GET") return doList(ctx, r, r.namespaced ? ns || undefined : undefined);
      if (method === "POST") return doCreate(ctx, r, ns);
      throw new ApiError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`, {
        kind: r.name,
      });
    }
    switch (method) {
      case "GET":
        return doGet(ctx, r, ns, name);
      case "PUT":
        return doUpdate(ctx, r, ns, name);
      case "PATCH":
        return doPatch(ctx, r, ns, name);
      case "DELETE":
        return doDelete(ctx, r, ns, name);
      default:
        throw new ApiError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`, {
          kind: r.name,
          name,
        });
    }
  }

  function authenticate(req: IncomingMessage): User | undefined {
    if (req.headers.authorization === undefined) return { name: ANONYMOUS, token: "", rules: [] };
    const h = String(req.headers.authorization);
    const m = h.match(/^Bearer\s+(\S+)$/i);
    if (!m) return undefined;
    for (const u of users.values()) if (u.token === m[1]) return u;
    return undefined;
  }

  const faultReason: Record<number, string> = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
  };

  function takeFault(method: string, path: string, query: string): (Fault & { left: number }) | undefined {
    const f = faults.find(
      (x) =>
        x.left > 0 &&
        (!x.method || x.method.toUpperCase() === method) &&
        x.path.test(path) &&
        (!x.query || x.query.test(query)),
    );
    if (!f) return undefined;
    f.left--;
    faults = faults.filter((x) => x.left > 0);
    return f;
  }

  function faultError(f: Fault): ApiError {
    const reason = faultReason[f.status] ?? "";
    const retry = f.retryAfterSeconds ?? (f.status === 429 ? 1 : 0);
    const message =
      f.message ??
      (f.status === 429
        ? "Too many requests, please try again later."
        : f.status >= 500
          ? `Internal error occurred: injected fault (${f.status})`
          : `injected fault (${f.status})`);
    const headers: Record<string, string> = retry > 0 ? { "Retry-After": String(retry) } : {};
    return new ApiError(f.status, reason, message, retry > 0 ? { retryAfterSeconds: retry } : {}, headers);
  }

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let len = 0;
    for await (const c of req) {
      const b = c as Buffer;
      len += b.length;
      if (len > MAX_BODY)
        throw new ApiError(413, "RequestEntityTooLarge", `the request body exceeds ${MAX_BODY} bytes`);
      chunks.push(b);
    }
    return Buffer.concat(chunks, len);
  }

  const server = https.createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const rec: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.search.replace(/^\?/, ""),
      user: "",
      status: 0,
    };
    const ct = req.headers["content-type"];
    if (ct) rec.contentType = String(ct);
    requests.push(rec);
    res.on("finish", () => {
      rec.status = res.statusCode;
    });
    res.on("close", () => {
      if (!rec.status) rec.status = res.headersSent ? res.statusCode : 0;
    });
    const ctx: Ctx = { req, res, url, user: users.get(ADMIN)!, body: Buffer.alloc(0) };
    void (async () => {
      try {
        const user = authenticate(req);
        if (!user) {
          req.resume();
          throw new ApiError(401, "Unauthorized", "Unauthorized");
        }
        ctx.user = user;
        rec.user = user.name;
        const f = takeFault(rec.method, url.pathname, url.search.replace(/^\?/, ""));
        if (f) {
          req.resume();
          if (f.status === 0) {
            req.socket.destroy();
            return;
          }
          throw faultError(f);
        }
        ctx.body = await readBody(req);
        await serve();
        route(ctx);
      } catch (e) {
        if (res.headersSent) {
          res.end();
          return;
        }
        if (e instanceof ApiError) sendError(ctx, e);
        else sendError(ctx, new ApiError(500, "InternalError", `Internal error occurred: ${(e as Error).message}`));
      }
    })();
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => ok());
  });
  const addr = server.address();
  if (!addr || typeof addr === "string") throw new Error("kube-standin: no address");
  const url = `https://127.0.0.1:${addr.port}`;
  const caB64 = Buffer.from(ca.cert).toString("base64");

  const api: KubeStandIn = {
    url,
    caPath: ca.certPath,
    requests,
    writeKubeconfig(targetDir: string, user = ADMIN): string {
      const u = users.get(user);
      if (!u) throw new Error(`kube-standin: unknown user ${user}`);
      mkdirSync(targetDir, { recursive: true });
      const file = join(targetDir, `kubeconfig-${user}`);
      const text = [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: standin",
        "  cluster:",
        `    server: ${url}`,
        `    certificate-authority-data: ${caB64}`,
        "users:",
        `- name: ${JSON.stringify(user)}`,
        "  user:",
        `    token: ${JSON.stringify(u.token)}`,
        "contexts:",
        "- name: standin",
        "  context:",
        "    cluster: standin",
        `    user: ${JSON.stringify(user)}`,
        "    namespace: default",
        "current-context: standin",
        "preferences: {}",
        "",
      ].join("\n");
      writeFileSync(file, text, { mode: 0o600 });
      return file;
    },
    tokenFor(user = ADMIN): string {
      const u = users.get(user);
      if (!u) throw new Error(`kube-standin: unknown user ${user}`);
      return u.token;
    },
    addUser(name: string, rules: PolicyRule[] = []): void {
      if (name === ADMIN) throw new Error("kube-standin: admin is built in");
      // A Role lives in its namespace: a real server refuses one for a namespace that does not exist (404).
      for (const ns of rules.flatMap((r) => r.namespaces ?? [])) {
        if (!stored(RESOURCES.namespaces, undefined, ns))
          throw new Error(`kube-standin: no namespace ${ns} to hold a Role for ${name}`);
      }
      const prev = users.get(name);
      users.set(name, { name, token: prev?.token ?? newToken(), rules: clone(rules) });
    },
    deny(rule: DenyRule): void {
      denials.push({ ...rule });
    },
    clearDenials(): void {
      denials = [];
    },
    createNamespace(name: string, labels?: Record<string, string>): void {
      createNamespaceDirect(name, labels);
    },
    getObject(resource: KubeResource, namespace: string | undefined, name: string): any {
      const o = stored(RESOURCES[resource], namespace, name);
      return o ? canonical(RESOURCES[resource], o) : undefined;
    },
    putObject(resource: KubeResource, obj: any): any {
      const r = RESOURCES[resource];
      const o = clone(obj);
      normalize(r, o);
      applyDefaults(r, o);
      if (!o.metadata.name) throw new Error("kube-standin: putObject needs metadata.name");
      if (r.namespaced && !o.metadata.namespace) throw new Error("kube-standin: putObject needs metadata.namespace");
      const cur = stored(r, o.metadata.namespace, o.metadata.name);
      if (cur) {
        o.metadata.uid = cur.metadata.uid;
        o.metadata.creationTimestamp = cur.metadata.creationTimestamp;
      } else {
        if (r.name === "namespaces") namespaceDefaults(o);
        stampNew(o);
      }
      o.metadata.resourceVersion = nextRV();
      const saved = persist(r, o);
      notify(r, cur ? "MODIFIED" : "ADDED", saved);
      if (r.name === "namespaces") ensureDefaultServiceAccount(o.metadata.name);
      return canonical(r, saved);
    },
    deleteObject(resource: KubeResource, namespace: string | undefined, name: string): boolean {
      if (resource === "namespaces") {
        for (const [k, v] of [...store])
          if (v.metadata?.namespace === name && !k.startsWith("namespaces/")) store.delete(k);
        dropBindings(name);
      }
      return store.delete(skey(resource, namespace, name));
    },
    terminateNamespace(name: string): void {
      const r = RESOURCES.namespaces;
      const cur = stored(r, undefined, name);
      if (!cur) throw new Error(`kube-standin: no namespace ${name}`);
      // The namespace controller has deleted what it could; a finalizer it waits on keeps the namespace.
      for (const [k, v] of [...store])
        if (v.metadata?.namespace === name && !k.startsWith("namespaces/")) store.delete(k);
      dropBindings(name);
      const next = clone(cur);
      next.metadata.deletionTimestamp = nowRFC3339();
      next.spec = { finalizers: ["kubernetes"] };
      next.status = { phase: "Terminating" };
      next.metadata.resourceVersion = nextRV();
      notify(r, "MODIFIED", persist(r, next));
    },
    listObjects(resource: KubeResource, namespace?: string): any[] {
      const r = RESOURCES[resource];
      const out: any[] = [];
      for (const [k, v] of store) {
        if (!k.startsWith(`${resource}/`)) continue;
        if (namespace !== undefined && r.namespaced && v.metadata.namespace !== namespace) continue;
        out.push(canonical(r, v));
      }
      return out.sort((a, b) =>
        `${a.metadata.namespace ?? ""}/${a.metadata.name}` < `${b.metadata.namespace ?? ""}/${b.metadata.name}`
          ? -1
          : 1,
      );
    },
    resetRequests(): void {
      requests.length = 0;
    },
    fault(f: Fault): void {
      faults.push({ ...f, left: f.times ?? 1 });
    },
    clearFaults(): void {
      faults = [];
    },
    async close(): Promise<void> {
      for (const w of watchers) {
        clearTimeout(w.timer);
        w.ctx.res.end();
      }
      watchers.clear();
      await new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections?.();
        for (const s of sockets) s.destroy();
      });
    },
  };
  return api;
}
