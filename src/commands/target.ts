// Which target a command is about, named exactly as rotate names it in its
// tokens: commands that recognise "our" tokens (plan, status, revoke) must
// compute the same id rotate minted them under, or they would miss them.
import type { Config } from "../config/inputs.js";
import { clusterKey, namespaceSetHash, targetId, type TargetRef } from "../model/naming.js";

export type { TargetRef };

/** The namespace spec a target is named for: the list as resolved, or the selector and exclusions. */
function namespaceSpec(config: Config, namespaces: readonly string[]): string[] {
  return config.namespaceSelector === undefined
    ? [...namespaces]
    : [`selector=${config.namespaceSelector}`, ...config.excludeNamespaces.map((n) => `exclude=${n}`)];
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
