// The GitLab CI/CD component (templates/rotate.yml), derived from the option
// table like action.yml: every option with an Action input becomes a
// `spec:inputs` entry AND a job variable carrying its value as data: the
// option variable the CLI reads (GITLAB_PULL_SECRET_OPT_*). No input is ever
// interpolated into the script, so no input can become shell code, and the
// CLI validates every value as it validates flags. `npm run build` writes the
// file; a unit test fails when the committed template differs.
// The model of GitLab's input handling used by the tests: component-interpolation.ts.
import yaml from "js-yaml";
import { OPTIONS, optionByKey, optionVariable, type OptionSpec } from "../config/options.js";
import { VERSION } from "../config/version.js";

export type ComponentInputType = "string" | "boolean" | "array";
export type InputValue = string | boolean | number | unknown[];

export interface ComponentInputSpec {
  type: ComponentInputType;
  /** Absent: the input is mandatory. */
  default?: InputValue;
  description: string;
  regex?: string;
  options?: string[];
}

/** File name of the dotenv report the job writes (`--dotenv`) and uploads. */
export const DOTENV_FILE = "gitlab-pull-secret.env";
/** The textfile the job writes with input metrics (`--metrics-file`) and uploads as an artifact, failed runs included. */
export const METRICS_FILE = "gitlab-pull-secret.prom";
/**
 * The image this project releases (image/build.sh): Node, kubectl and the CLI, nothing to
 * install at run time. The component's default is the image of its own version.
 */
export const IMAGE_REPOSITORY = "registry.gitlab.com/gitlab-pull-secret/gitlab-pull-secret";

/**
 * Component input names that are not the Action input in snake_case.
 * `context` is the GitLab agent context here (`path/to/project:agent`), named
 * like GitLab's own KUBE_CONTEXT; the token is never an input value.
 */
export const COMPONENT_RENAMES: Readonly<Record<string, string>> = { context: "kube_context" };

/**
 * Secret options: the component takes the NAME of a masked CI/CD variable;
 * the script moves its value into the option's own env variable (GITLAB_TOKEN,
 * REGISTRY_PASSWORD) for the CLI alone. Adding a secret option to the table
 * without an entry here fails the build.
 */
export const SECRET_INPUTS: Readonly<
  Record<string, { input: string; defaultVariable: string; description: string; missing: string }>
> = {
  gitlabToken: {
    input: "token_variable",
    defaultVariable: "GITLAB_PULL_SECRET_TOKEN",
    description:
      "Name of the CI/CD variable (Settings > CI/CD > Variables: masked, type Variable, protected if this job only runs on " +
      "protected refs) that holds the GitLab token with the api scope, held by a Maintainer of the project (Owner of the group). " +
      "Its value reaches the CLI in GITLAB_TOKEN only: never on a command line, never in the log. Never put the token itself in an input. " +
      "Not read with the username input (static credentials).",
    missing:
      "Add it under Settings > CI/CD > Variables, masked, holding a GitLab token with the api scope of a project Maintainer; " +
      "a protected variable only reaches pipelines on protected branches and tags.",
  },
  registryPassword: {
    input: "password_variable",
    defaultVariable: "REGISTRY_PASSWORD",
    description:
      "With the username input (static credentials for any registry): name of the masked CI/CD variable holding the registry " +
      "password or access token. Its value reaches the CLI in REGISTRY_PASSWORD only. Never put the password itself in an input.",
    missing:
      "With input username it must hold the registry password or access token: add it under Settings > CI/CD > Variables, masked.",
  },
};

/** Component descriptions that differ from the table's (which speaks of flags / Action inputs). */
const DESCRIPTION_OVERRIDES: Readonly<Record<string, string>> = {
  namespaces: "Target namespaces, as an array: [team-a, team-b].",
  context:
    "kubeconfig context of the target cluster. With the GitLab agent for Kubernetes: path/to/agent-config-project:agent-name.",
  apiTokenStore:
    "With rotate_api_token_within: where the API token's value lives, written with the new value after its rotation: " +
    "gitlab:project:<id or path>:<KEY>[:<environment scope>], gitlab:group:<id or path>:<KEY>[:<environment scope>] (a CI/CD " +
    "variable; its masked, protected, raw and hidden flags are kept) or kubernetes:<namespace>/<secret>/<key>. " +
    "Empty: the CI/CD variable token_variable names, in this project (gitlab:project:$CI_PROJECT_ID:<token_variable>); " +
    "a variable defined on a group or the instance needs its own store.",
};

