// The GitLab CI/CD component is generated from the option table: the committed
// template must be what the generator makes, its inputs must mirror the table
// and reach the job as variables (never as script text), its job must keep
// GitLab's component rules, and the model of GitLab's input handling used by
// the end-to-end test must behave as GitLab documents.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import yaml from "js-yaml";
import {
  componentTemplate,
  DOTENV_FILE,
  METRICS_FILE,
  type ComponentInputSpec,
  type InputValue,
} from "../../src/faces/component-metadata.js";
import { interpolateComponent, resolveInputs } from "../../src/faces/component-interpolation.js";
import { OPTIONS, optionVariable, type OptionSpec } from "../../src/config/options.js";
import { readVariables } from "../../src/config/variables.js";
import { VERSION } from "../../src/config/version.js";

const root = new URL("../../", import.meta.url).pathname;
const text = readFileSync(join(root, "templates", "rotate.yml"), "utf8");
const docs = yaml.loadAll(text) as any[];
const inputs = (docs[0]?.spec?.inputs ?? {}) as Record<string, ComponentInputSpec>;
const jobs = (docs[1] ?? {}) as Record<string, any>;
const job = jobs["$[[ inputs.job_name ]]"];
const script = (job?.script ?? []) as string[];

/** Written out here, not imported: the names people type in `include: inputs:`. */
const RENAMED: Record<string, string> = { context: "kube_context" };
const COMPONENT_ONLY = [
  "stage",
  "job_name",
  "rules",
  "image",
  "version",
  "kubectl_version",
  "metrics",
  "token_variable",
  "password_variable",
];

function expectedDefault(o: OptionSpec): unknown {
  if (o.kind === "boolean") return false;
  if (o.kind === "list") return o.required ? undefined : [];
  // Empty: the CLI falls back to $CI_SERVER_URL / $CI_PROJECT_ID itself.
  if (o.env?.length) return "";
  return o.default ?? (o.required ? undefined : "");
}

test("templates/rotate.yml is what the generator makes from the option table", () => {
  assert.equal(text, componentTemplate(), "templates/rotate.yml drifted: run npm run build");
});

test("the template is a spec header, ---, then the job", () => {
  assert.equal(docs.length, 2);
  assert.deepEqual(Object.keys(docs[0]), ["spec"]);
  assert.deepEqual(Object.keys(docs[0].spec), ["inputs"]);
  assert.match(text, /\n---\n/);
});

test("every option with an Action input is a snake_case component input with the same type and default", () => {
  const seen = new Set<string>();
  for (const o of OPTIONS as readonly OptionSpec[]) {
    if (!o.input || o.secret) continue;
    const name = RENAMED[o.key] ?? o.input.replace(/-/g, "_");
    assert.match(name, /^[a-z][a-z0-9_]*$/);
    const spec = inputs[name];
    assert.ok(spec, `no component input ${name} for option ${o.key}`);
    seen.add(name);
    assert.equal(spec.type, o.kind === "list" ? "array" : o.kind, `type of ${name}`);
    const def = expectedDefault(o);
    if (def === undefined) assert.ok(!("default" in spec), `${name} must be mandatory`);
    else assert.deepEqual(spec.default, def, `default of ${name}`);
    assert.ok(spec.description.length > 10, `description of ${name}`);
  }
  // The defaults people rely on in GitLab come from predefined variables, applied by the CLI.
  assert.match(inputs.gitlab_url!.description, /Empty: \$CI_SERVER_URL, then https:\/\/gitlab\.com\.$/);
  assert.match(inputs.project!.description, /Empty: \$CI_PROJECT_ID\.$/);
  for (const [name, spec] of Object.entries(inputs)) {
    if (spec.regex !== undefined)
      assert.ok(COMPONENT_ONLY.includes(name), `${name}: option values are validated by the CLI, not by a regex guard`);
  }
  assert.equal(inputs.namespaces?.type, "array");
  // Optional in GitLab's eyes: a namespace selector may choose them instead; the CLI insists on one of the two.
  assert.deepEqual(inputs.namespaces?.default, [], "namespaces default to none");
  assert.deepEqual(
    Object.keys(inputs).sort(),
    [...seen, ...COMPONENT_ONLY].sort(),
    "no input beyond the table and the component's own",
  );
});

