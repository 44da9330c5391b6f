// kubectl's stderr -> what the user needs: the API server's own lines, the
// credential plugin's words, per-namespace refusals and hints. Pure, so every
// error shape is tested without a cluster.
import { FieldConflictError, KubeError, type NamespaceRefusal, type Refusals } from "../model/errors.js";
import { refusedRequests, type TracedRequest } from "./kubectl-trace.js";

/** Namespaces named in kubectl/API server error lines. */
export function namespacesInErrors(stderr: string): string[] {
  const found = new Set<string>();
  for (const m of stderr.matchAll(
    /in the namespace "([^"]+)"|namespaces "([^"]+)" not found|namespace[:=] ?"?([a-z0-9-]+)"?/g,
  )) {
    found.add((m[1] ?? m[2] ?? m[3])!);
  }
  return [...found];
}

/** The API server's own words, without kubectl's "error when ..." wrapping noise. */
export function errorLines(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /^(Error|error)/.test(l));
  return (
    lines.length
      ? lines
      : stderr
          .split("\n")
          .filter((l) => l.trim() !== "")
          .slice(-3)
  ).join("\n");
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
  const lines = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !KUBECTL_LINE.test(l));
  return [...new Set(lines)].slice(-10);
}

/**
 * Which file of examples/rbac grants a refused verb. A cluster-scope refusal
 * is never fixed by the namespace Role, so naming role.yaml there was advice
 * that could not work; each cluster-scope grant has its own ClusterRole file.
 */
export function grantFile(verb: string, resource: string, clusterScope: boolean): string {
  if (resource === "namespaces") {
    if (verb === "list" || verb === "watch")
      return "examples/rbac/clusterrole-selector.yaml (list namespaces, for --namespace-selector)";
    if (verb === "create" || verb === "patch")
      return "examples/rbac/clusterrole-create-namespace.yaml (create and patch namespaces, for --create-namespace)";
    return "examples/rbac/clusterrole-namespaces-get.yaml (get namespaces)";
  }
  if (clusterScope && resource === "serviceaccounts") {
    return "examples/rbac/clusterrole-all-serviceaccounts.yaml (list serviceaccounts at cluster scope, for --service-account '*')";
  }
  if (verb === "delete" && resource === "secrets")
    return "examples/rbac/role-revoke.yaml (delete secrets, for revoke) in each target namespace";
  if (clusterScope) return `a ClusterRole granting ${verb} on ${resource} at cluster scope`;
  return `examples/rbac/role.yaml (secrets: get, create, patch; serviceaccounts: get, update; leases: get, create, update) in each target namespace`;
}

const REFUSED_VERB =
  /cannot ([a-z]+) resource "([^"]+)"(?: in API group "[^"]*")? (at the cluster scope|in the namespace "[^"]+")/g;

/** One hint per grant the RBAC refusals in stderr call for, naming the file that grants it. */
export function grantHints(stderr: string): string[] {
  const files = new Set<string>();
  for (const m of stderr.matchAll(REFUSED_VERB)) files.add(grantFile(m[1]!, m[2]!, m[3] === "at the cluster scope"));
  if (files.size === 0) files.add(grantFile("get", "secrets", false));
  return [...files].map((f) => `Grant ${f}`);
}

