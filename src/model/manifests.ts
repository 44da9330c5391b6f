// Pure: what the cluster should hold -> the documents kubectl applies.
import { SECRET_TYPES, type SecretType } from "./dockerconfig.js";
import { Annotations, MANAGED_BY_LABEL, MANAGER, STATIC_OWNER, ownerRef } from "./naming.js";
import { Secret } from "./secret.js";

export interface TokenRecord {
  id: number;
  username: string;
  expiresAt: string;
  /** "project/42" or "group/7". */
  owner: string;
  registry: string;
  /** Further hosts with the same credentials (--registry-alias). */
  aliases?: readonly string[];
  rotatedAt: string;
}

/** The record of a token just minted for `owner`, written to `hosts` (the registry, then its aliases). */
export function mintedRecord(
  minted: { id: number; username: string; expiresAt: string },
  owner: { kind: string; id: number },
  hosts: readonly string[],
  now: Date,
): TokenRecord {
  return {
    id: minted.id,
    username: minted.username,
    expiresAt: minted.expiresAt,
    owner: ownerRef(owner),
    registry: hosts[0]!,
    aliases: hosts.slice(1),
    rotatedAt: now.toISOString(),
  };
}

export function recordAnnotations(t: TokenRecord): Record<string, string> {
  return {
    [Annotations.tokenId]: String(t.id),
    [Annotations.tokenUsername]: t.username,
    [Annotations.expiresAt]: t.expiresAt,
    [Annotations.owner]: t.owner,
    [Annotations.registry]: t.registry,
    [Annotations.registryAliases]: (t.aliases ?? []).join(","),
    [Annotations.rotatedAt]: t.rotatedAt,
  };
}

/**
 * What a Secret holding static credentials records: `static` where a minted
 * one has its token id and owner, no expiry (the tool does not know one), and
 * the docker config's SHA-256 so the next run can tell whether it changed.
 */
export function staticAnnotations(s: {
  username: string;
  registry: string;
  aliases: readonly string[];
  configSha256: string;
  rotatedAt: string;
}): Record<string, string> {
  return {
    [Annotations.tokenId]: STATIC_OWNER,
    [Annotations.tokenUsername]: s.username,
    [Annotations.owner]: STATIC_OWNER,
    [Annotations.registry]: s.registry,
    [Annotations.registryAliases]: s.aliases.join(","),
    [Annotations.configSha256]: s.configSha256,
    [Annotations.rotatedAt]: s.rotatedAt,
  };
}

/**
 * A `v1 List` of one pull Secret per namespace (type and data key from
 * --secret-type), for a single `kubectl apply --server-side -f -`. Server-side
 * apply owns labels, annotations and data keys per key, so keys other tools
 * set are kept; we always send our full set so none of ours go stale (and
 * annotations a mode does not write, e.g. expires-at for static credentials, go).
 */
export function secretList(args: SecretArgs): Secret {
  const items = secretObjects(args, { [MANAGED_BY_LABEL]: MANAGER });
  return new Secret(JSON.stringify({ apiVersion: "v1", kind: "List", items }));
}

export interface SecretArgs {
  namespaces: readonly string[];
  secretName: string;
  secretType: SecretType;
  payload: Secret;
  annotations: Record<string, string>;
}

/**
 * One pull Secret object per namespace. Holds the payload in clear: callers
 * wrap what they make of it in a Secret at once. Without `labels` the objects
 * carry none (render's manifests are not ours to manage).
 */
export function secretObjects(args: SecretArgs, labels?: Record<string, string>): Record<string, unknown>[] {
  const { type, key } = SECRET_TYPES[args.secretType];
  const data = Buffer.from(args.payload.reveal()).toString("base64");
  return args.namespaces.map((namespace) => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: args.secretName, namespace, ...(labels ? { labels } : {}), annotations: args.annotations },
    type,
    data: { [key]: data },
  }));
}

/** A `v1 List` naming Secrets to read back with `kubectl get -f -`. */
export function secretRefs(namespaces: readonly string[], secretName: string): string {
  const items = namespaces.map((namespace) => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: secretName, namespace },
  }));
  return JSON.stringify({ apiVersion: "v1", kind: "List", items });
}

/**
 * Splits a `v1 List` into at most `parts` Lists of contiguous items, each of
 * at least `minItems` (fewer parts when the List is small). The items hold
 * the payload in clear, so each part is a Secret again at once.
 */
export function splitList(list: Secret, parts: number, minItems: number): Secret[] {
  const doc = JSON.parse(list.reveal()) as { items?: unknown[] };
  const items = doc.items ?? [];
  const n = Math.max(1, Math.min(parts, Math.floor(items.length / Math.max(1, minItems))));
  if (n === 1) return [list];
  const size = Math.ceil(items.length / n);
  const out: Secret[] = [];
  for (let i = 0; i < items.length; i += size)
    out.push(new Secret(JSON.stringify({ ...doc, items: items.slice(i, i + size) })));
  return out;
}
