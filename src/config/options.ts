// The one table of options. The CLI flags, the option variables
// (GITLAB_PULL_SECRET_OPT_*), the Action inputs (action.yml), the GitLab
// component's inputs and the docs are all derived from it, so the faces
// cannot drift apart.

export type OptionKind = "string" | "boolean" | "list";

export interface OptionSpec {
  /** Key in RawSettings. */
  readonly key: string;
  readonly kind: OptionKind;
  readonly description: string;
  /** CLI flag without dashes; null when the option has no flag (e.g. secrets, which never go on argv). */
  readonly flag: string | null;
  /** CLI flag that names a file holding the value (for secrets). */
  readonly fileFlag?: string;
  /** Action input name; null when the Action has no such input. */
  readonly input: string | null;
  /** Environment variables consulted, in order, when neither flag nor input is given. */
  readonly env?: readonly string[];
  /** Default applied after env; documented as is. */
  readonly default?: string;
  /** How the default is described where it is not a literal. */
  readonly defaultText?: string;
  readonly required?: boolean;
  /** Never echoed anywhere. */
  readonly secret?: boolean;
  /** false: no option variable, the value must be typed on the command line (a confirmation). */
  readonly variable?: false;
  /** false: the Action has the input, the GitLab component does not (it would have no use there). */
  readonly component?: false;
}

