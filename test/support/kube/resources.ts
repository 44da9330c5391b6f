// The four resources served and their canonical JSON (field order as the
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

export const RESOURCES: Record<KubeResource, ResDef> = {
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

export function apiVersionOf(r: ResDef): string {
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
export const LEASE_SPEC_ORDER = ["holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime", "leaseTransitions"];
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
  if (r.kind === "Namespace") {
    if (isObj(o.spec)) o.spec = ordered(o.spec, ["finalizers"]);
    if (isObj(o.status)) o.status = ordered(o.status, ["phase", "conditions"]);
  }
  return ordered(o, KEY_ORDER[r.kind] ?? []);
}