// Format checks GitLab runs when the pipeline is created, for the inputs the
// script itself uses. Option values need none here: the CLI validates them.
const VARIABLE_NAME_REGEX = "^[A-Za-z_][A-Za-z0-9_]*$";
const PACKAGE_VERSION_REGEX = "^[0-9A-Za-z][0-9A-Za-z.+-]*$";
const KUBECTL_VERSION_REGEX = "^(?:stable|v[0-9]+\\.[0-9]+\\.[0-9]+)$";

/** Job variables the script reads (the CLI never does), beside the option variables. */
const SCRIPT_VARIABLES: Readonly<Record<string, string>> = {
  GPS_TOKEN_VARIABLE: "token_variable",
  GPS_PASSWORD_VARIABLE: "password_variable",
  GPS_VERSION: "version",
  GPS_KUBECTL_VERSION: "kubectl_version",
  GPS_METRICS: "metrics",
};

export function snake(name: string): string {
  return name.replace(/-/g, "_");
}

/** The component input an option maps to, or null when the option has none. */
export function componentInputName(o: OptionSpec): string | null {
  if (!o.input || o.component === false) return null;
  if (o.secret) {
    const s = SECRET_INPUTS[o.key];
    if (!s) throw new Error(`secret option ${o.key} has no SECRET_INPUTS entry: decide how the component passes it`);
    return s.input;
  }
  return COMPONENT_RENAMES[o.key] ?? snake(o.input);
}

/**
 * The input's default as the spec header declares it; undefined = mandatory.
 * Options with env fallbacks ($CI_SERVER_URL, $CI_PROJECT_ID) default to empty:
 * the CLI falls back itself, so an explicit group or static credentials never
 * meet a project or URL the component filled in.
 */
function componentDefault(o: OptionSpec): InputValue | undefined {
  if (o.kind === "boolean") {
    if (o.default === "true")
      throw new Error(`boolean option ${o.key} defaults to true: the input could not say "not given"`);
    return false;
  }
  if (o.kind === "list") return o.required ? undefined : [];
  if (o.env && o.env.length > 0) return "";
  if (o.default !== undefined) return o.default;
  return o.required ? undefined : "";
}

function componentDescription(o: OptionSpec): string {
  let text = DESCRIPTION_OVERRIDES[o.key] ?? o.description;
  if (o.env?.length) text += ` Empty: $${o.env.join(", then $")}${o.default ? `, then ${o.default}` : ""}.`;
  else if (o.defaultText && o.default === undefined) text += ` Empty: ${o.defaultText}.`;
  return text;
}

/** Inputs that shape the job rather than the rotation. */
function jobInputs(): Record<string, ComponentInputSpec> {
  return {
    stage: { type: "string", default: "deploy", description: "Stage of the rotation job." },
    job_name: {
      type: "string",
      default: "gitlab-pull-secret",
      description: "Name of the rotation job (include the component once per cluster with distinct names).",
    },
    rules: {
      type: "array",
      default: [{ if: '$CI_PIPELINE_SOURCE == "schedule"' }, { if: "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" }],
      description:
        "rules: of the job. Default: scheduled pipelines and pipelines on the default branch (never merge requests).",
    },
    image: {
      type: "string",
      default: `${IMAGE_REPOSITORY}:${VERSION}`,
      description:
        "Image of the job. Default: the gitlab-pull-secret image of this release (Node, kubectl and the CLI; nothing is installed). " +
        "Any image with sh and Node.js >= 20 works: kubectl and gitlab-pull-secret are installed when not on PATH.",
    },
    version: {
      type: "string",
      default: VERSION,
      regex: PACKAGE_VERSION_REGEX,
      description:
        "Version of the gitlab-pull-secret npm package installed when the image lacks it. Default: the release of this component.",
    },
    kubectl_version: {
      type: "string",
      default: "stable",
      regex: KUBECTL_VERSION_REGEX,
      description:
        "kubectl release (vX.Y.Z, or stable for the latest) downloaded from dl.k8s.io, checksum verified, when the image lacks kubectl.",
    },
    metrics: {
      type: "boolean",
      default: false,
      description:
        `Write the run's Prometheus metrics to ${METRICS_FILE} (node-exporter textfile format, as --metrics-file) and upload it as a job ` +
        "artifact, failed runs included, for a job that collects it or a Pushgateway. See docs/monitoring.md. metrics_file names another path instead (not uploaded).",
    },
  };
}

/** The `spec: inputs:` of the component, in order: job shape, tool versions, then the option table. */
export function componentInputs(options: readonly OptionSpec[] = OPTIONS): Record<string, ComponentInputSpec> {
  const inputs = jobInputs();
  for (const o of options) {
    const name = componentInputName(o);
    if (!name) continue;
    if (name in inputs) throw new Error(`component input ${name} (option ${o.key}) is declared twice`);
    if (o.secret) {
      const s = SECRET_INPUTS[o.key]!;
      inputs[name] = {
        type: "string",
        default: s.defaultVariable,
        regex: VARIABLE_NAME_REGEX,
        description: s.description,
      };
      continue;
    }
    const def = componentDefault(o);
    inputs[name] = {
      type: o.kind === "list" ? "array" : o.kind,
      ...(def === undefined ? {} : { default: def }),
      description: componentDescription(o),
    };
  }
  return inputs;
}

