// The stand-in's etcd: objects keyed by resource/namespace/name, the
// resourceVersion counter, uids and creation stamps, and the namespace
// lifecycle the controllers would run (default labels and finalizer, the
// `default` ServiceAccount, clean-up when a namespace goes). It knows nothing
// of HTTP or RBAC: handlers and the test-facing handle both write through it.
import { randomUUID } from "node:crypto";
import type { KubeResource } from "./api.ts";
import { isObj, nowRFC3339 } from "./json.ts";
import { trackUpdate } from "./managed-fields.ts";
import { RESOURCES, type ResDef, canonical } from "./resources.ts";

/** The namespaces a fresh kube-apiserver has. */
const BUILT_IN_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

export class Store {
  /** Insertion-ordered like the closure's map was; lists sort, so order only matters for ties. */
  readonly objects = new Map<string, any>();
  private rv = 100;
  /** Called when a namespace's contents go (RoleBindings live elsewhere: the authorizer). */
  private readonly namespaceGone: Array<(ns: string) => void> = [];

  constructor() {
    for (const ns of BUILT_IN_NAMESPACES) this.createNamespace(ns);
  }

  static key(r: KubeResource, ns: string | undefined, name: string): string {
    return `${r}/${RESOURCES[r].namespaced ? (ns ?? "") : ""}/${name}`;
  }

  nextRV(): string {
    return String(++this.rv);
  }

  /** The latest resourceVersion handed out: what a list reports. */
  currentRV(): string {
    return String(this.rv);
  }

  get(r: ResDef, ns: string | undefined, name: string): any | undefined {
    return this.objects.get(Store.key(r.name, ns, name));
  }

  /** Stores the canonical form (what a later GET returns) and returns it. */
  put(r: ResDef, obj: any): any {
    const c = canonical(r, obj);
    this.objects.set(Store.key(r.name, c.metadata.namespace, c.metadata.name), c);
    return c;
  }

  delete(r: KubeResource, ns: string | undefined, name: string): boolean {
    return this.objects.delete(Store.key(r, ns, name));
  }

  /** Every stored object of a resource (in one namespace if given), sorted namespace/name as a list is. */
  list(resource: KubeResource, namespace?: string): any[] {
    const r = RESOURCES[resource];
    const out: any[] = [];
    for (const [k, v] of this.objects) {
      if (!k.startsWith(`${resource}/`)) continue;
      if (namespace !== undefined && r.namespaced && v.metadata.namespace !== namespace) continue;
      out.push(canonical(r, v));
    }
    return out.sort((a, b) =>
      `${a.metadata.namespace ?? ""}/${a.metadata.name}` < `${b.metadata.namespace ?? ""}/${b.metadata.name}` ? -1 : 1,
    );
  }

  onNamespaceGone(listener: (ns: string) => void): void {
    this.namespaceGone.push(listener);
  }

  /** What the namespace controller deletes: every object in it (not the namespace), and what listeners hold for it. */
  purgeNamespace(ns: string): void {
    for (const [k, v] of [...this.objects])
      if (v.metadata?.namespace === ns && !k.startsWith("namespaces/")) this.objects.delete(k);
    for (const listener of this.namespaceGone) listener(ns);
  }

  /** A direct create (no admission, no HTTP): built-in namespaces and the test handle's createNamespace. */
  createNamespace(name: string, labels?: Record<string, string>): void {
    const r = RESOURCES.namespaces;
    if (this.get(r, undefined, name)) return;
    const obj: any = { metadata: { name, labels: { ...(labels ?? {}) } } };
    namespaceDefaults(obj);
    stampNew(obj);
    obj.metadata.resourceVersion = this.nextRV();
    trackUpdate(r, undefined, obj, "kubectl-create");
    this.put(r, obj);
    this.ensureDefaultServiceAccount(name);
  }

  /** The serviceaccount controller: every namespace gets a `default` ServiceAccount. */
  ensureDefaultServiceAccount(ns: string): void {
    const r = RESOURCES.serviceaccounts;
    if (this.get(r, ns, "default")) return;
    this.put(r, {
      metadata: {
        name: "default",
        namespace: ns,
        uid: randomUUID(),
        resourceVersion: this.nextRV(),
        creationTimestamp: nowRFC3339(),
      },
    });
  }
}

/** The identity a new object gets (kept when given, as on a putObject replace). */
export function stampNew(obj: any): void {
  obj.metadata.uid ??= randomUUID();
  obj.metadata.creationTimestamp ??= nowRFC3339();
}

/** What the namespace controller and serviceaccount controller would add. */
export function namespaceDefaults(obj: any): void {
  obj.metadata.labels = { ...(obj.metadata.labels ?? {}), "kubernetes.io/metadata.name": obj.metadata.name };
  obj.spec = { finalizers: ["kubernetes"], ...(isObj(obj.spec) ? obj.spec : {}) };
  obj.status = { phase: "Active" };
}
