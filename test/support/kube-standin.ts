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
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { load as yamlLoad } from "js-yaml";
import { issueServerCert, makeCA } from "./certs.ts";

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

export type KubeResource = "secrets" | "serviceaccounts" | "leases" | "namespaces";

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  /** undefined = all namespaces and cluster-scoped resources (a ClusterRole); else a Role bound in each listed namespace. */
  namespaces?: string[];
  /** RBAC resourceNames: only requests naming one of these objects (list and POST-create carry no name, so they never match). */
  resourceNames?: string[];
}

export interface DenyRule {
  user?: string;
  namespace?: string;
  verb?: string;
  resource?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  user: string;
  status: number;
  contentType?: string;
}

export interface Fault {
  method?: string;
  /** Tested against the URL path without the query string. */
  path: RegExp;
  /** Tested against the raw query string (e.g. to spare server dry runs: /^(?!.*dryRun=All)/). */
  query?: RegExp;
  /** HTTP status to answer with a proper Status body; 0 = destroy the connection without an answer. */
  status: number;
  /** How many matching requests get the fault (default 1). */
  times?: number;
  /** Retry-After seconds (header and details.retryAfterSeconds). Default: 1 for 429, none otherwise. 0 = none. */
  retryAfterSeconds?: number;
  /** Override the Status message. */
  message?: string;
}

export interface KubeStandIn {
  /** https://127.0.0.1:PORT */
  url: string;
  caPath: string;
  /** Writes a kubeconfig for `user` (bearer token, CA embedded) into dir; returns its path. Context "standin". */
  writeKubeconfig(dir: string, user?: string): string;
  /** The bearer token of a user (for direct HTTPS requests). */
  tokenFor(user?: string): string;
  /** RBAC-like: rules = what is allowed; no rules => nothing but discovery. Re-adding replaces the rules, keeps the token. A Role's namespaces must exist. */
  addUser(name: string, rules?: PolicyRule[]): void;
  /** Force 403 (real Forbidden body) on matching requests, admin included. */
  deny(rule: DenyRule): void;
  clearDenials(): void;
  /** Direct state access for tests (no HTTP, no RBAC). */
  createNamespace(name: string, labels?: Record<string, string>): void;
  getObject(resource: KubeResource, namespace: string | undefined, name: string): any | undefined;
  /** Create or replace bypassing RBAC and validation; sets uid/creationTimestamp if new, bumps resourceVersion. Returns the stored copy. */
  putObject(resource: KubeResource, obj: any): any;
  /** Deleting a namespace also drops it from every user's Role namespaces (its RoleBindings go with it). */
  deleteObject(resource: KubeResource, namespace: string | undefined, name: string): boolean;
  /**
   * A namespace deleted but held by a finalizer: status.phase Terminating, deletionTimestamp set,
   * its objects and RoleBindings gone. Creates in it get NamespaceLifecycle's 403.
   */
  terminateNamespace(name: string): void;
  listObjects(resource: KubeResource, namespace?: string): any[];
  requests: RecordedRequest[];
  resetRequests(): void;
  /** Next `times` requests matching method+path get this status with a proper Status body. */
  fault(f: Fault): void;
  clearFaults(): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------
// Shared captures (discovery / OpenAPI), cached per process
// ---------------------------------------------------------------------------

/** The captured API-server data kept in the repository (test/fixtures/kube, see its README). */
export function kubeFixturesDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "../fixtures/kube");
}

/** Reads a fixture, gunzipping the large OpenAPI documents that are stored as `<name>.gz`. */
export function readKubeFixture(...parts: string[]): Buffer {
  const path = join(kubeFixturesDir(), ...parts);
  if (existsSync(path)) return readFileSync(path);
  return gunzipSync(readFileSync(`${path}.gz`));
}

interface StaticDoc {
  body: Buffer;
  etag: string;
}

interface Captures {
  dir: string;
  docs: Map<string, StaticDoc>;
  openapiV2Json: StaticDoc;
  openapiV2Proto?: StaticDoc;
}

let capturesCache: Captures | undefined;

function etagOf(body: Buffer): string {
  return `"${createHash("sha512").update(body).digest("hex").toUpperCase()}"`;
}

function loadCaptures(): Captures {
  const dir = kubeFixturesDir();
  if (capturesCache && capturesCache.dir === dir) return capturesCache;
  const disc = join(dir, "discovery");
  const docs = new Map<string, StaticDoc>();
  const add = (path: string, file: string): void => {
    const body = readKubeFixture("discovery", file);
    docs.set(path, { body, etag: etagOf(body) });
  };
  add("/version", "version.json");
  add("/api", "api.json");
  add("/api/v1", "api-v1.json");
  add("/apis", "apis.json");
  const groups = JSON.parse(readKubeFixture("discovery", "apis.json").toString("utf8")) as {
    groups: Array<{ name: string; versions: Array<{ version: string }> }>;
  };
  for (const g of groups.groups) {
    for (const v of g.versions) {
      const file = `apis-${g.name.replace(/\./g, "-")}-${v.version}.json`;
      if (existsSync(join(disc, file))) add(`/apis/${g.name}/${v.version}`, file);
    }
  }
  add("/openapi/v3", "openapi-v3-index.json");
  add("/openapi/v3/api/v1", "openapi-v3-api-v1.json");
  add("/openapi/v3/apis/coordination.k8s.io/v1", "openapi-v3-apis-coordination.k8s.io-v1.json");
  const v2 = readKubeFixture("discovery", "openapi-v2.json");
  capturesCache = { dir, docs, openapiV2Json: { body: v2, etag: etagOf(v2) } };
  return capturesCache;
}

function openapiV2Proto(c: Captures): StaticDoc {
  if (!c.openapiV2Proto) {
    const body = encodeOpenAPIv2(JSON.parse(c.openapiV2Json.body.toString("utf8")));
    c.openapiV2Proto = { body, etag: etagOf(body) };
  }
  return c.openapiV2Proto;
}

// --- gnostic openapi_v2.Document protobuf (google/gnostic openapiv2/OpenAPIv2.proto) ---

class PB {
  parts: Buffer[] = [];
  len = 0;
  private push(b: Buffer): void {
    this.parts.push(b);
    this.len += b.length;
  }
  varint(n: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(n));
    const bytes: number[] = [];
    while (v >= 0x80n) {
      bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    bytes.push(Number(v));
    this.push(Buffer.from(bytes));
  }
  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }
  str(field: number, s: unknown): void {
    if (typeof s !== "string" || s === "") return;
    const b = Buffer.from(s, "utf8");
    this.tag(field, 2);
    this.varint(b.length);
    this.push(b);
  }
  bool(field: number, v: unknown, always = false): void {
    if (v !== true && !always) return;
    this.tag(field, 0);
    this.varint(v === true ? 1 : 0);
  }
  double(field: number, v: unknown): void {
    if (typeof v !== "number" || v === 0) return;
    this.tag(field, 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    this.push(b);
  }
  int64(field: number, v: unknown): void {
    if (typeof v !== "number" || v === 0) return;
    this.tag(field, 0);
    this.varint(Math.trunc(v));
  }
  msg(field: number, sub: PB): void {
    this.tag(field, 2);
    this.varint(sub.len);
    for (const p of sub.parts) this.parts.push(p);
    this.len += sub.len;
  }
  done(): Buffer {
    return Buffer.concat(this.parts, this.len);
  }
}

/** gnostic Any: the value as YAML text (JSON is YAML); kube-openapi reads `yaml`. */
function pbAny(v: unknown): PB {
  const p = new PB();
  p.str(2, `${JSON.stringify(v)}\n`);
  return p;
}

function pbSchema(s: any): PB {
  const p = new PB();
  if (!s || typeof s !== "object") return p;
  p.str(1, s.$ref);
  p.str(2, s.format);
  p.str(3, s.title);
  p.str(4, s.description);
  if ("default" in s) p.msg(5, pbAny(s.default));
  p.double(6, s.multipleOf);
  p.double(7, s.maximum);
  p.bool(8, s.exclusiveMaximum);
  p.double(9, s.minimum);
  p.bool(10, s.exclusiveMinimum);
  p.int64(11, s.maxLength);
  p.int64(12, s.minLength);
  p.str(13, s.pattern);
  p.int64(14, s.maxItems);
  p.int64(15, s.minItems);
  p.bool(16, s.uniqueItems);
  p.int64(17, s.maxProperties);
  p.int64(18, s.minProperties);
  for (const r of Array.isArray(s.required) ? s.required : []) p.str(19, r);
  for (const e of Array.isArray(s.enum) ? s.enum : []) p.msg(20, pbAny(e));
  if (s.additionalProperties !== undefined) {
    const ap = new PB();
    if (typeof s.additionalProperties === "boolean") ap.bool(2, s.additionalProperties, true);
    else ap.msg(1, pbSchema(s.additionalProperties));
    p.msg(21, ap);
  }
  if (s.type !== undefined) {
    const t = new PB();
    for (const v of Array.isArray(s.type) ? s.type : [s.type]) t.str(1, v);
    p.msg(22, t);
  }
  if (s.items !== undefined) {
    const it = new PB();
    for (const v of Array.isArray(s.items) ? s.items : [s.items]) it.msg(1, pbSchema(v));
    p.msg(23, it);
  }
  for (const a of Array.isArray(s.allOf) ? s.allOf : []) p.msg(24, pbSchema(a));
  if (s.properties && typeof s.properties === "object") {
    const props = new PB();
    for (const [k, v] of Object.entries(s.properties)) {
      const named = new PB();
      named.str(1, k);
      named.msg(2, pbSchema(v));
      props.msg(1, named);
    }
    p.msg(25, props);
  }
  p.str(26, s.discriminator);
  p.bool(27, s.readOnly);
  if ("example" in s) p.msg(30, pbAny(s.example));
  for (const [k, v] of Object.entries(s)) {
    if (!k.startsWith("x-")) continue;
    const named = new PB();
    named.str(1, k);
    named.msg(2, pbAny(v));
    p.msg(31, named);
  }
  return p;
}

