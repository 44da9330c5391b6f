// The GitLab CI/CD component is generated from the option table: the committed
// template must be what the generator makes, its inputs must mirror the table,
// its job must keep GitLab's component rules, and the model of GitLab's input
// handling used by the end-to-end test must behave as GitLab documents.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import yaml from "js-yaml";
import {
  componentTemplate,
  DOTENV_FILE,
  interpolateComponent,
  resolveInputs,
  SHELL_SAFE_REGEX,
  type ComponentInputSpec,
} from "../../src/component-metadata.js";
import { OPTIONS, type OptionSpec } from "../../src/options.js";
import { VERSION } from "../../src/version.js";

const root = new URL("../../", import.meta.url).pathname;
const text = readFileSync(join(root, "templates", "rotate.yml"), "utf8");
const docs = yaml.loadAll(text) as any[];
const inputs = (docs[0]?.spec?.inputs ?? {}) as Record<string, ComponentInputSpec>;
const jobs = (docs[1] ?? {}) as Record<string, any>;
const job = jobs["$[[ inputs.job_name ]]"];
const script = (job?.script ?? []) as string[];

/** Written out here, not imported: the names people type in `include: inputs:`. */
const RENAMED: Record<string, string> = { context: "kube_context" };
const COMPONENT_ONLY = ["stage", "job_name", "rules", "image", "version", "kubectl_version", "token_variable", "password_variable"];

function expectedDefault(o: OptionSpec): unknown {
  if (o.kind === "boolean") return false;
  if (o.kind === "list") return o.required ? undefined : [];
  if (o.env?.length) return `$${o.env[0]}`;
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
  // The defaults people rely on in GitLab come from predefined variables.
  assert.equal(inputs.gitlab_url?.default, "$CI_SERVER_URL");
  assert.equal(inputs.project?.default, "$CI_PROJECT_ID");
  assert.equal(inputs.namespaces?.type, "array");
  // Optional in GitLab's eyes: a namespace selector may choose them instead; the CLI insists on one of the two.
  assert.deepEqual(inputs.namespaces?.default, [], "namespaces default to none");
  assert.deepEqual(Object.keys(inputs).sort(), [...seen, ...COMPONENT_ONLY].sort(), "no input beyond the table and the component's own");
});

test("the token and the registry password are never input values: only the names of masked variables are", () => {
  for (const key of ["gitlabToken", "registryPassword"]) {
    const option = OPTIONS.find((o) => o.key === key)!;
    assert.ok(option.input && !(option.input.replace(/-/g, "_") in inputs), `no ${option.input} input`);
  }
  for (const name of Object.keys(inputs)) assert.doesNotMatch(name, /(token|password)$/, `${name} looks like a secret value`);
  assert.equal(inputs.token_variable?.default, "GITLAB_PULL_SECRET_TOKEN");
  assert.equal(inputs.token_variable?.regex, "^[A-Za-z_][A-Za-z0-9_]*$");
  assert.equal(inputs.password_variable?.default, "REGISTRY_PASSWORD");
  assert.equal(inputs.password_variable?.regex, "^[A-Za-z_][A-Za-z0-9_]*$");
  // Each value is read once into an unexported shell variable, the CI/CD variable leaves the
  // environment, and the value reaches the CLI in its env variable, on that command alone.
  // The token is taken without the username input, the password with it (static credentials).
  const lines = script.join("\n").split("\n").map((l) => l.trim());
  for (const [input, shell] of [["token_variable", "gps_token"], ["password_variable", "gps_password"]] as const) {
    assert.deepEqual(
      lines.filter((l) => l.includes(`\${$[[ inputs.${input} ]]`)),
      [`if [ -z "\${$[[ inputs.${input} ]]:-}" ]; then`, `${shell}="\${$[[ inputs.${input} ]]}"`],
    );
    const read = lines.indexOf(`${shell}="\${$[[ inputs.${input} ]]}"`);
    assert.equal(lines[read + 1], `unset $[[ inputs.${input} ]]`);
    assert.deepEqual(
      lines.filter((l) => l.includes(shell)),
      [`${shell}=""`, `${shell}="\${$[[ inputs.${input} ]]}"`, 'GITLAB_TOKEN="$gps_token" REGISTRY_PASSWORD="$gps_password" gitlab-pull-secret "$@"'],
    );
  }
  const mode = lines.indexOf('if [ -z "$[[ inputs.username ]]" ]; then');
  assert.ok(mode >= 0 && mode < lines.indexOf('gps_token="${$[[ inputs.token_variable ]]}"'), "the token is read only without a username");
  assert.ok(lines.indexOf("else") < lines.indexOf('gps_password="${$[[ inputs.password_variable ]]}"'), "the password only with one");
});

