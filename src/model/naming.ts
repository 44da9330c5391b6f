// Pure: how the tool recognises its own deploy tokens and annotates its Secrets.
import { createHash } from "node:crypto";

export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGER = "gitlab-pull-secret";
const ANNOTATION = "gitlab-pull-secret.io";

export const Annotations = {
  tokenId: `${ANNOTATION}/token-id`,
  tokenUsername: `${ANNOTATION}/token-username`,
  expiresAt: `${ANNOTATION}/expires-at`,
  owner: `${ANNOTATION}/owner`,
  registry: `${ANNOTATION}/registry`,
  rotatedAt: `${ANNOTATION}/rotated-at`,
  /** Previous tokens deliberately kept alive (--keep-previous), newest first. */
  keptTokenIds: `${ANNOTATION}/kept-token-ids`,
  /** Previous tokens whose revoke failed; the next run revokes them first. */
  revokePending: `${ANNOTATION}/revoke-pending`,
  /** Further hosts the docker config names with the same credentials (--registry-alias), comma-separated. */
  registryAliases: `${ANNOTATION}/registry-aliases`,
  /** Static credentials only: SHA-256 of the docker config, so a run can tell whether the content changed. */
  configSha256: `${ANNOTATION}/config-sha256`,
} as const;

/**
 * The owner annotation of a Secret holding static credentials (--username),
 * where a GitLab-minted one records "project/42" or "group/7". Its token-id
 * annotation says the same, so nothing reads it as a token to revoke.
 */
export const STATIC_OWNER = "static";

/** "project/42", "group/7", or STATIC_OWNER for static credentials (no GitLab owner). */
export function ownerRef(owner: { kind: string; id: number } | null): string {
  return owner ? `${owner.kind}/${owner.id}` : STATIC_OWNER;
}

/**
 * The target a token serves: the cluster context, the Secret name and the set
 * of namespaces (hashed, order-free). A token's name carries it, so a sweep
 * only ever touches tokens minted for exactly this target, never those of a
 * pipeline that manages the same Secret name in other namespaces.
 */
export function targetId(context: string | undefined, secretName: string, namespaces: readonly string[]): string {
  const set = createHash("sha256").update([...namespaces].sort().join(",")).digest("hex").slice(0, 8);
  return `${context ?? "current-context"}/${secretName}/${set}`;
}

/** Unique per run, so a create whose response was lost can be found by name. */
export function tokenName(prefix: string, target: string, now: Date, nonce: string): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  const name = `${prefix}/${target}/${stamp}-${nonce}`;
  // GitLab's limit is 255; keep the unique tail when a long context name must give way.
  return name.length <= 255 ? name : `${name.slice(0, 255 - stamp.length - nonce.length - 2)}/${stamp}-${nonce}`;
}

export function ownsTokenName(prefix: string, target: string, name: string): boolean {
  return name.startsWith(`${prefix}/${target}/`);
}

/** When a token of ours was minted, read back from its name; undefined when the name is not ours. */
export function mintedAt(name: string): Date | undefined {
  const m = /\/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-[0-9a-f]+$/.exec(name);
  if (!m) return undefined;
  const d = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
