// Bad inputs, shared by the unit tests (parseConfig) and the end-to-end tests
// (the built CLI, which must exit 2 before any request reaches a stand-in),
// as flags and as option variables (GITLAB_PULL_SECRET_OPT_*).
import { OPTIONS, optionVariable, type RawSettings } from "../../src/config/options.ts";

export const TOKEN = "glpat-unit-secret-value";
export const good: RawSettings = { project: "grp/app", namespaces: ["team-a", "team-b"] };
export const env = { GITLAB_TOKEN: TOKEN };
/** Static credentials (--username): no project, no GitLab URL; the password "hunter2" must never show. */
export const STATIC: RawSettings = {
  project: undefined,
  gitlabUrl: undefined,
  username: "robot",
  registry: "harbor.example.com",
};
export const STATIC_ENV = { REGISTRY_PASSWORD: "hunter2" };

// [what, raw settings, env, option named in the message, bad value shown (or undefined)]
export const BAD: Array<[string, RawSettings, Record<string, string>, string, string | undefined]> = [
  ["GitLab URL that is not a URL", { gitlabUrl: "gitlab.example.com" }, env, "--gitlab-url", "gitlab.example.com"],
  [
    "GitLab URL over plain http",
    { gitlabUrl: "http://gitlab.example.com" },
    env,
    "--gitlab-url",
    "http://gitlab.example.com",
  ],
  [
    "GitLab URL with another scheme",
    { gitlabUrl: "ftp://gitlab.example.com" },
    env,
    "--gitlab-url",
    "ftp://gitlab.example.com",
  ],
  // A URL's query, fragment and user:password@ may hold a token: refused, and never echoed (shown: undefined).
  ["GitLab URL with a query", { gitlabUrl: "https://gitlab.example.com/?x=1" }, env, "--gitlab-url", undefined],
  [
    "GitLab URL with the token in its query",
    { gitlabUrl: `https://gitlab.example.com/?private_token=${TOKEN}` },
    env,
    "--gitlab-url",
    undefined,
  ],
  [
    "GitLab URL over http with the token in its query",
    { gitlabUrl: `http://gitlab.example.com/api/v4?private_token=${TOKEN}` },
    env,
    "--gitlab-url",
    undefined,
  ],
  ["GitLab URL with an empty query", { gitlabUrl: "https://gitlab.example.com/?" }, env, "--gitlab-url", undefined],
  ["GitLab URL with a fragment", { gitlabUrl: `https://gitlab.example.com/#${TOKEN}` }, env, "--gitlab-url", undefined],
  [
    "GitLab URL with credentials",
    { gitlabUrl: "https://user:hunter2@gitlab.example.com" },
    env,
    "--gitlab-url",
    undefined,
  ],
  [
    "GitLab URL with the token as its user",
    { gitlabUrl: `https://${TOKEN}@gitlab.example.com` },
    env,
    "--gitlab-url",
    undefined,
  ],
  ["GitLab URL that is the token itself", { gitlabUrl: TOKEN }, env, "--gitlab-url", undefined],
  ["no GitLab token", {}, {}, "GITLAB_TOKEN", undefined],
  ["GitLab token with whitespace", {}, { GITLAB_TOKEN: "two words" }, "GITLAB_TOKEN", undefined],
  ["both project and group", { group: "grp" }, env, "--project and --group", "grp/app, grp"],
  ["neither project nor group", { project: undefined }, env, "--project", undefined],
  ["project that is neither id nor path", { project: "app" }, env, "--project", "app"],
  ["project id zero", { project: "0" }, env, "--project", "0"],
  [
    "group with bad characters",
    { project: undefined, group: "grp/<x>", registry: "r.example.com" },
    env,
    "--group",
    "grp/<x>",
  ],
  ["group without registry", { project: undefined, group: "grp" }, env, "--registry", undefined],
  [
    "registry with a scheme",
    { registry: "https://registry.example.com" },
    env,
    "--registry",
    "https://registry.example.com",
  ],
  ["registry with a path", { registry: "registry.example.com/grp" }, env, "--registry", "registry.example.com/grp"],
  [
    "registry with a port out of range",
    { registry: "registry.example.com:70000" },
    env,
    "--registry",
    "registry.example.com:70000",
  ],
  ["no namespaces", { namespaces: [] }, env, "--namespace", undefined],
  ["namespaces that are only commas", { namespaces: [",,"] }, env, "--namespace", undefined],
  ["namespace with capitals", { namespaces: ["Team-A"] }, env, "--namespace", "Team-A"],
  ["namespace with a dot", { namespaces: ["team.a"] }, env, "--namespace", "team.a"],
  ["namespace longer than 63", { namespaces: ["a".repeat(64)] }, env, "--namespace", "a".repeat(64)],
  ["namespace ending in a dash", { namespaces: ["team-"] }, env, "--namespace", "team-"],
  ["duplicate namespaces", { namespaces: ["a", "b", "a"] }, env, "--namespace", "a"],
  ["Secret name with underscore", { secretName: "Bad_Name" }, env, "--secret-name", "Bad_Name"],
  ["Secret name too long", { secretName: "a".repeat(254) }, env, "--secret-name", "a".repeat(254)],
  ["unknown duration unit", { expiresIn: "7y" }, env, "--expires-in", "7y"],
  ["zero duration", { expiresIn: "0d" }, env, "--expires-in", "0d"],
  ["duration over 365d", { expiresIn: "366d" }, env, "--expires-in", "366d"],
  ["duration without unit", { expiresIn: "7" }, env, "--expires-in", "7"],
  ["token name gitlab-deploy-token", { tokenName: "gitlab-deploy-token" }, env, "--token-name", "gitlab-deploy-token"],
  ["token name with a slash", { tokenName: "a/b" }, env, "--token-name", "a/b"],
  ["boolean that is not true/false", { dryRun: "yes" }, env, "--dry-run", "yes"],
  ["context with whitespace", { context: "my context" }, env, "--context", "my context"],
  [
    "group without a verify image",
    { project: undefined, group: "grp", registry: "r.example.com" },
    env,
    "--verify-image",
    undefined,
  ],
  ["verify image with a scheme", { verifyImage: "https://r/grp/app" }, env, "--verify-image", "https://r/grp/app"],
  ["verify image with capitals", { verifyImage: "Grp/App:latest" }, env, "--verify-image", "Grp/App:latest"],
  [
    "both --verify-image and --no-verify",
    { verifyImage: "grp/app", noVerify: true },
    env,
    "--verify-image and --no-verify",
    "grp/app",
  ],
  ["negative --keep-previous", { keepPrevious: "-1" }, env, "--keep-previous", "-1"],
  ["--keep-previous over 10", { keepPrevious: "11" }, env, "--keep-previous", "11"],
  ["--rotate-before without unit", { rotateBefore: "2" }, env, "--rotate-before", "2"],
  [
    "--rotate-before longer than --expires-in: every run would rotate",
    { rotateBefore: "10d", expiresIn: "7d" },
    env,
    "--rotate-before and --expires-in",
    "10d, 7d",
  ],
  [
    "--rotate-before as long as --expires-in",
    { rotateBefore: "30d", expiresIn: "30d" },
    env,
    "--rotate-before and --expires-in",
    "30d, 30d",
  ],
  [
    "--rotate-before as long as the default --expires-in (7d)",
    { rotateBefore: "1w" },
    env,
    "--rotate-before and --expires-in",
    "1w, 7d",
  ],
  ["--expires-in under the 1h minimum", { expiresIn: "30m" }, env, "--expires-in", "30m"],
  ["--sweep-grace over 7d", { sweepGrace: "8d" }, env, "--sweep-grace", "8d"],
  ["--lock-timeout in years", { lockTimeout: "1y" }, env, "--lock-timeout", "1y"],
  ["--lock-lease-duration under 15s", { lockLeaseDuration: "10s" }, env, "--lock-lease-duration", "10s"],
  ["--lock-lease-duration over an hour", { lockLeaseDuration: "2h" }, env, "--lock-lease-duration", "2h"],
  ["--request-timeout under a second", { requestTimeout: "0s" }, env, "--request-timeout", "0s"],
  [
    "plain http with a non-boolean escape hatch",
    { gitlabUrl: "http://gitlab.example.com", allowInsecureHttp: "maybe" },
    env,
    "--allow-insecure-http",
    "maybe",
  ],
  ["unknown Secret type", { secretType: "opaque" }, env, "--secret-type", "opaque"],
  [
    "registry alias with a scheme",
    { registryAliases: ["https://proxy.example.com"] },
    env,
    "--registry-alias",
    "https://proxy.example.com",
  ],
  [
    "registry alias with a path",
    { registryAliases: ["proxy.example.com/grp"] },
    env,
    "--registry-alias",
    "proxy.example.com/grp",
  ],
  [
    "duplicate registry aliases",
    { registryAliases: ["proxy.example.com", "Proxy.example.com"] },
    env,
    "--registry-alias",
    "Proxy.example.com",
  ],
  [
    "registry alias that is the registry",
    { registry: "r.example.com:5005", registryAliases: ["r.example.com:5005"] },
    env,
    "--registry-alias",
    "r.example.com:5005",
  ],
  ["a write scope", { scopes: ["read_registry", "write_registry"] }, env, "--scope", "write_registry"],
  ["a package registry scope", { scopes: ["read_package_registry"] }, env, "--scope", "read_package_registry"],
  ["an unknown scope", { scopes: ["read_registry,pull"] }, env, "--scope", "pull"],
  [
    "write_virtual_registry without read_virtual_registry",
    { scopes: ["read_registry", "write_virtual_registry"] },
    env,
    "--scope",
    "read_registry,write_virtual_registry",
  ],
  [
    "scopes without read_registry while the pull check is on",
    { scopes: ["read_virtual_registry", "write_virtual_registry"] },
    env,
    "--scope",
    "read_virtual_registry,write_virtual_registry",
  ],
  [
    "--scope with static credentials",
    { ...STATIC, scopes: ["read_virtual_registry"] },
    STATIC_ENV,
    "--scope",
    "read_virtual_registry",
  ],
  [
    "a registry password without --username",
    { registryPassword: "hunter2" },
    env,
    "$REGISTRY_PASSWORD / --password-file",
    undefined,
  ],
  ["--username without a password", { ...STATIC }, {}, "$REGISTRY_PASSWORD / --password-file", undefined],
  ["--username without --registry", { ...STATIC, registry: undefined }, STATIC_ENV, "--registry", undefined],
  ["--username with a colon", { ...STATIC, username: "robot:ci" }, STATIC_ENV, "--username", "robot:ci"],
  ["--username with a space", { ...STATIC, username: "ro bot" }, STATIC_ENV, "--username", "ro bot"],
  ["static credentials with --group", { ...STATIC, group: "grp" }, STATIC_ENV, "--username and --group", "robot, grp"],
  [
    "static credentials with --project",
    { ...STATIC, project: "grp/app" },
    STATIC_ENV,
    "--username and --project",
    "robot, grp/app",
  ],
  ["static credentials with --rotate-before", { ...STATIC, rotateBefore: "2d" }, STATIC_ENV, "--rotate-before", "2d"],
  ["static credentials with --expires-in", { ...STATIC, expiresIn: "30d" }, STATIC_ENV, "--expires-in", "30d"],
  ["static credentials with --keep-previous", { ...STATIC, keepPrevious: "2" }, STATIC_ENV, "--keep-previous", "2"],
  [
    "static credentials with a GitLab URL",
    { ...STATIC, gitlabUrl: "https://gitlab.example.com" },
    STATIC_ENV,
    "--gitlab-url",
    "https://gitlab.example.com",
  ],
  [
    "static credentials with a GitLab token file",
    { ...STATIC, gitlabToken: "glpat-never-shown" },
    STATIC_ENV,
    "$GITLAB_TOKEN / --gitlab-token-file",
    undefined,
  ],
];

