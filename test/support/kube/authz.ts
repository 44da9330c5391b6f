// Authentication and authorization: bearer-token users, RBAC-like rules
// (ClusterRole or a Role bound in listed namespaces), denials tests force,
// what default RBAC refuses system:anonymous, and SelfSubjectAccessReviews
// (`kubectl auth can-i`). Forbidden messages follow
// responsewriters.forbiddenMessage + errors.NewForbidden.
import type { IncomingMessage } from "node:http";
import { randomBytes } from "node:crypto";
import type { DenyRule, PolicyRule } from "./api.ts";
import type { Ctx } from "./context.ts";
import { send } from "./context.ts";
import { decodeKubeProtobuf } from "./discovery.ts";
import { clone, isObj } from "./json.ts";
import { RESOURCES, type ResDef } from "./resources.ts";
import { ApiError, badRequest, q } from "./status.ts";
import type { Store } from "./store.ts";

export interface User {
  name: string;
  token: string;
  rules: PolicyRule[] | "all";
}

/** RBAC's request attributes (authorizer.AttributesRecord, the parts the rules look at). */
export interface Attrs {
  user: string;
  verb: string;
  group: string;
  resource: string;
  namespace: string;
  name: string;
}

export const ADMIN = "admin";
/**
 * A request with no credentials at all: kube-apiserver's anonymous authenticator
 * (--anonymous-auth defaults to true) makes it system:anonymous, whom default RBAC
 * lets read only the public info paths (system:public-info-viewer). A credential
 * that fails is still 401.
 */
export const ANONYMOUS = "system:anonymous";
const PUBLIC_INFO = new Set(["/version", "/healthz", "/livez", "/readyz"]);
export const SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

const newToken = (): string => randomBytes(24).toString("base64url");

function ruleAllows(rule: PolicyRule, a: Attrs): boolean {
  if (!rule.apiGroups.includes("*") && !rule.apiGroups.includes(a.group)) return false;
  if (!rule.resources.includes("*") && !rule.resources.includes(a.resource)) return false;
  if (!rule.verbs.includes("*") && !rule.verbs.includes(a.verb)) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0 && !rule.resourceNames.includes(a.name)) return false;
  if (rule.namespaces === undefined) return true;
  // a Role: only namespaced requests inside one of its namespaces (a namespace's own object counts: RequestInfo sets namespace = name)
  return a.namespace !== "" && rule.namespaces.includes(a.namespace);
}

/** responsewriters.forbiddenMessage + errors.NewForbidden */
export function forbidden(a: Attrs): ApiError {
  const inner = a.namespace
    ? `User ${q(a.user)} cannot ${a.verb} resource ${q(a.resource)} in API group ${q(a.group)} in the namespace ${q(a.namespace)}`
    : `User ${q(a.user)} cannot ${a.verb} resource ${q(a.resource)} in API group ${q(a.group)} at the cluster scope`;
  const gr = a.group ? `${a.resource}.${a.group}` : a.resource;
  const message = a.name ? `${gr} ${q(a.name)} is forbidden: ${inner}` : `${gr} is forbidden: ${inner}`;
  return new ApiError(403, "Forbidden", message, { name: a.name, group: a.group, kind: a.resource });
}

export class Authz {
  private readonly users = new Map<string, User>();
  private denials: DenyRule[] = [];

  constructor(private readonly store: Store) {
    this.users.set(ADMIN, { name: ADMIN, token: newToken(), rules: "all" });
    store.onNamespaceGone((ns) => this.dropBindings(ns));
  }

  user(name: string): User | undefined {
    return this.users.get(name);
  }

  /** Re-adding replaces the rules and keeps the token, so a kubeconfig already written stays valid. */
  addUser(name: string, rules: PolicyRule[]): void {
    if (name === ADMIN) throw new Error("kube-standin: admin is built in");
    // A Role lives in its namespace: a real server refuses one for a namespace that does not exist (404).
    for (const ns of rules.flatMap((r) => r.namespaces ?? [])) {
      if (!this.store.get(RESOURCES.namespaces, undefined, ns))
        throw new Error(`kube-standin: no namespace ${ns} to hold a Role for ${name}`);
    }
    const prev = this.users.get(name);
    this.users.set(name, { name, token: prev?.token ?? newToken(), rules: clone(rules) });
  }

  deny(rule: DenyRule): void {
    this.denials.push({ ...rule });
  }

  clearDenials(): void {
    this.denials = [];
  }

  /** No Authorization header: system:anonymous; a bearer token nobody holds (or another scheme): undefined, a 401. */
  authenticate(req: IncomingMessage): User | undefined {
    if (req.headers.authorization === undefined) return { name: ANONYMOUS, token: "", rules: [] };
    const h = String(req.headers.authorization);
    const m = h.match(/^Bearer\s+(\S+)$/i);
    if (!m) return undefined;
    for (const u of this.users.values()) if (u.token === m[1]) return u;
    return undefined;
  }