/**
 * Encodes what kubectl reads from /openapi/v2 (kube-openapi pkg/util/proto: the
 * definitions with their x-kubernetes-* extensions) as an openapi_v2.Document.
 * Paths are left out: kubectl 1.32 uses /openapi/v3 for the fieldValidation check.
 */
export function encodeOpenAPIv2(doc: any): Buffer {
  const p = new PB();
  p.str(1, doc.swagger);
  if (doc.info) {
    const info = new PB();
    info.str(1, doc.info.title);
    info.str(2, doc.info.version);
    p.msg(2, info);
  }
  const defs = new PB();
  for (const [name, schema] of Object.entries(doc.definitions ?? {})) {
    const named = new PB();
    named.str(1, name);
    named.msg(2, pbSchema(schema));
    defs.msg(1, named);
  }
  p.msg(9, defs);
  return p.done();
}

// --- Kubernetes protobuf request bodies (k8s.io/api generated.proto), decode only ---
// kubectl's typed clients (create namespace|secret|serviceaccount, auth can-i) send
// `application/vnd.kubernetes.protobuf`: "k8s\0" + runtime.Unknown{typeMeta, raw}.

type PSpec = { [field: number]: [string, PKind] };
type PKind = "string" | "string[]" | "bool" | "int" | "map" | "bytesmap" | "time" | "microtime" | PSpec | [PSpec];

const P_OBJECT_META: PSpec = {
  1: ["name", "string"], 2: ["generateName", "string"], 3: ["namespace", "string"], 5: ["uid", "string"],
  6: ["resourceVersion", "string"], 11: ["labels", "map"], 12: ["annotations", "map"], 14: ["finalizers", "string[]"],
};
const P_KINDS: Record<string, PSpec> = {
  Namespace: { 1: ["metadata", P_OBJECT_META], 2: ["spec", { 1: ["finalizers", "string[]"] }] },
  Secret: { 1: ["metadata", P_OBJECT_META], 2: ["data", "bytesmap"], 3: ["type", "string"], 4: ["stringData", "map"], 5: ["immutable", "bool"] },
  ServiceAccount: {
    1: ["metadata", P_OBJECT_META],
    2: ["secrets", [{ 1: ["kind", "string"], 2: ["namespace", "string"], 3: ["name", "string"], 4: ["uid", "string"], 5: ["apiVersion", "string"], 6: ["resourceVersion", "string"], 7: ["fieldPath", "string"] }]],
    3: ["imagePullSecrets", [{ 1: ["name", "string"] }]],
    4: ["automountServiceAccountToken", "bool"],
  },
  Lease: {
    1: ["metadata", P_OBJECT_META],
    2: ["spec", { 1: ["holderIdentity", "string"], 2: ["leaseDurationSeconds", "int"], 3: ["acquireTime", "microtime"], 4: ["renewTime", "microtime"], 5: ["leaseTransitions", "int"] }],
  },
  SelfSubjectAccessReview: {
    1: ["metadata", P_OBJECT_META],
    2: ["spec", {
      1: ["resourceAttributes", { 1: ["namespace", "string"], 2: ["verb", "string"], 3: ["group", "string"], 4: ["version", "string"], 5: ["resource", "string"], 6: ["subresource", "string"], 7: ["name", "string"] }],
      2: ["nonResourceAttributes", { 1: ["path", "string"], 2: ["verb", "string"] }],
    }],
  },
  DeleteOptions: {
    1: ["gracePeriodSeconds", "int"], 2: ["preconditions", { 1: ["uid", "string"], 2: ["resourceVersion", "string"] }],
    3: ["orphanDependents", "bool"], 4: ["propagationPolicy", "string"], 5: ["dryRun", "string[]"],
  },
};

function pbFields(buf: Buffer): Array<{ field: number; wire: number; value: bigint | Buffer }> {
  const out: Array<{ field: number; wire: number; value: bigint | Buffer }> = [];
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= buf.length) throw new Error("truncated varint");
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ field, wire, value: varint() });
    else if (wire === 2) {
      const len = Number(varint());
      out.push({ field, wire, value: buf.subarray(i, i + len) });
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

function pbDecode(buf: Buffer, spec: PSpec): any {
  const obj: any = {};
  for (const { field, value } of pbFields(buf)) {
    const def = spec[field];
    if (!def) continue;
    const [name, kind] = def;
    const bytes = Buffer.isBuffer(value) ? value : Buffer.alloc(0);
    if (kind === "string") obj[name] = bytes.toString("utf8");
    else if (kind === "string[]") (obj[name] ??= []).push(bytes.toString("utf8"));
    else if (kind === "bool") obj[name] = value === 1n;
    else if (kind === "int") obj[name] = Number(BigInt.asIntN(64, value as bigint));
    else if (kind === "map" || kind === "bytesmap") {
      const entry = pbDecode(bytes, { 1: ["k", "string"], 2: ["v", "string"] });
      const raw = pbFields(bytes).find((f) => f.field === 2)?.value;
      obj[name] ??= {};
      obj[name][entry.k ?? ""] = kind === "map" ? entry.v ?? "" : Buffer.isBuffer(raw) ? raw.toString("base64") : "";
    } else if (kind === "time" || kind === "microtime") {
      const t = pbDecode(bytes, { 1: ["s", "int"], 2: ["n", "int"] });
      const iso = new Date((t.s ?? 0) * 1000 + Math.floor((t.n ?? 0) / 1e6)).toISOString();
      obj[name] = kind === "time" ? iso.replace(/\.\d{3}Z$/, "Z") : iso.replace(/\.(\d{3})Z$/, (_m, ms: string) => `.${ms}${String(Math.floor((t.n ?? 0) / 1000) % 1000).padStart(3, "0")}Z`);
    } else if (Array.isArray(kind)) (obj[name] ??= []).push(pbDecode(bytes, kind[0]));
    else obj[name] = pbDecode(bytes, kind);
  }
  return obj;
}

/** Decodes a `k8s\0`-prefixed runtime.Unknown carrying one of the kinds above. */
export function decodeKubeProtobuf(body: Buffer): any {
  if (body.length < 4 || body.subarray(0, 4).toString("latin1") !== "k8s\u0000") throw new Error("missing the k8s protobuf prefix");
  const unknown = pbDecode(body.subarray(4), { 1: ["typeMeta", { 1: ["apiVersion", "string"], 2: ["kind", "string"] }], 2: ["raw", "string"] });
  const rawField = pbFields(body.subarray(4)).find((f) => f.field === 2)?.value;
  const kind: string = unknown.typeMeta?.kind ?? "";
  const spec = P_KINDS[kind];
  if (!spec) throw new Error(`protobuf bodies of kind ${q(kind)} are not supported by the stand-in`);
  const obj = pbDecode(Buffer.isBuffer(rawField) ? rawField : Buffer.alloc(0), spec);
  return { apiVersion: unknown.typeMeta?.apiVersion, kind, ...obj };
}

// ---------------------------------------------------------------------------
// Status bodies (k8s.io/apimachinery/pkg/api/errors), fields in Go struct order
// ---------------------------------------------------------------------------

interface Cause {
  reason: string;
  message: string;
  field?: string;
}

interface Details {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: Cause[];
  retryAfterSeconds?: number;
}

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Details,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
  body(): any {
    const b: any = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: this.message };
    if (this.reason) b.reason = this.reason;
    if (this.details) {
      const d: any = {};
      for (const k of ["name", "group", "kind", "uid", "causes", "retryAfterSeconds"] as const) {
        const v = this.details[k];
        if (v !== undefined && v !== "" && v !== 0) d[k] = v;
      }
      b.details = d;
    }
    b.code = this.code;
    return b;
  }
}

/** Go's %q for the ASCII names Kubernetes allows (close enough elsewhere). */
function q(s: string): string {
  return JSON.stringify(s);
}

function groupResource(r: ResDef): string {
  return r.group ? `${r.name}.${r.group}` : r.name;
}

function notFound(r: ResDef, name: string): ApiError {
  return new ApiError(404, "NotFound", `${groupResource(r)} ${q(name)} not found`, { name, group: r.group, kind: r.name });
}

function alreadyExists(r: ResDef, name: string): ApiError {
  return new ApiError(409, "AlreadyExists", `${groupResource(r)} ${q(name)} already exists`, { name, group: r.group, kind: r.name });
}

