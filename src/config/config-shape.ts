// The shape of a validated Config and the closed sets its fields draw from.
// Types only (and the lists they derive from), so every parser module and every
// consumer can name them without pulling in the parsing itself.
import type { SecretType } from "../model/dockerconfig.js";
import type { Owner } from "../model/ports.js";
import type { Secret } from "../model/secret.js";
import type { ProxySettings } from "./proxy-settings.js";
import type { ObserveSettings } from "./observe-shape.js";

export type Face = "cli" | "action";

/** What --missing-namespace may say about a listed namespace that is missing or being deleted. */
export const MISSING_NAMESPACE_MODES = ["fail", "skip", "create"] as const;
export type MissingNamespaceMode = (typeof MISSING_NAMESPACE_MODES)[number];

/**
 * Where the Secret's credentials come from: a deploy token the tool mints for
 * a GitLab owner (and revokes later), or static credentials given by the user
 * (--username), which are only applied: no GitLab call, nothing minted or revoked.
 */
export type Credentials =
  | { kind: "deploy-token"; gitlabToken: Secret; owner: Owner }
  | {
      kind: "static";
      username: string;
      /** Absent only for commands that never write credentials (status, revoke). */
      password: Secret | undefined;
    };

/** Where rotate-api-token writes the API token's new value (--api-token-store). */
export type ApiTokenStoreSpec =
  | {
      kind: "gitlab-variable";
      owner: Owner;
      key: string;
      /** filter[environment_scope]; undefined: the key must be unique. */
      environmentScope: string | undefined;
    }
  | { kind: "kubernetes-secret"; namespace: string; name: string; key: string }
  | {
      kind: "github-secret";
      owner: string;
      repo: string;
      /** As GitHub stores it: upper case. */
      name: string;
      /** An environment secret's environment; undefined: a repository secret. */
      environment: string | undefined;
    };

/** GitHub's side of a github-secret store: its REST API and the token that may write Actions secrets. */
export interface GitHubSettings {
  /** https://api.github.com, or a GitHub Enterprise Server's /api/v3. */
  apiUrl: string;
  /** undefined unless given (a github-secret store requires it). */
  token: Secret | undefined;
}

export interface ApiTokenSettings {
  /** undefined unless --api-token-store was given (rotate-api-token and --rotate-api-token-within require it). */
  store: ApiTokenStoreSpec | undefined;
  /** rotate: also rotate the API token when it expires within this; undefined: never. */
  rotateWithinMs: number | undefined;
  expiresInMs: number;
  recoveryFile: string | undefined;
  github: GitHubSettings;
}

export interface Config {
  gitlabUrl: string;
  credentials: Credentials;
  /** Required with a group and with static credentials; otherwise from the project. */
  registry: string | undefined;
  /** Further hosts for the same credentials (--registry-alias), lowercased. */
  registryAliases: string[];
  /** The minted deploy token's scopes (--scope), each once, in GitLab's order. */
  scopes: string[];
  secretType: SecretType;
  /** Namespaces named explicitly (may be empty when a selector chooses them). */
  namespaces: string[];
  /**
   * The namespaces as configured, never narrowed: a selector's target is named
   * for them too (commands/target.ts), while \`namespaces\` becomes the run's scope.
   */
  listedNamespaces: readonly string[];
  namespaceSelector: string | undefined;
  excludeNamespaces: string[];
  /** A listed namespace that does not exist or is being deleted: skip it (default), fail the run, or create it. */
  missingNamespace: MissingNamespaceMode;
  /** missingNamespace === "create" (--create-namespace is its older name). */
  createNamespace: boolean;
  /** ServiceAccount names, or "*" for all in each namespace. */
  serviceAccounts: string[];
  secretName: string;
  expiresInMs: number;
  tokenNamePrefix: string;
  kubeconfig: string | undefined;
  context: string | undefined;
  dryRun: boolean;
  adopt: boolean;
  json: boolean;
  /** false with --no-verify; otherwise the image to check (repository undefined = the project's). */
  verify: false | { repository: string | undefined; tag: string | undefined };
  caFile: string | undefined;
  /** HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment; undefined when no proxy is set. */
  proxy: ProxySettings | undefined;
  /** Only tokens expiring within this are rotated; undefined = rotate every run. */
  rotateBeforeMs: number | undefined;
  force: boolean;
  keepPrevious: number;
  /** Refuse to overwrite a Secret another target wrote last (exit 2), instead of warning. */
  strictOwnership: boolean;
  sweepGraceMs: number;
  lockTimeoutMs: number;
  /** --lock-lease-duration: the Lease's duration; renewed every third of it. */
  lockLeaseMs: number;
  dotenv: string | undefined;
  requestTimeoutMs: number;
  retryForMs: number;
  /** status: exit 3 when something needs attention; a token in use expiring within this counts. undefined = report only. */
  warnWithinMs: number | undefined;
  /** revoke: really tear down (otherwise show the plan and exit 2). */
  yes: boolean;
  /** render: what to print; undefined unless --format was given. */
  renderFormat: RenderFormat | undefined;
  /** Metrics file, Pushgateway, Events (input-observe.ts). */
  observe: ObserveSettings;
  /** rotate-api-token's settings (input-apitoken.ts). */
  apiToken: ApiTokenSettings;
}

export const RENDER_FORMATS = ["secret", "config.json"] as const;
export type RenderFormat = (typeof RENDER_FORMATS)[number];