/** What to do about the errors kubectl reported, in the user's terms. */
export function hintsFor(stderr: string): string[] {
  const hints: string[] = [];
  if (/Apply failed with \d+ conflicts?/.test(stderr)) {
    const managers = [...new Set([...stderr.matchAll(/conflicts? with "([^"]+)"/g)].map((m) => m[1]!))];
    hints.push(
      `Another field manager${managers.length ? ` (${managers.map((m) => `"${m}"`).join(", ")})` : ""} last wrote these fields of the Secret, ` +
        `so every apply is refused the same way: retrying cannot help. Pass --adopt to take the fields over, or stop the other tool ` +
        `from applying this Secret and use another --secret-name for it`,
    );
  }
  if (/is forbidden: User/.test(stderr)) hints.push(...grantHints(stderr));
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
    hints.push(
      "The namespace is being deleted; remove it from the namespace list, or wait until it is gone and recreate it",
    );
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

// How kubectl starts the message of each failed object: a StatusError
// ("Error from server (Reason): …", or without a reason, as an admission
// webhook's denial often is), its own errors ("error: …"; "Error: …" for a
// single wrapped one), and server-side apply's conflicts, which it wraps with
// several lines of advice and prints without a prefix inside an aggregate.
const RECORD_START =
  /^(Error from server|error: |Error: |Apply failed with \d+ conflicts?|Operation cannot be fulfilled|Server-side apply not available|Unable to connect to the server|The connection to the server)/;
// Lines kubectl prints that belong to no failure: the API server's warnings, klog's.
const NOT_AN_ERROR = /^(Warning: |[IWEF]\d{4} )/;

/**
 * kubectl's failure messages, one per refused object in the order it sent
 * them (it goes on past a refused object and prints every error at the end),
 * each with its continuation lines. Credential plugins' lines and warnings are
 * not part of any.
 */
export function errorRecords(stderr: string): string[][] {
  const records: string[][] = [];
  for (const raw of stderr.split("\n")) {
    const line = raw.trimEnd();
    if (line.trim() === "" || NOT_AN_ERROR.test(line)) continue;
    if (RECORD_START.test(line)) records.push([line]);
    else records.at(-1)?.push(line);
  }
  return records;
}

/** The namespace a failure message names itself (RBAC, a missing or terminating namespace). */
function namedNamespace(first: string): string | undefined {
  const m = MISSING.exec(first) ?? TERMINATING.exec(first) ?? /in the namespace "([^"]+)"/.exec(first);
  return m?.[1];
}

/** A failure message without the advice kubectl appends to a conflict (the hint says what to do). */
function withoutAdvice(record: readonly string[]): readonly string[] {
  const advice = record.findIndex((l) => /^Please review the fields above/.test(l));
  return advice > 0 ? record.slice(0, advice) : record;
}

/**
 * One failure message as one line, in the API server's words: without
 * kubectl's "Error from server (Forbidden): " and the object's
 * `secrets "s" is forbidden: ` (the line says which namespace), a conflict's
 * fields on the line, its advice dropped (the hint says what to do).
 */
export function refusalReason(record: readonly string[]): string {
  const lines = withoutAdvice(record);
  let text = lines[0]!
    .replace(/^(Error from server( \([A-Za-z]+\))?|error|Error): /, "")
    .replace(/^[a-z0-9.]+ "[^"]*" is forbidden: /, "");
  for (const l of lines.slice(1).map((x) => x.trim())) {
    if (l.startsWith("- ")) text += `${text.endsWith(":") ? " " : ", "}${l.slice(2)}`;
    else text += `; ${l}`;
  }
  return text.replace(/\s+/g, " ").trim();
}

// The HTTP status each StatusError reason comes with (k8s.io/apimachinery/pkg/api/errors); a check that a
// message and a request were paired right.
const REASON_CODE: Record<string, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  Invalid: 422,
  TooManyRequests: 429,
  InternalError: 500,
  ServiceUnavailable: 503,
  Timeout: 504,
};

function agrees(record: readonly string[], request: TracedRequest): boolean {
  const first = record[0]!;
  const named = namedNamespace(first);
  if (named !== undefined && named !== request.namespace) return false;
  const reason = /^Error from server \(([A-Za-z]+)\)/.exec(first)?.[1];
  if (reason && REASON_CODE[reason] !== undefined && REASON_CODE[reason] !== request.code) return false;
  if (/Apply failed with \d+ conflicts?/.test(first) && request.code !== 409) return false;
  return true;
}

/** Each refused namespace with its reason, and the failure messages that could not be given a namespace. */
export interface Attribution {
  refused: NamespaceRefusal[];
  unattributed: string[];
}

/**
 * Gives each failure message of ONE kubectl process its namespace. With the
 * process's request trace (kubectl-trace.ts), the n-th refused request is the
 * n-th message: kubectl sends the objects one after the other and prints
 * their errors in the same order. When the counts or the statuses disagree
 * (a message kubectl printed for something else, a request that got no
 * answer), the pairing is not trusted: messages that name their namespace
 * keep it, every other refused request is named with its HTTP status, and the
 * messages are shown as kubectl printed them. Without a trace, only the
 * messages that name their namespace get one.
 */