function conflict(r: ResDef, name: string, why = "the object has been modified; please apply your changes to the latest version and try again"): ApiError {
  return new ApiError(409, "Conflict", `Operation cannot be fulfilled on ${groupResource(r)} ${q(name)}: ${why}`, {
    name,
    group: r.group,
    kind: r.name,
  });
}

function badRequest(message: string): ApiError {
  return new ApiError(400, "BadRequest", message);
}

/** errors.NewGenericServerResponse(code, "", GroupResource{}, "", serverMessage, 0, false) */
function genericServerResponse(code: number, serverMessage: string): ApiError {
  const table: Record<number, [string, string]> = {
    400: ["BadRequest", "the server rejected our request for an unknown reason"],
    401: ["Unauthorized", "the server has asked for the client to provide credentials"],
    403: ["Forbidden", "the server does not allow access to the requested resource"],
    404: ["NotFound", "the server could not find the requested resource"],
    405: ["MethodNotAllowed", "the server does not allow this method on the requested resource"],
    406: ["NotAcceptable", "the server was unable to respond with a content type that the client supports"],
    409: ["Conflict", "the server reported a conflict"],
    410: ["Expired", "the server has asked for the client to provide credentials"],
    415: ["UnsupportedMediaType", "the server was unable to respond with a content type that the client supports"],
    422: ["Invalid", "the server rejected our request due to an error in our request"],
    429: ["TooManyRequests", "the server has received too many requests and has asked us to try again later"],
    500: ["InternalError", "an error on the server (\"unknown\") has prevented the request from succeeding"],
    503: ["ServiceUnavailable", "the server is currently unable to handle the request"],
    504: ["Timeout", "the server was unable to return a response in the time allotted, but may still be processing the request"],
  };
  const [reason, message] = table[code] ?? ["", `the server responded with the status code ${code} but did not return more information`];
  return new ApiError(code, reason, message, serverMessage ? { causes: [{ reason: "UnexpectedServerResponse", message: serverMessage }] } : {});
}

// --- field errors (k8s.io/apimachinery/pkg/util/validation/field) ---

interface FieldErr {
  type: "FieldValueInvalid" | "FieldValueRequired" | "FieldValueForbidden" | "FieldValueTooLong" | "FieldValueNotSupported";
  field: string;
  body: string;
}

function goValue(v: unknown): string {
  if (typeof v === "string") return q(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

const fe = {
  invalid: (field: string, value: unknown, detail: string): FieldErr => ({
    type: "FieldValueInvalid",
    field,
    body: `Invalid value: ${goValue(value)}${detail ? `: ${detail}` : ""}`,
  }),
  required: (field: string, detail = ""): FieldErr => ({ type: "FieldValueRequired", field, body: `Required value${detail ? `: ${detail}` : ""}` }),
  forbidden: (field: string, detail: string): FieldErr => ({ type: "FieldValueForbidden", field, body: `Forbidden: ${detail}` }),
  tooLong: (field: string, max: number): FieldErr => ({ type: "FieldValueTooLong", field, body: `Too long: must have at most ${max} bytes` }),
  notSupported: (field: string, value: unknown, supported: string[]): FieldErr => ({
    type: "FieldValueNotSupported",
    field,
    body: `Unsupported value: ${goValue(value)}: supported values: ${supported.map(q).join(", ")}`,
  }),
};

/** errors.NewInvalid(GroupKind, name, errs) */
function invalid(kind: string, group: string, name: string, errs: FieldErr[]): ApiError {
  const gk = group ? `${kind}.${group}` : kind;
  const texts = errs.map((e) => `${e.field}: ${e.body}`);
  const agg = texts.length === 1 ? texts[0] : `[${texts.join(", ")}]`;
  return new ApiError(422, "Invalid", `${gk} ${q(name)} is invalid: ${agg}`, {
    name,
    group,
    kind,
    causes: errs.map((e) => ({ reason: e.type, message: e.body, field: e.field })),
  });
}

// ---------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------

interface ResDef {
  name: KubeResource;
  group: string;
  version: string;
  kind: string;
  namespaced: boolean;
  /** rest.RESTCreateUpdateStrategy.AllowCreateOnUpdate */
  createOnUpdate: boolean;
  /** top-level fields a Strict decoder knows */
  fields: string[];
}

const RESOURCES: Record<KubeResource, ResDef> = {
  secrets: {
    name: "secrets", group: "", version: "v1", kind: "Secret", namespaced: true, createOnUpdate: false,
    fields: ["apiVersion", "kind", "metadata", "immutable", "data", "stringData", "type"],
  },
  serviceaccounts: {
    name: "serviceaccounts", group: "", version: "v1", kind: "ServiceAccount", namespaced: true, createOnUpdate: true,
    fields: ["apiVersion", "kind", "metadata", "secrets", "imagePullSecrets", "automountServiceAccountToken"],
  },
  leases: {
    name: "leases", group: "coordination.k8s.io", version: "v1", kind: "Lease", namespaced: true, createOnUpdate: true,
    fields: ["apiVersion", "kind", "metadata", "spec"],
  },
  namespaces: {
    name: "namespaces", group: "", version: "v1", kind: "Namespace", namespaced: false, createOnUpdate: false,
    fields: ["apiVersion", "kind", "metadata", "spec", "status"],
  },
};

function apiVersionOf(r: ResDef): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

const KEY_ORDER: Record<string, string[]> = {
  Secret: ["kind", "apiVersion", "metadata", "immutable", "data", "stringData", "type"],
  ServiceAccount: ["kind", "apiVersion", "metadata", "secrets", "imagePullSecrets", "automountServiceAccountToken"],
  Lease: ["kind", "apiVersion", "metadata", "spec"],
  Namespace: ["kind", "apiVersion", "metadata", "spec", "status"],
};
const META_ORDER = [
  "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
  "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers", "managedFields",
];
const LEASE_SPEC_ORDER = ["holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime", "leaseTransitions"];
const MF_ORDER = ["manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1", "subresource"];

function ordered(obj: any, order: string[]): any {
  const out: any = {};
  for (const k of order) if (obj[k] !== undefined) out[k] = obj[k];
  for (const k of Object.keys(obj).sort()) if (!(k in out) && obj[k] !== undefined) out[k] = obj[k];
  return out;
}

function sortedMap(m: any): any {
  if (!isObj(m)) return m;
  const out: any = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k];
  return out;
}

/** Shapes an object as Go's encoding/json would print it: struct field order, sorted map keys, omitempty. */
function canonical(r: ResDef, obj: any, withTypeMeta = true): any {
  const o = clone(obj);
  if (withTypeMeta) {
    o.kind = r.kind;
    o.apiVersion = apiVersionOf(r);
  } else {
    delete o.kind;
    delete o.apiVersion;
  }
  const m = o.metadata ?? {};
  for (const k of ["labels", "annotations"]) {
    if (isObj(m[k]) && Object.keys(m[k]).length === 0) delete m[k];
    else if (isObj(m[k])) m[k] = sortedMap(m[k]);
  }
  if (Array.isArray(m.managedFields)) {
    if (m.managedFields.length === 0) delete m.managedFields;
    else m.managedFields = m.managedFields.map((e: any) => ordered(e, MF_ORDER));
  }
  o.metadata = ordered(m, META_ORDER);
  for (const k of ["data", "stringData"]) {
    if (isObj(o[k]) && Object.keys(o[k]).length === 0) delete o[k];
    else if (isObj(o[k])) o[k] = sortedMap(o[k]);
  }
  for (const k of ["imagePullSecrets", "secrets"]) if (Array.isArray(o[k]) && o[k].length === 0) delete o[k];
  if (r.kind === "Lease" && isObj(o.spec)) o.spec = ordered(o.spec, LEASE_SPEC_ORDER);
  if (r.kind === "Namespace") {
    if (isObj(o.spec)) o.spec = ordered(o.spec, ["finalizers"]);
    if (isObj(o.status)) o.status = ordered(o.status, ["phase", "conditions"]);
  }
  return ordered(o, KEY_ORDER[r.kind] ?? []);
}

// ---------------------------------------------------------------------------
// Small JSON helpers
// ---------------------------------------------------------------------------

function isObj(v: unknown): v is Record<string, any> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => deepEqual(ao[k], bo[k]));
}

function nowRFC3339(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

// --- Go encoding/json error texts, for .dockerconfigjson validation (json.Unmarshal into map[string]interface{}) ---

function goQuoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return "'\"'";
  const s = JSON.stringify(c);
  return `'${s.slice(1, -1)}'`;
}

