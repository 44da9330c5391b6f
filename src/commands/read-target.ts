// The target as the cluster holds it, read and checked before anything is
// minted or written: the Secrets and ServiceAccounts, the refusals that need a
// person, the namespaces that cannot take the Secret, and the API server's dry
// run of the apply. Reads only (a dry run persists nothing).
import { SECRET_TYPES, credentialsFor, pullSecretPayload, secretTypeOf } from "../model/dockerconfig.js";
import { KubeError, SecretTypeError, UnmanagedSecretError, type UnavailableNamespace } from "../model/errors.js";
import type { Config } from "../config/inputs.js";
import { decideUnavailable, findUnavailable, readAvailable } from "./lifecycle.js";
import { secretList } from "../model/manifests.js";
import { isManaged } from "../model/plan.js";
import type { ExistingSecret, Readers } from "../model/ports.js";
import { Secret } from "../model/secret.js";
import { missingServiceAccounts, selectServiceAccounts, type ServiceAccountState } from "../model/serviceaccounts.js";

export interface CheckedState {
  /** The run's Config with only the namespaces that can take the Secret; the target stays the configured one. */
  config: Config;
  /** Listed namespaces left out: missing or being deleted (--missing-namespace skip or create). */
  skipped: UnavailableNamespace[];
  /** The server dry run of the apply already passed for every namespace of `config`. */
  checked: boolean;
  existing: ExistingSecret[];
  /** The ServiceAccounts this run adds the Secret to. */
  accounts: ServiceAccountState[];
  /** Namespaces where the Secret exists already. */
  present: Set<string>;
  /** Every listed namespace found missing or being deleted (those --missing-namespace create keeps included). */
  unavailable: UnavailableNamespace[];
}

/**
 * One read of the Secrets and ServiceAccounts, then the refusals that need a
 * person: a Secret we do not manage (without --adopt), a Secret of another
 * type (the API server would refuse to change it); then the namespaces that
 * cannot take the Secret (lifecycle.ts), and a named ServiceAccount that does
 * not exist in the others. All before anything is minted or written.
 */
export async function readChecked(
  config: Config,
  ports: Pick<Readers, "kube" | "log">,
  hosts: readonly string[],
  /** Namespaces that do not exist and a dry run of --create-namespace would create: missing, nothing to read. */
  absent: readonly string[] = [],
): Promise<CheckedState> {
  const { kube } = ports;
  const existent = { ...config, namespaces: config.namespaces.filter((ns) => !absent.includes(ns)) };
  const found = existent.namespaces.length
    ? await readAvailable(existent, kube)
    : { state: { secrets: [], serviceAccounts: [] }, unavailable: [] };
  const read = {
    ...found,
    unavailable: [...found.unavailable, ...absent.map((namespace) => ({ namespace, reason: "missing" as const }))],
  };
  const { state } = read;
  const existing = state.secrets;
  const foreign = existing.filter((s) => !isManaged(s)).map((s) => s.namespace);
  const wanted = SECRET_TYPES[config.secretType].type;
  const otherType = existing
    .filter((s) => s.type !== wanted)
    .map((s) => ({ namespace: s.namespace, type: s.type, option: secretTypeOf(s.type) }));
  // A type no --secret-type writes (Opaque, ...) first: advising --adopt for it would be advice that fails next.
  if (otherType.some((s) => s.option === undefined)) throw new SecretTypeError(config.secretName, wanted, otherType);
  if (foreign.length > 0 && !config.adopt) throw new UnmanagedSecretError(config.secretName, foreign);
  if (otherType.length > 0) throw new SecretTypeError(config.secretName, wanted, otherType);

  const present = new Set(existing.map((s) => s.namespace));
  const readable = {
    ...config,
    namespaces: config.namespaces.filter((ns) => !read.unavailable.some((u) => u.namespace === ns)),
  };
  const probe = readable.namespaces.length
    ? await findUnavailable(readable, kube, present, () => checkApply(readable, ports, hosts))
    : { unavailable: [], checked: true };
  const unavailable = [...read.unavailable, ...probe.unavailable].sort(
    (a, b) => config.namespaces.indexOf(a.namespace) - config.namespaces.indexOf(b.namespace),
  );
  const checked = probe.checked;
  const decided = decideUnavailable(config.missingNamespace, config.namespaces, unavailable, ports.log);
  const work = { ...config, namespaces: decided.namespaces };

  const missingSas = missingServiceAccounts(state.serviceAccounts, work.namespaces, work.serviceAccounts);
  if (missingSas.length > 0) {
    throw new KubeError("finding the ServiceAccounts", `not found: ${missingSas.join(", ")}. Nothing was changed`, [
      ...new Set(missingSas.map((k) => k.split("/")[0]!)),
    ]);
  }
  return {
    config: work,
    skipped: decided.skipped,
    checked,
    existing,
    accounts: selectServiceAccounts(state.serviceAccounts, work.namespaces, work.serviceAccounts),
    present,
    unavailable,
  };
}

/**
 * The API server authorizes and validates a server-side dry run exactly like
 * the real apply, so a missing namespace or RBAC verb is found before a token
 * exists. The credentials in it are placeholders; the shape is the real one.
 */
export async function checkApply(
  config: Config,
  ports: Pick<Readers, "kube" | "log">,
  hosts: readonly string[],
): Promise<void> {
  const payload = pullSecretPayload(config.secretType, credentialsFor(hosts, "dry-run", new Secret("dry-run")));
  const list = secretList({
    namespaces: config.namespaces,
    secretName: config.secretName,
    secretType: config.secretType,
    payload,
    annotations: {},
  });
  await ports.kube.dryRunSecrets(list, { force: config.adopt });
  ports.log.info(`The cluster accepts Secret "${config.secretName}" in ${config.namespaces.join(", ")}`);
}
