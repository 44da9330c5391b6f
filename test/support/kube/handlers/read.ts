// The read verbs: get, list (and watch, which starts as a list), and the
// read-only core/v1 view of events.k8s.io/v1 Events that `kubectl events` and
// `kubectl describe` use. Lists sort by namespace/name as etcd's key order does.
import type { Cluster, Ctx } from "../context.ts";
import { output, send } from "../context.ts";
import { RESOURCES, type ResDef, apiVersionOf, canonical, coreEvent } from "../resources.ts";
import { parseFieldSelector, parseLabelSelector } from "../selectors.ts";
import { ApiError, notFound } from "../status.ts";
import { toTable, wantsTable } from "./table.ts";

/** The namespace RBAC sees: the request's for namespaced kinds, a namespace's own name for itself. */
export function nsAttrOf(r: ResDef, ns: string, name: string): string {
  return r.namespaced ? ns : r.name === "namespaces" ? name : "";
}

export function doGet(k: Cluster, ctx: Ctx, r: ResDef, ns: string, name: string): void {
  k.authz.authorize(ctx, r, "get", nsAttrOf(r, ns, name), name);
  const obj = k.store.get(r, ns, name);
  if (!obj) throw notFound(r, name);
  if (wantsTable(ctx)) return send(ctx, 200, toTable(r, [obj], obj.metadata.resourceVersion));
  output(ctx, 200, r, obj);
}

/** The stored objects a list or watch starts from: in `ns` if given, through the label and field selectors. */
function selected(k: Cluster, ctx: Ctx, r: ResDef, ns: string | undefined): any[] {
  const ls = ctx.url.searchParams.get("labelSelector");
  const fs = ctx.url.searchParams.get("fieldSelector");
  const lreqs = ls ? parseLabelSelector(ls) : [];
  const freqs = fs ? parseFieldSelector(r, fs) : [];
  const prefix = `${r.name}/${r.namespaced && ns ? ns : ""}/`;
  const items: any[] = [];
  for (const [key, v] of k.store.objects) {
    if (!key.startsWith(`${r.name}/`)) continue;
    if (r.namespaced && ns && !key.startsWith(prefix)) continue;
    const labels = v.metadata?.labels ?? {};
    if (lreqs.every((f) => f(labels)) && freqs.every((f) => f(v))) items.push(v);
  }
  items.sort((a, b) =>
    `${a.metadata.namespace ?? ""}/${a.metadata.name}` < `${b.metadata.namespace ?? ""}/${b.metadata.name}` ? -1 : 1,
  );
  return items;
}

export function doList(k: Cluster, ctx: Ctx, r: ResDef, ns: string | undefined): void {
  const watch = ["1", "true"].includes(ctx.url.searchParams.get("watch") ?? "");
  k.authz.authorize(ctx, r, watch ? "watch" : "list", ns ?? "", "");
  const items = selected(k, ctx, r, ns);
  const rv = k.store.currentRV();
  if (watch) return k.watches.start(ctx, r, ns, items);
  if (wantsTable(ctx)) return send(ctx, 200, toTable(r, items, rv));
  send(ctx, 200, {
    kind: `${r.kind}List`,
    apiVersion: apiVersionOf(r),
    metadata: { resourceVersion: rv },
    items: items.map((o) => canonical(r, o, false)),
  });
}

/**
 * core/v1 Events: the events.k8s.io/v1 objects under their older names.
 * Read-only here: the tool writes events.k8s.io/v1; creating through core/v1 is not modelled.
 */
export function doCoreEvents(k: Cluster, ctx: Ctx, rest: string[]): void {
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
    k.authz.authorize(ctx, core, "get", ns, name);
    const obj = k.store.get(r, ns, name);
    if (!obj) throw notFound(core, name);
    return send(ctx, 200, coreEvent(obj));
  }
  k.authz.authorize(ctx, core, "list", ns, "");
  const items = selected(k, ctx, r, ns || undefined);
  send(ctx, 200, {
    kind: "EventList",
    apiVersion: "v1",
    metadata: { resourceVersion: k.store.currentRV() },
    items: items.map((o) => coreEvent(o, false)),
  });
}
