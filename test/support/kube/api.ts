// The stand-in's public API: the resources it serves, RBAC rules and
// denials, recorded requests, injected faults, and the handle tests drive.

/** events: events.k8s.io/v1 Events, also listed as core/v1 Events (what `kubectl events` and `kubectl describe` read). */
export type KubeResource = "secrets" | "serviceaccounts" | "leases" | "namespaces" | "events";

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

/** Requests matching method, path and query wait until `until` holds for the paths of those that arrived, or `timeoutMs`. */
export interface Hold {
  method?: string;
  path: RegExp;
  query?: RegExp;
  until: (arrived: readonly string[]) => boolean;
  timeoutMs: number;
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
  /** Matching requests wait until what has arrived of them satisfies `until` (holds.ts). */
  hold(h: Hold): void;
  /** Clears the faults and the holds, releasing every held request. */
  clearFaults(): void;
  close(): Promise<void>;
}
