// Namespaces come and go (review apps, feature environments, teams that
// leave). A listed namespace that does not exist, or is being deleted, must
// not keep the others on a token that is about to expire: by default it is
// skipped and named, the rest are rotated, and the run exits 1
// (--missing-namespace skip). A refusal about permissions is different: it is
// a configuration error of the whole target and still stops the run before
// anything is minted.
//
// The API server says which is which, with no extra permission: the server
// dry run of the apply answers 404 `namespaces "c" not found` for a namespace
// that does not exist and NamespaceLifecycle's 403 "... because it is being
// terminated" for one being deleted. One case needs more: a RoleBinding lives
// in its namespace and goes with it, so a user granted by namespaced Roles
// sees a deleted namespace as an RBAC 403. Those namespaces are looked up
// (get namespaces, when granted); unanswered, the 403 stays a permission error.
import {
  KubeError,
  NamespacesUnavailableError,
  unavailableText,
  type Refusals,
  type UnavailableNamespace,
} from "../model/errors.js";
import type { Config, MissingNamespaceMode } from "../config/inputs.js";
import type { KubeReader, Log, NamespaceState, TargetState } from "../model/ports.js";

/**
 * Pure: the namespaces that kubectl's refusals show cannot take an object, or
 * undefined when something else went wrong as well (a permission, a conflict,
 * an invalid object). `states` answers the RBAC 403s (see above).
 */
export function lifecycleOnly(
  refusals: Refusals,
  states: ReadonlyMap<string, NamespaceState>,
): UnavailableNamespace[] | undefined {
  if (refusals.other.length > 0) return undefined;
  const out = new Map<string, UnavailableNamespace>();
  for (const namespace of refusals.missing) out.set(namespace, { namespace, reason: "missing" });
  for (const namespace of refusals.terminating) out.set(namespace, { namespace, reason: "terminating" });
  for (const namespace of refusals.forbidden) {
    if (out.has(namespace)) continue;
    const state = states.get(namespace);
    if (state !== "missing" && state !== "terminating") return undefined;
    out.set(namespace, { namespace, reason: state });
  }
  return out.size > 0 ? [...out.values()] : undefined;
}

/** The states of the namespaces behind RBAC 403s; none asked, or the question itself failed, is an empty answer. */
export async function statesOf(
  kube: Pick<KubeReader, "namespaceStates">,
  names: readonly string[],
): Promise<Map<string, NamespaceState>> {
  if (names.length === 0) return new Map();
  try {
    return await kube.namespaceStates(names);
  } catch {
    return new Map();
  }
}

/** The namespaces behind a kubectl failure, when they are all missing or being deleted; undefined otherwise. */
export async function unavailableIn(
  err: unknown,
  kube: Pick<KubeReader, "namespaceStates">,
): Promise<UnavailableNamespace[] | undefined> {
  if (!(err instanceof KubeError) || !err.refusals) return undefined;
  return lifecycleOnly(err.refusals, await statesOf(kube, err.refusals.forbidden));
}

const PERMISSION_HINT =
  "If a namespace named here was deleted: its RoleBinding went with it, so the API server answers 403 there. Grant get on " +
  "namespaces (examples/rbac/clusterrole-namespaces-get.yaml) so such a namespace is told apart from a missing grant and skipped";

/** A failure with an RBAC 403 that may be a deleted namespace says how to tell the two apart. */
export function withPermissionHint(err: unknown): unknown {
  if (!(err instanceof KubeError) || !err.refusals || err.refusals.forbidden.length === 0) return err;
  return new KubeError(err.operation, `${err.detail}\n${PERMISSION_HINT}`, err.namespaces, err.refusals, err.refused);
}

/**
 * The read of the target, without the namespaces that turn out to be gone:
 * the read is the first request of a run, so a user whose RoleBinding went
 * with a deleted namespace meets the 403 here, before any dry run.
 */
