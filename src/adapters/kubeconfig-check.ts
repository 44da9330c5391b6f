// The kubeconfig, checked on this machine before GitLab is called. A missing
// file, one kubectl cannot parse, or a --context it does not have would
// otherwise surface only at the first cluster call, after the owner was
// resolved, as "reading the rotation lock failed". `kubectl config view`
// reads the same files with the same merge rules (--kubeconfig, $KUBECONFIG,
// ~/.kube/config) and never contacts the server nor runs a credential plugin.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../model/errors.js";
import { kubectlRunner, usesKubeconfig, type KubectlOptions } from "./kubectl-run.js";

type Env = Readonly<Record<string, string | undefined>>;

export interface KubeconfigCheck extends KubectlOptions {
  /** How the options are named to the user (a flag, an Action input, an option variable). */
  labels: { kubeconfig: string; context: string };
}

/** Which file(s) kubectl reads, as the user would look for them. */
function whereFrom(opts: KubeconfigCheck, env: Env): string {
  if (opts.kubeconfig) return opts.kubeconfig;
  if (env.KUBECONFIG) return `$KUBECONFIG (${env.KUBECONFIG})`;
  return env.HOME ? join(env.HOME, ".kube", "config") : "~/.kube/config";
}

/**
 * kubectl's words without anything quoted from the file's content: a YAML
 * error can quote a value (yaml.v2's "cannot unmarshal !!str `...`"), and a
 * kubeconfig's values include tokens and keys.
 */
export function scrubKubeconfigError(stderr: string): string {
  const line =
    stderr
      .split("\n")
      .map((l) => l.trim())
      .find((l) => /^error/i.test(l)) ??
    stderr.trim().split("\n").at(-1) ??
    "";
  return line
    .replace(/^error:\s*/i, "")
    .replace(/`[^`]*`/g, "`…`")
    .replace(/error loading config file "[^"]*":\s*/, "")
    .slice(0, 300);
}

export async function checkKubeconfig(opts: KubeconfigCheck): Promise<void> {
  const env = opts.env ?? process.env;
  // In a Pod without a kubeconfig kubectl uses the ServiceAccount: nothing local to check.
  if (!usesKubeconfig(env, opts.kubeconfig, (home) => existsSync(join(home, ".kube", "config")))) return;
  if (opts.kubeconfig) {
    let isFile: boolean;
    try {
      isFile = statSync(opts.kubeconfig).isFile();
    } catch (err) {
      throw new UsageError(
        opts.labels.kubeconfig,
        opts.kubeconfig,
        `an existing kubeconfig file (${(err as { code?: string }).code ?? "unreadable"})`,
      );
    }
    if (!isFile)
      throw new UsageError(opts.labels.kubeconfig, opts.kubeconfig, "a kubeconfig file (this is a directory)");
  }
  const run = kubectlRunner(opts);
  // Without --raw kubectl prints keys and tokens as REDACTED / DATA+OMITTED; the output is not kept anyway.
  const r = await run(["config", "view", "--minify", "-o", "json"], "");
  if (r.exitCode === 0) return;
  const said = scrubKubeconfigError(opts.redact(r.stderr));
  const where = whereFrom(opts, env);
  const loading = /error loading config file "([^"]*)"/.exec(r.stderr);
  if (loading) {
    throw new UsageError(
      opts.kubeconfig ? opts.labels.kubeconfig : "$KUBECONFIG",
      loading[1]!,
      `a kubeconfig (YAML) kubectl can read; kubectl says: ${said}`,
    );
  }
  const contexts = await knownContexts(opts);
  const known = contexts.length ? `: ${contexts.join(", ")}` : " (it has none)";
  if (opts.context && /cannot locate context|context was not found|no context exists/i.test(r.stderr)) {
    throw new UsageError(opts.labels.context, opts.context, `a context of ${where}${known}`);
  }
  if (/current-context must exist/.test(r.stderr)) {
    throw new UsageError(
      opts.labels.context,
      undefined,
      `required here: ${where} ${opts.kubeconfig || env.KUBECONFIG || existsSync(where) ? "sets no current-context" : "does not exist"}, ` +
        `so kubectl has no cluster to talk to; give ${opts.labels.kubeconfig} and ${opts.labels.context}${contexts.length ? ` (contexts there${known})` : ""}`,
    );
  }
  throw new UsageError(
    `${opts.labels.kubeconfig} / ${opts.labels.context}`,
    undefined,
    `a kubeconfig kubectl can use (${where}); kubectl says: ${said}`,
  );
}

/** The context names of the kubeconfig (not secret); empty when even that fails. */
async function knownContexts(opts: KubeconfigCheck): Promise<string[]> {
  const r = await kubectlRunner({ ...opts, context: undefined })(["config", "get-contexts", "-o", "name"], "");
  return r.exitCode === 0
    ? r.stdout
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "")
        .slice(0, 20)
    : [];
}