export const OPTIONS = [
  {
    key: "gitlabUrl",
    kind: "string",
    flag: "gitlab-url",
    input: "gitlab-url",
    env: ["CI_SERVER_URL"],
    default: "https://gitlab.com",
    description: "Base URL of the GitLab instance (https; http only for loopback).",
  },
  {
    key: "gitlabToken",
    kind: "string",
    flag: null,
    fileFlag: "gitlab-token-file",
    input: "gitlab-token",
    env: ["GITLAB_TOKEN"],
    secret: true,
    defaultText: "required, unless static credentials (--username) are given",
    description:
      "GitLab token with the api scope, held by a Maintainer of the project (Owner of the group). " +
      "Never a command-line value: argv is public.",
  },
  {
    key: "project",
    kind: "string",
    flag: "project",
    input: "project",
    env: ["CI_PROJECT_ID"],
    description: "Project (numeric id or full path) that owns the deploy token.",
  },
  {
    key: "group",
    kind: "string",
    flag: "group",
    input: "group",
    description:
      "Group (numeric id or full path) that owns the deploy token, instead of a project (the token's user must be an Owner). " +
      "Needs --registry, and --verify-image (a repository of the group to prove the token pulls) or --no-verify.",
  },
  {
    key: "registry",
    kind: "string",
    flag: "registry",
    input: "registry",
    defaultText: "the host of the project's container_registry_image_prefix",
    description: "Registry host[:port] written into the docker config. Required with a group and with --username.",
  },
  {
    key: "registryAliases",
    kind: "list",
    flag: "registry-alias",
    input: "registry-aliases",
    description:
      "More host[:port] names written into the same docker config with the same credentials, e.g. the dependency proxy " +
      "host or the registry under another name: repeat the flag or give a comma list; as an input, one per line.",
  },
  {
    key: "scopes",
    kind: "list",
    flag: "scope",
    input: "scopes",
    default: "read_registry",
    description:
      "Scopes of the minted deploy token: read_registry (the container registry), read_virtual_registry and " +
      "write_virtual_registry (GitLab's Dependency Proxy for container images, which takes a deploy token holding both: " +
      "see docs/registries.md). Repeat the flag or give a comma list; as an input, one per line. Other scopes are refused. " +
      "Without read_registry the pull check cannot run: give --no-verify. A changed set rotates at the next run.",
  },
  {
    key: "username",
    kind: "string",
    flag: "username",
    input: "username",
    description:
      "Static credentials for any registry (Docker Hub, Harbor, iamapikey for IBM Cloud) instead of a GitLab deploy token: " +
      "the username. Needs --registry and the password; nothing is minted or revoked and GitLab is never called.",
  },
  {
    key: "registryPassword",
    kind: "string",
    flag: null,
    fileFlag: "password-file",
    input: "registry-password",
    env: ["REGISTRY_PASSWORD"],
    secret: true,
    description: "Password or access token for --username. Never a command-line value: argv is public.",
  },
  {
    key: "namespaces",
    kind: "list",
    flag: "namespace",
    input: "namespaces",
    description: "Target namespaces: repeat the flag or give a comma list; as an input, one per line.",
  },
  {
    key: "namespaceSelector",
    kind: "string",
    flag: "namespace-selector",
    input: "namespace-selector",
    description:
      "Label selector choosing the target namespaces (e.g. team=payments,env!=dev), instead of or besides the list. " +
      "Needs list on namespaces.",
  },
  {
    key: "excludeNamespaces",
    kind: "list",
    flag: "exclude-namespace",
    input: "exclude-namespaces",
    description: "Namespaces never to touch, even when the selector matches them.",
  },
  {
    key: "missingNamespace",
    kind: "string",
    flag: "missing-namespace",
    input: "missing-namespace",
    default: "skip",
    description:
      "What to do with a listed namespace that does not exist or is being deleted: skip (rotate the others, then exit 1 naming it), " +
      "fail (change nothing, exit 1), or create (create the missing ones; one being deleted is skipped).",
  },
  {
    key: "createNamespace",
    kind: "boolean",
    flag: "create-namespace",
    input: "create-namespace",
    default: "false",
    description:
      "The same as --missing-namespace create: create listed namespaces that do not exist (server-side apply of the Namespace).",
  },
  {
    key: "serviceAccounts",
    kind: "list",
    flag: "service-account",
    input: "service-accounts",
    description:
      "ServiceAccounts that get the Secret in imagePullSecrets, keeping the entries already there: a name, " +
      "default for namespace-wide effect, or * for all of them (needs list on serviceaccounts).",
  },
  {
    key: "secretName",
    kind: "string",
    flag: "secret-name",
    input: "secret-name",
    default: "gitlab-pull-secret",
    description: "Name of the image pull Secret in every namespace.",
  },
  {
    key: "secretType",
    kind: "string",
    flag: "secret-type",
    input: "secret-type",
    default: "dockerconfigjson",
    description:
      "dockerconfigjson (kubernetes.io/dockerconfigjson, key .dockerconfigjson) or dockercfg (the legacy " +
      "kubernetes.io/dockercfg, key .dockercfg). A Secret's type cannot change: use another --secret-name to switch.",
  },
  {
    key: "expiresIn",
    kind: "string",
    flag: "expires-in",
    input: "expires-in",
    default: "7d",
    description:
      "Token lifetime (36h, 7d, 2w; from 1h to 365d). GitLab expires tokens at 00:00 UTC, so the date is rounded up, " +
      "but never past 365 days from today. Longer than --rotate-before.",
  },
  {
    key: "tokenName",
    kind: "string",
    flag: "token-name",
    input: "token-name",
    default: "gitlab-pull-secret",
    description: "Prefix of the deploy token names this tool mints; only tokens with it are ever revoked.",
  },
  {
    key: "kubeconfig",
    kind: "string",
    flag: "kubeconfig",
    input: "kubeconfig",
    defaultText: "kubectl's default",
    description: "Path to the kubeconfig file.",
  },
  {
    key: "context",
    kind: "string",
    flag: "context",
    input: "context",
    defaultText: "kubectl's current context",
    description: "kubeconfig context of the target cluster.",
  },
  {
    key: "dryRun",
    kind: "boolean",
    flag: "dry-run",
    input: "dry-run",
    default: "false",
    description: "Check everything (GitLab access, the cluster accepting the Secrets) and change nothing.",
  },
  {
    key: "adopt",
    kind: "boolean",
    flag: "adopt",
    input: "adopt",
    default: "false",
    description: "Take over an existing Secret of that name that this tool did not create.",
  },
  {
    key: "verifyImage",
    kind: "string",
    flag: "verify-image",
    input: "verify-image",
    defaultText: "the project's repository",
    description:
      "Repository path[:tag] to prove the new credentials can pull before the cluster is touched. " +
      "With a tag the manifest is fetched; without, the registry must grant pull on the repository.",
  },
  {
    key: "noVerify",
    kind: "boolean",
    flag: "no-verify",
    input: "no-verify",
    default: "false",
    description: "Skip the registry pull check (e.g. when the runner cannot reach the registry).",
  },
  {
    key: "caFile",
    kind: "string",
    flag: "ca-file",
    input: "ca-file",
    description:
      "PEM file of extra CA certificates trusted for GitLab and the registry (self-hosted instances), besides the system roots and NODE_EXTRA_CA_CERTS.",
  },
  {
    key: "allowInsecureHttp",
    kind: "boolean",
    flag: "allow-insecure-http",
    input: "allow-insecure-http",
    default: "false",
    description: "Allow a plain http:// GitLab URL on a host other than loopback. Sends the API token unencrypted.",
  },
  {
    key: "rotateBefore",
    kind: "string",
    flag: "rotate-before",
    input: "rotate-before",
    description:
      "Rotate only when a managed Secret's token expires within this duration (e.g. 2d); otherwise change nothing, except " +
      "that namespaces without the Secret get the current token (fill, nothing minted). Unset: rotate on every run. " +
      "Shorter than the token lifetime (otherwise every run would rotate).",
  },
  {
    key: "force",
    kind: "boolean",
    flag: "force",
    input: "force",
    default: "false",
    description: "Rotate even when --rotate-before finds nothing due.",
  },
  {
    key: "keepPrevious",
    kind: "string",
    flag: "keep-previous",
    input: "keep-previous",
    default: "0",
    description: "Keep this many of the most recent previous tokens alive, for rollouts still pulling with them.",
  },
  {
    key: "strictOwnership",
    kind: "boolean",
    flag: "strict-ownership",
    input: "strict-ownership",
    default: "false",
    description:
      "Refuse (exit 2, nothing changed) to overwrite a Secret that another target wrote last (another pipeline manages " +
      "the same Secret name in an overlapping namespace set). Without it such a run warns loudly and goes on.",
  },
  {
    key: "sweepGrace",
    kind: "string",
    flag: "sweep-grace",
    input: "sweep-grace",
    default: "10m",
    description:
      "Revoke this tool's tokens for the target that no Secret references once they are older than this " +
      "(repairs runs that died half way).",
  },
  {
    key: "lockTimeout",
    kind: "string",
    flag: "lock-timeout",
    input: "lock-timeout",
    default: "2m",
    description: "How long to wait for another run on the same target to release its Lease.",
  },
  {
    key: "lockLeaseDuration",
    kind: "string",
    flag: "lock-lease-duration",
    input: "lock-lease-duration",
    default: "5m",
    description:
      "How long the target's Lease stays this run's without a renewal (15s to 60m). A running run renews it every third " +
      "of this; a run that died is taken over this long after its last renewal.",
  },
  {
    key: "requestTimeout",
    kind: "string",
    flag: "request-timeout",
    input: "request-timeout",
    default: "30s",
    description: "Give up on one GitLab or registry request after this long.",
  },
  {
    key: "retryFor",
    kind: "string",
    flag: "retry-for",
    input: "retry-for",
    default: "60s",
    description:
      "Keep retrying GitLab calls that failed transiently (429, 502-504, dropped connections) for this long.",
  },
  // Options of the commands beside rotate (plan, status, revoke, render). CLI
  // only: the Action runs rotate, so none of them is an Action input.
  {
    key: "warnWithin",
    kind: "string",
    flag: "warn-within",
    input: null,
    description:
      "status: exit 3 when something needs attention: a token in use, or the GitLab API token itself, expires within this " +
      "duration (e.g. 3d), an orphaned token, a Secret holding a dead token. GitLab sends no expiry notice for deploy tokens.",
  },
  {
    key: "yes",
    kind: "boolean",
    flag: "yes",
    input: null,
    default: "false",
    variable: false,
    description:
      "revoke: really revoke the tokens and delete the Secrets. Without it revoke only shows what it would do and exits 2.",
  },
  {
    key: "format",
    kind: "string",
    flag: "format",
    input: null,
    description:
      "render: secret (a Secret manifest, YAML) or config.json (a docker config.json); the output holds a live credential. " +
      "status: openmetrics (the metrics as OpenMetrics text on stdout, the table on stderr).",
  },
  {
    key: "json",
    kind: "boolean",
    flag: "json",
    input: null,
    default: "false",
    description: "Print the result as one JSON object on stdout.",
  },
  {
    key: "dotenv",
    kind: "string",
    flag: "dotenv",
    input: null,
    description:
      "Also write the result (no secrets) as KEY=value lines to this file, for GitLab's artifacts:reports:dotenv.",
  },
  // Signals for the monitoring a platform team runs (faces/metrics.ts, commands/run-signals.ts).
  {
    key: "metricsFile",
    kind: "string",
    flag: "metrics-file",
    input: "metrics-file",
    description:
      "rotate, status: also write the Prometheus metrics (token expiries, Secret health, the run's result and counts) to this " +
      "file, atomically, for node-exporter's textfile collector (name it *.prom) or a job artifact.",
  },
  {
    key: "pushgatewayUrl",
    kind: "string",
    flag: "pushgateway-url",
    input: "pushgateway-url",
    description:
      "rotate, status: also push the same metrics to this Prometheus Pushgateway (http(s)://host:port; no credentials or query " +
      "in the URL), grouped by job gitlab-pull-secret and the Secret's name. For CI jobs, which nothing can scrape.",
  },
  {
    key: "events",
    kind: "boolean",
    flag: "events",
    input: "events",
    default: "false",
    description:
      "rotate: record Kubernetes Events (events.k8s.io/v1): one per run on the target's Lease (Rotated, Filled, NothingDue, " +
      "RotationFailed) and a Warning on the Secret of each namespace that needs a person. Needs create on events; refused, the run goes on.",
  },
  // The API token's own rotation: rotate-api-token always, rotate with --rotate-api-token-within
  // (commands/rotate-api-token.ts, commands/api-token-step.ts); and where its new value goes.
  {
    key: "rotateApiTokenWithin",
    kind: "string",
    flag: "rotate-api-token-within",
    input: "rotate-api-token-within",
    description:
      "rotate: also rotate the GitLab API token this run holds when it expires within this duration (e.g. 7d; 1d up to " +
      "--api-token-expires-in), after the deploy token, and write its new value to --api-token-store (which it needs), as " +
      "rotate-api-token does. The store is proven writable before anything changes; a failed deploy rotation leaves the API token alone.",
  },
  {
    key: "apiTokenStore",
    kind: "string",
    flag: "api-token-store",
    input: "api-token-store",
    description:
      "rotate-api-token, rotate --rotate-api-token-within: where the API token's value lives, written with the new value after the rotation: " +
      "gitlab:project:<id or path>:<KEY>[:<environment scope>] or gitlab:group:<id or path>:<KEY>[:<environment scope>] (a CI/CD " +
      "variable; its masked, protected, raw and hidden flags are kept), kubernetes:<namespace>/<secret>/<key> (a Secret's key, " +
      "written with kubectl), or github:<owner>/<repo>:<NAME>[:<environment>] (a GitHub Actions repository or environment secret, " +
      "sealed to the repository's public key; needs --github-token-file or $GPS_GITHUB_TOKEN).",
  },
  {
    key: "apiTokenExpiresIn",
    kind: "string",
    flag: "api-token-expires-in",
    input: "api-token-expires-in",
    default: "30d",
    description:
      "rotate-api-token, rotate --rotate-api-token-within: lifetime of the rotated API token (1d to 365d; GitLab's limit). GitLab expires tokens at 00:00 UTC: the date is rounded up.",
  },
  {
    key: "apiTokenRecoveryFile",
    kind: "string",
    flag: "api-token-recovery-file",
    // No Action or component input: a CI job's filesystem is discarded with the job, and an artifact would publish the token.
    input: null,
    description:
      "rotate-api-token, rotate --rotate-api-token-within: a file that must not exist yet, created empty (mode 0600) before the rotation and removed after a " +
      "successful write. Only if writing the new token to --api-token-store fails after GitLab rotated it is the new value kept " +
      "there, so it is not lost (see docs/security.md). Without it, such a failure leaves the new token unrecoverable: revoke it in GitLab.",
  },
  {
    key: "githubApiUrl",
    kind: "string",
    flag: "github-api-url",
    input: null,
    env: ["GITHUB_API_URL"],
    default: "https://api.github.com",
    description:
      "rotate-api-token with a github: store: base URL of GitHub's REST API (https; http only for loopback), e.g. " +
      "https://github.example.com/api/v3 for GitHub Enterprise Server. Actions sets $GITHUB_API_URL.",
  },
  {
    key: "githubToken",
    kind: "string",
    flag: null,
    fileFlag: "github-token-file",
    input: "github-token",
    component: false,
    env: ["GPS_GITHUB_TOKEN"],
    secret: true,
    defaultText: "required with a github: --api-token-store",
    description:
      "rotate-api-token with a github: store: a GitHub token that may write the Actions secret: a fine-grained token with the " +
      'repository permission "Secrets: Read and write" (an environment secret: "Environments: Read and write" too), or a GitHub ' +
      "App installation token with secrets: write. The workflow's GITHUB_TOKEN cannot write secrets. Never a command-line value: argv is public.",
  },
] as const satisfies readonly OptionSpec[];