export async function readAvailable(
  config: Config,
  kube: KubeReader,
): Promise<{ state: TargetState; unavailable: UnavailableNamespace[] }> {
  try {
    return {
      state: await kube.readTarget(config.namespaces, config.secretName, config.serviceAccounts),
      unavailable: [],
    };
  } catch (err) {
    const unavailable = await unavailableIn(err, kube);
    if (!unavailable) throw withPermissionHint(err);
    const rest = config.namespaces.filter((ns) => !unavailable.some((u) => u.namespace === ns));
    const state = rest.length
      ? await kube.readTarget(rest, config.secretName, config.serviceAccounts)
      : { secrets: [], serviceAccounts: [] };
    return { state, unavailable };
  }
}

/**
 * Which listed namespaces cannot take the Secret. A namespace holding the
 * Secret exists, so the question is asked only when some namespace lacks it,
 * and then it is the server dry run every writing run makes anyway: `checked`
 * says it ran and passed for every namespace that is not returned (kubectl
 * applies a List object by object and reports each failure on its own line).
 */
export async function findUnavailable(
  config: Config,
  kube: KubeReader,
  present: ReadonlySet<string>,
  /** The server dry run of the apply to every namespace of `config` (apply.ts checkApply). */
  dryRun: () => Promise<void>,
): Promise<{ unavailable: UnavailableNamespace[]; checked: boolean }> {
  if (config.namespaces.every((ns) => present.has(ns))) return { unavailable: [], checked: false };
  try {
    await dryRun();
    return { unavailable: [], checked: true };
  } catch (err) {
    if (!(err instanceof KubeError) || !err.refusals) throw err;
    const unavailable = await unavailableIn(err, kube);
    if (!unavailable) throw withPermissionHint(err);
    const order = (u: UnavailableNamespace) => config.namespaces.indexOf(u.namespace);
    return { unavailable: unavailable.sort((a, b) => order(a) - order(b)), checked: true };
  }
}

/**
 * What --missing-namespace makes of the unavailable namespaces: fail stops
 * the run (nothing was changed yet); skip goes on without them and stops only
 * when none is left. create has made the missing ones before this check (a
 * dry run would make them), so it keeps them and skips only namespaces being
 * deleted, which nobody can create.
 */
export function decideUnavailable(
  mode: MissingNamespaceMode,
  namespaces: readonly string[],
  unavailable: readonly UnavailableNamespace[],
  log: Log,
): { namespaces: string[]; skipped: UnavailableNamespace[] } {
  const skipped = mode === "create" ? unavailable.filter((u) => u.reason === "terminating") : [...unavailable];
  if (skipped.length === 0) return { namespaces: [...namespaces], skipped };
  if (mode === "fail") {
    throw new NamespacesUnavailableError(
      skipped,
      "Nothing was changed (--missing-namespace fail). Recreate them, remove them from the list, or pass --missing-namespace skip to rotate the others",
    );
  }
  const gone = new Set(skipped.map((u) => u.namespace));
  const rest = namespaces.filter((ns) => !gone.has(ns));
  if (rest.length === 0)
    throw new NamespacesUnavailableError(skipped, "No listed namespace can take the Secret; nothing was changed");
  log.info(`Skipping namespace(s) ${unavailableText(skipped)}; the Secret goes to ${rest.join(", ")}`);
  return { namespaces: rest, skipped };
}

/** The run's problem line for skipped namespaces: it makes the run exit 1 while the others are rotated. */
export function skippedProblem(skipped: readonly UnavailableNamespace[], dryRun = false): string[] {
  if (skipped.length === 0) return [];
  // A dry run (and plan, which runs one) changes nothing: it says what rotate would do, not what was done.
  if (dryRun) {
    return [
      `Would skip namespace(s) ${unavailableText(skipped)}: rotate would write no Secret there. Recreate the namespace (the next run fills it) ` +
        `or remove it from the list; the others would be handled as usual`,
    ];
  }
  return [
    `Skipped namespace(s) ${unavailableText(skipped)}: no Secret was written there. Recreate the namespace (the next run fills it) ` +
      `or remove it from the list; the others were handled as usual`,
  ];
}