/** Returns Go's json.Unmarshal(data, &map[string]interface{}{}) error text, or undefined. */
export function goJsonMapError(text: string): string | undefined {
  let i = 0;
  const n = text.length;
  class E extends Error {}
  const fail = (msg: string): never => {
    throw new E(msg);
  };
  const eof = (): never => fail("unexpected end of JSON input");
  const ws = (): void => {
    while (i < n && " \t\r\n".includes(text[i]!)) i++;
  };
  const lit = (word: string): void => {
    for (let k = 0; k < word.length; k++) {
      if (i >= n) eof();
      if (text[i] !== word[k]) fail(`invalid character ${goQuoteChar(text[i]!)} in literal ${word} (expecting ${goQuoteChar(word[k]!)})`);
      i++;
    }
  };
  const str = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= n) eof();
      const c = text[i]!;
      if (c === '"') {
        i++;
        return;
      }
      if (c < " ") fail(`invalid character ${goQuoteChar(c)} in string literal`);
      if (c === "\\") {
        i++;
        if (i >= n) eof();
        const e = text[i]!;
        if (e === "u") {
          for (let k = 1; k <= 4; k++) {
            if (i + k >= n) eof();
            if (!/[0-9a-fA-F]/.test(text[i + k]!)) fail(`invalid character ${goQuoteChar(text[i + k]!)} in \\u hexadecimal character escape`);
          }
          i += 5;
          continue;
        }
        if (!'"\\/bfnrt'.includes(e)) fail(`invalid character ${goQuoteChar(e)} in string escape code`);
      }
      i++;
    }
  };
  const num = (): void => {
    if (text[i] === "-") {
      i++;
      if (i >= n) eof();
      if (!/[0-9]/.test(text[i]!)) fail(`invalid character ${goQuoteChar(text[i]!)} in numeric literal`);
    }
    if (text[i] === "0") i++;
    else while (i < n && /[0-9]/.test(text[i]!)) i++;
    if (text[i] === ".") {
      i++;
      if (i >= n) eof();
      if (!/[0-9]/.test(text[i]!)) fail(`invalid character ${goQuoteChar(text[i]!)} after decimal point in numeric literal`);
      while (i < n && /[0-9]/.test(text[i]!)) i++;
    }
    if (text[i] === "e" || text[i] === "E") {
      i++;
      if (text[i] === "+" || text[i] === "-") i++;
      if (i >= n) eof();
      if (!/[0-9]/.test(text[i]!)) fail(`invalid character ${goQuoteChar(text[i]!)} in exponent of numeric literal`);
      while (i < n && /[0-9]/.test(text[i]!)) i++;
    }
  };
  const value = (): string => {
    ws();
    if (i >= n) eof();
    const c = text[i]!;
    if (c === "{") {
      i++;
      ws();
      if (i >= n) eof();
      if (text[i] === "}") {
        i++;
        return "object";
      }
      for (;;) {
        ws();
        if (i >= n) eof();
        if (text[i] !== '"') fail(`invalid character ${goQuoteChar(text[i]!)} looking for beginning of object key string`);
        str();
        ws();
        if (i >= n) eof();
        if (text[i] !== ":") fail(`invalid character ${goQuoteChar(text[i]!)} after object key`);
        i++;
        value();
        ws();
        if (i >= n) eof();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return "object";
        }
        fail(`invalid character ${goQuoteChar(text[i]!)} after object key:value pair`);
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (i >= n) eof();
      if (text[i] === "]") {
        i++;
        return "array";
      }
      for (;;) {
        value();
        ws();
        if (i >= n) eof();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return "array";
        }
        fail(`invalid character ${goQuoteChar(text[i]!)} after array element`);
      }
    }
    if (c === '"') {
      str();
      return "string";
    }
    if (c === "t") {
      lit("true");
      return "bool";
    }
    if (c === "f") {
      lit("false");
      return "bool";
    }
    if (c === "n") {
      lit("null");
      return "null";
    }
    if (c === "-" || (c >= "0" && c <= "9")) {
      num();
      return "number";
    }
    return fail(`invalid character ${goQuoteChar(c)} looking for beginning of value`);
  };
  try {
    const t = value();
    ws();
    if (i < n) fail(`invalid character ${goQuoteChar(text[i]!)} after top-level value`);
    if (t !== "object" && t !== "null") return `json: cannot unmarshal ${t} into Go value of type map[string]interface {}`;
    return undefined;
  } catch (e) {
    if (e instanceof E) return e.message;
    throw e;
  }
}

// ---------------------------------------------------------------------------
// Validation (pkg/apis/core/validation, apimachinery/pkg/util/validation)
// ---------------------------------------------------------------------------

const DNS1123_SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1123_LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const CONFIG_KEY_RE = /^[-._a-zA-Z0-9]+$/;

function dnsSubdomainErrors(v: string): string[] {
  const out: string[] = [];
  if (v.length > 253) out.push("must be no more than 253 characters");
  if (!SUBDOMAIN_RE.test(v)) out.push(DNS1123_SUBDOMAIN_MSG);
  return out;
}

function dnsLabelErrors(v: string): string[] {
  const out: string[] = [];
  if (v.length > 63) out.push("must be no more than 63 characters");
  if (!LABEL_RE.test(v)) out.push(DNS1123_LABEL_MSG);
  return out;
}

function validateMeta(r: ResDef, obj: any): FieldErr[] {
  const errs: FieldErr[] = [];
  const m = obj.metadata ?? {};
  const name: string = m.name ?? "";
  if (!name) errs.push(fe.required("metadata.name", "name or generateName is required"));
  else for (const msg of (r.name === "namespaces" ? dnsLabelErrors : dnsSubdomainErrors)(name)) errs.push(fe.invalid("metadata.name", name, msg));
  if (r.namespaced) {
    const ns: string = m.namespace ?? "";
    if (!ns) errs.push(fe.required("metadata.namespace", ""));
    else for (const msg of dnsLabelErrors(ns)) errs.push(fe.invalid("metadata.namespace", ns, msg));
  }
  for (const k of ["labels", "annotations"]) {
    const v = m[k];
    if (v === undefined || v === null) continue;
    if (!isObj(v)) continue;
    for (const [lk, lv] of Object.entries(v)) {
      if (typeof lv !== "string") errs.push(fe.invalid(`metadata.${k}`, lv, "must be a string"));
      if (k === "labels" && typeof lv === "string" && lv.length > 63) errs.push(fe.invalid(`metadata.labels`, lv, "must be no more than 63 characters"));
      if (!/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(lk)) {
        errs.push(
          fe.invalid(
            `metadata.${k}`,
            lk,
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
          ),
        );
      }
    }
  }
  return errs;
}

function b64Decode(s: string): Buffer {
  return Buffer.from(s, "base64");
}

function validateObject(r: ResDef, obj: any): FieldErr[] {
  const errs = validateMeta(r, obj);
  if (r.kind === "Secret") {
    const data: Record<string, string> = isObj(obj.data) ? obj.data : {};
    let total = 0;
    for (const [k, v] of Object.entries(data)) {
      if (!CONFIG_KEY_RE.test(k) || k === "." || k === ".." || k.startsWith("..")) {
        errs.push(
          fe.invalid(
            `data[${k}]`,
            k,
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
          ),
        );
      }
      total += b64Decode(String(v)).length;
    }
    if (total > 1024 * 1024) errs.push(fe.tooLong("data", 1024 * 1024));
    const type: string = obj.type ?? "Opaque";
    const jsonKey = type === "kubernetes.io/dockerconfigjson" ? ".dockerconfigjson" : type === "kubernetes.io/dockercfg" ? ".dockercfg" : undefined;
    if (jsonKey) {
      const v = data[jsonKey];
      if (v === undefined) errs.push(fe.required(`data[${jsonKey}]`, ""));
      else {
        const err = goJsonMapError(b64Decode(v).toString("utf8"));
        if (err) errs.push(fe.invalid(`data[${jsonKey}]`, "<secret contents redacted>", err));
      }
    }
  }
  if (r.kind === "ServiceAccount") {
    (Array.isArray(obj.imagePullSecrets) ? obj.imagePullSecrets : []).forEach((ref: any, i: number) => {
      if (!isObj(ref)) errs.push(fe.invalid(`imagePullSecrets[${i}]`, ref, "must be an object"));
    });
  }
  if (r.kind === "Lease" && isObj(obj.spec)) {
    const d = obj.spec.leaseDurationSeconds;
    if (d !== undefined && d !== null && (typeof d !== "number" || d <= 0)) errs.push(fe.invalid("spec.leaseDurationSeconds", d, "must be greater than 0"));
    const t = obj.spec.leaseTransitions;
    if (t !== undefined && t !== null && (typeof t !== "number" || t < 0)) errs.push(fe.invalid("spec.leaseTransitions", t, "must be greater than or equal to 0"));
  }
  return errs;
}

function validateUpdate(r: ResDef, obj: any, old: any): FieldErr[] {
  const errs: FieldErr[] = [];
  if (r.kind === "Secret") {
    const nt = obj.type ?? "Opaque";
    const ot = old.type ?? "Opaque";
    if (nt !== ot) errs.push(fe.invalid("type", nt, "field is immutable"));
    if (old.immutable === true) {
      if (!deepEqual(obj.data ?? {}, old.data ?? {})) errs.push(fe.forbidden("data", "field is immutable when `immutable` is set"));
      if (obj.immutable !== true) errs.push(fe.forbidden("immutable", "field is immutable when `immutable` is set"));
    }
  }
  return [...errs, ...validateObject(r, obj)];
}

// ---------------------------------------------------------------------------
// Managed fields (a model of structured-merge-diff's FieldsV1)
// ---------------------------------------------------------------------------

type FieldPath = string[]; // elements "f:name", "k:{...}", or "." (the node itself)

const pkey = (p: FieldPath): string => p.join("\u0000");
const unkey = (k: string): FieldPath => k.split("\u0000");

