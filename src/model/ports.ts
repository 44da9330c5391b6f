// The small interfaces through which the commands talk to the world, all in
// one place. The real implementations live in src/adapters/ (gitlab.ts,
// kubectl.ts, registry.ts) and are put together by adapters/wiring.ts; tests
// may pass their own.
import type { KubeEvent } from "./events.js";
import type { Secret } from "./secret.js";
import type { ServiceAccountState } from "./serviceaccounts.js";

export interface Owner {
  kind: "project" | "group";
  /** Numeric id or full path, as the user gave it. */
  ref: string;
}

export interface ResolvedOwner {
  kind: Owner["kind"];
  id: number;
  path: string;
  /** `<registry host[:port]>/<path>` when the instance registry is on (projects only). */
  registryImagePrefix: string | undefined;
  /** "enabled" | "private" | "disabled" (projects only). */
  registryAccessLevel: string | undefined;
}

export interface MintedToken {
  id: number;
  name: string;
  username: string;
  /** ISO 8601 as GitLab returns it. */
  expiresAt: string;
  token: Secret;
}

/** The API token's own details (GET /personal_access_tokens/self). */
export interface ApiTokenSelf {
  id: number;
  name: string;
  scopes: string[];
  /** `YYYY-MM-DD`: the token stops working at 00:00 UTC that day. null: it never expires (created before GitLab 16.0). */
  expiresAt: string | null;
}

/** What a run may ask GitLab without changing anything: plan and status get only this. */
export interface GitLabReader {
  resolveOwner(owner: Owner): Promise<ResolvedOwner>;
  /**
   * Every deploy token of the owner, all pages, revoked and expired ones included
   * (`expiresAt` null = never expires).
   */
  listDeployTokens(owner: ResolvedOwner): Promise<Array<TokenView & { username: string }>>;
  /**
   * The API token's own expiry and scopes. GitLab before 15.5 refuses it
   * (apitoken.ts says so and carries on).
   */
  apiTokenSelf(): Promise<ApiTokenSelf>;
  /**
   * The API token's user's role on the owner, as GitLab's access levels (40 Maintainer, 50 Owner):
   * what rotate needs to create deploy tokens there.
   */
  callerAccess(owner: ResolvedOwner): Promise<CallerAccess>;
}

/** What changes GitLab: only a run that holds the target's Lease gets it. */
export interface GitLabWriter {
  /** `scopes`: what the token may do (--scope), sent as given. */
  createDeployToken(
    owner: ResolvedOwner,
    req: { name: string; expiresAt: string; scopes: readonly string[] },
  ): Promise<MintedToken>;
  /** Deletes the token; a token already gone counts as revoked. */
  revokeDeployToken(owner: ResolvedOwner, id: number): Promise<"revoked" | "already-gone">;
}

export type GitLabPort = GitLabReader & GitLabWriter;

/**
 * Whose the API token is, which decides its rotate endpoint: a personal access
 * token, or a project's or group's access token (the token of that resource's bot user).
 */
export type ApiTokenOwner = { kind: "personal" } | { kind: "project" | "group"; id: number };

/** The API token after its rotation: the old value is already revoked. */
export interface RotatedApiToken {
  id: number;
  name: string;
  /** `YYYY-MM-DD`. */
  expiresAt: string;
  token: Secret;
}

/** The reads rotate-api-token makes about the token it runs with (the GitLab port implements them). */
export interface ApiTokenSelfReader {
  apiTokenSelf(): Promise<ApiTokenSelf>;
  /** GET /user: a bot user `project_<id>_bot_…` or `group_<id>_bot_…` holds that resource's access token. */
  apiTokenOwner(): Promise<ApiTokenOwner>;
}

/** The one write: rotate the token the port runs with. */
export interface ApiTokenSelfWriter {
  /**
   * POST .../self/rotate, sent exactly once and never retried, whatever happens:
   * after it the old value is dead, and presenting it again to a rotate endpoint
   * revokes the whole token family. A failure whose outcome is unknown (no
   * answer) says so (`GitLabError` with status undefined).
   */
  rotateApiTokenSelf(owner: ApiTokenOwner, expiresAt: string): Promise<RotatedApiToken>;
}

