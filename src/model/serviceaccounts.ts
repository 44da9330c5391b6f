// Pure: adding our Secret to ServiceAccounts' imagePullSecrets without taking
// anyone else's entry away.
//
// That list is atomic on the API server: a strategic-merge patch replaces it
// and a server-side apply conflicts with its other managers (test/fixtures/kube
// README). So we read the ServiceAccount, add our entry to the list as read,
// and write the whole object back with its resourceVersion: a stale read gets
// 409 and is retried from a fresh read. A JSON patch with a `test` of the
// resourceVersion gives the same guarantee but needs one kubectl process per
// ServiceAccount; `kubectl replace -f -` of a List sends them all in one.

export interface ServiceAccountState {
  namespace: string;
  name: string;
  resourceVersion: string;
  pullSecrets: string[];
  /** The object as read (kubectl strips managedFields, which the server keeps on update). */
  raw: Record<string, unknown>;
}

export function parseServiceAccount(raw: Record<string, unknown>): ServiceAccountState {
  const md = (raw.metadata ?? {}) as Record<string, unknown>;
  const list = Array.isArray(raw.imagePullSecrets) ? (raw.imagePullSecrets as Array<{ name?: unknown }>) : [];
  return {
    namespace: String(md.namespace),
    name: String(md.name),
    resourceVersion: String(md.resourceVersion ?? ""),
    pullSecrets: list.map((e) => String(e.name ?? "")),
    raw,
  };
}

/** The ServiceAccounts a run should touch: named ones, or all in each namespace for "*". */
export function selectServiceAccounts(
  all: readonly ServiceAccountState[],
  namespaces: readonly string[],
  names: readonly string[],
): ServiceAccountState[] {
  const inScope = all.filter((sa) => namespaces.includes(sa.namespace));
  return names.includes("*") ? inScope : inScope.filter((sa) => names.includes(sa.name));
}

/** Named ServiceAccounts that do not exist, as namespace/name. */
export function missingServiceAccounts(
  found: readonly ServiceAccountState[],
  namespaces: readonly string[],
  names: readonly string[],
): string[] {
  if (names.includes("*")) return [];
  const have = new Set(found.map((sa) => `${sa.namespace}/${sa.name}`));
  return namespaces.flatMap((ns) => names.map((n) => `${ns}/${n}`)).filter((key) => !have.has(key));
}

/** The object to write back so it references `secretName`, or undefined when it already does. */
export function withPullSecret(sa: ServiceAccountState, secretName: string): Record<string, unknown> | undefined {
  if (sa.pullSecrets.includes(secretName)) return undefined;
  const list = Array.isArray(sa.raw.imagePullSecrets) ? (sa.raw.imagePullSecrets as unknown[]) : [];
  return { ...sa.raw, imagePullSecrets: [...list, { name: secretName }] };
}

/** The object without our entry (teardown), or undefined when it has none. */
export function withoutPullSecret(sa: ServiceAccountState, secretName: string): Record<string, unknown> | undefined {
  if (!sa.pullSecrets.includes(secretName)) return undefined;
  const list = (sa.raw.imagePullSecrets as Array<{ name?: unknown }>).filter((e) => e.name !== secretName);
  const { imagePullSecrets: _dropped, ...rest } = sa.raw;
  return list.length > 0 ? { ...rest, imagePullSecrets: list } : rest;
}

export function serviceAccountList(objects: readonly Record<string, unknown>[]): string {
  return JSON.stringify({ apiVersion: "v1", kind: "List", items: objects });
}
