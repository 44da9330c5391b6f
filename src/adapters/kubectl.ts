// The only place that runs kubectl. Manifests go on stdin, never argv or
// files; the child inherits our environment minus every secret (childenv.ts),
// so credential plugins get the cloud's variables and never our tokens.
// This module is the KubePort + LockPort; spawning (kubectl-run.ts), error
// reading (kubectl-errors.ts), stdin/stdout shapes (kubectl-objects.ts) and the
// Lease (kubectl-lease.ts) are their own modules, re-exported here for callers.
import { secretRefs, splitList } from "../model/manifests.js";
import { MANAGED_BY_LABEL, MANAGER } from "../model/naming.js";
import type { KubePort, LeaseState, NamespaceState, TargetState, LockPort } from "../model/ports.js";
import { parseServiceAccount, serviceAccountList } from "../model/serviceaccounts.js";
import type { Secret } from "../model/secret.js";
import {
  attribute,
  combine,
  deleteFailure,
  failure,
  listForbidden,
  mergeStderr,
  parseRefusals,
} from "./kubectl-errors.js";
import { CLAIM_RACE, CREATE_RACE, leaseManifest, parseLease } from "./kubectl-lease.js";
import {
  MANAGED_FIELDS,
  deleteReviews,
  listItems,
  objectRefs,
  parseDeleteReviews,
  parseManagedSecrets,
  parseSecretData,
  parseSecrets,
} from "./kubectl-objects.js";
import { kubectlRunner, type KubectlOptions } from "./kubectl-run.js";
import { splitTrace, TRACE_FLAG } from "./kubectl-trace.js";

export {
  credentialPluginLines,
  errorLines,
  hintsFor,
  listForbidden,
  mergeStderr,
  namespacesInErrors,
  parseRefusals,
} from "./kubectl-errors.js";
export { leaseManifest, parseLease } from "./kubectl-lease.js";
export {
  MANAGED_FIELDS,
  deleteReviews,
  listItems,
  parseDeleteReviews,
  parseManagedSecrets,
  parseSecretData,
  parseSecrets,
} from "./kubectl-objects.js";
export { usesKubeconfig, type KubectlOptions } from "./kubectl-run.js";

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

/**
 * Every object we send is built by this tool (model/manifests.ts), so kubectl's
 * schema check guards against nothing; with its default (--validate=strict)
 * each writing kubectl first downloads and parses the server's OpenAPI
 * document (/openapi/v2 for apply, ~0.2 to 0.6 s before the first request on a
 * bare v1.29 server, several MB and seconds on clusters with many CRDs).
 */
const NO_SCHEMA_CHECK = "--validate=false";
const MIN_PART = 30;
/** How far the API server's clock may be behind ours and a namespace still count as created by this run. */
const CREATED_SKEW_MS = 5 * 60_000;