export type ApiTokenSelfPort = ApiTokenSelfReader & ApiTokenSelfWriter;

/** Where the API token's value lives, that rotate-api-token writes the new value to. */
export interface ApiTokenStoreReader {
  readonly kind: "gitlab-variable" | "kubernetes-secret" | "github-secret";
  /** Where, in words for messages (never a value): `CI/CD variable GITLAB_TOKEN of project grp/app`. */
  readonly where: string;
  /**
   * The value it holds, read with `auth` where GitLab is asked; undefined when the
   * store never shows its value (a hidden variable, an Actions secret). Throws when
   * it is missing or refused.
   */
  read(auth: Secret): Promise<Secret | undefined>;
  /**
   * Proves a write is allowed, changing nothing: writes `current` (what read()
   * answered) back unchanged, or, when the value cannot be read, asks the
   * API's permission answers. `auth` is the API token this run holds: GitLab's
   * credential, and the value an Actions secret (which has no permission
   * answer and never shows its value) is written back with, being where the
   * token came from. Throws naming what is missing.
   */
  proveWritable(current: Secret | undefined, auth: Secret): Promise<void>;
}

export interface ApiTokenStoreWriter {
  /**
   * Writes `value`, keeping everything else of the store as it is (a variable's flags); `auth` is GitLab's token.
   * Resolves to how the store itself confirmed the write when its value can never be read back (an Actions
   * secret: its updated_at), in words for messages; undefined when the command is to read it back.
   */
  write(value: Secret, auth: Secret): Promise<string | undefined>;
}

export type ApiTokenStore = ApiTokenStoreReader & ApiTokenStoreWriter;

/**
 * Where the new API token is kept if writing it to its store fails after the
 * rotation (--api-token-recovery-file): prepared before rotating, so a
 * recovery that could not be written stops the run while nothing has changed.
 */
export interface ApiTokenRecovery {
  readonly where: string;
  /** Creates it empty, owner-only (0600); refuses one that exists (it may hold an earlier run's token). */
  prepare(): Promise<void>;
  /** Writes the value into the prepared file. */
  keep(value: Secret): Promise<void>;
  /** Removes the prepared (empty) file after a run that needs no recovery. */
  discard(): Promise<void>;
}

/** What rotate-api-token is handed: it holds no Lease and touches no pull Secret. */
export interface ApiTokenPorts {
  gitlab: ApiTokenSelfPort;
  store: ApiTokenStore;
  /** undefined without --api-token-recovery-file. */
  recovery: ApiTokenRecovery | undefined;
  clock: Clock;
  log: Log;
  sleep: (ms: number) => Promise<void>;
}

export interface CallerAccess {
  /** The highest access level on the owner (direct or inherited); 0: not a member; undefined: GitLab did not say. */
  level: number | undefined;
  /** An administrator may create deploy tokens anywhere; asked only when the level falls short (one more request). */
  isAdmin(): Promise<boolean>;
}

export interface ExistingSecret {
  namespace: string;
  type: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  resourceVersion: string;
}

/** What the cluster-wide list of managed Secrets tells about each: where it is and which tokens it records. */
export interface ManagedSecretRef {
  namespace: string;
  name: string;
  /** The owner annotation ("project/42"); "" when absent. */
  owner: string;
  /** The token-id annotation as written. */
  tokenId: string;
  /** The kept-token-ids annotation as written. */
  kept: string;
}

export interface TargetState {
  secrets: ExistingSecret[];
  serviceAccounts: ServiceAccountState[];
}

/** A namespace as the API server reports it; "unknown" when the caller may not read it. */
export type NamespaceState = "active" | "terminating" | "missing" | "unknown";