/**
 * RawSettings as option variables, lists as JSON arrays (as the GitLab component
 * passes them); undefined when an option has no variable (secrets).
 */
export function variablesOf(raw: RawSettings): Record<string, string> | undefined {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const name = optionVariable(OPTIONS.find((o) => o.key === key)!);
    if (!name) return undefined;
    env[name] = Array.isArray(value) ? JSON.stringify(value) : String(value);
  }
  return env;
}

/** The option a message names when the values came from variables: each flag given as a variable becomes that variable. */
export function variableLabel(label: string, raw: RawSettings): string {
  return label.replace(/--[a-z-]+/g, (flag) => {
    const o = OPTIONS.find((x) => x.flag === flag.slice(2));
    const value = o ? raw[o.key] : undefined;
    const given = Array.isArray(value) ? value.length > 0 : value !== undefined && value !== "" && value !== false;
    return o && given ? `$${optionVariable(o) ?? flag}` : flag;
  });
}

// Bad option variables only an environment can hold: [what, env, message].
export const BAD_VARIABLES: Array<[string, Record<string, string>, RegExp]> = [
  [
    "an unknown option variable (a typo)",
    { GITLAB_PULL_SECRET_OPT_NAMESPACE: "team-a" },
    /\$GITLAB_PULL_SECRET_OPT_NAMESPACE: not an option variable \(did you mean GITLAB_PULL_SECRET_OPT_NAMESPACES\?\)/,
  ],
  [
    "the GitLab token in an option variable",
    { GITLAB_PULL_SECRET_OPT_GITLAB_TOKEN: TOKEN },
    /\$GITLAB_PULL_SECRET_OPT_GITLAB_TOKEN: not read: a secret never comes from/,
  ],
  [
    "the registry password in an option variable",
    { GITLAB_PULL_SECRET_OPT_REGISTRY_PASSWORD: "hunter2" },
    /\$GITLAB_PULL_SECRET_OPT_REGISTRY_PASSWORD: not read/,
  ],
  [
    "a list that is broken JSON",
    { GITLAB_PULL_SECRET_OPT_NAMESPACES: '["team-a",' },
    /\$GITLAB_PULL_SECRET_OPT_NAMESPACES: invalid value "\[\\"team-a\\","; expected a JSON array of strings/,
  ],
  [
    "a list of objects",
    { GITLAB_PULL_SECRET_OPT_SERVICE_ACCOUNTS: '[{"name":"default"}]' },
    /\$GITLAB_PULL_SECRET_OPT_SERVICE_ACCOUNTS: invalid value/,
  ],
  [
    "a boolean that is not true/false",
    { GITLAB_PULL_SECRET_OPT_FORCE: "1" },
    /\$GITLAB_PULL_SECRET_OPT_FORCE: invalid value "1"; expected true or false/,
  ],
];

