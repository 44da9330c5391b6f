// Option variables -> RawSettings, for the CLI. Pure: no I/O.
//
// Every option with a flag can also be given as GITLAB_PULL_SECRET_OPT_<NAME>
// (the names come from the option table). This is how the GitLab component
// hands its inputs over: as data in `variables:`, never as shell text. A flag
// wins over its variable; a variable wins over the option's env fallbacks
// (CI_SERVER_URL, CI_PROJECT_ID) and its default.
import { UsageError } from "../model/errors.js";
import {
  OPTIONS,
  VARIABLE_PREFIX,
  optionVariable,
  prefixedName,
  type OptionKey,
  type OptionSpec,
  type RawSettings,
} from "./options.js";

/** How each option that came from a variable is named in messages ($GITLAB_PULL_SECRET_OPT_...). */
export type Labels = Partial<Record<OptionKey, string>>;

export interface FromVariables {
  raw: RawSettings;
  labels: Labels;
}

const LIST_FORM = 'a JSON array of strings such as ["team-a","team-b"], or a comma list such as team-a,team-b';

/** Why a prefixed name that is no option variable is refused. Never shows the value: it may be a secret put in the wrong place. */
function refusal(name: string, options: readonly OptionSpec[]): UsageError {
  // A secret or a confirmation under the prefix: the name its variable would have.
  const spec = options.find((o) => prefixedName(o) === name);
  const label = `$${name}`;
  if (spec?.secret) {
    const where = [...(spec.env ?? []).map((e) => `$${e}`), ...(spec.fileFlag ? [`--${spec.fileFlag}`] : [])].join(
      " or ",
    );
    return new UsageError(
      label,
      undefined,
      `not read: a secret never comes from a ${VARIABLE_PREFIX} variable; give it in ${where}`,
    );
  }
  if (spec?.flag) return new UsageError(label, undefined, `not read: --${spec.flag} must be given on the command line`);
  const near = options.map(optionVariable).find((v) => v !== null && (v === `${name}S` || `${v}S` === name));
  return new UsageError(
    label,
    undefined,
    `not an option variable${near ? ` (did you mean ${near}?)` : ""}; gitlab-pull-secret <command> --help lists them`,
  );
}

function list(value: string, label: string): string[] {
  if (!value.startsWith("[")) return [value];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new UsageError(label, value, LIST_FORM);
  }
  // GitLab writes an array input embedded in text as ["a", "b"]; numbers stay numbers there ([123]).
  const ok =
    Array.isArray(parsed) &&
    parsed.every((v) => typeof v === "string" || (typeof v === "number" && Number.isFinite(v)));
  if (!ok) throw new UsageError(label, value, LIST_FORM);
  return (parsed as Array<string | number>).map(String);
}

/**
 * The options given as variables in `env`. An empty value (after trimming) is
 * not given: the component sets a variable for every input, empty when the
 * input is. Variables of options `takes` refuses (another command's) are
 * ignored, since one CI environment serves rotate and status jobs alike;
 * unknown prefixed names, and secrets or confirmations under the prefix, are
 * refused.
 */
export function readVariables(
  env: Readonly<Record<string, string | undefined>>,
  takes: (key: OptionKey) => boolean = () => true,
  options: readonly OptionSpec[] = OPTIONS,
): FromVariables {
  const byName = new Map(
    options.flatMap((o) => {
      const name = optionVariable(o);
      return name ? [[name, o] as const] : [];
    }),
  );
  const raw: RawSettings = {};
  const labels: Labels = {};
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(VARIABLE_PREFIX)) continue;
    const value = env[name]?.trim() ?? "";
    if (value === "") continue;
    const spec = byName.get(name);
    if (!spec) throw refusal(name, options);
    const key = spec.key as OptionKey;
    if (!takes(key)) continue;
    const label = `$${name}`;
    if (spec.kind === "list") {
      const items = list(value, label);
      if (items.length === 0) continue;
      raw[key] = items;
    } else {
      raw[key] = value;
    }
    labels[key] = label;
  }
  return { raw, labels };
}
