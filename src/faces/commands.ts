// The CLI's commands: what each does, which options it takes, what its exit
// codes mean. Pure data plus the checks that use it, so --help, option
// validation and the docs come from one place.
import { UsageError } from "../model/errors.js";
import { parseConfig, type Config, type Face } from "../config/inputs.js";
import {
  OPTIONS,
  optionByKey,
  optionLabel,
  optionVariable,
  type OptionKey,
  type RawSettings,
} from "../config/options.js";
import type { Labels } from "../config/variables.js";

export type CommandName = "rotate" | "plan" | "status" | "revoke" | "render" | "rotate-api-token";

export interface CommandSpec {
  summary: string;
  /** Paragraphs shown by `<command> --help` above the options. */
  details: readonly string[];
  exitCodes: readonly string[];
  /** Options the command takes; any other given explicitly is a usage error, not silently ignored. */
  options: (key: OptionKey) => boolean;
}

/** Options only the other commands use. */
const NOT_ROTATE: readonly OptionKey[] = ["warnWithin", "yes", "format"];
/** Where to find GitLab and the cluster, and how to talk to them. */
const ACCESS: readonly OptionKey[] = [
  "gitlabUrl",
  "gitlabToken",
  "kubeconfig",
  "context",
  "caFile",
  "allowInsecureHttp",
  "requestTimeout",
  "retryFor",
  "json",
];
/** ACCESS and which target: every command but render and rotate-api-token needs these. */
const TARGET: readonly OptionKey[] = [
  ...ACCESS,
  "project",
  "group",
  "username",
  "namespaces",
  "namespaceSelector",
  "excludeNamespaces",
  "secretName",
  "tokenName",
];

const only = (keys: readonly OptionKey[]) => (key: OptionKey) => keys.includes(key);

const REMOTE = "1  GitLab or the cluster failed";
const USAGE = "2  bad input (nothing was changed)";

