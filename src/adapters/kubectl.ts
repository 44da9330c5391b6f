// The only place that runs kubectl. Manifests go on stdin, never argv or
// files; the child inherits our environment minus every secret (childenv.ts),
// so credential plugins get the cloud's variables and never our tokens.
import { getExecOutput } from "@actions/exec";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { childEnv } from "./childenv.js";
import { KubeError, type Refusals } from "../model/errors.js";
import { secretRefs, splitList } from "../model/manifests.js";
import { Annotations, MANAGED_BY_LABEL, MANAGER } from "../model/naming.js";
import type { ExistingSecret, KubePort, ManagedSecretRef, NamespaceState, TargetState, LeaseState, LockPort } from "../model/ports.js";
import { parseServiceAccount, serviceAccountList } from "../model/serviceaccounts.js";
import type { Secret } from "../model/secret.js";

export interface KubectlOptions {
  kubeconfig: string | undefined;
  context: string | undefined;
  /** Redacts every secret form registered so far; applied to anything kubectl printed before it is reused. */
  redact: (text: string) => string;
  /** Whether text holds a secret form registered so far; such variables stay out of kubectl's environment. */
  holdsSecret: (text: string) => boolean;
  env?: Readonly<Record<string, string | undefined>>;
  binary?: string;
}

interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

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

function failure(operation: string, stderr: string): KubeError {
  const detail = [errorLines(stderr), ...pluginSaid(stderr), ...hintsFor(stderr)].join("\n");
  return new KubeError(operation, detail, namespacesInErrors(stderr), parseRefusals(stderr));
}

function pluginSaid(stderr: string): string[] {
  return credentialPluginLines(stderr).map((l) => `credential plugin: ${l}`);
}

/**
 * From this many namespaces on, the Secrets (and named ServiceAccounts) are
 * read with one LIST across namespaces (`--field-selector metadata.name=`)
 * instead of one GET per object: kubectl sends the GETs of `get -f -` one
 * after the other, about 1.9 ms each on a real API server. Below it the GETs
 * are cheaper than a LIST, whose cost grows with the cluster's Secrets, not
 * ours. A LIST needs list at cluster scope; where RBAC refuses it (namespaced
 * Roles), the GETs are the fallback.
 */
export const LIST_FROM_NAMESPACES = 20;

/**
 * kubectl applies a List object by object, one request at a time, so one
 * process is bound by the server's latency, not its capacity. Two processes
 * each applying half halve the wall time of the dry run and the apply
 * (bench/RESULTS.md) and keep a run at 8 kubectl processes whatever N is; a
 * part smaller than MIN_PART objects does not pay back another kubectl start
 * (~50 ms, about 25 requests).
 */
export const APPLY_PROCESSES = 2;
const MIN_PART = 30;

/** A LIST kubectl was not allowed to make at cluster scope (the RBAC 403 names the resource and "at the cluster scope"). */
export function listForbidden(stderr: string, resource: string): boolean {
  return new RegExp(`cannot (list|watch) resource "${resource}" in API group "" at the cluster scope`).test(stderr);
}

/** Lines of several kubectl processes as one stderr: each line once, in order (a refusal of them all is said once). */
export function mergeStderr(stderrs: readonly string[]): string {
  const lines = stderrs.flatMap((s) => s.split("\n")).filter((l) => l.trim() !== "");
  return [...new Set(lines)].join("\n");
}

/** Lease times are MicroTime: RFC 3339 with microseconds. */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/**
 * The Lease as we write it: held (holder, times, duration) or released (no
 * holder, no times: a run of an older version, which deletes the Lease, sees
 * it as stale at once). A resourceVersion makes the write a guarded replace.
 */
export function leaseManifest(
  namespace: string,
  name: string,
  hold: { holder: string; durationSeconds: number; now: Date } | null,
  resourceVersion?: string,
): string {
  return JSON.stringify({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name,
      namespace,
      labels: { "app.kubernetes.io/managed-by": MANAGER },
      ...(resourceVersion ? { resourceVersion } : {}),
    },
    spec: hold
      ? { holderIdentity: hold.holder, leaseDurationSeconds: hold.durationSeconds, acquireTime: microTime(hold.now), renewTime: microTime(hold.now) }
      : {},
  });
}