/** Granular string maps: ownership per key. Everything else that is an array is atomic (ServiceAccount.secrets: per name). */
function fieldsOf(r: ResDef, obj: any, withMapNodes = false): Set<string> {
  const out = new Set<string>();
  const m = obj?.metadata ?? {};
  for (const k of ["labels", "annotations"]) {
    if (!isObj(m[k])) continue;
    const keys = Object.keys(m[k]);
    if (withMapNodes && keys.length) out.add(pkey(["f:metadata", `f:${k}`, "."]));
    for (const lk of keys) out.add(pkey(["f:metadata", `f:${k}`, `f:${lk}`]));
  }
  const walk = (path: FieldPath, v: any, mapNode: boolean): void => {
    if (isObj(v) && Object.keys(v).length > 0) {
      if (withMapNodes && mapNode) out.add(pkey([...path, "."]));
      for (const [k, child] of Object.entries(v)) if (child !== undefined && child !== null) walk([...path, `f:${k}`], child, false);
      return;
    }
    if (v === undefined || v === null) return;
    out.add(pkey(path));
  };
  for (const [k, v] of Object.entries(obj ?? {})) {
    if (k === "apiVersion" || k === "kind" || k === "metadata" || k === "status" || v === undefined || v === null) continue;
    if (r.kind === "ServiceAccount" && k === "secrets" && Array.isArray(v)) {
      for (const ref of v) if (isObj(ref) && typeof ref.name === "string") out.add(pkey(["f:secrets", `k:${JSON.stringify({ name: ref.name })}`]));
      continue;
    }
    walk([`f:${k}`], v, k === "data" || k === "stringData");
  }
  return out;
}

function getAt(obj: any, path: FieldPath): any {
  let cur = obj;
  for (const el of path) {
    if (el === ".") return cur;
    if (cur === undefined || cur === null) return undefined;
    if (el.startsWith("f:")) cur = isObj(cur) ? cur[el.slice(2)] : undefined;
    else if (el.startsWith("k:")) {
      const key = JSON.parse(el.slice(2)) as Record<string, unknown>;
      cur = Array.isArray(cur) ? cur.find((x) => isObj(x) && Object.entries(key).every(([kk, kv]) => x[kk] === kv)) : undefined;
    } else return undefined;
  }
  return cur;
}

function setAt(obj: any, path: FieldPath, value: any): void {
  let cur = obj;
  for (let i = 0; i < path.length; i++) {
    const el = path[i]!;
    const last = i === path.length - 1;
    if (el === ".") return;
    if (el.startsWith("f:")) {
      const k = el.slice(2);
      if (last) {
        cur[k] = clone(value);
        return;
      }
      const next = path[i + 1]!;
      if (next.startsWith("k:")) {
        if (!Array.isArray(cur[k])) cur[k] = [];
      } else if (!isObj(cur[k])) cur[k] = {};
      cur = cur[k];
    } else if (el.startsWith("k:")) {
      const key = JSON.parse(el.slice(2)) as Record<string, unknown>;
      const idx = (cur as any[]).findIndex((x) => isObj(x) && Object.entries(key).every(([kk, kv]) => x[kk] === kv));
      if (last) {
        if (idx >= 0) cur[idx] = clone(value);
        else cur.push(clone(value));
        return;
      }
      cur = idx >= 0 ? cur[idx] : cur[cur.push({ ...key }) - 1];
    }
  }
}

function deleteAt(obj: any, path: FieldPath): void {
  if (path[path.length - 1] === ".") return;
  const parent = path.length === 1 ? obj : getAt(obj, path.slice(0, -1));
  const el = path[path.length - 1]!;
  if (el.startsWith("f:") && isObj(parent)) delete parent[el.slice(2)];
  else if (el.startsWith("k:") && Array.isArray(parent)) {
    const key = JSON.parse(el.slice(2)) as Record<string, unknown>;
    const idx = parent.findIndex((x) => isObj(x) && Object.entries(key).every(([kk, kv]) => x[kk] === kv));
    if (idx >= 0) parent.splice(idx, 1);
  }
  // prune parents emptied by the removal (Go's omitempty would drop them anyway)
  for (let len = path.length - 1; len >= 1; len--) {
    const p = path.slice(0, len);
    const v = getAt(obj, p);
    if ((isObj(v) && Object.keys(v).length === 0) || (Array.isArray(v) && v.length === 0)) deleteAt(obj, p);
    else break;
  }
}

function fieldsToV1(set: Iterable<string>): any {
  const root: any = {};
  for (const k of set) {
    let cur = root;
    for (const el of unkey(k)) cur = cur[el] ??= {};
  }
  const sortNode = (n: any): any => {
    const out: any = {};
    const keys = Object.keys(n).sort((a, b) => (a === "." ? -1 : b === "." ? 1 : a < b ? -1 : a > b ? 1 : 0));
    for (const key of keys) out[key] = sortNode(n[key]);
    return out;
  };
  return sortNode(root);
}

function v1ToFields(v1: any): Set<string> {
  const out = new Set<string>();
  const walk = (path: FieldPath, n: any): void => {
    const keys = isObj(n) ? Object.keys(n) : [];
    if (keys.length === 0) {
      if (path.length) out.add(pkey(path));
      return;
    }
    for (const k of keys) walk([...path, k], n[k]);
  };
  walk([], v1);
  return out;
}

/** "a.b" path text as structured-merge-diff prints it (fieldpath.Path.String). */
function pathString(p: FieldPath): string {
  return p
    .filter((el) => el !== ".")
    .map((el) => {
      if (el.startsWith("f:")) return `.${el.slice(2)}`;
      if (el.startsWith("k:")) {
        const key = JSON.parse(el.slice(2)) as Record<string, unknown>;
        return `[${Object.entries(key).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}]`;
      }
      return el;
    })
    .join("");
}

interface MFEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time?: string;
  fields: Set<string>;
}

function readManaged(obj: any): MFEntry[] {
  const list = obj?.metadata?.managedFields;
  if (!Array.isArray(list)) return [];
  return list.map((e: any) => ({
    manager: String(e.manager ?? ""),
    operation: e.operation === "Apply" ? "Apply" : "Update",
    apiVersion: String(e.apiVersion ?? "v1"),
    time: e.time,
    fields: v1ToFields(e.fieldsV1 ?? {}),
  }));
}

function writeManaged(obj: any, entries: MFEntry[]): void {
  const kept = entries.filter((e) => e.fields.size > 0);
  obj.metadata ??= {};
  if (kept.length === 0) {
    delete obj.metadata.managedFields;
    return;
  }
  obj.metadata.managedFields = kept.map((e) => {
    const out: any = { manager: e.manager, operation: e.operation, apiVersion: e.apiVersion };
    if (e.time) out.time = e.time;
    out.fieldsType = "FieldsV1";
    out.fieldsV1 = fieldsToV1(e.fields);
    return out;
  });
}

/** Update-operation bookkeeping (managedfields ManagedFieldsUpdater + skipNonApplied). */
function trackUpdate(r: ResDef, oldObj: any | undefined, newObj: any, manager: string): void {
  const isCreate = oldObj === undefined;
  const entries = isCreate ? [] : readManaged(oldObj);
  // skipNonAppliedManager: an existing object that has no managed fields is not tracked on update.
  if (!isCreate && entries.length === 0) {
    delete newObj.metadata?.managedFields;
    return;
  }
  const oldFields = isCreate ? new Set<string>() : fieldsOf(r, oldObj, true);
  const newFields = fieldsOf(r, newObj, true);
  const changed = new Set<string>();
  for (const k of new Set([...oldFields, ...newFields])) {
    const p = unkey(k);
    if (p[p.length - 1] === ".") {
      if (oldFields.has(k) !== newFields.has(k)) changed.add(k);
      continue;
    }
    if (!deepEqual(getAt(oldObj ?? {}, p), getAt(newObj, p))) changed.add(k);
  }
  for (const e of entries) for (const k of [...e.fields]) if (changed.has(k) || !newFields.has(k)) e.fields.delete(k);
  let mine = entries.find((e) => e.manager === manager && e.operation === "Update");
  if (!mine) {
    mine = { manager, operation: "Update", apiVersion: apiVersionOf(r), fields: new Set() };
    entries.push(mine);
  }
  for (const k of changed) if (newFields.has(k)) mine.fields.add(k);
  if (changed.size > 0 || isCreate) mine.time = nowRFC3339();
  writeManaged(newObj, entries);
}

// ---------------------------------------------------------------------------
// Patches
// ---------------------------------------------------------------------------