/** What a run may ask the cluster without changing anything (a server dry run changes nothing). */
export interface KubeReader {
  /**
   * The Secrets named `secretName` and the ServiceAccounts named (or all, for
   * "*") in these namespaces, in as few kubectl calls as the API allows.
   */
  readTarget(
    namespaces: readonly string[],
    secretName: string,
    serviceAccounts: readonly string[],
  ): Promise<TargetState>;
  /** Names of the namespaces matching a label selector. */
  listNamespaces(selector: string): Promise<string[]>;
  /**
   * Whether these namespaces exist and are not being deleted. Needs get on
   * namespaces (cluster scope); where that is refused the answer is "unknown".
   */
  namespaceStates(names: readonly string[]): Promise<Map<string, NamespaceState>>;
  /** The Secrets named `name` that exist in these namespaces (missing ones are absent from the result). */
  readSecrets(namespaces: readonly string[], name: string): Promise<ExistingSecret[]>;
  /**
   * One Secret with its data: fill reads the current token from one of our
   * Secrets to copy it. Every value is decoded and wrapped at once; undefined
   * when the Secret does not exist.
   */
  readSecretData(
    namespace: string,
    name: string,
  ): Promise<{ secret: ExistingSecret; data: Record<string, Secret> } | undefined>;
  /**
   * Every Secret labelled as ours in the whole cluster (one labelled list), or
   * "forbidden" when RBAC refuses listing Secrets cluster-wide. Only the
   * metadata a run needs leaves kubectl, never the Secrets' data.
   */
  listManagedSecrets(): Promise<ManagedSecretRef[] | "forbidden">;
  /**
   * The namespaces where the caller may NOT delete the Secret `name`
   * (SelfSubjectAccessReviews: asks, changes nothing, needs no grant).
   */
  forbiddenSecretDeletes(namespaces: readonly string[], name: string): Promise<string[]>;
  /**
   * The server-side dry run of applying this v1 List: the API server
   * authorizes and validates it exactly like the apply, and persists nothing.
   * `force` as in applySecrets.
   */
  dryRunSecrets(list: Secret, opts: { force: boolean }): Promise<void>;
  /**
   * The server-side dry run of creating the namespaces that do not exist
   * (plan's view of --create-namespace); returns those the apply would create.
   */
  dryRunNamespaces(names: readonly string[]): Promise<string[]>;
}

/** What changes the cluster: only a run that holds the target's Lease gets it (lease-guard.ts wraps it). */
export interface KubeWriter {
  /**
   * Server-side apply of a v1 List; `force` takes fields other managers own
   * (only when the user asked to adopt a Secret).
   */
  applySecrets(list: Secret, opts: { force: boolean }): Promise<void>;
  /**
   * Creates the namespaces that do not exist (server-side apply; existing ones
   * are left as they are); returns those it created.
   */
  applyNamespaces(names: readonly string[]): Promise<string[]>;
  /** Writes whole ServiceAccounts back with their resourceVersion; "conflict" when any was changed since it was read. */
  replaceServiceAccounts(objects: readonly Record<string, unknown>[]): Promise<"ok" | "conflict">;
  /**
   * Teardown: deletes the Secrets named `name` in these namespaces (callers
   * pass only namespaces whose Secret is ours); one already gone is fine.
   */
  deleteSecrets(namespaces: readonly string[], name: string): Promise<void>;
}

export type KubePort = KubeReader & KubeWriter;

export interface Clock {
  now(): Date;
}

/** Calls `fn` once after `ms`; the returned function cancels it. The live one never keeps the process alive (unref'd). */
export interface Timer {
  after(ms: number, fn: () => void): () => void;
}

/** Where progress goes. Every line passes the reporter's redaction. */
export interface Log {
  info(message: string): void;
  warn(message: string): void;
  /** Registers a secret form so no later output can show it (Action: core.setSecret). */
  secret(value: string): void;
}

export interface TokenView {
  id: number;
  name: string;
  expiresAt: string | null;
  revoked: boolean;
  /** As GitLab lists them (a changed --scope makes the current token due). */
  scopes: readonly string[];
}

/** Lists every deploy token of the owner (all pages). */
export interface TokenLister {
  listDeployTokens(owner: ResolvedOwner): Promise<TokenView[]>;
}

export type DeployTokenInfo = Awaited<ReturnType<GitLabPort["listDeployTokens"]>>[number];