test("the token and the registry password are never input values: only the names of masked variables are", () => {
  for (const key of ["gitlabToken", "registryPassword"]) {
    const option = OPTIONS.find((o) => o.key === key)!;
    assert.ok(option.input && !(option.input.replace(/-/g, "_") in inputs), `no ${option.input} input`);
    assert.equal(optionVariable(option), null, `${key} has no option variable`);
  }
  for (const name of Object.keys(inputs))
    assert.doesNotMatch(name, /(token|password)$/, `${name} looks like a secret value`);
  assert.equal(inputs.token_variable?.default, "GITLAB_PULL_SECRET_TOKEN");
  assert.equal(inputs.token_variable?.regex, "^[A-Za-z_][A-Za-z0-9_]*$");
  assert.equal(inputs.password_variable?.default, "REGISTRY_PASSWORD");
  assert.equal(inputs.password_variable?.regex, "^[A-Za-z_][A-Za-z0-9_]*$");
  assert.equal(job.variables.GPS_TOKEN_VARIABLE, "$[[ inputs.token_variable ]]");
  assert.equal(job.variables.GPS_PASSWORD_VARIABLE, "$[[ inputs.password_variable ]]");
  // Each value is read once into an unexported shell variable, the CI/CD variables leave the
  // environment, and the value reaches the CLI in its env variable, on that command alone.
  // The token is taken without the username input, the password with it (static credentials).
  const lines = script
    .join("\n")
    .split("\n")
    .map((l) => l.trim());
  for (const [variable, shell] of [
    ["GPS_TOKEN_VARIABLE", "gps_token"],
    ["GPS_PASSWORD_VARIABLE", "gps_password"],
  ] as const) {
    const read = lines.indexOf(`${shell}=$(printenv "$${variable}" || true)`);
    assert.ok(read > 0, `${shell} is read from the variable ${variable} names`);
    assert.match(
      lines[read + 1]!,
      new RegExp(`^if \\[ -z "\\$${shell}" \\]; then echo "error: the CI/CD variable \\$${variable} .*exit 2; fi$`),
    );
    assert.deepEqual(
      lines.filter((l) => l.includes(shell)),
      [
        'gps_token="" gps_password=""',
        lines[read],
        lines[read + 1],
        `GITLAB_TOKEN="$gps_token" REGISTRY_PASSWORD="$gps_password" gitlab-pull-secret rotate --dotenv ${DOTENV_FILE}`,
      ],
      `${shell} is set empty, read, checked, and handed to the CLI alone`,
    );
  }
  assert.ok(
    lines.includes('unset "$GPS_TOKEN_VARIABLE" "$GPS_PASSWORD_VARIABLE"'),
    "both CI/CD variables leave the environment",
  );
  const mode = lines.indexOf('if [ -z "$GITLAB_PULL_SECRET_OPT_USERNAME" ]; then');
  assert.ok(
    mode >= 0 && mode < lines.indexOf('gps_token=$(printenv "$GPS_TOKEN_VARIABLE" || true)'),
    "the token is read only without a username",
  );
  assert.ok(
    lines.indexOf("else") < lines.indexOf('gps_password=$(printenv "$GPS_PASSWORD_VARIABLE" || true)'),
    "the password only with one",
  );
});

test("the component-only inputs: job shape, tool versions", () => {
  assert.equal(inputs.stage?.default, "deploy");
  assert.equal(inputs.job_name?.default, "gitlab-pull-secret");
  assert.equal(inputs.rules?.type, "array");
  assert.deepEqual(inputs.rules?.default, [
    { if: '$CI_PIPELINE_SOURCE == "schedule"' },
    { if: "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" },
  ]);
  assert.equal(
    inputs.image?.default,
    `registry.gitlab.com/gitlab-pull-secret/gitlab-pull-secret:${VERSION}`,
    "the job runs the image of the component's own release",
  );
  assert.equal(inputs.version?.default, VERSION, "the component installs the CLI of its own release");
  assert.equal(inputs.kubectl_version?.default, "stable");
});