export const COMMANDS: Readonly<Record<CommandName, CommandSpec>> = {
  rotate: {
    summary:
      "Mint a deploy token (read_registry, or --scope), apply the pull Secret to every namespace, revoke the token it replaces.",
    details: [
      "With --username (static credentials for any registry: Docker Hub, Harbor, IBM Cloud's iamapikey) nothing is minted or " +
        "revoked and GitLab is never called: the Secrets are written when the docker config they record (its SHA-256, in an " +
        "annotation) differs from the one the given credentials make, and otherwise left alone.",
      "With --rotate-api-token-within D the run also rotates the GitLab API token it holds when that expires within D, " +
        "as rotate-api-token does: --api-token-store is read and proven writable before anything else changes, then the " +
        "deploy token is rotated with the current API token, and the API token last (its old value dies at once), only " +
        "if the deploy token's rotation succeeded. A dry run says whether it would be rotated.",
    ],
    exitCodes: [
      "0  done, or nothing was due",
      `${REMOTE} (after rollback; retrying may help); or, with --rotate-api-token-within, the API token's rotation ` +
        "after the deploy token's failed (the message says whether it was rotated and how to recover)",
      "2  bad input, a Secret only you can decide on, or an API token or --api-token-store that will not do (nothing was changed)",
    ],
    // Every option but the other commands' own, including options added later.
    options: (key) => !NOT_ROTATE.includes(key),
  },
  plan: {
    summary: "Show what rotate would do with the same options, changing nothing.",
    details: [
      "Runs the rotation's checks (GitLab access, the owner's registry, a server-side dry run of the apply) and prints, " +
        "per namespace, create / update / unchanged (with --create-namespace, a namespace that does not exist yet as " +
        "create namespace + create Secret: its creation is a server dry run, the Secret's own check runs at apply time); the token rotate would mint (name pattern, expiry); the tokens it would " +
        "keep, revoke and sweep; and why. No token is minted, no Lease taken, no Secret written. Takes rotate's options.",
    ],
    exitCodes: ["0  plan printed", REMOTE, "2  bad input, or a Secret rotate would refuse (nothing was changed)"],
    // What a run leaves behind (reports, signals, the recovery file) is rotate's alone.
    options: (key) =>
      !NOT_ROTATE.includes(key) &&
      !["dotenv", "metricsFile", "pushgatewayUrl", "events", "apiTokenRecoveryFile"].includes(key),
  },
  status: {
    summary: "List the managed Secrets and this target's deploy tokens; flag orphans, dead and expiring tokens.",
    details: [
      "Read-only: one read of the target's Lease (the cluster's identity in token names), one kubectl read of the Secrets, one " +
        "listing of the owner's deploy tokens. For every namespace: the Secret's " +
        "type, token id, expiry and days left; for every token of ours: its state and which Secrets use it. GitLab sends no " +
        "expiry notice for deploy tokens: run `status --warn-within 3d` on a schedule and alert on exit 3. A token of ours " +
        "that no Secret references is an orphan once older than --sweep-grace (younger, a rotation may still be running). " +
        "A Secret whose type is not --secret-type needs attention (rotate would refuse it). The GitLab API token's own " +
        "expiry date and scopes are shown too; it needs attention when it expires within --warn-within (14 days without). " +
        "With --username (static " +
        "credentials) only the Secrets are read: no password needed, no GitLab call. A namespace whose Secret another target " +
        "(pipeline) wrote last needs attention; a token named before names carried the cluster's identity and referenced by no " +
        "Secret here is shown as legacy: not ours to sweep, it expires by itself. Given rotate's --rotate-before (and " +
        "--registry, --registry-alias), a namespace without the Secret that the next rotate fills with the current token is shown so.",
    ],
    exitCodes: [
      "0  report printed (without --warn-within, also when something needs attention)",
      REMOTE,
      USAGE,
      "3  with --warn-within: something needs attention",
    ],
    // rotate's --rotate-before and registry: given the same, status tells which namespaces the next rotate fills.
    options: only([
      ...TARGET,
      "secretType",
      "sweepGrace",
      "warnWithin",
      "rotateBefore",
      "registry",
      "registryAliases",
      "format",
      "metricsFile",
      "pushgatewayUrl",
    ]),
  },
  revoke: {
    summary: "Tear the target down: revoke our tokens, remove our ServiceAccount entries, delete the managed Secrets.",
    details: [
      "Revokes every deploy token of ours for the target (held, kept or left pending by the Secrets, and orphans named for it), " +
        "removes the Secret from the imagePullSecrets of the ServiceAccounts named with --service-account (give the same as " +
        "to rotate; other entries stay), and deletes the Secrets it manages. A Secret it does not manage is never touched, nor one " +
        "holding another target's or cluster's token (nor that token). The cluster is asked whether the deletes are allowed " +
        "(access reviews) before any token is revoked; if a revoke fails, the Secrets are kept as the record of what is left.",
      "With --username (static credentials) there is no token: it deletes the Secrets holding static credentials and removes " +
        "their ServiceAccount entries, with no GitLab call and no password.",
      "Without --yes it only shows what it would do and exits 2. Needs the verb delete on secrets besides the rotation Role.",
    ],
    exitCodes: [
      "0  done, or nothing left to tear down",
      `${REMOTE} (the message says what was done; re-running finishes)`,
      "2  bad input, or --yes missing (nothing was changed)",
    ],
    options: only([...TARGET, "serviceAccounts", "lockTimeout", "lockLeaseDuration", "yes"]),
  },
  render: {
    summary: "Mint a token and PRINT it as a Secret manifest or a docker config.json, for GitOps or node config.",
    details: [
      "RISK: this prints a live registry credential to stdout, the only command that ever does. Redirect it straight into " +
        "kubeseal, sops or a file with tight permissions; never let it reach a CI log. It is revoked only when it expires " +
        "(--expires-in) or when you delete it in GitLab: rotate never sweeps rendered tokens (they are named " +
        "<prefix>/render/<secret>/...).",
      "--format secret: one pull Secret per --namespace (kubernetes.io/dockerconfigjson, or kubernetes.io/dockercfg with " +
        "--secret-type dockercfg), as YAML (no managed-by label: the GitOps tool owns it). --format config.json: a docker " +
        "config.json for the kubelet or containers tools (--namespace not needed). The token is checked to pull (as rotate " +
        "does) before anything is printed; the cluster is never contacted.",
      "With --username (static credentials) nothing is minted: the document holds the given username and password, checked " +
        "to pull only with --verify-image.",
    ],
    // render never contacts the cluster: its exit 1 is GitLab's or the registry's.
    exitCodes: [
      "0  printed",
      "1  GitLab or the registry failed (a token that failed its pull check is revoked; nothing was printed)",
      USAGE,
    ],
    options: only([
      "gitlabUrl",
      "gitlabToken",
      "project",
      "group",
      "registry",
      "registryAliases",
      "username",
      "registryPassword",
      "namespaces",
      "secretName",
      "secretType",
      "tokenName",
      "expiresIn",
      "verifyImage",
      "noVerify",
      "caFile",
      "allowInsecureHttp",
      "requestTimeout",
      "retryFor",
      "json",
      "format",
    ]),
  },
  "rotate-api-token": {
    summary: "Rotate the GitLab API token this run holds, and write the new value back to where it lives.",
    details: [
      "In this order, so no step can lose the token: read the token's own details; read --api-token-store (it must hold this " +
        "token) and prove it can be written (the value written back unchanged; a Secret's replace as a server-side dry run); " +
        "then rotate the token once (never retried: the old value dies with the request, and presenting it again revokes every " +
        "token of its family); write the new value with the new token, retrying the write, never the rotation; read it back. " +
        "Any refusal before the rotation changes nothing. If the write still fails, the run exits 1 saying what happened; the new " +
        "value is kept in --api-token-recovery-file if one was given, else it is lost and must be revoked (docs/security.md). " +
        "A CI/CD variable store needs the api scope and a Maintainer (project) or Owner (group). A GitHub Actions secret " +
        "(github:<owner>/<repo>:<NAME>[:<environment>]) never shows its value: it must exist, the proof writes the token " +
        "this run holds back to it sealed, and the write is confirmed by the secret's updated_at; the GitHub token " +
        '($GPS_GITHUB_TOKEN or --github-token-file) needs "Secrets: Read and write" (the workflow\'s GITHUB_TOKEN cannot write secrets).',
    ],
    exitCodes: [
      "0  rotated and written back",
      "1  GitLab, the store or the cluster failed (the message says whether the token was rotated and how to recover)",
      "2  bad input, or a token or store that will not do (nothing was changed)",
    ],
    options: only([
      ...ACCESS,
      "apiTokenStore",
      "apiTokenExpiresIn",
      "apiTokenRecoveryFile",
      "githubApiUrl",
      "githubToken",
    ]),
  },
};

