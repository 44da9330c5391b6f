// Discovery and OpenAPI: the kube-apiserver v1.25.9 captures in
// test/fixtures/kube/discovery, and the OpenAPIv2 protobuf kubectl insists on
// for client-side validation of a v1 List (encoded once per process).
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { q } from "./status.ts";

/** The captured API-server data kept in the repository (test/fixtures/kube, see its README). */
export function kubeFixturesDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), "../../fixtures/kube");
}

/** Reads a fixture, gunzipping the large OpenAPI documents that are stored as `<name>.gz`. */
export function readKubeFixture(...parts: string[]): Buffer {
  const path = join(kubeFixturesDir(), ...parts);
  if (existsSync(path)) return readFileSync(path);
  return gunzipSync(readFileSync(`${path}.gz`));
}

export interface StaticDoc {
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

export function loadCaptures(): Captures {
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

export function openapiV2Proto(c: Captures): StaticDoc {
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
  1: ["name", "string"],
  2: ["generateName", "string"],
  3: ["namespace", "string"],
  5: ["uid", "string"],
  6: ["resourceVersion", "string"],
  11: ["labels", "map"],
  12: ["annotations", "map"],
  14: ["finalizers", "string[]"],
};
const P_KINDS: Record<string, PSpec> = {
  Namespace: { 1: ["metadata", P_OBJECT_META], 2: ["spec", { 1: ["finalizers", "string[]"] }] },
  Secret: {
    1: ["metadata", P_OBJECT_META],
    2: ["data", "bytesmap"],
    3: ["type", "string"],
    4: ["stringData", "map"],
    5: ["immutable", "bool"],
  },
  ServiceAccount: {
    1: ["metadata", P_OBJECT_META],
    2: [
      "secrets",
      [
        {
          1: ["kind", "string"],
          2: ["namespace", "string"],
          3: ["name", "string"],
          4: ["uid", "string"],
          5: ["apiVersion", "string"],
          6: ["resourceVersion", "string"],
          7: ["fieldPath", "string"],
        },
      ],
    ],
    3: ["imagePullSecrets", [{ 1: ["name", "string"] }]],
    4: ["automountServiceAccountToken", "bool"],
  },
  Lease: {
    1: ["metadata", P_OBJECT_META],
    2: [
      "spec",
      {
        1: ["holderIdentity", "string"],
        2: ["leaseDurationSeconds", "int"],
        3: ["acquireTime", "microtime"],
        4: ["renewTime", "microtime"],
        5: ["leaseTransitions", "int"],
      },
    ],
  },
  SelfSubjectAccessReview: {
    1: ["metadata", P_OBJECT_META],
    2: [
      "spec",
      {
        1: [
          "resourceAttributes",
          {
            1: ["namespace", "string"],
            2: ["verb", "string"],
            3: ["group", "string"],
            4: ["version", "string"],
            5: ["resource", "string"],
            6: ["subresource", "string"],
            7: ["name", "string"],
          },
        ],
        2: ["nonResourceAttributes", { 1: ["path", "string"], 2: ["verb", "string"] }],
      },
    ],
  },
  DeleteOptions: {
    1: ["gracePeriodSeconds", "int"],
    2: ["preconditions", { 1: ["uid", "string"], 2: ["resourceVersion", "string"] }],
    3: ["orphanDependents", "bool"],
    4: ["propagationPolicy", "string"],
    5: ["dryRun", "string[]"],
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
      obj[name][entry.k ?? ""] = kind === "map" ? (entry.v ?? "") : Buffer.isBuffer(raw) ? raw.toString("base64") : "";
    } else if (kind === "time" || kind === "microtime") {
      const t = pbDecode(bytes, { 1: ["s", "int"], 2: ["n", "int"] });
      const iso = new Date((t.s ?? 0) * 1000 + Math.floor((t.n ?? 0) / 1e6)).toISOString();
      obj[name] =
        kind === "time"
          ? iso.replace(/\.\d{3}Z$/, "Z")
          : iso.replace(
              /\.(\d{3})Z$/,
              (_m, ms: string) => `.${ms}${String(Math.floor((t.n ?? 0) / 1000) % 1000).padStart(3, "0")}Z`,
            );
    } else if (Array.isArray(kind)) (obj[name] ??= []).push(pbDecode(bytes, kind[0]));
    else obj[name] = pbDecode(bytes, kind);
  }
  return obj;
}

/** Decodes a `k8s\0`-prefixed runtime.Unknown carrying one of the kinds above. */
export function decodeKubeProtobuf(body: Buffer): any {
  if (body.length < 4 || body.subarray(0, 4).toString("latin1") !== "k8s\u0000")
    throw new Error("missing the k8s protobuf prefix");
  const unknown = pbDecode(body.subarray(4), {
    1: ["typeMeta", { 1: ["apiVersion", "string"], 2: ["kind", "string"] }],
    2: ["raw", "string"],
  });
  const rawField = pbFields(body.subarray(4)).find((f) => f.field === 2)?.value;
  const kind: string = unknown.typeMeta?.kind ?? "";
  const spec = P_KINDS[kind];
  if (!spec) throw new Error(`protobuf bodies of kind ${q(kind)} are not supported by the stand-in`);
  const obj = pbDecode(Buffer.isBuffer(rawField) ? rawField : Buffer.alloc(0), spec);
  return { apiVersion: unknown.typeMeta?.apiVersion, kind, ...obj };
}