export function parseLease(stdout: string): LeaseState {
  const o = JSON.parse(stdout) as { metadata?: { resourceVersion?: string; uid?: string }; spec?: Record<string, unknown> };
  return {
    holder: String(o.spec?.holderIdentity ?? ""),
    renewTime: String(o.spec?.renewTime ?? o.spec?.acquireTime ?? ""),
    durationSeconds: Number(o.spec?.leaseDurationSeconds ?? 0),
    resourceVersion: String(o.metadata?.resourceVersion ?? ""),
    uid: String(o.metadata?.uid ?? ""),
  };
}

/** jsonpath escapes the dots of an annotation key. */
const jp = (key: string): string => `{.metadata.annotations.${key.replace(/\./g, "\\.")}}`;

/** One tab-separated line per Secret: where it is and which tokens it records. Never `data`. */
export const MANAGED_FIELDS =
  `{range .items[*]}{.metadata.namespace}{"\\t"}{.metadata.name}{"\\t"}${jp(Annotations.owner)}{"\\t"}` +
  `${jp(Annotations.tokenId)}{"\\t"}${jp(Annotations.keptTokenIds)}{"\\n"}{end}`;

export function parseManagedSecrets(stdout: string): ManagedSecretRef[] {
  return stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      const [namespace = "", name = "", owner = "", tokenId = "", kept = ""] = l.split("\t");
      return { namespace, name, owner, tokenId, kept };
    });
}

/** Another run created the Lease between our read and our create: look again. */
const CREATE_RACE = /AlreadyExists|already exists/;
/**
 * Another run changed or released the Lease between our read and our replace:
 * look again. Only the Lease's own NotFound: a missing namespace is a failure,
 * or the run would retry forever.
 */
const CLAIM_RACE = /Conflict|the object has been modified|leases(\.coordination\.k8s\.io)? "[^"]+" not found/;

/**
 * Whether kubectl will use a kubeconfig rather than its in-cluster configuration. kubectl
 * falls back to in-cluster (the Pod's ServiceAccount) only when the kubeconfig it loaded is
 * the default one, and any override flag, `--request-timeout` included, makes it non-default:
 * in a CronJob every call would then go to localhost:8080. Mirrors clientcmd's rule: a
 * --kubeconfig, $KUBECONFIG, ~/.kube/config, or not in a Pod.
 */
export function usesKubeconfig(
  env: Readonly<Record<string, string | undefined>>,
  kubeconfigFlag: string | undefined,
  homeConfigExists: (home: string) => boolean,
): boolean {
  if (kubeconfigFlag || env.KUBECONFIG) return true;
  if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT) return true;
  return env.HOME ? homeConfigExists(env.HOME) : false;
}