export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/** An option given for a command that does not use it is a mistake worth stopping for. */
export function checkOptions(command: CommandName, raw: RawSettings, face: Face, labels: Labels = {}): void {
  for (const o of OPTIONS) {
    if (raw[o.key] === undefined || COMMANDS[command].options(o.key)) continue;
    throw new UsageError(
      labels[o.key] ?? optionLabel(o, face),
      undefined,
      `not an option of ${command} (see gitlab-pull-secret ${command} --help)`,
    );
  }
}

/**
 * The Config for a command. render --format config.json writes no Secret, so
 * it needs no namespace: parseConfig (which requires one) gets a stand-in
 * that the Config then drops.
 */
export function configFor(
  command: CommandName,
  raw: RawSettings,
  env: Readonly<Record<string, string | undefined>>,
  face: Face,
  labels: Labels = {},
): Config {
  checkOptions(command, raw, face, labels);
  const label = (key: OptionKey): string => labels[key] ?? optionLabel(optionByKey(key), face);
  // status and revoke read and delete; they never write credentials, so static ones need no password there.
  const parse = (r: RawSettings, namespacesRequired = true): Config =>
    parseConfig(r, env, face, {
      writesCredentials: command !== "status" && command !== "revoke",
      namespacesRequired,
      apiTokenCommand: command === "rotate-api-token",
      labels,
    });
  const format = typeof raw.format === "string" ? raw.format.trim() : undefined;
  if (command === "render" && !format) {
    throw new UsageError(
      label("format"),
      undefined,
      "required for render: secret (a Secret manifest, YAML) or config.json (a docker config.json)",
    );
  }
  const given = Array.isArray(raw.namespaces)
    ? raw.namespaces.length > 0
    : typeof raw.namespaces === "string" && raw.namespaces.trim() !== "";
  if (
    command === "render" &&
    format === "config.json" &&
    typeof raw.secretType === "string" &&
    raw.secretType.trim() !== ""
  ) {
    throw new UsageError(
      label("secretType"),
      raw.secretType.trim(),
      `only with ${label("format")} secret: a docker config.json always has the auths form (dockerconfigjson)`,
    );
  }
  if (command === "status") return statusConfig(raw, format, parse, label);
  if (command === "rotate-api-token") return apiTokenConfig(raw, parse, label);
  if (command === "render" && format === "config.json" && given) {
    // A docker config.json names no namespace: a given one would be ignored, and the user may believe it scoped something.
    throw new UsageError(
      label("namespaces"),
      undefined,
      `not used by render ${label("format")} config.json (a docker config.json has no namespace); leave it out, or use ${label("format")} secret`,
    );
  }
  if (command === "render" && format === "config.json") {
    return parse(raw, false);
  }
  if (command === "render" && format === "secret" && !given) {
    throw new UsageError(
      label("namespaces"),
      undefined,
      "required for render --format secret: the namespace(s) of the Secret manifest",
    );
  }
  return parse(raw);
}