/** RFC 7386 */
function mergePatch(target: any, patch: any): any {
  if (!isObj(patch)) return clone(patch);
  const out = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Strategic merge patch for the four kinds: like a merge patch; ServiceAccount.secrets merges by name; other lists replace. */
function strategicMergePatch(r: ResDef, target: any, patch: any, path: string[] = []): any {
  if (!isObj(patch)) return clone(patch);
  if (patch.$patch === "replace") {
    const rest = { ...patch };
    delete rest.$patch;
    return strategicMergePatch(r, {}, rest, path);
  }
  if (patch.$patch === "delete") return undefined;
  const out = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith("$")) continue; // $setElementOrder/..., $retainKeys, $deleteFromPrimitiveList/...
    if (v === null) {
      delete out[k];
      continue;
    }
    const here = [...path, k];
    if (r.kind === "ServiceAccount" && here.join(".") === "secrets" && Array.isArray(v)) {
      const list: any[] = Array.isArray(out[k]) ? clone(out[k]) : [];
      for (const item of v) {
        if (!isObj(item)) continue;
        const idx = list.findIndex((x) => isObj(x) && x.name === item.name);
        if (item.$patch === "delete") {
          if (idx >= 0) list.splice(idx, 1);
        } else if (idx >= 0) list[idx] = strategicMergePatch(r, list[idx], item, here);
        else list.push(strategicMergePatch(r, {}, item, here));
      }
      out[k] = list;
      continue;
    }
    if (Array.isArray(v)) out[k] = clone(v);
    else {
      const merged = strategicMergePatch(r, out[k], v, here);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    }
  }
  return out;
}

/** RFC 6902 with evanphx/json-patch v4 error texts (wrapped by the caller into a 422). */
function jsonPatch(doc: any, ops: any[]): any {
  const ErrMissing = "missing value";
  const ErrTestFailed = "test failed";
  const ErrInvalidIndex = "invalid index referenced";
  let root = clone(doc);
  const decode = (p: unknown): string[] => {
    if (typeof p !== "string") throw new Error(`operation missing path field: ${ErrMissing}`);
    if (p === "") return [];
    if (!p.startsWith("/")) throw new Error(`operation missing path field: ${ErrMissing}`);
    return p
      .slice(1)
      .split("/")
      .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
  };
  // findObject: the container of the last element, or undefined
  const find = (parts: string[]): { con: any; key: string } | undefined => {
    let cur: any = root;
    for (const part of parts.slice(0, -1)) {
      if (Array.isArray(cur)) {
        const idx = Number(part);
        if (!/^\d+$/.test(part) || idx >= cur.length) return undefined;
        cur = cur[idx];
      } else if (isObj(cur)) cur = cur[part];
      else return undefined;
      if (cur === undefined || cur === null || typeof cur !== "object") return undefined;
    }
    return { con: cur, key: parts[parts.length - 1] ?? "" };
  };
  const getVal = (con: any, key: string): any => {
    if (Array.isArray(con)) {
      if (!/^\d+$/.test(key) || Number(key) >= con.length) throw new Error(`Unable to access invalid index: ${key}: ${ErrInvalidIndex}`);
      return con[Number(key)];
    }
    return con[key];
  };
  const add = (con: any, key: string, value: any): void => {
    if (Array.isArray(con)) {
      if (key === "-") {
        con.push(value);
        return;
      }
      const idx = Number(key);
      if (!/^-?\d+$/.test(key) || idx > con.length || idx < -con.length) throw new Error(`Unable to access invalid index: ${idx}: ${ErrInvalidIndex}`);
      con.splice(idx < 0 ? con.length + idx : idx, 0, value);
      return;
    }
    con[key] = value;
  };
  const remove = (con: any, key: string): void => {
    if (Array.isArray(con)) {
      const idx = Number(key);
      if (!/^-?\d+$/.test(key) || idx >= con.length || idx < -con.length) throw new Error(`Unable to remove invalid index: ${idx}: ${ErrInvalidIndex}`);
      con.splice(idx < 0 ? con.length + idx : idx, 1);
      return;
    }
    if (!(key in con)) throw new Error(`Unable to remove nonexistent key: ${key}: ${ErrMissing}`);
    delete con[key];
  };
  for (const op of ops) {
    if (!isObj(op)) throw new Error("invalid operation");
    const kind = op.op;
    const path = typeof op.path === "string" ? op.path : "";
    const parts = decode(op.path);
    switch (kind) {
      case "add": {
        if (parts.length === 0) {
          root = clone(op.value);
          break;
        }
        const f = find(parts);
        if (!f) throw new Error(`add operation does not apply: doc is missing path: ${q(path)}: ${ErrMissing}`);
        try {
          add(f.con, f.key, clone(op.value));
        } catch (e) {
          throw new Error(`error in add for path: '${path}': ${(e as Error).message}`);
        }
        break;
      }
      case "remove": {
        const f = find(parts);
        if (!f) throw new Error(`remove operation does not apply: doc is missing path: ${q(path)}: ${ErrMissing}`);
        try {
          remove(f.con, f.key);
        } catch (e) {
          throw new Error(`error in remove for path: '${path}': ${(e as Error).message}`);
        }
        break;
      }
      case "replace": {
        const f = find(parts);
        if (!f) throw new Error(`replace operation does not apply: doc is missing path: ${path}: ${ErrMissing}`);
        if (Array.isArray(f.con)) {
          getVal(f.con, f.key);
          f.con[Number(f.key)] = clone(op.value);
        } else {
          if (!(f.key in f.con)) throw new Error(`replace operation does not apply: doc is missing key: ${path}: ${ErrMissing}`);
          f.con[f.key] = clone(op.value);
        }
        break;
      }
      case "move":
      case "copy": {
        const fromPath = typeof op.from === "string" ? op.from : "";
        const from = find(decode(op.from));
        if (!from) throw new Error(`${kind} operation does not apply: doc is missing from path: ${fromPath}: ${ErrMissing}`);
        const val = clone(getVal(from.con, from.key));
        if (val === undefined) throw new Error(`error in ${kind} for path: '${fromPath}': ${ErrMissing}`);
        if (kind === "move") remove(from.con, from.key);
        const to = find(parts);
        if (!to) throw new Error(`${kind} operation does not apply: doc is missing destination path: ${path}: ${ErrMissing}`);
        add(to.con, to.key, val);
        break;
      }
      case "test": {
        if (parts.length === 0) {
          if (deepEqual(root, op.value)) break;
          throw new Error(`testing value ${path} failed: ${ErrTestFailed}`);
        }
        const f = find(parts);
        if (!f) throw new Error(`test operation does not apply: is missing path: ${path}: ${ErrMissing}`);
        let val: any;
        try {
          val = getVal(f.con, f.key);
        } catch (e) {
          throw new Error(`error in test for path: '${path}': ${(e as Error).message}`);
        }
        if (val === undefined) {
          if (op.value === undefined) break;
          throw new Error(`testing value ${path} failed: ${ErrTestFailed}`);
        }
        if (!deepEqual(val, op.value)) throw new Error(`testing value ${path} failed: ${ErrTestFailed}`);
        break;
      }
      default:
        throw new Error(`Unexpected kind: ${String(kind)}`);
    }
  }
  return root;
}

// ---------------------------------------------------------------------------
// Selectors
// ---------------------------------------------------------------------------