/**
 * The job's `variables:`: each input under the name its reader knows. Strings
 * are double-quoted, so that an empty one stays "" where GitLab interpolates
 * text. Booleans and arrays sit in a one-line literal block: a whole-value
 * `$[[ ]]` would keep their type, and a variable must be a string, so embedded
 * in text GitLab writes them as true / ["a", "b"] (the CLI trims the line break).
 */
function jobVariables(options: readonly OptionSpec[]): string[] {
  const line = (variable: string, input: string, type: ComponentInputType): string[] =>
    type === "string"
      ? [`    ${variable}: "$[[ inputs.${input} ]]"`]
      : [`    ${variable}: |`, `      $[[ inputs.${input} ]]`];
  const lines = Object.entries(SCRIPT_VARIABLES).flatMap(([variable, input]) =>
    line(variable, input, input === "metrics" ? "boolean" : "string"),
  );
  for (const o of options) {
    const input = componentInputName(o);
    if (!input || o.secret) continue;
    const variable = optionVariable(o);
    if (!variable)
      throw new Error(`option ${o.key} has an Action input but no option variable: the component cannot pass it`);
    lines.push(...line(variable, input, o.kind === "list" ? "array" : o.kind));
  }
  return lines;
}

/**
 * The job script: three items, none holding an input. 1: the secret the mode
 * needs (the GitLab token; with a username the registry password) must be set
 * before anything is installed or called; its value moves into an unexported
 * shell variable and the CI/CD variables leave the environment, so no process
 * but the CLI ever has it (not npm, curl or kubectl). 2: kubectl and the CLI,
 * each only when missing. 3: the rotation, every option from its variable.
 */
