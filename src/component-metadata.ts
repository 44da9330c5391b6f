// The GitLab CI/CD component (templates/rotate.yml), derived from the option
// table like action.yml: every option with an Action input becomes a
// `spec:inputs` entry AND a line of the job script that turns it into its CLI
// flag, so the three faces cannot drift. `npm run build` writes the file; a
// unit test fails when the committed template differs from componentTemplate().
//
// This module also models what GitLab does with the template when a pipeline
// includes it (input validation, `$[[ inputs.x ]]` interpolation), so tests
// can run the job the way a runner would. Not bundled into dist/.
import yaml from "js-yaml";
import { OPTIONS, type OptionSpec } from "./options.js";
import { VERSION } from "./version.js";

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
/**
 * The image this project releases (image/build.sh): Node, kubectl and the CLI, nothing to
 * install at run time. The component's default is the image of its own version.
 */
export const IMAGE_REPOSITORY = "registry.gitlab.com/gitlab-pull-secret/gitlab-pull-secret";
/** Where the job installs kubectl / the CLI when the image lacks them. */
const INSTALL_DIR = '"${TMPDIR:-/tmp}/gitlab-pull-secret"';

/**
 * Component input names that are not the Action input in snake_case.
 * `context` is the GitLab agent context here (`path/to/project:agent`), named
 * like GitLab's own KUBE_CONTEXT; the token is never an input value.
 */
export const COMPONENT_RENAMES: Readonly<Record<string, string>> = { context: "kube_context" };

/**
 * Secret options: the component takes the NAME of a masked CI/CD variable and
 * hands its value to the CLI in the option's first env variable. Adding a
 * secret option to the table without an entry here fails the build.
 *
 * `shellVariable` is the unexported shell variable holding the value in the
 * job; `whenUsername` says in which mode the value is required: the GitLab
 * token without the username input (a deploy token is minted), the registry
 * password with it (static credentials). The other one is never read.
 */
export const SECRET_INPUTS: Readonly<
  Record<string, { input: string; defaultVariable: string; shellVariable: string; whenUsername: boolean; description: string; missing: string }>
