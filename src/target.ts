// Which target a command is about, named exactly as rotate names it in its
// tokens: commands that recognise "our" tokens (plan, status, revoke) must
// compute the same id rotate minted them under, or they would miss them.
import type { Config } from "./inputs.js";
import { clusterKey, namespaceSetHash, targetId } from "./naming.js";

/** The namespace spec a target is named for: the list as resolved, or the selector and exclusions. */
function namespaceSpec(config: Config, namespaces: readonly string[]): string[] {
  return config.namespaceSelector === undefined
    ? [...namespaces]
    : [`selector=${config.namespaceSelector}`, ...config.excludeNamespaces.map((n) => `exclude=${n}`)];
}

/** This target, as ownership.ts compares token names against it. */
export interface TargetRef {
  /** clusterKey(Lease uid); undefined when the Lease does not exist yet (read-only commands before any rotation). */
  cluster: string | undefined;
  secretName: string;
  /** namespaceSetHash of the spec. */
  set: string;
  /** The full id, when the cluster is known. */
  id: string | undefined;
  /** For people: "namespaces a, b" or "selector team=x, excluding y". */
  describe: string;
}

/**
 * The id rotate puts in its token names: the cluster (the uid of the target's
 * Lease), the Secret name, and the namespace list as resolved, or, with a
 * selector, the selector and the exclusions, so a namespace joining the
 * selector keeps the same target.
 */
export function targetOf(config: Config, namespaces: readonly string[], leaseUid: string | undefined): TargetRef {
  const spec = namespaceSpec(config, namespaces);
  const cluster = leaseUid === undefined ? undefined : clusterKey(leaseUid);
  return {
    cluster,
    secretName: config.secretName,
    set: namespaceSetHash(spec),
    id: cluster === undefined ? undefined : targetId(cluster, config.secretName, spec),
    describe: describeSpec(config, namespaces),
  };
}

export function describeSpec(config: Config, namespaces: readonly string[]): string {
  if (config.namespaceSelector === undefined) return `namespaces ${[...namespaces].sort().join(",")}`;
  const excl = config.excludeNamespaces.length ? ` excluding ${config.excludeNamespaces.join(",")}` : "";
  return `selector ${config.namespaceSelector}${excl}`;
}