test("interpolations reference only declared inputs, and every input is used", () => {
  const refs = new Set([...text.matchAll(/\$\[\[\s*(\S.*?\S)\s*\]\]/g)].map((m) => m[1]!));
  for (const r of refs) {
    assert.match(r, /^inputs\.[a-z_]+$/, `interpolation ${r} is not a plain input`);
    assert.ok(r.slice(7) in inputs, `$[[ ${r} ]] is not declared`);
  }
  for (const name of Object.keys(inputs))
    assert.ok(refs.has(`inputs.${name}`), `input ${name} is declared but never used`);
});

test("no global keywords: one job whose name, stage, image and rules are inputs", () => {
  assert.deepEqual(Object.keys(jobs), ["$[[ inputs.job_name ]]"]);
  assert.deepEqual(Object.keys(job).sort(), ["artifacts", "image", "rules", "script", "stage", "variables"]);
  assert.equal(job.stage, "$[[ inputs.stage ]]");
  // The image's entrypoint is the CLI; an empty one lets the runner start the shell.
  assert.deepEqual(job.image, { name: "$[[ inputs.image ]]", entrypoint: [""] });
  assert.equal(job.rules, "$[[ inputs.rules ]]");
  // The metrics textfile (input metrics) goes up on a failed run too: that run's result is what alerts need.
  assert.deepEqual(job.artifacts, { when: "always", paths: [METRICS_FILE], reports: { dotenv: DOTENV_FILE } });
  assert.doesNotMatch(
    text,
    /^(default|stages|variables|include|workflow|image|services|cache|before_script|after_script):/m,
  );
});

