// Patch semantics: JSON merge patch, strategic merge patch and JSON patch
// (evanphx/json-patch).
import { clone, deepEqual, isObj } from "./json.ts";
import type { ResDef } from "./resources.ts";
import { q } from "./status.ts";

/** RFC 7386 */
export function mergePatch(target: any, patch: any): any {
  if (!isObj(patch)) return clone(patch);
  const out = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Strategic merge patch for the four kinds: like a merge patch; ServiceAccount.secrets merges by name; other lists replace. */
export function strategicMergePatch(r: ResDef, target: any, patch: any, path: string[] = []): any {
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
export function jsonPatch(doc: any, ops: any[]): any {
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
      if (!/^\d+$/.test(key) || Number(key) >= con.length)
        throw new Error(`Unable to access invalid index: ${key}: ${ErrInvalidIndex}`);
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
      if (!/^-?\d+$/.test(key) || idx > con.length || idx < -con.length)
        throw new Error(`Unable to access invalid index: ${idx}: ${ErrInvalidIndex}`);
      con.splice(idx < 0 ? con.length + idx : idx, 0, value);
      return;
    }
    con[key] = value;
  };
  const remove = (con: any, key: string): void => {
    if (Array.isArray(con)) {
      const idx = Number(key);
      if (!/^-?\d+$/.test(key) || idx >= con.length || idx < -con.length)
        throw new Error(`Unable to remove invalid index: ${idx}: ${ErrInvalidIndex}`);
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
          if (!(f.key in f.con))
            throw new Error(`replace operation does not apply: doc is missing key: ${path}: ${ErrMissing}`);
          f.con[f.key] = clone(op.value);
        }
        break;
      }
      case "move":
      case "copy": {
        const fromPath = typeof op.from === "string" ? op.from : "";
        const from = find(decode(op.from));
        if (!from)
          throw new Error(`${kind} operation does not apply: doc is missing from path: ${fromPath}: ${ErrMissing}`);
        const val = clone(getVal(from.con, from.key));
        if (val === undefined) throw new Error(`error in ${kind} for path: '${fromPath}': ${ErrMissing}`);
        if (kind === "move") remove(from.con, from.key);
        const to = find(parts);
        if (!to)
          throw new Error(`${kind} operation does not apply: doc is missing destination path: ${path}: ${ErrMissing}`);
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
