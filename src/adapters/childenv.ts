// The environment kubectl runs with, and through kubectl the kubeconfig's
// credential plugin (aws eks get-token, gke-gcloud-auth-plugin, kubelogin):
// ours, minus our secrets. Plugins read the cloud's credentials from variables
// no allow-list can know in advance (AWS_*, CLOUDSDK_*, AZURE_*, and whatever a
// kubeconfig's own tooling expects), so everything is inherited except what
// could carry a secret this run holds.
import { OPTIONS, secretVariables as secretEnvVariables, type OptionSpec } from "../config/options.js";

/** How the Actions runner names an input in the environment (as @actions/core reads it). */
export function inputVariable(input: string): string {
  return `INPUT_${input.replace(/ /g, "_").toUpperCase()}`;
}

/**
 * Every variable this tool reads a secret from, on every face: the option
 * table's environment names of each secret option and its Action input.
 * Derived, so a secret option added to the table is dropped with no edit here.
 */
export function secretVariables(options: readonly OptionSpec[] = OPTIONS): string[] {
  return [
    ...secretEnvVariables(options),
    ...options.flatMap((o) => (o.secret && o.input ? [inputVariable(o.input)] : [])),
  ];
}

/**
 * The proxy variables reach kubectl as they are, credentials included: kubectl
 * (and a plugin that calls the cloud) must go through the same proxy, and the
 * proxy's credentials are the runner's, given to every step, not a secret we
 * minted. They are still redacted from everything we print.
 */
const PROXY_VARIABLES = new Set(["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"]);

/**
 * The child's environment: `env` without (a) the variables secrets are read
 * from, (b) every INPUT_* variable (the Action's inputs: kubectl needs none,
 * and they hold the token under a name we do not control), and (c) any variable
 * whose name or value holds a form of a secret the run holds (the token,
 * user:token, their base64, the docker config and its base64), wherever the user
 * put it (the proxy variables excepted, above). Names compare case-insensitively: Windows' environment does.
 */
export function childEnv(
  env: Readonly<Record<string, string | undefined>>,
  holdsSecret: (text: string) => boolean,
  secretNames: readonly string[] = secretVariables(),
): Record<string, string> {
  const dropped = new Set(secretNames.map((n) => n.toUpperCase()));
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const upper = name.toUpperCase();
    if (dropped.has(upper) || upper.startsWith("INPUT_")) continue;
    if (!PROXY_VARIABLES.has(upper) && holdsSecret(`${name}=${value}`)) continue;
    out[name] = value;
  }
  return out;
}