test("the script holds no input: every option reaches the CLI as its variable, and it stays short", () => {
  const all = script.join("\n");
  assert.doesNotMatch(all, /\$\[\[/, "no $[[ inputs.* ]] inside script:");
  assert.doesNotMatch(all, /set -[a-z]*x|set -o xtrace|\bset -v\b/);
  // Items that touch the token turn off a tracing CI_DEBUG_TRACE may have enabled.
  for (const item of script) {
    if (item.includes("gps_token")) assert.match(item.split("\n")[1]!, /^set \+x$/);
  }
  const code = all.split("\n").filter((l) => !/^\s*#/.test(l));
  assert.ok(code.length <= 41, `the script is ${code.length} lines`);
  // The only option variables the script reads: the username, to know which secret to take; the
  // metrics file, which input metrics sets to the uploaded artifact when the user named none; and
  // the API token's store, which defaults to the variable the token came from when its rotation is asked for.
  assert.deepEqual(
    [...new Set(all.match(/GITLAB_PULL_SECRET_OPT_\w+/g))],
    [
      "GITLAB_PULL_SECRET_OPT_USERNAME",
      "GITLAB_PULL_SECRET_OPT_METRICS_FILE",
      "GITLAB_PULL_SECRET_OPT_ROTATE_API_TOKEN_WITHIN",
      "GITLAB_PULL_SECRET_OPT_API_TOKEN_STORE",
    ],
  );
  // The command line: rotate and the dotenv report, nothing from the inputs.
  assert.match(all, new RegExp(`gitlab-pull-secret rotate --dotenv ${DOTENV_FILE}$`, "m"));
  const expected = (OPTIONS as readonly OptionSpec[]).filter((o) => o.input && !o.secret);
  for (const o of expected) {
    const name = RENAMED[o.key] ?? o.input!.replace(/-/g, "_");
    const variable = optionVariable(o)!;
    const value = job.variables[variable];
    assert.ok(typeof value === "string", `${variable} (input ${name}) is not a job variable`);
    // A whole-value $[[ ]] keeps the input's type; a variable must be a string: booleans and arrays go embedded.
    assert.equal(value, o.kind === "string" ? `$[[ inputs.${name} ]]` : `$[[ inputs.${name} ]]\n`, variable);
  }
  assert.deepEqual(
    Object.keys(job.variables).filter((v) => v.startsWith("GITLAB_PULL_SECRET_OPT_")).length,
    expected.length,
  );
  // Tools: installed only when missing, the CLI at the pinned version, npm without the token.
  const install = script.find((s) => s.includes("npm install"))!;
  assert.match(install, /if ! command -v kubectl >\/dev\/null 2>&1; then/);
  assert.match(install, /if ! command -v gitlab-pull-secret >\/dev\/null 2>&1; then/);
  assert.match(install, /npm install -g .*--ignore-scripts .*"gitlab-pull-secret@\$GPS_VERSION"/);
  assert.equal(job.variables.GPS_VERSION, "$[[ inputs.version ]]");
  assert.equal(job.variables.GPS_KUBECTL_VERSION, "$[[ inputs.kubectl_version ]]");
  // The token check (and unset) comes first, before anything is installed or run.
  assert.ok(script[0]!.includes('unset "$GPS_TOKEN_VARIABLE"'));
  assert.match(install, /sha256sum -c -/);
});

const SAMPLE: Record<string, InputValue> = {
  namespaces: ["team-a", "team-b"],
  exclude_namespaces: [],
  service_accounts: ["*"],
  dry_run: true,
  adopt: false,
  kube_context: "grp/agents:prod-1",
  namespace_selector: "tier in (web,api),!legacy",
  project: "$(id)",
  secret_name: 'a"b',
};

for (const mode of ["hash", "text"] as const) {
  test(`the inputs arrive in the CLI as the flags would carry them (GitLab's ${mode} interpolation)`, () => {
    // Text interpolation writes strings into the YAML as they are: a double quote would break the document there.
    const given = mode === "text" ? { ...SAMPLE, secret_name: "ab" } : SAMPLE;
    const jobs = interpolateComponent(text, given, mode);
    const variables = jobs["gitlab-pull-secret"].variables as Record<string, string>;
    const { raw, labels } = readVariables(variables);
    assert.deepEqual(raw, {
      namespaces: ["team-a", "team-b"],
      serviceAccounts: ["*"],
      dryRun: "true",
      adopt: "false",
      context: "grp/agents:prod-1",
      namespaceSelector: "tier in (web,api),!legacy",
      project: "$(id)", // data: the CLI refuses it as a project, no shell ever sees it
      secretName: given.secret_name,
      secretType: "dockerconfigjson",
      expiresIn: "7d",
      tokenName: "gitlab-pull-secret",
      keepPrevious: "0",
      sweepGrace: "10m",
      lockTimeout: "2m",
      lockLeaseDuration: "5m",
      requestTimeout: "30s",
      retryFor: "60s",
      createNamespace: "false",
      missingNamespace: "skip",
      strictOwnership: "false",
      noVerify: "false",
      allowInsecureHttp: "false",
      force: "false",
      events: "false",
      apiTokenExpiresIn: "30d",
    });
    assert.equal(labels.namespaces, "$GITLAB_PULL_SECRET_OPT_NAMESPACES");
    // Not given: empty, so the CLI's own fallbacks ($CI_SERVER_URL, the project's registry) apply.
    for (const v of [
      "GITLAB_PULL_SECRET_OPT_GITLAB_URL",
      "GITLAB_PULL_SECRET_OPT_GROUP",
      "GITLAB_PULL_SECRET_OPT_REGISTRY",
      "GITLAB_PULL_SECRET_OPT_ROTATE_API_TOKEN_WITHIN",
      "GITLAB_PULL_SECRET_OPT_API_TOKEN_STORE",
    ])
      assert.equal(variables[v], "", v);
    assert.equal(variables.GPS_TOKEN_VARIABLE, "GITLAB_PULL_SECRET_TOKEN");
    assert.equal(variables.GPS_VERSION, VERSION);
  });
}

test("a new option in the table appears as an input and as a job variable", () => {
  const extra: OptionSpec = {
    key: "brandNew",
    kind: "string",
    flag: "brand-new",
    input: "brand-new",
    default: "x",
    description: "A new option.",
  };
  const flagged: OptionSpec = {
    key: "newSwitch",
    kind: "boolean",
    flag: "new-switch",
    input: "new-switch",
    default: "false",
    description: "A switch.",
  };
  const generated = componentTemplate([...OPTIONS, extra, flagged]);
  const [head, body] = yaml.loadAll(generated) as any[];
  assert.deepEqual(head.spec.inputs.brand_new, { type: "string", default: "x", description: "A new option." });
  assert.equal(body["$[[ inputs.job_name ]]"].variables.GITLAB_PULL_SECRET_OPT_BRAND_NEW, "$[[ inputs.brand_new ]]");
  assert.equal(
    body["$[[ inputs.job_name ]]"].variables.GITLAB_PULL_SECRET_OPT_NEW_SWITCH,
    "$[[ inputs.new_switch ]]\n",
  );
  const secret: OptionSpec = {
    key: "other",
    kind: "string",
    flag: null,
    input: "other-secret",
    secret: true,
    env: ["OTHER"],
    description: "x",
  };
  assert.throws(() => componentTemplate([...OPTIONS, secret]), /secret option other has no SECRET_INPUTS entry/);
});

test("GitLab checks the formats the script relies on; RE2 only", () => {
  // GitLab checks a default against its regex too; RE2 has no lookaround or backreferences.
  for (const [name, spec] of Object.entries(inputs)) {
    if (spec.regex === undefined) continue;
    assert.doesNotMatch(spec.regex, /\(\?[=!<]|\\[1-9]/, `${name}: not RE2`);
    assert.ok(new RegExp(spec.regex).test(String(spec.default)), `default of ${name} fails its own regex`);
  }
  assert.throws(
    () => resolveInputs(inputs, { namespaces: ["a"], token_variable: "MY-TOKEN" }),
    /`token_variable` input: provided value does not match/,
  );
  assert.throws(
    () => resolveInputs(inputs, { namespaces: ["a"], kubectl_version: "latest" }),
    /`kubectl_version` input: provided value does not match/,
  );
});

// --- the model of GitLab's input handling the end-to-end test relies on ---

const mini = [
  "spec:",
  "  inputs:",
  "    name: { default: job }",
  "    flag: { type: boolean, default: true }",
  "    list: { type: array, default: [a, b] }",
  "    must: {}",
  "    id: { regex: '^[a-z]+$', default: abc }",
  "---",
  "$[[ inputs.name ]]:",
  "  allow_failure: $[[ inputs.flag ]]",
  "  needs: $[[ inputs.list ]]",
  "  script: echo $[[ inputs.list ]] $[[ inputs.flag ]] $[[ inputs.must ]]",
].join("\n");

test("interpolation: a whole value keeps its type, an embedded one becomes a string", () => {
  const hash = interpolateComponent(mini, { must: "m" }, "hash");
  assert.deepEqual(hash, { job: { allow_failure: true, needs: ["a", "b"], script: 'echo ["a", "b"] true m' } });
  const textMode = interpolateComponent(mini, { must: "m" }, "text");
  assert.deepEqual(textMode.job.needs, ["a", "b"]);
  assert.equal(textMode.job.script, 'echo ["a","b"] true m');
});

test("inputs are checked as GitLab checks them", () => {
  assert.throws(() => interpolateComponent(mini, {}), /`must` input: required value has not been provided/);
  assert.throws(() => interpolateComponent(mini, { must: "m", nope: "x" }), /unknown input name provided: `nope`/);
  assert.throws(
    () => interpolateComponent(mini, { must: "m", flag: "yes" }),
    /`flag` input: provided value is not a boolean/,
  );
  assert.throws(
    () => interpolateComponent(mini, { must: "m", list: "a,b" }),
    /`list` input: provided value is not a array/,
  );
  assert.throws(
    () => interpolateComponent(mini, { must: "m", id: "ABC" }),
    /`id` input: provided value does not match required RegEx pattern/,
  );
  assert.throws(
    () => interpolateComponent(mini.replace("$[[ inputs.must ]]", "$[[ inputs.missing ]]"), { must: "m" }),
    /unknown interpolation key: `missing`/,
  );
});

test("a job variable must be a string: a whole-value boolean or array fails as in GitLab", () => {
  const withVariables = (value: string) =>
    mini.replace("  needs: $[[ inputs.list ]]", `  needs: $[[ inputs.list ]]\n  variables:\n    X: ${value}`);
  assert.throws(
    () => interpolateComponent(withVariables("$[[ inputs.flag ]]"), { must: "m" }),
    /variables:X: the value must be a string or a number, got true/,
  );
  assert.throws(() => interpolateComponent(withVariables("$[[ inputs.list ]]"), { must: "m" }), /got an array/);
  assert.throws(
    () => interpolateComponent(withVariables("$[[ inputs.must ]]"), { must: "" }, "text"),
    /got null/,
    "text interpolation leaves an unquoted empty value null",
  );
  assert.deepEqual(interpolateComponent(withVariables("|\n      $[[ inputs.list ]]"), { must: "m" }).job.variables, {
    X: '["a", "b"]\n',
  });
  assert.deepEqual(interpolateComponent(withVariables('"$[[ inputs.must ]]"'), { must: "" }, "text").job.variables, {
    X: "",
  });
});

// --- the project's own pipeline: self-test and Catalog release ---

const ci = yaml.load(readFileSync(join(root, ".gitlab-ci.yml"), "utf8")) as Record<string, any>;

test(".gitlab-ci.yml includes the component at this commit, with inputs the spec accepts", () => {
  const includes = (ci.include ?? []) as Array<Record<string, any>>;
  const self = includes.find((i) => i.component === "$CI_SERVER_FQDN/$CI_PROJECT_PATH/rotate@$CI_COMMIT_SHA");
  assert.ok(self, "no self-test include of the component @$CI_COMMIT_SHA");
  const resolved = resolveInputs(inputs, self.inputs);
  assert.equal(resolved.dry_run, true, "the self-test changes nothing");
  assert.ok(
    ci.stages.includes(resolved.stage),
    `the self-test's stage ${String(resolved.stage)} is not a stage of the pipeline`,
  );
  assert.ok(!(String(resolved.job_name) in ci), "the self-test job name collides with a job");
});

test(".gitlab-ci.yml releases to the Catalog from semantic version tags with the release: keyword", () => {
  const release = Object.values(ci).find((j: any) => j && typeof j === "object" && "release" in j) as Record<
    string,
    any
  >;
  assert.ok(release, "no job with release:");
  assert.equal(release.image, "registry.gitlab.com/gitlab-org/cli:latest");
  assert.equal(release.release.tag_name, "$CI_COMMIT_TAG");
  assert.ok(ci.stages.indexOf(release.stage) > ci.stages.indexOf("test"), "the release comes after the checks");
  const rule = /^\$CI_COMMIT_TAG =~ \/(.*)\/$/.exec(release.rules?.[0]?.if ?? "");
  assert.ok(rule, "the release rule must match $CI_COMMIT_TAG against a pattern");
  const semver = new RegExp(rule[1]!);
  for (const tag of ["1.0.0", "0.1.0", "1.0.0-rc.1", "2.10.3-beta"])
    assert.ok(semver.test(tag), `${tag} should release`);
  for (const tag of ["v1.0.0", "1.0", "latest", "1.0.0.0", "1.0.0-"])
    assert.ok(!semver.test(tag), `${tag} must not release`);
});