> = {
  gitlabToken: {
    input: "token_variable",
    defaultVariable: "GITLAB_PULL_SECRET_TOKEN",
    shellVariable: "gps_token",
    whenUsername: false,
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
    shellVariable: "gps_password",
    whenUsername: true,
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
};

/**
 * String inputs are placed inside double quotes in the job script. This RE2
 * pattern (GitLab checks it, default included, when the pipeline is created)
 * admits `$VAR` / `${VAR}` references such as $CI_SERVER_URL but no command
 * substitution, quote, backslash or backtick, so an input can never run code.
 */
export const SHELL_SAFE_REGEX = "^(?:[^\"`\\\\$\\r\\n]|\\$[A-Za-z_{])*$";
const VARIABLE_NAME_REGEX = "^[A-Za-z_][A-Za-z0-9_]*$";
const PACKAGE_VERSION_REGEX = "^[0-9A-Za-z][0-9A-Za-z.+-]*$";
const KUBECTL_VERSION_REGEX = "^(?:stable|v[0-9]+\\.[0-9]+\\.[0-9]+)$";

export function snake(name: string): string {
  return name.replace(/-/g, "_");
}

/** The component input an option maps to, or null when the option has none. */
export function componentInputName(o: OptionSpec): string | null {
  if (!o.input) return null;
  if (o.secret) {
    const s = SECRET_INPUTS[o.key];
    if (!s) throw new Error(`secret option ${o.key} has no SECRET_INPUTS entry: decide how the component passes it`);
    return s.input;
  }
  return COMPONENT_RENAMES[o.key] ?? snake(o.input);
}

/** The input's default as the spec header declares it; undefined = mandatory. */
function componentDefault(o: OptionSpec): InputValue | undefined {
  if (o.kind === "boolean") {
    if (o.default === "true") throw new Error(`boolean option ${o.key} defaults to true: a bare flag cannot turn it off`);
    return false;
  }
  if (o.kind === "list") return o.required ? undefined : [];
  if (o.env && o.env.length > 0) return `$${o.env[0]}`;
  if (o.default !== undefined) return o.default;
  return o.required ? undefined : "";
}

function componentDescription(o: OptionSpec): string {
  let text = DESCRIPTION_OVERRIDES[o.key] ?? o.description;
  if (o.defaultText && o.default === undefined && !(o.env && o.env.length)) text += ` Empty: ${o.defaultText}.`;
  return text;
}

const inputRef = (name: string): string => `$[[ inputs.${name} ]]`;

/** Inputs that shape the job rather than the rotation. */
function jobInputs(): Record<string, ComponentInputSpec> {
  return {
    stage: { type: "string", default: "deploy", description: "Stage of the rotation job." },
    job_name: { type: "string", default: "gitlab-pull-secret", description: "Name of the rotation job (include the component once per cluster with distinct names)." },
    rules: {
      type: "array",
      default: [{ if: '$CI_PIPELINE_SOURCE == "schedule"' }, { if: "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" }],
      description: "rules: of the job. Default: scheduled pipelines and pipelines on the default branch (never merge requests).",
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
      description: "Version of the gitlab-pull-secret npm package installed when the image lacks it. Default: the release of this component.",
    },
    kubectl_version: {
      type: "string",
      default: "stable",
      regex: KUBECTL_VERSION_REGEX,
      description: "kubectl release (vX.Y.Z, or stable for the latest) downloaded from dl.k8s.io, checksum verified, when the image lacks kubectl.",
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
      inputs[name] = { type: "string", default: s.defaultVariable, regex: VARIABLE_NAME_REGEX, description: s.description };
      continue;
    }
    const type: ComponentInputType = o.kind === "list" ? "array" : o.kind;
    const def = componentDefault(o);
    const spec: ComponentInputSpec = { type, ...(def === undefined ? {} : { default: def }), description: componentDescription(o) };
    if (type === "string") spec.regex = SHELL_SAFE_REGEX;
    inputs[name] = spec;
  }
  return inputs;
}

function secretOptions(options: readonly OptionSpec[]): OptionSpec[] {
  const secrets = options.filter((o) => o.secret && o.input);
  for (const o of secrets) {
    if (!o.env?.length) throw new Error(`secret option ${o.key} has no env variable: the component cannot hand it to the CLI`);
    componentInputName(o); // throws without a SECRET_INPUTS entry
  }
  const modes = secrets.map((o) => SECRET_INPUTS[o.key]!.whenUsername);
  if (!modes.includes(false)) throw new Error("the component expects the GitLab token among the secret options");
  return secrets;
}

/** The lines that take one secret from its CI/CD variable (indented for the mode's branch). */
function takeSecret(o: OptionSpec): string[] {
  const s = SECRET_INPUTS[o.key]!;
  const variable = inputRef(s.input);
  return [
    `  if [ -z "\${${variable}:-}" ]; then`,
    `    echo "error: the CI/CD variable ${variable} (input ${s.input}) is not set or empty. ${s.missing}" >&2`,
    "    exit 2",
    "  fi",
    `  ${s.shellVariable}="\${${variable}}"`,
    `  unset ${variable}`,
  ];
}

/**
 * Script item 1: the secret the mode needs must be set, before anything is
 * installed or called: the GitLab token, or with the username input (static
 * credentials) the registry password. Its value moves into an unexported
 * shell variable and the CI/CD variable leaves the environment, so no process
 * of the job but the CLI (which gets it in its env variable) ever has it: not
 * npm, not curl, not kubectl.
 */
function tokenCheckScript(options: readonly OptionSpec[]): string {
  const secrets = secretOptions(options);
  const inMode = (whenUsername: boolean) => secrets.filter((o) => SECRET_INPUTS[o.key]!.whenUsername === whenUsername);
  const lines = [
    "# Take the GitLab token from its CI/CD variable into the shell only (with a username: the registry password instead; never printed)",
    "set +x",
    ...secrets.map((o) => `${SECRET_INPUTS[o.key]!.shellVariable}=""`),
  ];
  const withUsername = inMode(true);
  if (withUsername.length === 0) {
    lines.push(...inMode(false).flatMap(takeSecret).map((l) => l.slice(2)));
  } else {
    lines.push(`if [ -z "${inputRef("username")}" ]; then`, ...inMode(false).flatMap(takeSecret), "else", ...withUsername.flatMap(takeSecret), "fi");
    // The variable of the other mode is not read, but leaves the environment too: the job's
    // other processes (npm, curl, kubectl) must not inherit an API token a static run ignores.
    lines.push(`unset ${secrets.map((o) => inputRef(SECRET_INPUTS[o.key]!.input)).join(" ")}`);
  }
  return lines.join("\n");
}

/** Script item 2: kubectl and the CLI, each only when the image lacks it. */
function installScript(): string {
  const version = inputRef("version");
  return [
    "# Install kubectl and gitlab-pull-secret when the image does not have them",
    `gps_dir=${INSTALL_DIR}`,
    'mkdir -p "$gps_dir/bin"',
    'export PATH="$PATH:$gps_dir/bin"',
    "gps_fetch() {",
    '  if command -v curl >/dev/null 2>&1; then curl -fsSL --retry 3 -o "$2" "$1"',
    '  elif command -v wget >/dev/null 2>&1; then wget -q -O "$2" "$1"',
    `  else node -e 'fetch(process.argv[1]).then(async (r) => { if (!r.ok) throw new Error(r.status + " " + r.url); require("fs").writeFileSync(process.argv[2], Buffer.from(await r.arrayBuffer())); }).catch((e) => { console.error(e.message); process.exit(1); })' "$1" "$2"`,
    "  fi",
    "}",
    "if ! command -v kubectl >/dev/null 2>&1; then",
    `  gps_kubectl="${inputRef("kubectl_version")}"`,
    '  if [ "$gps_kubectl" = stable ]; then',
    '    gps_fetch https://dl.k8s.io/release/stable.txt "$gps_dir/kubectl-stable.txt"',
    '    gps_kubectl="$(cat "$gps_dir/kubectl-stable.txt")"',
    "  fi",
    '  case "$(uname -m)" in',
    "    x86_64|amd64) gps_arch=amd64 ;;",
    "    aarch64|arm64) gps_arch=arm64 ;;",
    '    *) echo "error: no kubectl download for $(uname -m); use an image with kubectl (input image)" >&2; exit 1 ;;',
    "  esac",
    '  echo "Installing kubectl $gps_kubectl ($gps_arch) from dl.k8s.io"',
    '  gps_fetch "https://dl.k8s.io/release/$gps_kubectl/bin/linux/$gps_arch/kubectl" "$gps_dir/bin/kubectl"',
    '  gps_fetch "https://dl.k8s.io/release/$gps_kubectl/bin/linux/$gps_arch/kubectl.sha256" "$gps_dir/kubectl.sha256"',
    '  echo "$(cat "$gps_dir/kubectl.sha256")  $gps_dir/bin/kubectl" | sha256sum -c -',
    '  chmod +x "$gps_dir/bin/kubectl"',
    "fi",
    "if ! command -v gitlab-pull-secret >/dev/null 2>&1; then",
    "  if ! command -v npm >/dev/null 2>&1; then",
    '    echo "error: gitlab-pull-secret is not on PATH and there is no npm to install it: use an image with Node.js >= 20 and npm (input image)" >&2',
    "    exit 1",
    "  fi",
    `  echo "Installing gitlab-pull-secret@${version} with npm"`,
    `  npm install -g --prefix "$gps_dir" --ignore-scripts --no-audit --no-fund "gitlab-pull-secret@${version}"`,
    "fi",
    'echo "gitlab-pull-secret $(gitlab-pull-secret --version), $(kubectl version --client 2>/dev/null | head -n 1)"',
  ].join("\n");
}

/** The lines turning one option's input into its CLI flag: only when set / not the default. */
function flagLines(o: OptionSpec): string[] {
  const name = componentInputName(o)!;
  const ref = inputRef(name);
  const flag = `--${o.flag}`;
  if (o.kind === "boolean") return [`if [ "${ref}" = "true" ]; then set -- "$@" ${flag}; fi`];
  if (o.kind === "list") {
    // GitLab writes an array input embedded in a string as ["a", "b"] (or JSON
    // ["a","b"]); a quoted here-document takes it literally, sed makes a comma list.
    return [
      `gps_list=$(sed -e 's/^\\[//' -e 's/\\]$//' -e 's/"//g' -e 's/, */,/g' <<'GPS_LIST'`,
      ref,
      "GPS_LIST",
      ")",
      `if [ -n "$gps_list" ]; then set -- "$@" ${flag} "$gps_list"; fi`,
    ];
  }
  const def = componentDefault(o);
  if (typeof def === "string" && !new RegExp(SHELL_SAFE_REGEX).test(def)) {
    throw new Error(`default of ${o.key} is not shell-safe: ${def}`);
  }
  // Equal to the default: leave the flag out, the CLI applies the same default
  // (or its env fallback such as $CI_PROJECT_ID, which keeps --group usable).
  return [`if [ "${ref}" != "${def ?? ""}" ]; then set -- "$@" ${flag} "${ref}"; fi`];
}

/** Script item 3: the CLI's argv from the inputs, the secrets in their env variables only. */
function rotateScript(options: readonly OptionSpec[]): string {
  const secrets = secretOptions(options);
  const lines = [
    "# Rotate: the command line comes from the inputs; the token goes to the CLI in GITLAB_TOKEN only",
    "set +x",
    `set -- rotate --dotenv ${DOTENV_FILE}`,
  ];
  for (const o of options) {
    if (!o.input || o.secret) continue;
    if (!o.flag) throw new Error(`option ${o.key} has an Action input but no CLI flag: the component cannot pass it`);
    lines.push(...flagLines(o));
  }
  // Both env variables are set, the unused one empty, so one left in the job's environment is never picked up.
  const env = secrets.map((o) => `${o.env![0]}="$${SECRET_INPUTS[o.key]!.shellVariable}"`).join(" ");
  lines.push('echo "gitlab-pull-secret $*"', `${env} gitlab-pull-secret "$@"`);
  return lines.join("\n");
}

export function componentJob(options: readonly OptionSpec[] = OPTIONS): Record<string, unknown> {
  return {
    stage: inputRef("stage"),
    // The image's entrypoint is the CLI: the runner must start the job's shell instead.
    image: { name: inputRef("image"), entrypoint: [""] },
    rules: inputRef("rules"),
    script: [tokenCheckScript(options), installScript(), rotateScript(options)],
    artifacts: { reports: { dotenv: DOTENV_FILE } },
  };
}

const DUMP = { lineWidth: -1, noRefs: true, quotingType: '"' } as const;

/** The text of templates/rotate.yml. */
export function componentTemplate(options: readonly OptionSpec[] = OPTIONS): string {
  const header = { spec: { inputs: componentInputs(options) } };
  return (
    "# GitLab CI/CD component: rotate a GitLab registry image pull Secret in Kubernetes namespaces.\n" +
    "# Generated from src/options.ts by `npm run build` (scripts/write-component.ts); edit the option table, not this file.\n" +
    yaml.dump(header, DUMP) +
    "---\n" +
    yaml.dump({ [inputRef("job_name")]: componentJob(options) }, DUMP)
  );
}

// ---------------------------------------------------------------------------
// What GitLab does with the template at include time (a model for tests).
// Sources: doc/ci/inputs/_index.md; lib/gitlab/ci/config/interpolation/
// (template.rb: hash interpolation, text_template.rb: text interpolation).
// ---------------------------------------------------------------------------

export class InterpolationError extends Error {}

/** `$[[ <access> | fn ... ]]`, as GitLab's BLOCK_REGEXP. */
const BLOCK = /\$\[\[\s*(\S.*?\S)\s*\]\]/g;

/** Splits a component file into its spec header and its content (the text after `---`). */
export function splitComponent(text: string): { header: { spec?: { inputs?: Record<string, ComponentInputSpec | null> } }; content: string } {
  const m = /^---[ \t]*$/m.exec(text);
  if (!m) throw new InterpolationError("no --- after the spec header");
  const header = yaml.load(text.slice(0, m.index)) as { spec?: { inputs?: Record<string, ComponentInputSpec | null> } };
  return { header, content: text.slice(m.index + m[0].length) };
}

function typeOk(type: string, value: unknown): boolean {
  if (type === "array") return Array.isArray(value);
  if (type === "boolean") return typeof value === "boolean";
  if (type === "number") return typeof value === "number";
  return typeof value === "string";
}

/** `include: inputs:` + the spec -> the values interpolation uses, with GitLab's checks. */
export function resolveInputs(
  specs: Record<string, ComponentInputSpec | null>,
  given: Record<string, InputValue>,
): Record<string, InputValue> {
  const errors: string[] = [];
  for (const name of Object.keys(given)) if (!(name in specs)) errors.push(`unknown input name provided: \`${name}\``);
  const values: Record<string, InputValue> = {};
  for (const [name, raw] of Object.entries(specs)) {
    const spec = raw ?? ({ type: "string", description: "" } as ComponentInputSpec);
    const type = spec.type ?? "string";
    const hasDefault = "default" in spec;
    if (!(name in given) && !hasDefault) {
      errors.push(`\`${name}\` input: required value has not been provided`);
      continue;
    }
    if (hasDefault && !typeOk(type, spec.default)) errors.push(`\`${name}\` input: default value is not a ${type}`);
    const value = name in given ? given[name]! : spec.default!;
    if (!typeOk(type, value)) {
      errors.push(`\`${name}\` input: provided value is not a ${type}`);
      continue;
    }
    if (type === "string" && spec.options && !spec.options.includes(value as string)) {
      errors.push(`\`${name}\` input: \`${String(value)}\` cannot be used because it is not in the list of allowed options`);
    }
    if (type === "string" && spec.regex !== undefined && !new RegExp(spec.regex).test(value as string)) {
      errors.push(`\`${name}\` input: ${name in given ? "provided" : "default"} value does not match required RegEx pattern`);
    }
    values[name] = value;
  }
  if (errors.length) throw new InterpolationError(errors.join(", "));
  return values;
}

function blockValue(data: string, inputs: Record<string, InputValue>): InputValue {
  const [access, ...functions] = data.split("|").map((s) => s.trim());
  if (functions.length > 0) throw new InterpolationError(`interpolation functions are not modelled here: ${data}`);
  const parts = access!.split(".");
  if (parts.length !== 2 || parts[0] !== "inputs") throw new InterpolationError(`invalid interpolation access pattern: ${access}`);
  if (!(parts[1]! in inputs)) throw new InterpolationError(`unknown interpolation key: \`${parts[1]}\``);
  return inputs[parts[1]!]!;
}

/** Ruby's #inspect for the values YAML gives (how an embedded array prints). */
function rubyInspect(v: unknown): string {
  if (typeof v === "string") return `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
  if (v === null || v === undefined) return "nil";
  if (Array.isArray(v)) return `[${v.map(rubyInspect).join(", ")}]`;
  if (typeof v === "object") {
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}: ${rubyInspect(x)}`).join(", ")}}`;
  }
  return String(v);
}

/** Ruby's #to_s, used when an input is embedded in a longer string. */
function rubyToS(v: InputValue): string {
  return typeof v === "string" ? v : Array.isArray(v) ? rubyInspect(v) : String(v);
}

function interpolateNode(node: unknown, inputs: Record<string, InputValue>): unknown {
  if (Array.isArray(node)) return node.map((n) => interpolateNode(n, inputs));
  if (node && typeof node === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[String(interpolateNode(k, inputs))] = interpolateNode(v, inputs);
    return out;
  }
  if (typeof node !== "string" || !node.includes("$[[")) return node;
  const matches = [...node.matchAll(BLOCK)];
  if (matches.length === 0) return node;
  if (matches.length === 1 && matches[0]![0] === node) return blockValue(matches[0]![1]!, inputs);
  return node.replace(BLOCK, (_, data: string) => rubyToS(blockValue(data, inputs)));
}

/**
 * The jobs a pipeline gets from `include: component` with these inputs.
 * mode "hash" (GitLab's default): the content is parsed, then every string
 * node interpolated: a node that is exactly one block keeps the input's type,
 * otherwise values are embedded with Ruby's to_s. mode "text" (GitLab's
 * ci_text_interpolation): the text is interpolated (non-strings as JSON), then parsed.
 */
export function interpolateComponent(text: string, given: Record<string, InputValue>, mode: "hash" | "text" = "hash"): Record<string, any> {
  const { header, content } = splitComponent(text);
  const specs = header.spec?.inputs;
  if (!specs) throw new InterpolationError("the header has no spec:inputs");
  const inputs = resolveInputs(specs, given);
  if (mode === "text") {
    const replaced = content.replace(BLOCK, (_, data: string) => {
      const v = blockValue(data, inputs);
      return typeof v === "string" ? v : JSON.stringify(v);
    });
    return yaml.load(replaced) as Record<string, any>;
  }
  return interpolateNode(yaml.load(content), inputs) as Record<string, any>;
}
