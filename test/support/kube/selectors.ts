// Label and field selectors of list and watch requests.
import type { ResDef } from "./resources.ts";
import { badRequest, q } from "./status.ts";

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

export function parseLabelSelector(sel: string): LabelReq[] {
  return splitTopLevel(sel).map((term) => {
    let m: RegExpMatchArray | null;
    if ((m = term.match(/^([^\s!=]+)\s+(in|notin)\s+\((.*)\)$/))) {
      const key = m[1]!;
      const op = m[2]!;
      const vals = m[3]!
        .split(",")
        .map((v) => v.trim())
        .filter((v) => v !== "");
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

export function parseFieldSelector(r: ResDef, sel: string): Array<(o: any) => boolean> {
  const supported: Record<string, (o: any) => string> = {
    "metadata.name": (o) => o.metadata?.name ?? "",
    "metadata.namespace": (o) => o.metadata?.namespace ?? "",
  };
  if (r.kind === "Secret") supported.type = (o) => o.type ?? "";
  if (r.kind === "Namespace") supported["status.phase"] = (o) => o.status?.phase ?? "";
  if (r.kind === "Event") {
    // pkg/registry/core/event ToSelectableFields, on the stored (events.k8s.io) object; both views select the same.
    for (const f of ["kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"]) {
      supported[`involvedObject.${f}`] = (o) => o.regarding?.[f] ?? "";
      supported[`regarding.${f}`] = (o) => o.regarding?.[f] ?? "";
    }
    supported.reason = (o) => o.reason ?? "";
    supported.type = (o) => o.type ?? "";
    supported.reportingComponent = (o) => o.reportingController ?? "";
    supported.reportingController = (o) => o.reportingController ?? "";
    supported.source = (o) => o.deprecatedSource?.component || o.reportingController || "";
  }
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
