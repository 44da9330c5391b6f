// The shape of a status report (what `status --json` prints): the Secrets,
// the tokens and their roles, and the findings that need a person. Types only,
// shared by the assessment, the command and the faces.
import type { ApiTokenStatus } from "./apitoken.js";
import type { NamespaceLifecycle } from "../model/errors.js";

export type TokenState = "live" | "expired" | "revoked";

export interface SecretStatus {
  namespace: string;
  present: boolean;
  managed: boolean;
  /** The Secret's type, e.g. kubernetes.io/dockerconfigjson; null when absent. */
  type: string | null;
  /** What a managed Secret holds: a minted deploy token or static credentials; null when absent or unmanaged. */
  credentials: "deploy-token" | "static" | null;
  /** "project/42" as the Secret records it. */
  owner: string | null;
  tokenId: number | null;
  username: string | null;
  expiresAt: string | null;
  daysLeft: number | null;
  /** The recorded token as GitLab sees it; "gone" when GitLab no longer lists it. */
  tokenState: TokenState | "gone" | null;
  /** Where the Secret is absent: the deploy token the next rotate, with these options, copies here (a fill); null otherwise. */
  fillWith: number | null;
  /** Where the Secret is absent: the namespace does not exist ("missing") or is being deleted ("terminating"); null otherwise or when not known. */
  namespaceState: NamespaceLifecycle | null;
}

/**
 * current: a Secret holds it. kept / pending: recorded by the Secrets as kept
 * alive on purpose / left to revoke. orphan: ours, live, unreferenced, older
 * than --sweep-grace. in-flight: the same but younger (a rotation may be
 * running). stale: ours, no longer live, still listed by GitLab. legacy:
 * named for this Secret and namespace set before names carried the cluster's
 * identity, and unreferenced here: another cluster may hold it, so it is not
 * ours to sweep. other-target / other-cluster / unproven: a Secret here holds
 * or records it, but its name says it is not this target's to revoke.
 * held-elsewhere: ours, but a managed Secret outside this target holds it.
 */
export type TokenRole =
  | "current"
  | "kept"
  | "pending"
  | "orphan"
  | "in-flight"
  | "stale"
  | "legacy"
  | "other-target"
  | "other-cluster"
  | "unproven"
  | "held-elsewhere"
  | "unrecorded"
  | "render";

export interface TokenStatus {
  id: number;
  name: string;
  username: string;
  expiresAt: string | null;
  daysLeft: number | null;
  state: TokenState;
  role: TokenRole;
  usedBy: string[];
}

export interface Finding {
  /** attention: needs a person (makes --warn-within exit 3); info: worth knowing. */
  severity: "attention" | "info";
  kind:
    | "missing-namespace"
    | "missing-secret"
    | "unmanaged-secret"
    | "other-owner"
    | "wrong-type"
    | "dead-token"
    | "expiring"
    | "orphan"
    | "pending-revoke"
    | "in-flight"
    | "stale"
    | "overlap"
    | "legacy"
    | "spared"
    | "cluster-wide"
    | "api-token-expiring"
    | "part-of-target"
    | "render";
  message: string;
  tokenId?: number;
  namespaces?: string[];
}

export interface StatusReport {
  secretName: string;
  /** null with static credentials (--username). */
  owner: { kind: string; id: number; path: string } | null;
  static: { username: string } | null;
  /** The Kubernetes type the Secrets should have (--secret-type). */
  secretType: string;
  checkedAt: string;
  warnWithinMs: number | undefined;
  secrets: SecretStatus[];
  tokens: TokenStatus[];
  /** The GitLab API token's own expiry and scopes; null with static credentials. */
  apiToken: ApiTokenStatus | null;
  findings: Finding[];
  attention: boolean;
}
