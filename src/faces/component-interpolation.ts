// What GitLab does with a component template when a pipeline includes it: the
// checks of `include: inputs:` against `spec: inputs:`, the `$[[ inputs.x ]]`
// interpolation, and the rule that a job's variables are strings. A model for
// tests, so they can run the job the way a runner would. Not bundled into dist/.
// Sources: doc/ci/inputs/_index.md; lib/gitlab/ci/config/interpolation/
// (template.rb: hash interpolation, text_template.rb: text interpolation);
// doc/ci/yaml (variables: values are strings or numbers).
import yaml from "js-yaml";
import type { ComponentInputSpec, InputValue } from "./component-metadata.js";

export class InterpolationError extends Error {}

/** `$[[ <access> | fn ... ]]`, as GitLab's BLOCK_REGEXP. */
const BLOCK = /\$\[\[\s*(\S.*?\S)\s*\]\]/g;

/** Splits a component file into its spec header and its content (the text after `---`). */
export function splitComponent(text: string): {
  header: { spec?: { inputs?: Record<string, ComponentInputSpec | null> } };
  content: string;
} {
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
      errors.push(
        `\`${name}\` input: \`${String(value)}\` cannot be used because it is not in the list of allowed options`,
      );
    }
    if (type === "string" && spec.regex !== undefined && !new RegExp(spec.regex).test(value as string)) {
      errors.push(
        `\`${name}\` input: ${name in given ? "provided" : "default"} value does not match required RegEx pattern`,
      );
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
  if (parts.length !== 2 || parts[0] !== "inputs")
    throw new InterpolationError(`invalid interpolation access pattern: ${access}`);
  if (!(parts[1]! in inputs)) throw new InterpolationError(`unknown interpolation key: \`${parts[1]}\``);
  return inputs[parts[1]!]!;
}

/** Ruby's #inspect for the values YAML gives (how an embedded array prints). */
function rubyInspect(v: unknown): string {
  if (typeof v === "string") return `"${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
  if (v === null || v === undefined) return "nil";
  if (Array.isArray(v)) return `[${v.map(rubyInspect).join(", ")}]`;
  if (typeof v === "object") {
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}: ${rubyInspect(x)}`)
      .join(", ")}}`;
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

/** A pipeline's jobs as YAML gives them: any shape, checked where it matters (checkVariables). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the callers index into jobs whose shape only the YAML knows
export type PipelineJobs = Record<string, any>;

/**
 * The jobs a pipeline gets from `include: component` with these inputs.
 * mode "hash" (GitLab's default): the content is parsed, then every string
 * node interpolated: a node that is exactly one block keeps the input's type,
 * otherwise values are embedded with Ruby's to_s. mode "text" (GitLab's
 * ci_text_interpolation): the text is interpolated (non-strings as JSON), then parsed.
 */
export function interpolateComponent(
  text: string,
  given: Record<string, InputValue>,
  mode: "hash" | "text" = "hash",
): PipelineJobs {
  const { header, content } = splitComponent(text);
  const specs = header.spec?.inputs;
  if (!specs) throw new InterpolationError("the header has no spec:inputs");
  const inputs = resolveInputs(specs, given);
  let jobs: PipelineJobs;
  if (mode === "text") {
    const replaced = content.replace(BLOCK, (_, data: string) => {
      const v = blockValue(data, inputs);
      return typeof v === "string" ? v : JSON.stringify(v);
    });
    jobs = yaml.load(replaced) as PipelineJobs;
  } else {
    jobs = interpolateNode(yaml.load(content), inputs) as PipelineJobs;
  }
  checkVariables(jobs);
  return jobs;
}

/**
 * GitLab takes a job variable's value as a string or a number (or a hash with
 * `value:`); a boolean, an array or null fails the pipeline. A whole-value
 * `$[[ inputs.x ]]` keeps the input's type, so boolean and array inputs must
 * reach variables embedded in text.
 */
function checkVariables(jobs: PipelineJobs): void {
  for (const [name, job] of Object.entries(jobs ?? {})) {
    const variables = job && typeof job === "object" ? (job as Record<string, unknown>).variables : undefined;
    if (variables === undefined) continue;
    for (const [key, v] of Object.entries((variables ?? {}) as Record<string, unknown>)) {
      const value = v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>).value : v;
      if (typeof value !== "string" && typeof value !== "number") {
        throw new InterpolationError(
          `jobs:${name}:variables:${key}: the value must be a string or a number, got ${Array.isArray(value) ? "an array" : String(value)}`,
        );
      }
    }
  }
}