/**
 * rotate-api-token names no owner nor namespace: parseConfig (which requires
 * them) gets stand-ins the Config then drops. The store is required.
 */
function apiTokenConfig(
  raw: RawSettings,
  parse: (r: RawSettings) => Config,
  label: (key: OptionKey) => string,
): Config {
  const config = {
    ...parse({ ...raw, namespaces: ["default"], project: "0/0" }),
    namespaces: [],
    listedNamespaces: [],
  };
  if (!config.apiToken.store)
    throw new UsageError(
      label("apiTokenStore"),
      undefined,
      "required for rotate-api-token: where the API token lives (gitlab:project:<id or path>:<KEY>, gitlab:group:..., kubernetes:<namespace>/<secret>/<key>, github:<owner>/<repo>:<NAME>)",
    );
  return config;
}

/** status --format openmetrics prints the metrics (faces/metrics.ts) instead of the table; render's formats are not status's. */
function statusConfig(
  raw: RawSettings,
  format: string | undefined,
  parse: (r: RawSettings) => Config,
  label: (key: OptionKey) => string,
): Config {
  if (format !== undefined && format !== "openmetrics")
    throw new UsageError(label("format"), format, "openmetrics (status prints the table without --format)");
  if (format && (raw.json === true || raw.json === "true"))
    throw new UsageError(
      label("format"),
      format,
      `either ${label("format")} openmetrics or ${label("json")}, not both: both print on stdout`,
    );
  const config = parse({ ...raw, format: undefined });
  return format ? { ...config, observe: { ...config.observe, statusFormat: "openmetrics" } } : config;
}

/**
 * An option's description as one command's help shows it: a sentence naming
 * a flag the command refuses is left out (revoke --help must not send people
 * to --registry, which revoke refuses).
 */
function describeFor(description: string, spec: CommandSpec): string {
  const refused = (flag: string) => {
    const o = OPTIONS.find((x) => x.flag === flag || ("fileFlag" in x && x.fileFlag === flag));
    return o !== undefined && !spec.options(o.key);
  };
  const sentences = description.split(/(?<=\.)\s+(?=[A-Z])/);
  const kept = sentences.filter((s) => ![...s.matchAll(/--([a-z][a-z-]*)/g)].some((m) => refused(m[1]!)));
  return kept.join(" ");
}

/** `<command> --help` (or the overview without a command). */
export function helpText(version: string, command?: CommandName): string {
  const lines = [
    `gitlab-pull-secret ${version}: GitLab registry image pull Secrets for Kubernetes, rotated safely.`,
    "",
    `Usage: gitlab-pull-secret ${command ?? "<command>"} [options]`,
    "",
  ];
  if (!command) {
    lines.push("Commands:");
    const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length)) + 2;
    for (const [name, spec] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(width)}${spec.summary}`);
    lines.push("", "Run `gitlab-pull-secret <command> --help` for its options and exit codes.");
    return lines.join("\n") + "\n";
  }
  const spec = COMMANDS[command];
  lines.push(spec.summary, "");
  for (const p of spec.details) lines.push(p, "");
  lines.push("Options:");
  for (const o of OPTIONS) {
    if (!spec.options(o.key)) continue;
    const names = [
      o.flag ? `--${o.flag}${o.kind === "boolean" ? "" : " VALUE"}` : undefined,
      "fileFlag" in o ? `--${o.fileFlag} PATH` : undefined,
    ]
      .filter(Boolean)
      .join(", ");
    // In precedence order: the flag, then these variables, then the default.
    const vars = [optionVariable(o), ...("env" in o && o.env ? o.env : [])].filter(Boolean);
    const env = vars.length ? ` [env: ${vars.join(", ")}]` : "";
    // A default described in words may name a flag this command refuses (the token's, --username): then it is left out.
    const defText = "default" in o ? o.default : "defaultText" in o ? describeFor(o.defaultText, spec) : "";
    const def = defText ? ` [default: ${defText}]` : "";
    lines.push(
      `  ${(names || `$${"env" in o && o.env ? o.env[0] : ""}`).padEnd(34)}${describeFor(o.description, spec)}${env}${def}`,
    );
  }
  lines.push("  --help, -h".padEnd(36) + "Show this help.", "");
  lines.push("Exit codes:", ...spec.exitCodes.map((c) => `  ${c}`));
  return lines.join("\n") + "\n";
}