type LabelReq = (labels: Record<string, string>) => boolean;

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const c of s) {
    if (c === "(") depth++;
    if (c === ")") depth--;
    if (c === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  if (cur.trim()) out.push(cur);
  return out.map((x) => x.trim()).filter(Boolean);
}

function parseLabelSelector(sel: string): LabelReq[] {
  return splitTopLevel(sel).map((term) => {
    let m: RegExpMatchArray | null;
    if ((m = term.match(/^([^\s!=]+)\s+(in|notin)\s+\((.*)\)$/))) {
      const key = m[1]!;
      const op = m[2]!;
      const vals = m[3]!.split(",").map((v) => v.trim()).filter((v) => v !== "");
      return op === "in"
        ? (l: Record<string, string>) => key in l && vals.includes(l[key]!)
        : (l: Record<string, string>) => !(key in l) || !vals.includes(l[key]!);
    }
    if ((m = term.match(/^([^\s!=]+)\s*!=\s*(.*)$/))) {
      const [key, val] = [m[1]!, m[2]!.trim()];
      return (l: Record<string, string>) => l[key] !== val;
    }
    if ((m = term.match(/^([^\s!=]+)\s*==?\s*(.*)$/))) {
      const [key, val] = [m[1]!, m[2]!.trim()];
      return (l: Record<string, string>) => l[key] === val;
    }
    if ((m = term.match(/^!\s*([^\s!=]+)$/))) {
      const key = m[1]!;
      return (l: Record<string, string>) => !(key in l);
    }
    if (/^[^\s!=(),]+$/.test(term)) return (l: Record<string, string>) => term in l;
    throw badRequest(`unable to parse requirement: invalid label selector: ${q(term)}`);
  });
}

function parseFieldSelector(r: ResDef, sel: string): Array<(o: any) => boolean> {
  const supported: Record<string, (o: any) => string> = {
    "metadata.name": (o) => o.metadata?.name ?? "",
    "metadata.namespace": (o) => o.metadata?.namespace ?? "",
  };
  if (r.kind === "Secret") supported.type = (o) => o.type ?? "";
  if (r.kind === "Namespace") supported["status.phase"] = (o) => o.status?.phase ?? "";
  return splitTopLevel(sel).map((term) => {
    const m = term.match(/^([^!=]+?)\s*(!=|==|=)\s*(.*)$/);
    if (!m) throw badRequest(`invalid selector: '${sel}'; can't understand '${term}'`);
    const field = m[1]!.trim();
    const get = supported[field];
    if (!get) throw badRequest(`field label not supported: ${field}`);
    const val = m[3]!.trim();
    return m[2] === "!=" ? (o: any) => get(o) !== val : (o: any) => get(o) === val;
  });
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

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
const MAX_BODY = 3 * 1024 * 1024;

/**
 * A real kube-apiserver spends time on every request that this in-memory
 * stand-in does not: authentication and admission chains, conversion, an
 * etcd round trip (fsync on a write). Issue 10 measured a sequential request
 * through kubectl at about 1.9 ms on a real v1.25 server and 0.6 ms here, so
 * figures from the fast stand-in flatter anything that makes many requests.
 * The model: every request holds one of `slots` service slots (the server's
 * cores) for `serviceMs` before it is answered; requests beyond the slots
 * queue. No CPU is burnt while a slot is held.
 */
export interface LatencyModel {
  /** Service time per request, ms. 0 = the fast stand-in. */
  serviceMs: number;
  /** Requests served at once (default 2: the cores of the machine the figures came from). */
  slots?: number;
}

/**
 * The calibrated model: a sequential per-object request through kubectl
 * costs about 1.9 ms, as on the real v1.25 server of issue 10, where the fast
 * stand-in's costs 0.6 ms. Chosen by measuring kubectl's step (the bench
 * reports the step it got): a response that waits for a timer costs kubectl
 * about twice the wait (its goroutines park and must be woken), so 0.7 ms of
 * service adds about 1.3 ms per request.
 */
export const CALIBRATED: LatencyModel = { serviceMs: 0.7, slots: 2 };

/** GPS_KUBE_LATENCY_MS=<ms>[/<slots>] turns the model on for every stand-in of a process (e.g. a whole test run). */
export function latencyFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): LatencyModel | undefined {
  const v = env.GPS_KUBE_LATENCY_MS?.trim();
  if (!v) return undefined;
  const m = /^(\d+(?:\.\d+)?)(?:\/(\d+))?$/.exec(v);
  if (!m) throw new Error(`GPS_KUBE_LATENCY_MS: expected <ms>[/<slots>], got ${v}`);
  return { serviceMs: Number(m[1]), ...(m[2] ? { slots: Number(m[2]) } : {}) };
}

/**
 * Node's timers count whole milliseconds (a 1.3 ms timeout fires after 1 to
 * 3 ms), so a slot does not sleep per request: it owes its service time and
 * sleeps once it owes at least this much, then counts what it really slept
 * (a late timer is credited to the next requests). Over a run the delay
 * served equals the service time asked, within one quantum.
 */
const OWED_QUANTUM_MS = 2;

/** The service slots of the latency model: each request takes a free slot (or queues for one) while its slot pays what it owes. */
export class ServiceSlots {
  readonly #owed: number[];
  readonly #busy: boolean[];
  readonly #queue: Array<(slot: number) => void> = [];
  constructor(
    readonly serviceMs: number,
    slots: number,
    private readonly sleep: (ms: number) => Promise<number> = realSleep,
  ) {
    this.#owed = new Array(Math.max(1, slots)).fill(0);
    this.#busy = new Array(Math.max(1, slots)).fill(false);
  }
  async serve(): Promise<void> {
    const slot = await this.#acquire();
    try {
      this.#owed[slot]! += this.serviceMs;
      if (this.#owed[slot]! >= OWED_QUANTUM_MS) {
        const slept = await this.sleep(this.#owed[slot]!);
        this.#owed[slot] = Math.max(this.#owed[slot]! - slept, -OWED_QUANTUM_MS);
      }
    } finally {
      this.#release(slot);
    }
  }
  #acquire(): Promise<number> {
    const free = this.#busy.indexOf(false);
    if (free >= 0) {
      this.#busy[free] = true;
      return Promise.resolve(free);
    }
    return new Promise((ok) => this.#queue.push(ok));
  }
  #release(slot: number): void {
    const next = this.#queue.shift();
    if (next) next(slot);
    else this.#busy[slot] = false;
  }
}

function realSleep(ms: number): Promise<number> {
  const t = performance.now();
  return new Promise((ok) => setTimeout(() => ok(performance.now() - t), ms));
}

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

  const skey = (r: KubeResource, ns: string | undefined, name: string): string => `${r}/${RESOURCES[r].namespaced ? ns ?? "" : ""}/${name}`;
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
      metadata: { name: "default", namespace: ns, uid: randomUUID(), resourceVersion: nextRV(), creationTimestamp: nowRFC3339() },
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
    const ct = String(ctx.req.headers["content-type"] ?? "application/json").split(";")[0]!.trim();
    const text = ctx.body.toString("utf8");
    let obj: any;
    if (ct === "application/json" || ct === "") {
      try {
        obj = JSON.parse(text);
      } catch (e) {
        throw badRequest(`the object provided is unrecognized (must be of type ${r.kind}): couldn't get version/kind; json parse error: ${(e as Error).message}`);
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
      throw new ApiError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
    }
    return checkTypeMeta(ctx, r, obj);
  }

  function checkTypeMeta(ctx: Ctx, r: ResDef, obj: any, apply = false): any {
    if (!isObj(obj)) throw badRequest(`the object provided is unrecognized (must be of type ${r.kind})`);
    const av = obj.apiVersion ?? apiVersionOf(r);
    const kind = obj.kind ?? r.kind;
    if (kind !== r.kind || av !== apiVersionOf(r)) {
      throw badRequest(`${kind} in version ${q(String(av).split("/").pop() ?? "")} cannot be handled as a ${r.kind}: no kind ${q(kind)} is registered for version ${q(av)} in scheme "pkg/api/legacyscheme/scheme.go:30"`);
    }
    if (ctx.url.searchParams.get("fieldValidation") === "Strict") {
      for (const k of Object.keys(obj)) {
        if (r.fields.includes(k)) continue;
        if (apply) throw badRequest(`.${k}: field not declared in schema`);
        throw badRequest(`${r.kind} in version ${q(r.version)} cannot be handled as a ${r.kind}: strict decoding error: unknown field ${q(k)}`);
      }
    }
    for (const [k, v] of Object.entries(isObj(obj.data) ? obj.data : {})) {
      if (typeof v !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.replace(/=+$/, "").length % 4 === 1) {
        throw badRequest(`${r.kind} in version ${q(r.version)} cannot be handled as a ${r.kind}: illegal base64 data at input byte ${Math.max(0, String(v).search(/[^A-Za-z0-9+/=]/))} (key ${k})`);
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
        for (const [k, v] of Object.entries(obj.stringData)) obj.data[k] = Buffer.from(String(v), "utf8").toString("base64");
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
    const kind = ctx.req.method === "POST" ? "CreateOptions" : ctx.req.method === "PUT" ? "UpdateOptions" : "PatchOptions";
    return invalid(kind, "meta.k8s.io", "", errs);
  }

  function checkOptions(ctx: Ctx, applyPatch: boolean): void {
    const errs: FieldErr[] = [];
    const fm = ctx.url.searchParams.get("fieldManager") ?? "";
    const fv = ctx.url.searchParams.get("fieldValidation") ?? "";
    if (ctx.req.method === "PATCH") {
      if (!applyPatch && ctx.url.searchParams.has("force")) errs.push(fe.forbidden("force", "may not be specified for non-apply patch"));
      if (applyPatch && !fm) errs.push(fe.required("fieldManager", "is required for apply patch"));
    }
    if (fm.length > 128) errs.push(fe.tooLong("fieldManager", 128));
    if (fv && !["Ignore", "Warn", "Strict"].includes(fv)) errs.push(fe.notSupported("fieldValidation", fv, ["", "Ignore", "Warn", "Strict"]));
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
      throw new ApiError(403, "Forbidden", name ? `${gr} ${q(name)} is forbidden: ${reason}` : `${gr} is forbidden: ${reason}`, {
        name,
        group: r.group,
        kind: r.name,
        causes: [{ reason: "NamespaceTerminating", message: `namespace ${ns} is being terminated`, field: "metadata.namespace" }],
      });
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
      const entry: MFEntry = { manager, operation: "Apply", apiVersion: apiVersionOf(r), time: nowRFC3339(), fields: applied ?? new Set() };
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
  function finishUpdate(ctx: Ctx, r: ResDef, cur: any, next: any, dryRun: boolean, track: (() => void) | undefined): void {
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
      throw badRequest(`the name of the object (${obj.metadata.name ?? ""}) does not match the name on the URL (${name})`);
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
        opts = ct.startsWith("application/vnd.kubernetes.protobuf") ? decodeKubeProtobuf(ctx.body) : JSON.parse(ctx.body.toString("utf8"));
      } catch {
        opts = undefined;
      }
      // kubectl sends --dry-run=server for a delete in the DeleteOptions body, not the query.
      if (isObj(opts) && Array.isArray(opts.dryRun) && opts.dryRun.includes("All")) dryRun = true;
      const pre = isObj(opts) && isObj(opts.preconditions) ? opts.preconditions : {};
      if (pre.uid && pre.uid !== cur.metadata.uid) {
        throw conflict(r, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`);
      }
      if (pre.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
        throw conflict(r, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`);
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
    const ct = String(ctx.req.headers["content-type"] ?? "").split(";")[0]!.trim();
    const types = [
      "application/json-patch+json",
      "application/merge-patch+json",
      "application/strategic-merge-patch+json",
      "application/apply-patch+yaml",
    ];
    if (!types.includes(ct)) {
      throw new ApiError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: ${types.join(", ")}`);
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
      throw badRequest(ct === "application/json-patch+json" ? `invalid character in JSON patch: ${(e as Error).message}` : `error decoding patch: ${(e as Error).message}`);
    }
    const cur = stored(r, ns, name);
    if (!cur) throw notFound(r, name);
    const curJson = canonical(r, cur);
    let next: any;
    if (ct === "application/json-patch+json") {
      if (!Array.isArray(patch)) throw badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch");
      if (patch.length > 10000) throw new ApiError(413, "RequestEntityTooLarge", `The allowed maximum operations in a JSON patch is 10000, got ${patch.length}`);
      try {
        next = jsonPatch(curJson, patch);
      } catch (e) {
        throw genericServerResponse(422, (e as Error).message);
      }
    } else if (ct === "application/merge-patch+json") {
      if (!isObj(patch)) throw badRequest("error decoding patch: json: cannot unmarshal into Go value of type map[string]interface {}");
      next = mergePatch(curJson, patch);
    } else {
      if (!isObj(patch)) throw badRequest("error decoding patch: json: cannot unmarshal into Go value of type map[string]interface {}");
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
      throw conflict(r, name, `Precondition failed: UID in precondition: ${next.metadata.uid}, UID in object meta: ${cur.metadata.uid}`);
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
      for (const k of Object.keys(cfg.spec)) if (!LEASE_SPEC_ORDER.includes(k)) throw badRequest(`.spec.${k}: field not declared in schema`);
    }
    normalize(r, cfg);
    if ((cfg.metadata.name ?? "") !== name) {
      throw badRequest(`the name of the object (${cfg.metadata.name ?? ""}) does not match the name on the URL (${name})`);
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
    if (cfg.metadata.resourceVersion && cfg.metadata.resourceVersion !== cur.metadata.resourceVersion) throw conflict(r, name);
    const cfgFields = fieldsOf(r, cfg);
    let entries = readManaged(cur);
    if (entries.length === 0) {
      const all = fieldsOf(r, cur);
      if (all.size) entries = [{ manager: "before-first-apply", operation: "Update", apiVersion: apiVersionOf(r), fields: all }];
    }
    let mine = entries.find((e) => e.manager === manager && e.operation === "Apply");
    // conflicts: another manager owns a field this config sets to a different value
    const conflicts: Array<{ e: MFEntry; k: string }> = [];
    for (const e of entries) {
      if (e === mine) continue;
      for (const k of cfgFields) {
        const p = unkey(k);
        const owned = [...e.fields].some((ok) => ok === k || k.startsWith(`${ok}\u0000`) || ok.startsWith(`${k}\u0000`));
        if (owned && !deepEqual(getAt(cur, p), getAt(cfg, p))) conflicts.push({ e, k });
      }
    }
    if (conflicts.length && !force) throw applyConflict(conflicts);
    for (const { e, k } of conflicts) {
      for (const ok of [...e.fields]) if (ok === k || ok.startsWith(`${k}\u0000`) || k.startsWith(`${ok}\u0000`)) e.fields.delete(ok);
    }
    const next = clone(cur);
    if (mine) {
      for (const k of mine.fields) {
        if (cfgFields.has(k) || unkey(k).at(-1) === ".") continue;
        const sharedWith = entries.some((e) => e !== mine && [...e.fields].some((ok) => ok === k || ok.startsWith(`${k}\u0000`)));
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
    const causes: Cause[] = conflicts.map(({ e, k }) => ({ reason: "FieldManagerConflict", message: `conflict with ${who(e)}`, field: pathString(unkey(k)) }));
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
      (!r.namespaced || !ns || o.metadata?.namespace === ns) && lreqs.every((f) => f(o.metadata?.labels ?? {})) && freqs.every((f) => f(o));
    const timeout = Math.min(Number(ctx.url.searchParams.get("timeoutSeconds") ?? "1800") || 1800, 1800);
    ctx.res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private", "Transfer-Encoding": "chunked" });
    const since = ctx.url.searchParams.get("resourceVersion");
    if (!since || since === "0") for (const o of initial) ctx.res.write(`${JSON.stringify({ type: "ADDED", object: canonical(r, o) })}\n`);
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
    const col = (name: string, type: string, description: string, format = ""): any => ({ name, type, format, description, priority: 0 });
    const nameCol = col("Name", "string", "Name must be unique within a namespace.", "name");
    const ageCol = col("Age", "string", "CreationTimestamp is a timestamp representing the server time when this object was created.");
    let cols: any[];
    let cells: (o: any) => unknown[];
    switch (r.kind) {
      case "Secret":
        cols = [nameCol, col("Type", "string", "Used to facilitate programmatic handling of secret data."), col("Data", "string", "The total number of data entries."), ageCol];
        cells = (o) => [o.metadata.name, o.type ?? "Opaque", Object.keys(o.data ?? {}).length, age(o.metadata.creationTimestamp)];
        break;
      case "ServiceAccount":
        cols = [nameCol, col("Secrets", "string", "Secrets is the list of secrets allowed to be used by pods running using this ServiceAccount."), ageCol];
        cells = (o) => [o.metadata.name, (o.secrets ?? []).length, age(o.metadata.creationTimestamp)];
        break;
      case "Lease":
        cols = [nameCol, col("Holder", "string", "holderIdentity contains the identity of the holder of a current lease."), ageCol];
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
        return { cells: cells(o), object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: meta } };
      }),
    };
  }

  // ----- SelfSubjectAccessReview (kubectl auth can-i) -----

  function doSelfSubjectAccessReview(ctx: Ctx): void {
    let review: any;
    try {
      const ct = String(ctx.req.headers["content-type"] ?? "");
      review = ct.startsWith("application/vnd.kubernetes.protobuf") ? decodeKubeProtobuf(ctx.body) : JSON.parse(ctx.body.toString("utf8"));
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

  function route(ctx: Ctx): void {
    const path = ctx.url.pathname.replace(/\/+$/, "") || "/";
    if (serveDiscovery(ctx, path)) return;
    if (path === "/healthz" || path === "/livez" || path === "/readyz") return send(ctx, 200, Buffer.from("ok"), { "Content-Type": "text/plain; charset=utf-8" });
    if (path === "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" && ctx.req.method === "POST") return doSelfSubjectAccessReview(ctx);

    let rest: string[];
    let group: string;
    if (path.startsWith("/api/v1/") || path === "/api/v1") {
      group = "";
      rest = path.slice("/api/v1".length).split("/").filter(Boolean);
    } else if (path.startsWith("/apis/coordination.k8s.io/v1/")) {
      group = "coordination.k8s.io";
      rest = path.slice("/apis/coordination.k8s.io/v1".length).split("/").filter(Boolean);
    } else throw genericServerResponse(404, "");
    rest = rest.map(decodeURIComponent);

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
      throw new ApiError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`, { kind: r.name });
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
        throw new ApiError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`, { kind: r.name, name });
    }
  }

  function authenticate(req: IncomingMessage): User | undefined {
    const h = String(req.headers.authorization ?? "");
    const m = h.match(/^Bearer\s+(\S+)$/i);
    if (!m) return undefined;
    for (const u of users.values()) if (u.token === m[1]) return u;
    return undefined;
  }

  const faultReason: Record<number, string> = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed", 409: "Conflict",
    410: "Expired", 422: "Invalid", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout",
  };

  function takeFault(method: string, path: string, query: string): (Fault & { left: number }) | undefined {
    const f = faults.find(
      (x) => x.left > 0 && (!x.method || x.method.toUpperCase() === method) && x.path.test(path) && (!x.query || x.query.test(query)),
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
      if (len > MAX_BODY) throw new ApiError(413, "RequestEntityTooLarge", `the request body exceeds ${MAX_BODY} bytes`);
      chunks.push(b);
    }
    return Buffer.concat(chunks, len);
  }

  const server = https.createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const rec: RecordedRequest = { method: req.method ?? "GET", path: url.pathname, query: url.search.replace(/^\?/, ""), user: "", status: 0 };
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
        if (!stored(RESOURCES.namespaces, undefined, ns)) throw new Error(`kube-standin: no namespace ${ns} to hold a Role for ${name}`);
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
        for (const [k, v] of [...store]) if (v.metadata?.namespace === name && !k.startsWith("namespaces/")) store.delete(k);
        dropBindings(name);
      }
      return store.delete(skey(resource, namespace, name));
    },
    terminateNamespace(name: string): void {
      const r = RESOURCES.namespaces;
      const cur = stored(r, undefined, name);
      if (!cur) throw new Error(`kube-standin: no namespace ${name}`);
      // The namespace controller has deleted what it could; a finalizer it waits on keeps the namespace.
      for (const [k, v] of [...store]) if (v.metadata?.namespace === name && !k.startsWith("namespaces/")) store.delete(k);
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
      return out.sort((a, b) => (`${a.metadata.namespace ?? ""}/${a.metadata.name}` < `${b.metadata.namespace ?? ""}/${b.metadata.name}` ? -1 : 1));
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