export function attribute(stderr: string, requests?: readonly TracedRequest[]): Attribution {
  const records = errorRecords(stderr);
  const refused = requests ? refusedRequests(requests) : [];
  if (refused.length > 0 && refused.length === records.length && records.every((r, i) => agrees(r, refused[i]!))) {
    return combine([
      {
        refused: refused.map((r, i) => ({ namespace: r.namespace!, reason: refusalReason(records[i]!) })),
        unattributed: [],
      },
    ]);
  }
  const named: NamespaceRefusal[] = [];
  const unattributed: string[] = [];
  for (const record of records) {
    const namespace = namedNamespace(record[0]!);
    if (namespace === undefined) unattributed.push(withoutAdvice(record).join("\n"));
    else named.push({ namespace, reason: refusalReason(record) });
  }
  const statusOnly = refused
    .filter((r) => !named.some((n) => n.namespace === r.namespace))
    .map((r) => ({ namespace: r.namespace!, reason: r.status || "no answer" }));
  const order = new Map(refused.map((r, i) => [r.namespace!, i]));
  const all = [...named, ...statusOnly].sort(
    (a, b) => (order.get(a.namespace) ?? Infinity) - (order.get(b.namespace) ?? Infinity),
  );
  return combine([{ refused: all, unattributed }]);
}

/**
 * The attributions of several kubectl processes (parts of one List) as one:
 * one entry per namespace, its reasons joined when it got several (a Secret
 * and a ServiceAccount), each unattributed message once.
 */
export function combine(parts: readonly Attribution[]): Attribution {
  const byNamespace = new Map<string, string[]>();
  for (const r of parts.flatMap((p) => p.refused)) {
    const reasons = byNamespace.get(r.namespace) ?? [];
    if (!reasons.includes(r.reason)) reasons.push(r.reason);
    byNamespace.set(r.namespace, reasons);
  }
  return {
    refused: [...byNamespace].map(([namespace, reasons]) => ({ namespace, reason: reasons.join("; ") })),
    unattributed: [...new Set(parts.flatMap((p) => p.unattributed))],
  };
}

/** Sorts kubectl's failure messages per namespace (see Refusals). kubectl reports each object of a List on its own. */
export function parseRefusals(stderr: string): Refusals {
  const out: Refusals = { missing: [], terminating: [], forbidden: [], other: [] };
  const add = (list: string[], ns: string) => {
    if (!list.includes(ns)) list.push(ns);
  };
  for (const [first] of errorRecords(stderr)) {
    const line = first!.trim();
    let m: RegExpExecArray | null;
    if ((m = MISSING.exec(line))) add(out.missing, m[1]!);
    else if ((m = TERMINATING.exec(line))) add(out.terminating, m[1]!);
    else if ((m = FORBIDDEN.exec(line))) add(out.forbidden, m[1]!);
    else out.other.push(line);
  }
  return out;
}

/**
 * The error for a failed kubectl call: one line per refused namespace (from
 * `attribution`, the processes' own, or from the messages that name theirs),
 * then what no namespace could be given, the credential plugin's words and
 * the hints.
 */
export function failure(operation: string, stderr: string, attribution: Attribution = attribute(stderr)): KubeError {
  const rest = attribution.refused.length ? attribution.unattributed : [errorLines(stderr)];
  const detail = [...rest, ...pluginSaid(stderr), ...hintsFor(stderr)].join("\n");
  const namespaces = [...new Set([...attribution.refused.map((r) => r.namespace), ...namespacesInErrors(stderr)])];
  const records = errorRecords(stderr);
  // Only conflicts: the same apply would be refused again; anything else in the mix may be transient.
  const onlyConflicts =
    records.length > 0 && records.every((r) => /Apply failed with \d+ conflicts?/.test(r.join(" ")));
  return new (onlyConflicts ? FieldConflictError : KubeError)(
    operation,
    detail,
    namespaces,
    parseRefusals(stderr),
    attribution.refused,
  );
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
    ? [
        "revoke needs the verb delete on secrets in each target namespace (beside the rotation Role's get, create, patch): grant examples/rbac/role-revoke.yaml",
      ]
    : hintsFor(stderr);
  return new KubeError(
    operation,
    [errorLines(stderr), ...pluginSaid(stderr), ...hints].join("\n"),
    namespacesInErrors(stderr),
  );
}
