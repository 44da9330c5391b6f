// Pure: how the tool recognises its own deploy tokens and annotates its Secrets.

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
} as const;

/**
 * The target a token serves: the cluster context and the Secret name. Two
 * pipelines rotating the same Secret on the same cluster share a target; a
 * token's name carries it so sweeps can tell our tokens for this target apart.
 */
export function targetId(context: string | undefined, secretName: string): string {
  return `${context ?? "current-context"}/${secretName}`;
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