/**
 * CLI only: secret files named on the command line (RawSettings cannot carry a
 * file). A file named explicitly wins or fails: exit 2 naming the flag and the
 * file, even when the environment variable is set too.
 * [what, flag, the file, env, which credentials the rest of the command line is for]
 */
export type BadFile = "empty" | "blank" | "missing" | "directory" | "below a file";
export const BAD_FILES: Array<
  [string, "--gitlab-token-file" | "--password-file", BadFile, Record<string, string>, "deploy-token" | "static"]
> = [
  [
    "an empty token file while GITLAB_TOKEN is set",
    "--gitlab-token-file",
    "empty",
    { GITLAB_TOKEN: "glpat-cli-bad-input-000" },
    "deploy-token",
  ],
  [
    "a token file of blank lines while GITLAB_TOKEN is set",
    "--gitlab-token-file",
    "blank",
    { GITLAB_TOKEN: "glpat-cli-bad-input-000" },
    "deploy-token",
  ],
  ["an empty token file", "--gitlab-token-file", "empty", {}, "deploy-token"],
  ["a missing token file", "--gitlab-token-file", "missing", {}, "deploy-token"],
  [
    "a missing token file while GITLAB_TOKEN is set",
    "--gitlab-token-file",
    "missing",
    { GITLAB_TOKEN: "glpat-cli-bad-input-000" },
    "deploy-token",
  ],
  [
    "a token file that is a directory",
    "--gitlab-token-file",
    "directory",
    { GITLAB_TOKEN: "glpat-cli-bad-input-000" },
    "deploy-token",
  ],
  ["a token file below a file (unreadable path)", "--gitlab-token-file", "below a file", {}, "deploy-token"],
  [
    "an empty password file while REGISTRY_PASSWORD is set",
    "--password-file",
    "empty",
    { REGISTRY_PASSWORD: "hunter2" },
    "static",
  ],
];
