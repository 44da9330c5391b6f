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
  /** The target whose run wrote the Secret (naming.ts targetId): another target finds its overlap named. */
  target: `${ANNOTATION}/target`,
  /** That target's namespaces or selector, for people ("namespaces a,b"). */
  targetSpec: `${ANNOTATION}/target-spec`,
  /** The namespace of the Lease the run that wrote it held: where the target's record is (model/target-record.ts). */
  lease: `${ANNOTATION}/lease`,
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
 * The cluster part of a target: the server-assigned uid of our Lease in the
 * first target namespace (lock.ts). A kubeconfig's context name says nothing
 * about which cluster it reaches (copied kubeconfigs, k3s "default", kind, no
 * --context at all), so it no longer names the cluster.
 */
export function clusterKey(leaseUid: string): string {
  return `cluster-${leaseUid}`;
}

/** The uid in a clusterKey; undefined for anything else (a context name of the old naming). */
export function clusterUidOf(part: string): string | undefined {
  return isClusterKey(part) ? part.slice("cluster-".length) : undefined;
}

const CLUSTER_KEY = /^cluster-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A cluster part written by this version (a Lease uid), not a legacy context name. */
export function isClusterKey(part: string): boolean {
  return CLUSTER_KEY.test(part);
}

/** The hash of a namespace spec: order-free, the same in every cluster. */
export function namespaceSetHash(namespaces: readonly string[]): string {
  return createHash("sha256")
    .update([...namespaces].sort().join(","))
    .digest("hex")
    .slice(0, 8);
}

/**
 * The target a token serves: the cluster (clusterKey), the Secret name and
 * the set of namespaces (hashed, order-free). A token's name carries it, so a
 * run only ever revokes or sweeps tokens minted for exactly this target, never
 * those of another cluster or of a pipeline that manages the same Secret name
 * in other namespaces.
 */
export function targetId(cluster: string, secretName: string, namespaces: readonly string[]): string {
  return `${cluster}/${secretName}/${namespaceSetHash(namespaces)}`;
}

/** The parts of one of our token names; `cluster` is a clusterKey, or a context name for legacy tokens. */
export interface TokenTarget {
  cluster: string;
  secretName: string;
  set: string;
  /** `<cluster>/<secret>/<set>`, as targetId makes it. */
  id: string;
}

/**
 * Reads the target back from a token name `<prefix>/<cluster>/<secret>/<set>/<stamp>-<nonce>`;
 * undefined when the name is not one of ours. Legacy context names may hold '/'
 * (GitLab agent contexts do), Secret names never do, so it parses from the end.
 */
export function parseTokenName(prefix: string, name: string): TokenTarget | undefined {
  if (!name.startsWith(`${prefix}/`)) return undefined;
  const rest = name.slice(prefix.length + 1);
  const cut = rest.lastIndexOf("/");
  if (cut < 0 || !/^\d{8}T\d{6}Z-[0-9a-f]+$/.test(rest.slice(cut + 1))) return undefined;
  return parseTargetId(rest.slice(0, cut));
}

/** Reads a target id `<cluster>/<secret>/<set>` (targetId, the target annotation) back; undefined when it is not one. */
export function parseTargetId(id: string): TokenTarget | undefined {
  const parts = id.split("/");
  if (parts.length < 3) return undefined;
  const [secretName, set] = parts.slice(-2) as [string, string];
  const cluster = parts.slice(0, -2).join("/");
  if (!/^[0-9a-f]{8}$/.test(set) || cluster === "") return undefined;
  return { cluster, secretName, set, id: `${cluster}/${secretName}/${set}` };
}

/** Unique per run, so a create whose response was lost can be found by name. */
export function tokenName(prefix: string, target: string, now: Date, nonce: string): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
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

/** A target, as ownership.ts compares token names against it (built by commands/target.ts). */
export interface TargetRef {
  /** clusterKey(Lease uid); undefined when the Lease does not exist yet (read-only commands before any rotation). */
  cluster: string | undefined;
  /** clusterKeys this cluster gave the target before its lock moved (target-record.ts earlierIdentities): still its own. */
  earlier: readonly string[];
  secretName: string;
  /** namespaceSetHash of the spec. */
  set: string;
  /** The full id, when the cluster is known. */
  id: string | undefined;
  /** For people: "namespaces a, b" or "selector team=x, excluding y". */
  describe: string;
}