export function kubectlPort(opts: KubectlOptions): KubePort & LockPort {
  const binary = opts.binary ?? "kubectl";
  const kubeconfig = usesKubeconfig(opts.env ?? process.env, opts.kubeconfig, (home) => existsSync(join(home, ".kube", "config")));
  const global = [
    ...(opts.kubeconfig ? ["--kubeconfig", opts.kubeconfig] : []),
    ...(opts.context ? ["--context", opts.context] : []),
    // In-cluster, the flag would switch the ServiceAccount configuration off (see usesKubeconfig).
    ...(kubeconfig ? ["--request-timeout=60s"] : []),
  ];

  async function run(args: string[], stdin: string): Promise<Run> {
    try {
      return await getExecOutput(binary, [...global, ...args], {
        input: Buffer.from(stdin),
        silent: true,
        ignoreReturnCode: true,
        env: childEnv(opts.env ?? process.env, opts.holdsSecret),
      });
    } catch (err) {
      throw new KubeError("running kubectl", `${(err as Error).message}. Is kubectl installed and on PATH?`);
    }
  }

  /**
   * The objects named `name` in `wanted` namespaces, from one LIST across
   * namespaces; undefined when RBAC refuses the LIST (the caller GETs them).
   */
  async function listNamed(resource: "secrets" | "serviceaccounts", name: string | undefined, namespaces: readonly string[]) {
    const r = await run(["get", resource, "--all-namespaces", ...(name ? ["--field-selector", `metadata.name=${name}`] : []), "-o", "json"], "");
    if (r.exitCode !== 0) {
      const stderr = opts.redact(r.stderr);
      if (listForbidden(stderr, resource)) return undefined;
      throw failure(`listing ${resource}${name ? ` named "${name}"` : ""} across namespaces`, stderr);
    }
    // In the order of `namespaces`, as the GETs return them.
    const order = new Map(namespaces.map((ns, i) => [ns, i]));
    const nsOf = (o: Record<string, unknown>) => String((o.metadata as Record<string, unknown>)?.namespace);
    return listItems(r.stdout)
      .filter((o) => order.has(nsOf(o)))
      .sort((a, b) => order.get(nsOf(a))! - order.get(nsOf(b))!);
  }

  /** readTarget by LISTs (see LIST_FROM_NAMESPACES): the Secrets and the ServiceAccounts at once, two kubectl processes. */
  async function listTarget(namespaces: readonly string[], secretName: string, serviceAccounts: readonly string[]): Promise<TargetState | undefined> {
    const all = serviceAccounts.includes("*");
    // One name: the server filters. Several: one LIST of them all, filtered here.
    const saName = all || serviceAccounts.length !== 1 ? undefined : serviceAccounts[0];
    const [secrets, accounts] = await Promise.all([
      listNamed("secrets", secretName, namespaces),
      serviceAccounts.length === 0 ? Promise.resolve([]) : listNamed("serviceaccounts", saName, namespaces),
    ]);
    if (!secrets || !accounts) return undefined;
    const picked = all ? accounts : accounts.filter((o) => serviceAccounts.includes(String((o.metadata as Record<string, unknown>)?.name)));
    return {
      secrets: parseSecrets(JSON.stringify({ kind: "List", items: secrets })),
      serviceAccounts: picked.map(parseServiceAccount),
    };
  }

  return {
    async readTarget(namespaces, secretName, serviceAccounts): Promise<TargetState> {
      if (namespaces.length >= LIST_FROM_NAMESPACES) {
        const listed = await listTarget(namespaces, secretName, serviceAccounts);
        if (listed) return listed;
      }
      const all = serviceAccounts.includes("*");
      const named = all ? [] : namespaces.flatMap((namespace) => serviceAccounts.map((name) => ({ kind: "ServiceAccount", namespace, name })));
      const refs = [...namespaces.map((namespace) => ({ kind: "Secret", namespace, name: secretName })), ...named];
      const r = await run(["get", "-f", "-", "-o", "json", "--ignore-not-found"], objectRefs(refs));
      if (r.exitCode !== 0) throw failure(`reading Secret "${secretName}"${named.length ? " and the ServiceAccounts" : ""}`, opts.redact(r.stderr));
      const items = listItems(r.stdout);
      let accounts = items.filter((o) => o.kind === "ServiceAccount");
      if (all) {
        // "*" cannot be a list of references: it needs list on serviceaccounts.
        const sa = await run(["get", "serviceaccounts", "--all-namespaces", "-o", "json"], "");
        if (sa.exitCode !== 0) throw failure("listing ServiceAccounts (for --service-account '*')", opts.redact(sa.stderr));
        accounts = listItems(sa.stdout).filter((o) => namespaces.includes(String((o.metadata as Record<string, unknown>)?.namespace)));
      }
      return {
        secrets: parseSecrets(JSON.stringify({ kind: "List", items: items.filter((o) => o.kind === "Secret") })),
        serviceAccounts: accounts.map(parseServiceAccount),
      };
    },

    async replaceServiceAccounts(objects) {
      if (objects.length === 0) return "ok";
      const r = await run(["replace", "-f", "-", "-o", "name"], serviceAccountList(objects));
      if (r.exitCode === 0) return "ok";
      const stderr = opts.redact(r.stderr);
      const lines = stderr.split("\n").filter((l) => /^(Error|error)/.test(l.trim()));
      if (lines.length > 0 && lines.every((l) => /Conflict|the object has been modified/.test(l))) return "conflict";
      throw failure("adding the Secret to the ServiceAccounts", stderr);
    },

    async listNamespaces(selector) {
      const r = await run(["get", "namespaces", "-l", selector, "-o", "json"], "");
      if (r.exitCode !== 0) throw failure(`listing namespaces matching ${selector}`, opts.redact(r.stderr));
      return listItems(r.stdout).map((o) => String((o.metadata as Record<string, unknown>)?.name)).sort();
    },

    // One kubectl for all of them. A namespace the caller may not read (no
    // get on namespaces) is "unknown", not an error: callers fall back to what
    // they knew without it.
    async namespaceStates(names) {
      const states = new Map<string, NamespaceState>();
      if (names.length === 0) return states;
      const r = await run(["get", "namespaces", ...names, "-o", "json", "--ignore-not-found"], "");
      const stderr = opts.redact(r.stderr);
      const refusals = parseRefusals(stderr);
      if (r.exitCode !== 0 && (refusals.other.length > 0 || refusals.forbidden.length + refusals.missing.length === 0)) {
        throw failure("reading the namespaces", stderr);
      }
      const found = new Map(listItems(r.stdout).map((o) => [String((o.metadata as Record<string, unknown>)?.name), o]));
      // Cluster-scoped: the 403 names no namespace, only the object ("namespaces \"c\" is forbidden").
      const forbidden = new Set([...stderr.matchAll(/namespaces "([^"]+)" is forbidden/g)].map((m) => m[1]!));
      for (const name of names) {
        const o = found.get(name) as { status?: { phase?: string } } | undefined;
        states.set(name, o ? (o.status?.phase === "Terminating" ? "terminating" : "active") : forbidden.has(name) ? "unknown" : "missing");
      }
      return states;
    },

    async applyNamespaces(names) {
      const doc = JSON.stringify({ apiVersion: "v1", kind: "List", items: names.map((name) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } })) });
      const r = await run(["apply", "--server-side", `--field-manager=${MANAGER}`, "-f", "-"], doc);
      if (r.exitCode !== 0) throw failure("creating the namespaces", opts.redact(r.stderr));
    },

    async readSecrets(namespaces, name) {
      if (namespaces.length >= LIST_FROM_NAMESPACES) {
        const listed = await listNamed("secrets", name, namespaces);
        if (listed) return parseSecrets(JSON.stringify({ kind: "List", items: listed }));
      }
      const r = await run(["get", "-f", "-", "-o", "json", "--ignore-not-found"], secretRefs(namespaces, name));
      if (r.exitCode !== 0) {
        throw failure(`reading Secret "${name}"`, opts.redact(r.stderr));
      }
      return parseSecrets(r.stdout);
    },

    async listManagedSecrets() {
      const r = await run(["get", "secrets", "--all-namespaces", "-l", `${MANAGED_BY_LABEL}=${MANAGER}`, "-o", `jsonpath=${MANAGED_FIELDS}`], "");
      if (r.exitCode !== 0) {
        if (/is forbidden: User/.test(r.stderr)) return "forbidden";
        throw failure("listing the managed Secrets of the cluster", opts.redact(r.stderr));
      }
      return parseManagedSecrets(r.stdout);
    },

    async readLease(namespace, name) {
      const r = await run(["get", "lease", name, "-n", namespace, "-o", "json", "--ignore-not-found"], "");
      if (r.exitCode !== 0) throw failure("reading the rotation lock", opts.redact(r.stderr));
      return r.stdout.trim() === "" ? undefined : parseLease(r.stdout);
    },

    async createLease(namespace, name, holder, durationSeconds, now) {
      const r = await run(["create", "-f", "-", "-o", "json"], leaseManifest(namespace, name, { holder, durationSeconds, now }));
      if (r.exitCode === 0) return parseLease(r.stdout);
      if (CREATE_RACE.test(r.stderr)) return undefined;
      throw failure("taking the rotation lock", opts.redact(r.stderr));
    },

    async claimLease(namespace, name, holder, durationSeconds, now, resourceVersion) {
      if (!resourceVersion) return undefined;
      const r = await run(["replace", "-f", "-", "-o", "json"], leaseManifest(namespace, name, { holder, durationSeconds, now }, resourceVersion));
      if (r.exitCode === 0) return parseLease(r.stdout);
      if (CLAIM_RACE.test(r.stderr)) return undefined;
      throw failure("taking the rotation lock", opts.redact(r.stderr));
    },

    async releaseLease(namespace, name, held) {
      // Guarded by the resourceVersion our claim left: a Lease taken over from us is not ours to clear.
      const r = await run(["replace", "-f", "-", "-o", "name"], leaseManifest(namespace, name, null, held.resourceVersion));
      if (r.exitCode === 0 || /Conflict|the object has been modified|NotFound|not found/.test(r.stderr)) return;
      throw failure("releasing the rotation lock", opts.redact(r.stderr));
    },

    // Parts of the List at once (APPLY_PROCESSES). kubectl goes on past a
    // refused object either way, so a failure is reported for the whole List,
    // every refusal of every part in it, as from one process.
    async applySecrets(list: Secret, { dryRun, force }) {
      const args = [
        "apply", "--server-side", `--field-manager=${MANAGER}`,
        ...(force ? ["--force-conflicts"] : []),
        ...(dryRun ? ["--dry-run=server"] : []),
        "-f", "-",
      ];
      const runs = await Promise.all(splitList(list, APPLY_PROCESSES, MIN_PART).map((part) => run(args, part.reveal())));
      const failed = runs.filter((r) => r.exitCode !== 0);
      if (failed.length > 0) {
        throw failure(dryRun ? "checking the Secrets (server dry run)" : "applying the Secrets", opts.redact(mergeStderr(failed.map((r) => r.stderr))));
      }
    },

    // One kubectl for every namespace. An access review rather than
    // `delete --dry-run=server`: it can never delete anything, whatever the
    // server makes of a DeleteOptions body.
    async forbiddenSecretDeletes(namespaces, name) {
      if (namespaces.length === 0) return [];
      const r = await run(
        ["create", "-f", "-", "-o", 'jsonpath={.spec.resourceAttributes.namespace} {.status.allowed}{"\\n"}'],
        deleteReviews(namespaces, name),
      );
      if (r.exitCode !== 0) throw deleteFailure(`checking the permission to delete Secret "${name}"`, opts.redact(r.stderr));
      return parseDeleteReviews(r.stdout, namespaces);
    },

    // One kubectl for every namespace, references on stdin. No precondition
    // (kubectl delete -f sends none): the caller holds the target's Lease and
    // passes only namespaces whose Secret it has just read as ours.
    async deleteSecrets(namespaces, name) {
      if (namespaces.length === 0) return;
      const r = await run(["delete", "--ignore-not-found", "--wait=false", "-f", "-"], secretRefs(namespaces, name));
      if (r.exitCode !== 0) throw deleteFailure(`deleting Secret "${name}"`, opts.redact(r.stderr));
    },
  };
}