export type OptionKey = (typeof OPTIONS)[number]["key"];

/** What a face collected, before validation: strings as typed, lists split, booleans parsed. */
export type RawSettings = Partial<Record<OptionKey, string | string[] | boolean>>;

export function optionByKey(key: OptionKey): OptionSpec {
  return OPTIONS.find((o) => o.key === key)!;
}

/** How an option is named to the user on a given face, for error messages. */
export function optionLabel(spec: OptionSpec, face: "cli" | "action"): string {
  if (face === "action") return spec.input ? `input '${spec.input}'` : `--${spec.flag}`;
  if (spec.flag) return `--${spec.flag}`;
  const env = spec.env?.[0];
  return [env ? `$${env}` : undefined, spec.fileFlag ? `--${spec.fileFlag}` : undefined].filter(Boolean).join(" / ");
}

/**
 * The prefix of the option variables. Distinct from the GITLAB_PULL_SECRET_*
 * names of the dotenv report (GITLAB_PULL_SECRET_NAMESPACES, ...): GitLab gives
 * a dotenv variable inherited from an earlier job precedence over a job's own
 * variables, so a shared name would let one target's result steer the next.
 */
export const VARIABLE_PREFIX = "GITLAB_PULL_SECRET_OPT_";

/**
 * The environment variable an option can be given in (flag > variable > the
 * option's env fallbacks > default), or null: secrets keep their own variables
 * (GITLAB_TOKEN, REGISTRY_PASSWORD) and never get a prefixed one, and options
 * without a flag or marked variable: false have none.
 */
