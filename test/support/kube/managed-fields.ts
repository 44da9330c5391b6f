// Storage bookkeeping of ownership: a model of structured-merge-diff's
// FieldsV1, per label/annotation/data key and per top-level field.
import { clone, deepEqual, isObj, nowRFC3339 } from "./json.ts";
import { type ResDef, apiVersionOf } from "./resources.ts";

type FieldPath = string[]; // elements "f:name", "k:{...}", or "." (the node itself)

const pkey = (p: FieldPath): string => p.join("\u0000");
export const unkey = (k: string): FieldPath => k.split("\u0000");

/** Granular string maps: ownership per key. Everything else that is an array is atomic (ServiceAccount.secrets: per name). */
export function fieldsOf(r: ResDef, obj: any, withMapNodes = false): Set<string> {
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
      for (const [k, child] of Object.entries(v))
        if (child !== undefined && child !== null) walk([...path, `f:${k}`], child, false);
      return;
    }
    if (v === undefined || v === null) return;
    out.add(pkey(path));
  };
  for (const [k, v] of Object.entries(obj ?? {})) {
    if (k === "apiVersion" || k === "kind" || k === "metadata" || k === "status" || v === undefined || v === null)
      continue;
    if (r.kind === "ServiceAccount" && k === "secrets" && Array.isArray(v)) {
      for (const ref of v)
        if (isObj(ref) && typeof ref.name === "string")
          out.add(pkey(["f:secrets", `k:${JSON.stringify({ name: ref.name })}`]));
      continue;
    }
    walk([`f:${k}`], v, k === "data" || k === "stringData");
  }
  return out;
}

export function getAt(obj: any, path: FieldPath): any {
  let cur = obj;
  for (const el of path) {
    if (el === ".") return cur;
    if (cur === undefined || cur === null) return undefined;
    if (el.startsWith("f:")) cur = isObj(cur) ? cur[el.slice(2)] : undefined;
    else if (el.startsWith("k:")) {
      const key = JSON.parse(el.slice(2)) as Record<string, unknown>;
      cur = Array.isArray(cur)
        ? cur.find((x) => isObj(x) && Object.entries(key).every(([kk, kv]) => x[kk] === kv))
        : undefined;
    } else return undefined;
  }
  return cur;
}

export function setAt(obj: any, path: FieldPath, value: any): void {
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

export function deleteAt(obj: any, path: FieldPath): void {
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
export function pathString(p: FieldPath): string {
  return p
    .filter((el) => el !== ".")
    .map((el) => {
      if (el.startsWith("f:")) return `.${el.slice(2)}`;
      if (el.startsWith("k:")) {
        const key = JSON.parse(el.slice(2)) as Record<string, unknown>;
        return `[${Object.entries(key)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(",")}]`;
      }
      return el;
    })
    .join("");
}

export interface MFEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time?: string;
  fields: Set<string>;
}

export function readManaged(obj: any): MFEntry[] {
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

export function writeManaged(obj: any, entries: MFEntry[]): void {
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
export function trackUpdate(r: ResDef, oldObj: any | undefined, newObj: any, manager: string): void {
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