export function componentScript(options: readonly OptionSpec[] = OPTIONS): string[] {
  const secrets = options.filter((o) => o.secret && componentInputName(o)).map((o) => o.key);
  if (secrets.join() !== "gitlabToken,registryPassword") {
    throw new Error(
      `the component's script passes the GitLab token and the registry password, not: ${secrets.join(", ")}`,
    );
  }
  const [tokenEnv, passwordEnv] = [optionByKey("gitlabToken").env![0], optionByKey("registryPassword").env![0]];
  const username = optionVariable(optionByKey("username"));
  const within = optionVariable(optionByKey("rotateApiTokenWithin"));
  const store = optionVariable(optionByKey("apiTokenStore"));
  const take = (shell: string, variable: string, key: string): string[] => [
    `  ${shell}=$(printenv "$${variable}" || true)`,
    `  if [ -z "$${shell}" ]; then echo "error: the CI/CD variable $${variable} (input ${SECRET_INPUTS[key]!.input}) is not set or empty. ${SECRET_INPUTS[key]!.missing}" >&2; exit 2; fi`,
  ];
  return [
    [
      "# Take the GitLab token (with a username: the registry password) from the CI/CD variable the input names, into this shell only",
      "set +x",
      'gps_token="" gps_password=""',
      `if [ -z "$${username}" ]; then`,
      ...take("gps_token", "GPS_TOKEN_VARIABLE", "gitlabToken"),
      "else",
      ...take("gps_password", "GPS_PASSWORD_VARIABLE", "registryPassword"),
      "fi",
      'unset "$GPS_TOKEN_VARIABLE" "$GPS_PASSWORD_VARIABLE"',
    ],
    [
      "# Install kubectl and gitlab-pull-secret when the image does not have them",
      'gps_dir="${TMPDIR:-/tmp}/gitlab-pull-secret"',
      'mkdir -p "$gps_dir/bin"',
      'export PATH="$PATH:$gps_dir/bin"',
      "gps_fetch() {",
      '  if command -v curl >/dev/null 2>&1; then curl -fsSL --retry 3 -o "$2" "$1"',
      // Behind a proxy: curl and npm read HTTPS_PROXY / NO_PROXY in either case; wget reads only the
      // lower-case names, so it gets them from the upper-case ones; Node's fetch only with NODE_USE_ENV_PROXY (Node >= 24).
      '  elif command -v wget >/dev/null 2>&1; then https_proxy="${https_proxy:-${HTTPS_PROXY:-}}" no_proxy="${no_proxy:-${NO_PROXY:-}}" wget -q -O "$2" "$1"',
      `  else NODE_USE_ENV_PROXY=1 node -e 'fetch(process.argv[1]).then(async (r) => { if (!r.ok) throw new Error(r.status + " " + r.url); require("fs").writeFileSync(process.argv[2], Buffer.from(await r.arrayBuffer())); }).catch((e) => { console.error(e.message); process.exit(1); })' "$1" "$2"`,
      "  fi",
      "}",
      "if ! command -v kubectl >/dev/null 2>&1; then",
      '  gps_kubectl="$GPS_KUBECTL_VERSION"',
      '  if [ "$gps_kubectl" = stable ]; then gps_fetch https://dl.k8s.io/release/stable.txt "$gps_dir/stable.txt"; gps_kubectl="$(cat "$gps_dir/stable.txt")"; fi',
      '  case "$(uname -m)" in x86_64|amd64) gps_arch=amd64 ;; aarch64|arm64) gps_arch=arm64 ;;',
      '    *) echo "error: no kubectl download for $(uname -m); use an image with kubectl (input image)" >&2; exit 1 ;; esac',
      '  echo "Installing kubectl $gps_kubectl ($gps_arch) from dl.k8s.io"',
      '  gps_url="https://dl.k8s.io/release/$gps_kubectl/bin/linux/$gps_arch/kubectl"',
      '  gps_fetch "$gps_url" "$gps_dir/bin/kubectl"',
      '  gps_fetch "$gps_url.sha256" "$gps_dir/kubectl.sha256"',
      '  echo "$(cat "$gps_dir/kubectl.sha256")  $gps_dir/bin/kubectl" | sha256sum -c -',
      '  chmod +x "$gps_dir/bin/kubectl"',
      "fi",
      "if ! command -v gitlab-pull-secret >/dev/null 2>&1; then",
      '  command -v npm >/dev/null 2>&1 || { echo "error: gitlab-pull-secret is not on PATH and there is no npm to install it: use an image with Node.js >= 20 and npm (input image)" >&2; exit 1; }',
      '  echo "Installing gitlab-pull-secret@$GPS_VERSION with npm"',
      '  npm install -g --prefix "$gps_dir" --ignore-scripts --no-audit --no-fund "gitlab-pull-secret@$GPS_VERSION"',
      "fi",
      'echo "gitlab-pull-secret $(gitlab-pull-secret --version), $(kubectl version --client 2>/dev/null | head -n 1)"',
    ],
    [
      `# Rotate: the inputs reach the CLI as its option variables, the secret as ${tokenEnv} / ${passwordEnv} on this command only`,
      "set +x",
      `if [ "$(echo $GPS_METRICS)" = true ] && [ -z "$${optionVariable(optionByKey("metricsFile"))}" ]; then export ${optionVariable(optionByKey("metricsFile"))}=${METRICS_FILE}; fi`,
      // The API token lives where the job took it from: the variable token_variable names, in this project.
      `if [ -n "$${within}" ] && [ -z "$${store}" ]; then export ${store}="gitlab:project:$CI_PROJECT_ID:$GPS_TOKEN_VARIABLE"; fi`,
      `${tokenEnv}="$gps_token" ${passwordEnv}="$gps_password" gitlab-pull-secret rotate --dotenv ${DOTENV_FILE}`,
    ],
  ].map((item) => item.join("\n"));
}

const DUMP = { lineWidth: -1, noRefs: true, quotingType: '"' } as const;

/** The text of templates/rotate.yml. The job is written by hand: its variables need YAML styles a dumper does not choose. */
export function componentTemplate(options: readonly OptionSpec[] = OPTIONS): string {
  const header = { spec: { inputs: componentInputs(options) } };
  const block = (text: string): string[] => ["    - |-", ...text.split("\n").map((l) => `      ${l}`)];
  return [
    "# GitLab CI/CD component: rotate a GitLab registry image pull Secret in Kubernetes namespaces.",
    "# Generated from src/config/options.ts by `npm run build` (scripts/write-component.ts); edit the option table, not this file.",
    yaml.dump(header, DUMP).trimEnd(),
    "---",
    "$[[ inputs.job_name ]]:",
    "  stage: $[[ inputs.stage ]]",
    // The image's entrypoint is the CLI: the runner must start the job's shell instead.
    "  image:",
    "    name: $[[ inputs.image ]]",
    '    entrypoint: [""]',
    "  rules: $[[ inputs.rules ]]",
    "  # Inputs reach the job as data: GPS_* for the script, GITLAB_PULL_SECRET_OPT_* for the CLI, which validates them.",
    "  variables:",
    ...jobVariables(options),
    "  script:",
    ...componentScript(options).flatMap(block),
    "  artifacts:",
    "    when: always",
    "    paths:",
    `      - ${METRICS_FILE}`,
    "    reports:",
    `      dotenv: ${DOTENV_FILE}`,
    "",
  ].join("\n");
}
