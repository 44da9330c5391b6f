// kubectl's stderr -> what the user needs: the API server's own lines, the
// credential plugin's words, per-namespace refusals and hints. Pure, so every
// error shape is tested without a cluster.
import { KubeError, type Refusals } from "../model/errors.js";

/** Namespaces named in kubectl/API server error lines. */
export function namespacesInErrors(stderr: string): string[] {
  const found = new Set<string>();
  for (const m of stderr.matchAll(/in the namespace "([^"]+)"|namespaces "([^"]+)" not found|namespace[:=] ?"?([a-z0-9-]+)"?/g)) {
    found.add((m[1] ?? m[2] ?? m[3])!);
  }
  return [...found];
}

/** The API server's own words, without kubectl's "error when ..." wrapping noise. */
export function errorLines(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => /^(Error|error)/.test(l));
  return (lines.length ? lines : stderr.split("\n").filter((l) => l.trim() !== "").slice(-3)).join("\n");
}

const CREDENTIAL_PLUGIN_FAILED = /getting credentials: exec: /;
/** kubectl's own stderr lines (klog lines carry a level letter and MMDD); the rest came from the plugin. */
const KUBECTL_LINE = /^(error|Error|Unable to connect to the server:|[IWEF]\d{4} )/;

/**
 * What a failed credential plugin said. kubectl passes the plugin's stderr
 * through, once per attempt, between its own lines, and itself reports only
 * "executable ... failed with exit code N"; the plugin's words (an expired
 * OIDC token, a role it may not assume) are the ones that tell the user what
 * to fix. Each line once, the last few.
 */
export function credentialPluginLines(stderr: string): string[] {
  if (!CREDENTIAL_PLUGIN_FAILED.test(stderr)) return [];
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !KUBECTL_LINE.test(l));
  return [...new Set(lines)].slice(-10);
}

/** What to do about the errors kubectl reported, in the user's terms. */
export function hintsFor(stderr: string): string[] {
  const hints: string[] = [];
  if (/Apply failed with \d+ conflicts?/.test(stderr)) {
    hints.push("Another field manager owns these fields of the Secret; pass --adopt to take them over");
  }
  if (/is forbidden: User/.test(stderr)) {
    hints.push('Grant the Role from the README (secrets: get, create, patch) in each target namespace');
  }
  if (/namespaces "[^"]+" not found/.test(stderr)) {
    hints.push("Create the namespace, or remove it from the namespace list");
  }
  if (CREDENTIAL_PLUGIN_FAILED.test(stderr)) {
    hints.push(
      "The kubeconfig user's credential plugin (exec) failed. It runs with this tool's environment minus its own " +
        "secrets, as it would from your shell: check the cloud credentials it reads (AWS_*, GOOGLE_APPLICATION_CREDENTIALS, " +
        "CLOUDSDK_*, AZURE_*) and that `kubectl get ns` works in the same job",
    );
  }
  if (/because it is being terminated/.test(stderr)) {
    hints.push("The namespace is being deleted; remove it from the namespace list, or wait until it is gone and recreate it");
  }
  if (/Unauthorized|must be logged in/.test(stderr)) {
    hints.push("kubectl's credentials were refused; check the kubeconfig and context");
  }
  return hints;
}

const MISSING = /namespaces "([^"]+)" not found/;
// NamespaceLifecycle admission (plugin/pkg/admission/namespace/lifecycle): a create in a namespace being deleted.
const TERMINATING = /unable to create new content in namespace ([a-z0-9-]+) because it is being terminated/;
const FORBIDDEN = /is forbidden: User ".*" cannot [a-z]+ resource ".*" in the namespace "([^"]+)"/;

/** Sorts kubectl's error lines per namespace (see Refusals). kubectl reports each object of a List on its own line. */
export function parseRefusals(stderr: string): Refusals {
  const out: Refusals = { missing: [], terminating: [], forbidden: [], other: [] };
  const add = (list: string[], ns: string) => {
    if (!list.includes(ns)) list.push(ns);
  };
  for (const raw of stderr.split("\n")) {
    const line = raw.trim();
    if (!/^(Error|error)/.test(line)) continue;
    let m: RegExpExecArray | null;
    if ((m = MISSING.exec(line))) add(out.missing, m[1]!);
    else if ((m = TERMINATING.exec(line))) add(out.terminating, m[1]!);
    else if ((m = FORBIDDEN.exec(line))) add(out.forbidden, m[1]!);
    else out.other.push(line);
  }
  return out;
}

export function failure(operation: string, stderr: string): KubeError {
  const detail = [errorLines(stderr), ...pluginSaid(stderr), ...hintsFor(stderr)].join("\n");
  return new KubeError(operation, detail, namespacesInErrors(stderr), parseRefusals(stderr));
}

function pluginSaid(stderr: string): string[] {
  return credentialPluginLines(stderr).map((l) => `credential plugin: ${l}`);
}

/** A LIST kubectl was not allowed to make at cluster scope (the RBAC 403 names the resource and "at the cluster scope"). */
export function listForbidden(stderr: string, resource: string): boolean {
  return new RegExp(`cannot (list|watch) resource "${resource}" in API group "" at the cluster scope`).test(stderr);
}

/** Lines of several kubectl processes as one stderr: each line once, in order (a refusal of them all is said once). */
export function mergeStderr(stderrs: readonly string[]): string {
  const lines = stderrs.flatMap((s) => s.split("\n")).filter((l) => l.trim() !== "");
  return [...new Set(lines)].join("\n");
}

/** Like failure(), with the verb teardown needs beyond the rotation Role. */
export function deleteFailure(operation: string, stderr: string): KubeError {
  const hints = /is forbidden: User/.test(stderr)
    ? ["revoke needs the verb delete on secrets in each target namespace (beside the rotation Role's get, create, patch)"]
    : hintsFor(stderr);
  return new KubeError(operation, [errorLines(stderr), ...pluginSaid(stderr), ...hints].join("\n"), namespacesInErrors(stderr));
}