test("the component-only inputs: job shape, tool versions", () => {
  assert.equal(inputs.stage?.default, "deploy");
  assert.equal(inputs.job_name?.default, "gitlab-pull-secret");
  assert.equal(inputs.rules?.type, "array");
  assert.deepEqual(inputs.rules?.default, [{ if: '$CI_PIPELINE_SOURCE == "schedule"' }, { if: "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" }]);
  assert.equal(inputs.image?.default, `registry.gitlab.com/gitlab-pull-secret/gitlab-pull-secret:${VERSION}`, "the job runs the image of the component's own release");
  assert.equal(inputs.version?.default, VERSION, "the component installs the CLI of its own release");
  assert.equal(inputs.kubectl_version?.default, "stable");
});

test("interpolations reference only declared inputs, and every input is used", () => {
  const refs = new Set([...text.matchAll(/\$\[\[\s*(\S.*?\S)\s*\]\]/g)].map((m) => m[1]!));
  for (const r of refs) {
    assert.match(r, /^inputs\.[a-z_]+$/, `interpolation ${r} is not a plain input`);
    assert.ok(r.slice(7) in inputs, `$[[ ${r} ]] is not declared`);
  }
  for (const name of Object.keys(inputs)) assert.ok(refs.has(`inputs.${name}`), `input ${name} is declared but never used`);
});

test("no global keywords: one job whose name, stage, image and rules are inputs", () => {
  assert.deepEqual(Object.keys(jobs), ["$[[ inputs.job_name ]]"]);
  assert.deepEqual(Object.keys(job).sort(), ["artifacts", "image", "rules", "script", "stage"]);
  assert.equal(job.stage, "$[[ inputs.stage ]]");
  // The image's entrypoint is the CLI; an empty one lets the runner start the shell.
  assert.deepEqual(job.image, { name: "$[[ inputs.image ]]", entrypoint: [""] });
  assert.equal(job.rules, "$[[ inputs.rules ]]");
  assert.deepEqual(job.artifacts, { reports: { dotenv: DOTENV_FILE } });
  assert.doesNotMatch(text, /^(default|stages|variables|include|workflow|image|services|cache|before_script|after_script):/m);
});

test("the script: no tracing, every table flag passed from its input, the dotenv written", () => {
  const all = script.join("\n");
  assert.doesNotMatch(all, /set -[a-z]*x|set -o xtrace|\bset -v\b/);
  // Items that touch the token turn off a tracing CI_DEBUG_TRACE may have enabled.
  for (const item of script) {
    if (item.includes("gps_token")) assert.match(item.split("\n")[1]!, /^set \+x$/);
  }
  const rotate = script.find((s) => s.includes("gitlab-pull-secret \"$@\""))!;
  assert.match(rotate, new RegExp(`set -- rotate --dotenv ${DOTENV_FILE}`));
  const flags = new Set([...rotate.matchAll(/ (--[a-z-]+)/g)].map((m) => m[1]!));
  const expected = (OPTIONS as readonly OptionSpec[]).filter((o) => o.input && !o.secret).map((o) => `--${o.flag}`);
  for (const f of expected) assert.ok(flags.has(f), `${f} is not passed by the component`);
  const known = new Set([...(OPTIONS as readonly OptionSpec[]).flatMap((o) => (o.flag ? [`--${o.flag}`] : []))]);
  for (const f of flags) assert.ok(known.has(f), `the component passes ${f}, which the CLI does not know`);
  // Tools: installed only when missing, the CLI at the pinned version, npm without the token.
  const install = script.find((s) => s.includes("npm install"))!;
  assert.match(install, /if ! command -v kubectl >\/dev\/null 2>&1; then/);
  assert.match(install, /if ! command -v gitlab-pull-secret >\/dev\/null 2>&1; then/);
  assert.match(install, /npm install -g .*--ignore-scripts .*"gitlab-pull-secret@\$\[\[ inputs\.version \]\]"/);
  // The token check (and unset) comes first, before anything is installed or run.
  assert.ok(script[0]!.includes("unset $[[ inputs.token_variable ]]"));
  assert.match(install, /sha256sum -c -/);
});

test("a new option in the table appears as an input and as a flag of the script", () => {
  const extra: OptionSpec = { key: "brandNew", kind: "string", flag: "brand-new", input: "brand-new", default: "x", description: "A new option." };
  const generated = componentTemplate([...OPTIONS, extra]);
  const [head, body] = yaml.loadAll(generated) as any[];
  assert.deepEqual(head.spec.inputs.brand_new, { type: "string", default: "x", description: "A new option.", regex: SHELL_SAFE_REGEX });
  assert.match(JSON.stringify(body), /if \[ \\"\$\[\[ inputs\.brand_new \]\]\\" != \\"x\\" \]; then set -- \\"\$@\\" --brand-new/);
  const secret: OptionSpec = { key: "other", kind: "string", flag: null, input: "other-secret", secret: true, env: ["OTHER"], description: "x" };
  assert.throws(() => componentTemplate([...OPTIONS, secret]), /secret option other has no SECRET_INPUTS entry/);
});