/** One SelfSubjectAccessReview per namespace: may we delete Secret `name` there? */
export function deleteReviews(namespaces: readonly string[], name: string): string {
  const items = namespaces.map((namespace) => ({
    apiVersion: "authorization.k8s.io/v1",
    kind: "SelfSubjectAccessReview",
    spec: { resourceAttributes: { namespace, verb: "delete", resource: "secrets", name } },
  }));
  return JSON.stringify({ apiVersion: "v1", kind: "List", items });
}

/** "<namespace> <allowed>" lines -> the namespaces not allowed; one without an answer counts as not allowed. */
export function parseDeleteReviews(stdout: string, namespaces: readonly string[]): string[] {
  const allowed = new Set(
    stdout
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .filter(([, ok]) => ok === "true")
      .map(([ns]) => ns),
  );
  return namespaces.filter((ns) => !allowed.has(ns));
}

/** Like failure(), with the verb teardown needs beyond the rotation Role. */
function deleteFailure(operation: string, stderr: string): KubeError {
  const hints = /is forbidden: User/.test(stderr)
    ? ["revoke needs the verb delete on secrets in each target namespace (beside the rotation Role's get, create, patch)"]
    : hintsFor(stderr);
  return new KubeError(operation, [errorLines(stderr), ...pluginSaid(stderr), ...hints].join("\n"), namespacesInErrors(stderr));
}