export function kubectlPort(opts: KubectlOptions): KubePort & LockPort {
  const run = kubectlRunner(opts);

  /**
   * A call that writes a List of objects in (or of) namespaces, at TRACE_FLAG:
   * when the API server refuses some, the trace says which namespace each
   * refusal is for (kubectl-trace.ts). The stderr returned is what kubectl printed
   * without the flag, redacted.
   */
  async function runTraced(args: string[], stdin: string) {
    const r = await run([...args, TRACE_FLAG], stdin);
    const { requests, rest } = splitTrace(r.stderr);
    const stderr = opts.redact(rest);
    return {
      exitCode: r.exitCode,
      stdout: r.stdout,
      stderr,
      attribution: r.exitCode === 0 ? undefined : attribute(stderr, requests),
    };
  }

  /**
   * The objects named `name` in `wanted` namespaces, from one LIST across
   * namespaces; undefined when RBAC refuses the LIST (the caller GETs them).
   */
  async function listNamed(
    resource: "secrets" | "serviceaccounts",
    name: string | undefined,
    namespaces: readonly string[],
  ) {
    const r = await run(
      [
        "get",
        resource,
        "--all-namespaces",
        ...(name ? ["--field-selector", `metadata.name=${name}`] : []),
        "-o",
        "json",
      ],
      "",
    );
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
  async function listTarget(
    namespaces: readonly string[],
    secretName: string,
    serviceAccounts: readonly string[],
  ): Promise<TargetState | undefined> {
    const all = serviceAccounts.includes("*");
    // One name: the server filters. Several: one LIST of them all, filtered here.
    const saName = all || serviceAccounts.length !== 1 ? undefined : serviceAccounts[0];
    const [secrets, accounts] = await Promise.all([
      listNamed("secrets", secretName, namespaces),
      serviceAccounts.length === 0 ? Promise.resolve([]) : listNamed("serviceaccounts", saName, namespaces),
    ]);
    if (!secrets || !accounts) return undefined;
    const picked = all
      ? accounts
      : accounts.filter((o) => serviceAccounts.includes(String((o.metadata as Record<string, unknown>)?.name)));
    return {
      secrets: parseSecrets(JSON.stringify({ kind: "List", items: secrets })),
      serviceAccounts: picked.map(parseServiceAccount),
    };
  }
  async function applyNamespacesAs(names: readonly string[], dryRun: boolean): Promise<string[]> {
    const doc = JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: names.map((name) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } })),
    });
    const startedAt = Date.now();
    const r = await runTraced(
      [
        "apply",
        "--server-side",
        `--field-manager=${MANAGER}`,
        NO_SCHEMA_CHECK,
        ...(dryRun ? ["--dry-run=server"] : []),
        "-o",
        "json",
        "-f",
        "-",
      ],
      doc,
    );
    if (r.exitCode !== 0)
      throw failure(
        dryRun ? "checking the namespaces' creation (server dry run)" : "creating the namespaces",
        r.stderr,
        r.attribution,
      );
    const items = listItems(r.stdout) as Array<{
      metadata?: { name?: string; creationTimestamp?: string; resourceVersion?: string };
    }>;
    // A dry run persists nothing, so a namespace it would create comes back without a resourceVersion
    // (etcd sets one only on a write); one that exists comes back as stored.
    if (dryRun) return items.filter((ns) => !ns.metadata?.resourceVersion).map((ns) => ns.metadata?.name ?? "?");
    // Apply does not say which objects it created; a creation time within this run (with room for the
    // server's clock to differ) tells the namespaces that are new, so a run that fails later can name them.
    return items
      .filter((ns) => Date.parse(ns.metadata?.creationTimestamp ?? "") >= startedAt - CREATED_SKEW_MS)
      .map((ns) => ns.metadata?.name ?? "?");
  }

  async function applySecretsAs(list: Secret, dryRun: boolean, force: boolean): Promise<void> {
    const args = [
      "apply",
      "--server-side",
      `--field-manager=${MANAGER}`,
      NO_SCHEMA_CHECK,
      ...(force ? ["--force-conflicts"] : []),
      ...(dryRun ? ["--dry-run=server"] : []),
      "-f",
      "-",
    ];
    const runs = await Promise.all(
      splitList(list, APPLY_PROCESSES, MIN_PART).map((part) => runTraced(args, part.reveal())),
    );
    const failed = runs.filter((r) => r.exitCode !== 0);
    if (failed.length > 0) {
      const what = dryRun ? "checking the Secrets (server dry run)" : "applying the Secrets";
      throw failure(what, mergeStderr(failed.map((r) => r.stderr)), combine(failed.map((r) => r.attribution!)));
    }
  }

  return {
    async readTarget(namespaces, secretName, serviceAccounts): Promise<TargetState> {
      if (namespaces.length >= LIST_FROM_NAMESPACES) {
        const listed = await listTarget(namespaces, secretName, serviceAccounts);
        if (listed) return listed;
      }
      const all = serviceAccounts.includes("*");
      const named = all
        ? []
        : namespaces.flatMap((namespace) =>
            serviceAccounts.map((name) => ({ kind: "ServiceAccount", namespace, name })),
          );
      const refs = [...namespaces.map((namespace) => ({ kind: "Secret", namespace, name: secretName })), ...named];
      const r = await run(["get", "-f", "-", "-o", "json", "--ignore-not-found"], objectRefs(refs));
      if (r.exitCode !== 0)
        throw failure(
          `reading Secret "${secretName}"${named.length ? " and the ServiceAccounts" : ""}`,
          opts.redact(r.stderr),
        );
      const items = listItems(r.stdout);
      let accounts = items.filter((o) => o.kind === "ServiceAccount");
      if (all) {
        // "*" cannot be a list of references: it needs list on serviceaccounts.
        const sa = await run(["get", "serviceaccounts", "--all-namespaces", "-o", "json"], "");
        if (sa.exitCode !== 0)
          throw failure("listing ServiceAccounts (for --service-account '*')", opts.redact(sa.stderr));
        accounts = listItems(sa.stdout).filter((o) =>
          namespaces.includes(String((o.metadata as Record<string, unknown>)?.namespace)),
        );
      }
      return {
        secrets: parseSecrets(JSON.stringify({ kind: "List", items: items.filter((o) => o.kind === "Secret") })),
        serviceAccounts: accounts.map(parseServiceAccount),
      };
    },

    async replaceServiceAccounts(objects) {
      if (objects.length === 0) return "ok";
      const r = await runTraced(["replace", NO_SCHEMA_CHECK, "-f", "-", "-o", "name"], serviceAccountList(objects));
      if (r.exitCode === 0) return "ok";
      const lines = r.stderr.split("\n").filter((l) => /^(Error|error)/.test(l.trim()));
      if (lines.length > 0 && lines.every((l) => /Conflict|the object has been modified/.test(l))) return "conflict";
      throw failure("adding the Secret to the ServiceAccounts", r.stderr, r.attribution);
    },

    async listNamespaces(selector) {
      const r = await run(["get", "namespaces", "-l", selector, "-o", "json"], "");
      if (r.exitCode !== 0) throw failure(`listing namespaces matching ${selector}`, opts.redact(r.stderr));
      return listItems(r.stdout)
        .map((o) => String((o.metadata as Record<string, unknown>)?.name))
        .sort();
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
      if (
        r.exitCode !== 0 &&
        (refusals.other.length > 0 || refusals.forbidden.length + refusals.missing.length === 0)
      ) {
        throw failure("reading the namespaces", stderr);
      }
      const found = new Map(listItems(r.stdout).map((o) => [String((o.metadata as Record<string, unknown>)?.name), o]));
      // Cluster-scoped: the 403 names no namespace, only the object ("namespaces \"c\" is forbidden").
      const forbidden = new Set([...stderr.matchAll(/namespaces "([^"]+)" is forbidden/g)].map((m) => m[1]!));
      for (const name of names) {
        const o = found.get(name) as { status?: { phase?: string } } | undefined;
        states.set(
          name,
          o
            ? o.status?.phase === "Terminating"
              ? "terminating"
              : "active"
            : forbidden.has(name)
              ? "unknown"
              : "missing",
        );
      }
      return states;
    },

    applyNamespaces: (names) => applyNamespacesAs(names, false),
    dryRunNamespaces: (names) => applyNamespacesAs(names, true),

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

    // The data comes back on stdout only; the name and namespace are no secret in argv.
    async readSecretData(namespace, name) {
      const r = await run(["get", "secret", name, "-n", namespace, "-o", "json", "--ignore-not-found"], "");
      if (r.exitCode !== 0) throw failure(`reading Secret "${name}" in ${namespace}`, opts.redact(r.stderr));
      return parseSecretData(r.stdout);
    },

    async listManagedSecrets() {
      const r = await run(
        [
          "get",
          "secrets",
          "--all-namespaces",
          "-l",
          `${MANAGED_BY_LABEL}=${MANAGER}`,
          "-o",
          `jsonpath=${MANAGED_FIELDS}`,
        ],
        "",
      );
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

    // One kubectl for all of them; a namespace that is gone or not ours to read has none we can use.
    async readLeases(namespaces, name) {
      const found = new Map<string, LeaseState>();
      if (namespaces.length === 0) return found;
      const refs = namespaces.map((namespace) => ({
        kind: "Lease",
        apiVersion: "coordination.k8s.io/v1",
        namespace,
        name,
      }));
      const r = await run(["get", "-f", "-", "-o", "json", "--ignore-not-found"], objectRefs(refs));
      const stderr = opts.redact(r.stderr);
      if (r.exitCode !== 0 && parseRefusals(stderr).other.length > 0)
        throw failure("reading the target's Leases", stderr);
      for (const o of listItems(r.stdout))
        found.set(String((o.metadata as Record<string, unknown>)?.namespace), parseLease(JSON.stringify(o)));
      return found;
    },

    async createLease(namespace, name, holder, durationSeconds, now, annotations) {
      const r = await run(
        ["create", NO_SCHEMA_CHECK, "-f", "-", "-o", "json"],
        leaseManifest(namespace, name, { holder, durationSeconds, now }, undefined, annotations),
      );
      if (r.exitCode === 0) return parseLease(r.stdout);
      if (CREATE_RACE.test(r.stderr)) return undefined;
      throw failure("taking the rotation lock", opts.redact(r.stderr));
    },

    async claimLease(namespace, name, holder, durationSeconds, now, resourceVersion, annotations) {
      if (!resourceVersion) return undefined;
      const r = await run(
        ["replace", NO_SCHEMA_CHECK, "-f", "-", "-o", "json"],
        leaseManifest(namespace, name, { holder, durationSeconds, now }, resourceVersion, annotations),
      );
      if (r.exitCode === 0) return parseLease(r.stdout);
      if (CLAIM_RACE.test(r.stderr)) return undefined;
      throw failure("taking the rotation lock", opts.redact(r.stderr));
    },

    async renewLease(namespace, name, held, now) {
      const hold = { holder: held.holder, durationSeconds: held.durationSeconds, now, acquireTime: held.acquireTime };
      const r = await run(
        ["replace", "-f", "-", "-o", "json"],
        leaseManifest(namespace, name, hold, held.resourceVersion, held.annotations),
      );
      if (r.exitCode === 0) return parseLease(r.stdout);
      if (CLAIM_RACE.test(r.stderr)) return undefined;
      throw failure("renewing the rotation lock", opts.redact(r.stderr));
    },

    async releaseLease(namespace, name, held) {
      // Guarded by the resourceVersion our claim left: a Lease taken over from us is not ours to clear.
      const r = await run(
        ["replace", NO_SCHEMA_CHECK, "-f", "-", "-o", "name"],
        leaseManifest(namespace, name, null, held.resourceVersion, held.annotations),
      );
      if (r.exitCode === 0 || /Conflict|the object has been modified|NotFound|not found/.test(r.stderr)) return;
      throw failure("releasing the rotation lock", opts.redact(r.stderr));
    },

    // Parts of the List at once (APPLY_PROCESSES). kubectl goes on past a
    // refused object either way, so a failure is reported for the whole List,
    // every refusal of every part in it, as from one process; each part's
    // messages are given their namespaces before they are merged.
    applySecrets: (list, { force }) => applySecretsAs(list, false, force),
    dryRunSecrets: (list, { force }) => applySecretsAs(list, true, force),

    // One kubectl for every namespace. An access review rather than
    // `delete --dry-run=server`: it can never delete anything, whatever the
    // server makes of a DeleteOptions body.
    async forbiddenSecretDeletes(namespaces, name) {
      if (namespaces.length === 0) return [];
      const r = await run(
        [
          "create",
          NO_SCHEMA_CHECK,
          "-f",
          "-",
          "-o",
          'jsonpath={.spec.resourceAttributes.namespace} {.status.allowed}{"\\n"}',
        ],
        deleteReviews(namespaces, name),
      );
      if (r.exitCode !== 0)
        throw deleteFailure(`checking the permission to delete Secret "${name}"`, opts.redact(r.stderr));
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