test("string inputs are shell-safe: variable references pass, code does not", () => {
  const re = new RegExp(SHELL_SAFE_REGEX);
  for (const ok of ["", "$CI_SERVER_URL", "${CI_PROJECT_ID}", "https://gitlab.example.com:8443", "grp/agents:prod-1", "team a", "7d"]) {
    assert.ok(re.test(ok), `${ok} should be accepted`);
  }
  for (const bad of ["$(id)", "`id`", 'a"b', "a\\b", "$((1+1))", "x\ny", "${X:-$(id)}", "$"]) {
    assert.ok(!re.test(bad), `${JSON.stringify(bad)} should be refused`);
  }
  // GitLab checks a default against its regex too; RE2 has no lookaround or backreferences.
  for (const [name, spec] of Object.entries(inputs)) {
    if (spec.regex === undefined) continue;
    assert.doesNotMatch(spec.regex, /\(\?[=!<]|\\[1-9]/, `${name}: not RE2`);
    assert.ok(new RegExp(spec.regex).test(String(spec.default)), `default of ${name} fails its own regex`);
  }
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
  assert.throws(() => interpolateComponent(mini, { must: "m", flag: "yes" }), /`flag` input: provided value is not a boolean/);
  assert.throws(() => interpolateComponent(mini, { must: "m", list: "a,b" }), /`list` input: provided value is not a array/);
  assert.throws(() => interpolateComponent(mini, { must: "m", id: "ABC" }), /`id` input: provided value does not match required RegEx pattern/);
  assert.throws(() => interpolateComponent(mini.replace("$[[ inputs.must ]]", "$[[ inputs.missing ]]"), { must: "m" }), /unknown interpolation key: `missing`/);
  // The real template: the token variable must be a variable name, strings cannot break out of quotes.
  assert.throws(() => resolveInputs(inputs, { namespaces: ["a"], token_variable: "MY-TOKEN" }), /`token_variable` input: provided value does not match/);
  assert.throws(() => resolveInputs(inputs, { namespaces: ["a"], project: "$(id)" }), /`project` input: provided value does not match/);
});

// --- the project's own pipeline: self-test and Catalog release ---

const ci = yaml.load(readFileSync(join(root, ".gitlab-ci.yml"), "utf8")) as Record<string, any>;

test(".gitlab-ci.yml includes the component at this commit, with inputs the spec accepts", () => {
  const includes = (ci.include ?? []) as Array<Record<string, any>>;
  const self = includes.find((i) => i.component === "$CI_SERVER_FQDN/$CI_PROJECT_PATH/rotate@$CI_COMMIT_SHA");
  assert.ok(self, "no self-test include of the component @$CI_COMMIT_SHA");
  const resolved = resolveInputs(inputs, self.inputs);
  assert.equal(resolved.dry_run, true, "the self-test changes nothing");
  assert.ok(ci.stages.includes(resolved.stage), `the self-test's stage ${String(resolved.stage)} is not a stage of the pipeline`);
  assert.ok(!(String(resolved.job_name) in ci), "the self-test job name collides with a job");
});

test(".gitlab-ci.yml releases to the Catalog from semantic version tags with the release: keyword", () => {
  const release = Object.values(ci).find((j: any) => j && typeof j === "object" && "release" in j) as Record<string, any>;
  assert.ok(release, "no job with release:");
  assert.equal(release.image, "registry.gitlab.com/gitlab-org/cli:latest");
  assert.equal(release.release.tag_name, "$CI_COMMIT_TAG");
  assert.ok(ci.stages.indexOf(release.stage) > ci.stages.indexOf("test"), "the release comes after the checks");
  const rule = /^\$CI_COMMIT_TAG =~ \/(.*)\/$/.exec(release.rules?.[0]?.if ?? "");
  assert.ok(rule, "the release rule must match $CI_COMMIT_TAG against a pattern");
  const semver = new RegExp(rule[1]!);
  for (const tag of ["1.0.0", "0.1.0", "1.0.0-rc.1", "2.10.3-beta"]) assert.ok(semver.test(tag), `${tag} should release`);
  for (const tag of ["v1.0.0", "1.0", "latest", "1.0.0.0", "1.0.0-"]) assert.ok(!semver.test(tag), `${tag} must not release`);
});