export function optionVariable(spec: OptionSpec): string | null {
  if (spec.secret || !spec.flag || spec.variable === false) return null;
  return prefixedName(spec);
}

/** GITLAB_PULL_SECRET_OPT_ + the key in upper snake case (namespaces -> ..._NAMESPACES), whether or not the option has a variable. */
export function prefixedName(spec: OptionSpec): string {
  return VARIABLE_PREFIX + spec.key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}

/** Every environment variable a secret can be read from (for scrubbing the environment of child processes). */
export function secretVariables(options: readonly OptionSpec[] = OPTIONS): string[] {
  return options.filter((o) => o.secret).flatMap((o) => o.env ?? []);
}

/** The Action outputs; values are never secret. */
export const OUTPUTS = [
  {
    name: "changed",
    description:
      "true when this run wrote Secrets (a new token, or the current one filled into namespaces that lacked it) or ServiceAccounts.",
  },
  { name: "secret-name", description: "Name of the image pull Secret." },
  { name: "namespaces", description: "JSON array of the namespaces the Secret is in." },
  {
    name: "token-id",
    description: "GitLab id of the deploy token now in the Secrets (empty with static credentials).",
  },
  {
    name: "token-username",
    description: "Username of that deploy token, or the username of static credentials (not secret).",
  },
  { name: "expires-at", description: "Expiry of that deploy token (ISO 8601)." },
  { name: "revoked-token-ids", description: "JSON array of the ids of the deploy tokens revoked by this run." },
  {
    name: "skipped-namespaces",
    description:
      "JSON array of the listed namespaces skipped because they do not exist or are being deleted (the step fails).",
  },
  {
    name: "filled-namespaces",
    description:
      "JSON array of the namespaces that lacked the Secret and got the current token, nothing being due (nothing minted).",
  },
  {
    name: "result",
    description: "What the run did: rotated, applied (static credentials), filled, nothing-due, or failed.",
  },
  {
    name: "token-expiry-timestamp",
    description: "Expiry of the deploy token this run minted, as Unix seconds (empty when none was minted).",
  },
  {
    name: "api-token-expires-at",
    description:
      "The GitLab API token's expiry date (YYYY-MM-DD; empty when it never expires or could not be read); after the token's " +
      "rotation, the new token's.",
  },
  {
    name: "api-token-rotated",
    description:
      "With rotate-api-token-within: true when this run rotated the GitLab API token and wrote it to api-token-store, " +
      "false when it did not (not due, or it failed: the step fails then); empty without rotate-api-token-within.",
  },
] as const;