  allowed(user: User, a: Attrs): boolean {
    if (this.denied(a)) return false;
    if (user.rules === "all") return true;
    return user.rules.some((rule) => ruleAllows(rule, a));
  }

  authorize(ctx: Ctx, r: ResDef, verb: string, namespace: string, name: string): void {
    const a: Attrs = { user: ctx.user.name, verb, group: r.group, resource: r.name, namespace, name };
    if (!this.allowed(ctx.user, a)) throw forbidden(a);
  }

  /** patch.go withAuthorization: create-on-update/apply is also authorized as "create"; the message carries the (empty) RBAC reason. */
  authorizeCreateOnUpdate(ctx: Ctx, r: ResDef, namespace: string, name: string): void {
    const a: Attrs = { user: ctx.user.name, verb: "create", group: r.group, resource: r.name, namespace, name };
    if (!this.allowed(ctx.user, a)) {
      const gr = r.group ? `${r.name}.${r.group}` : r.name;
      throw new ApiError(403, "Forbidden", `${gr} ${q(name)} is forbidden: `, { name, group: r.group, kind: r.name });
    }
  }

  /** SelfSubjectAccessReview: the same decision authorize() makes, reported instead of enforced. */
  selfSubjectAccessReview(ctx: Ctx): void {
    let review: any;
    try {
      const ct = String(ctx.req.headers["content-type"] ?? "");
      review = ct.startsWith("application/vnd.kubernetes.protobuf")
        ? decodeKubeProtobuf(ctx.body)
        : JSON.parse(ctx.body.toString("utf8"));
    } catch {
      throw badRequest("the object provided is unrecognized (must be of type SelfSubjectAccessReview)");
    }
    const ra = review?.spec?.resourceAttributes;
    let ok = false;
    if (isObj(ra)) {
      const a: Attrs = {
        user: ctx.user.name,
        verb: String(ra.verb ?? ""),
        group: String(ra.group ?? ""),
        resource: String(ra.resource ?? ""),
        namespace: String(ra.namespace ?? ""),
        name: String(ra.name ?? ""),
      };
      ok = this.allowed(ctx.user, a);
    } else if (isObj(review?.spec?.nonResourceAttributes)) ok = true;
    send(ctx, 201, {
      kind: "SelfSubjectAccessReview",
      apiVersion: "authorization.k8s.io/v1",
      metadata: { creationTimestamp: null },
      spec: review?.spec ?? {},
      status: { allowed: ok, ...(ok ? {} : { reason: "" }) },
    });
  }

  private denied(a: Attrs): boolean {
    return this.denials.some(
      (d) =>
        (d.user === undefined || d.user === a.user) &&
        (d.namespace === undefined || d.namespace === a.namespace) &&
        (d.verb === undefined || d.verb === a.verb) &&
        (d.resource === undefined || d.resource === a.resource),
    );
  }

  /**
   * What deleting a namespace takes with it beside its objects: the RoleBindings
   * in it. A PolicyRule with `namespaces` models a Role bound in each of them,
   * so the namespace leaves every such list (recreating the namespace does not
   * bring the binding back).
   */
  private dropBindings(ns: string): void {
    for (const user of this.users.values()) {
      if (user.rules === "all") continue;
      for (const rule of user.rules) if (rule.namespaces) rule.namespaces = rule.namespaces.filter((n) => n !== ns);
    }
  }
}

/**
 * What default RBAC refuses system:anonymous before any handler runs. Discovery
 * and openapi are non-resource paths for authenticated users only: the
 * authorizer's non-resource message, verb the lower-cased method (request
 * info). SelfSubjectAccessReviews need system:basic-user, also authenticated
 * only. Resource requests fall through to RBAC, which has no rules for anonymous.
 */
export function refuseAnonymous(ctx: Ctx, path: string): void {
  if (PUBLIC_INFO.has(path)) return;
  const seg = path.split("/").filter(Boolean);
  const resourceRequest = (seg[0] === "api" && seg.length >= 3) || (seg[0] === "apis" && seg.length >= 4);
  if (!resourceRequest) {
    const verb = (ctx.req.method ?? "GET").toLowerCase();
    throw new ApiError(
      403,
      "Forbidden",
      `forbidden: User ${q(ANONYMOUS)} cannot ${verb} path ${q(ctx.url.pathname)}`,
      {},
    );
  }
  if (path === SSAR_PATH) {
    throw forbidden({
      user: ANONYMOUS,
      verb: "create",
      group: "authorization.k8s.io",
      resource: "selfsubjectaccessreviews",
      namespace: "",
      name: "",
    });
  }
}