function objectRefs(refs: ReadonlyArray<{ kind: string; namespace: string; name: string }>): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: refs.map((r) => ({ apiVersion: "v1", kind: r.kind, metadata: { name: r.name, namespace: r.namespace } })),
  });
}

/** `kubectl get -o json` prints nothing, one object, or a List. */
export function listItems(stdout: string): Array<Record<string, unknown> & { kind?: string }> {
  const text = stdout.trim();
  if (text === "") return [];
  const doc = JSON.parse(text) as { kind?: string; items?: unknown[] };
  return (doc.kind === "List" || Array.isArray(doc.items) ? (doc.items ?? []) : [doc]) as Array<Record<string, unknown> & { kind?: string }>;
}

/** `kubectl get -o json` prints nothing, one object, or a List. */
export function parseSecrets(stdout: string): ExistingSecret[] {
  const text = stdout.trim();
  if (text === "") return [];
  const doc = JSON.parse(text) as { kind?: string; items?: unknown[] };
  const items = doc.kind === "List" || Array.isArray(doc.items) ? (doc.items ?? []) : [doc];
  return items.map((raw) => {
    const o = raw as { type?: string; metadata?: Record<string, unknown> };
    const md = o.metadata ?? {};
    return {
      namespace: String(md.namespace),
      type: String(o.type ?? "Opaque"),
      labels: (md.labels as Record<string, string>) ?? {},
      annotations: (md.annotations as Record<string, string>) ?? {},
      resourceVersion: String(md.resourceVersion ?? ""),
    };
  });
}
