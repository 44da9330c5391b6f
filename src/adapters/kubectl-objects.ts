// What goes to kubectl on stdin and what comes back on stdout: object
// references, access reviews, and the parsed Lists. Pure; only parseSecretData
// touches `data`, and wraps every value at once.
import { Annotations } from "../model/naming.js";
import type { ExistingSecret, ManagedSecretRef } from "../model/ports.js";
import { Secret } from "../model/secret.js";

/** jsonpath escapes the dots of an annotation key. */
const jp = (key: string): string => `{.metadata.annotations.${key.replace(/\./g, "\\.")}}`;

/** One tab-separated line per Secret: where it is and which tokens it records. Never `data`. */
export const MANAGED_FIELDS =
  `{range .items[*]}{.metadata.namespace}{"\\t"}{.metadata.name}{"\\t"}${jp(Annotations.owner)}{"\\t"}` +
  `${jp(Annotations.tokenId)}{"\\t"}${jp(Annotations.keptTokenIds)}{"\\n"}{end}`;

export function parseManagedSecrets(stdout: string): ManagedSecretRef[] {
  return stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      const [namespace = "", name = "", owner = "", tokenId = "", kept = ""] = l.split("\t");
      return { namespace, name, owner, tokenId, kept };
    });
}

/** One SelfSubjectAccessReview per namespace: may we delete Secret `name` there? */
export function deleteReviews(namespaces: readonly string[], name: string): string {
  const items = namespaces.map((namespace) => ({
    apiVersion: "authorization.k8s.io/v1",
    kind: "SelfSubjectAccessReview",
    spec: { resourceAttributes: { namespace, verb: "delete", resource: "secrets", name } },
  }));
  return JSON.stringify({ apiVersion: "v1", kind: "List", items });
}

/** "<namespace> <allowed>" lines -> the namespaces not allowed; one without an answer counts as not allowed. */
export function parseDeleteReviews(stdout: string, namespaces: readonly string[]): string[] {
  const allowed = new Set(
    stdout
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .filter(([, ok]) => ok === "true")
      .map(([ns]) => ns),
  );
  return namespaces.filter((ns) => !allowed.has(ns));
}

export function objectRefs(
  refs: ReadonlyArray<{ kind: string; namespace: string; name: string; apiVersion?: string }>,
): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: refs.map((r) => ({
      apiVersion: r.apiVersion ?? "v1",
      kind: r.kind,
      metadata: { name: r.name, namespace: r.namespace },
    })),
  });
}

/** `kubectl get -o json` prints nothing, one object, or a List. */
export function listItems(stdout: string): Array<Record<string, unknown> & { kind?: string }> {
  const text = stdout.trim();
  if (text === "") return [];
  const doc = JSON.parse(text) as { kind?: string; items?: unknown[] };
  return (doc.kind === "List" || Array.isArray(doc.items) ? (doc.items ?? []) : [doc]) as Array<
    Record<string, unknown> & { kind?: string }
  >;
}

/** `kubectl get -o json` prints nothing, one object, or a List. */
export function parseSecrets(stdout: string): ExistingSecret[] {
  const text = stdout.trim();
  if (text === "") return [];
  const doc = JSON.parse(text) as { kind?: string; items?: unknown[] };
  const items = doc.kind === "List" || Array.isArray(doc.items) ? (doc.items ?? []) : [doc];
  return items.map((raw) => {
    const o = raw as { type?: string; metadata?: Record<string, unknown> };
    const md = o.metadata ?? {};
    return {
      namespace: String(md.namespace),
      type: String(o.type ?? "Opaque"),
      labels: (md.labels as Record<string, string>) ?? {},
      annotations: (md.annotations as Record<string, string>) ?? {},
      resourceVersion: String(md.resourceVersion ?? ""),
    };
  });
}

/** `kubectl get secret -o json` of one Secret -> its metadata and its data, each value decoded and wrapped; undefined when empty. */
export function parseSecretData(stdout: string): { secret: ExistingSecret; data: Record<string, Secret> } | undefined {
  if (stdout.trim() === "") return undefined;
  const raw = JSON.parse(stdout) as { data?: Record<string, unknown> };
  const data: Record<string, Secret> = {};
  for (const [key, value] of Object.entries(raw.data ?? {}))
    data[key] = new Secret(Buffer.from(String(value), "base64").toString("utf8"));
  return { secret: parseSecrets(stdout)[0]!, data };
}