/** What the pull check is asked: the adapter's VerifyRequest is this type. */
export interface PullCheckRequest {
  /** host[:port] exactly as in image references, e.g. gitlab.example.com:5005. */
  registry: string;
  /** Repository path below the registry, e.g. grp/app (lowercase, as GitLab stores it). */
  repository: string;
  /** With a tag the manifest is fetched; without, the check stops at the token's access. */
  tag: string | undefined;
  username: string;
  password: Secret;
  /**
   * Whose credentials: a GitLab deploy token (the default) or static ones for
   * any registry (--username). Only the hints of a failure differ.
   */
  credentials?: "deploy-token" | "static";
}

export interface PullVerifier {
  verifyPull(req: PullCheckRequest): Promise<{ digest?: string; anonymous?: boolean }>;
}

export interface LeaseState {
  /** "" when nobody holds it (released). */
  holder: string;
  /** Last time the holder claimed or renewed it (ISO); "" when released. */
  renewTime: string;
  /** When the holder claimed it (MicroTime as stored); kept as is by renewals. */
  acquireTime?: string;
  durationSeconds: number;
  resourceVersion: string;
  /** Server-assigned, stable for as long as the Lease exists. */
  uid: string;
  /**
   * Our annotations on it (model/target-record.ts): the cluster's identity and
   * where each selector target wrote its Secrets. Every write of the Lease
   * carries them, so a claim, renewal or release never drops them.
   */
  annotations?: Record<string, string>;
}

export interface LockReader {
  /** The Lease as it is, or undefined when there is none. */
  readLease(namespace: string, name: string): Promise<LeaseState | undefined>;
  /**
   * The Leases of that name in these namespaces, in one call; a namespace that
   * is gone or refuses the read has none.
   */
  readLeases(namespaces: readonly string[], name: string): Promise<Map<string, LeaseState>>;
}

export interface LockWriter {
  /** Creates the Lease held by `holder`, with `annotations`; undefined when someone created it first. */
  createLease(
    namespace: string,
    name: string,
    holder: string,
    durationSeconds: number,
    now: Date,
    annotations: Record<string, string>,
  ): Promise<LeaseState | undefined>;
  /**
   * Claims a free or stale Lease if it still has `resourceVersion`, keeping
   * `annotations` (ours, as read); undefined when someone else changed it first.
   */
  claimLease(
    namespace: string,
    name: string,
    holder: string,
    durationSeconds: number,
    now: Date,
    resourceVersion: string,
    annotations: Record<string, string>,
  ): Promise<LeaseState | undefined>;
  /**
   * Moves renewTime to `now` and writes `held.annotations` if the Lease is
   * still as `held` left it (a resourceVersion-guarded replace); undefined when it was changed or
   * deleted since (the caller reads it to learn by whom).
   */
  renewLease(namespace: string, name: string, held: LeaseState, now: Date): Promise<LeaseState | undefined>;
  /** Clears the holder if the Lease is still as `held` left it (a Lease taken over from us is not ours to clear). */
  releaseLease(namespace: string, name: string, held: LeaseState): Promise<void>;
}

export type LockPort = LockReader & LockWriter;

/**
 * Everything a command that changes nothing is handed (plan, status): the
 * type system refuses it a write.
 */
export interface Readers {
  gitlab: GitLabReader & TokenLister;
  kube: KubeReader;
  lock: LockReader;
  verifier: PullVerifier;
  clock: Clock;
  log: Log;
}

/** Readers and writers: what a run that holds the target's Lease is handed. */
export interface Ports {
  gitlab: GitLabPort & TokenLister;
  kube: KubePort;
  lock: LockPort;
  verifier: PullVerifier;
  clock: Clock;
  log: Log;
  sleep: (ms: number) => Promise<void>;
  /** Runs the Lease's renewal while a run holds it. */
  timer: Timer;
  /** Unique suffix for this run's token name and lock holder. */
  nonce: () => string;
}

/**
 * Records Kubernetes Events (events.k8s.io/v1). Never fails a run: "forbidden"
 * when RBAC refuses create on events (every one of them), otherwise how many
 * were created and what kubectl said about the rest (redacted).
 */
export interface EventPort {
  createEvents(
    events: readonly KubeEvent[],
    at: Date,
  ): Promise<{ created: number; refused: "forbidden" | undefined; failures: string[] }>;
}
