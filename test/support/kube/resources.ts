// The resources served and their canonical JSON (field order as the
// API server writes it).
import type { KubeResource } from "./api.ts";
import { clone, isObj } from "./json.ts";

export interface ResDef {
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

/** k8s.io/api/events/v1 Event, in struct order. */
const EVENT_FIELDS = [
  "apiVersion",
  "kind",
  "metadata",
  "eventTime",
  "series",
  "reportingController",
  "reportingInstance",
  "action",
  "reason",
  "regarding",
  "related",
  "note",
  "type",
  "deprecatedSource",
  "deprecatedFirstTimestamp",
  "deprecatedLastTimestamp",
  "deprecatedCount",
];

export const RESOURCES: Record<KubeResource, ResDef> = {
  secrets: {
    name: "secrets",
    group: "",
    version: "v1",
    kind: "Secret",
    namespaced: true,
    createOnUpdate: false,
    fields: ["apiVersion", "kind", "metadata", "immutable", "data", "stringData", "type"],
  },
  serviceaccounts: {
    name: "serviceaccounts",
    group: "",
    version: "v1",
    kind: "ServiceAccount",
    namespaced: true,
    createOnUpdate: true,
    fields: ["apiVersion", "kind", "metadata", "secrets", "imagePullSecrets", "automountServiceAccountToken"],
  },
  leases: {
    name: "leases",
    group: "coordination.k8s.io",
    version: "v1",
    kind: "Lease",
    namespaced: true,
    createOnUpdate: true,
    fields: ["apiVersion", "kind", "metadata", "spec"],
  },
  namespaces: {
    name: "namespaces",
    group: "",
    version: "v1",
    kind: "Namespace",
    namespaced: false,
    createOnUpdate: false,
    fields: ["apiVersion", "kind", "metadata", "spec", "status"],
  },
  // Stored as events.k8s.io/v1; the core/v1 view (coreEvent) is the same object under the older field names.
  events: {
    name: "events",
    group: "events.k8s.io",
    version: "v1",
    kind: "Event",
    namespaced: true,
    createOnUpdate: false,
    fields: EVENT_FIELDS,
  },
};

export function apiVersionOf(r: ResDef): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

const KEY_ORDER: Record<string, string[]> = {
  Secret: ["kind", "apiVersion", "metadata", "immutable", "data", "stringData", "type"],
  ServiceAccount: ["kind", "apiVersion", "metadata", "secrets", "imagePullSecrets", "automountServiceAccountToken"],
  Lease: ["kind", "apiVersion", "metadata", "spec"],
  Namespace: ["kind", "apiVersion", "metadata", "spec", "status"],
  Event: ["kind", ...EVENT_FIELDS.slice(0, 1), ...EVENT_FIELDS.slice(2)],
};
const REF_ORDER = ["kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"];
const META_ORDER = [
  "name",
  "generateName",
  "namespace",
  "selfLink",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "labels",
  "annotations",
  "ownerReferences",
  "finalizers",
  "managedFields",
];
export const LEASE_SPEC_ORDER = [
  "holderIdentity",
  "leaseDurationSeconds",
  "acquireTime",
  "renewTime",
  "leaseTransitions",
];
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
export function canonical(r: ResDef, obj: any, withTypeMeta = true): any {
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
  if (r.kind === "Event") {
    // Go's encoding of the zero values: a struct is never omitted, a zero metav1.Time is null.
    o.deprecatedSource ??= {};
    o.deprecatedFirstTimestamp ??= null;
    o.deprecatedLastTimestamp ??= null;
    if (isObj(o.regarding)) o.regarding = ordered(o.regarding, REF_ORDER);
  }
  if (r.kind === "Namespace") {
    if (isObj(o.spec)) o.spec = ordered(o.spec, ["finalizers"]);
    if (isObj(o.status)) o.status = ordered(o.status, ["phase", "conditions"]);
  }
  return ordered(o, KEY_ORDER[r.kind] ?? []);
}

/**
 * The core/v1 view of a stored events.k8s.io/v1 Event, as the API server
 * converts it (pkg/apis/events/v1 conversion): regarding -> involvedObject,
 * note -> message, reportingController -> reportingComponent, deprecated* ->
 * source, firstTimestamp, lastTimestamp, count.
 */
export function coreEvent(stored: any, withTypeMeta = true): any {
  const e = canonical(RESOURCES.events, stored, false);
  const out: any = {
    ...(withTypeMeta ? { kind: "Event", apiVersion: "v1" } : {}),
    metadata: e.metadata,
    involvedObject: e.regarding ?? {},
    reason: e.reason,
    message: e.note,
    source: e.deprecatedSource ?? {},
    firstTimestamp: e.deprecatedFirstTimestamp ?? null,
    lastTimestamp: e.deprecatedLastTimestamp ?? null,
    ...(e.deprecatedCount ? { count: e.deprecatedCount } : {}),
    type: e.type,
    eventTime: e.eventTime ?? null,
    ...(e.series ? { series: e.series } : {}),
    action: e.action,
    ...(e.related ? { related: e.related } : {}),
    reportingComponent: e.reportingController ?? "",
    reportingInstance: e.reportingInstance ?? "",
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}
