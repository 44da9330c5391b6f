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

/**
 * How many characters of namespace names a target's description spells out.
 * It goes into every Secret of the target (the target-spec annotation), so a
 * full list would make each of N Secrets O(N) long: 11 KB apiece at 1,000
 * namespaces, 11 MB through the dry run, the apply, etcd and every later read.
 */
export const DESCRIBE_NAMES_MAX = 200;

export function describeSpec(config: Config, namespaces: readonly string[]): string {
  if (config.namespaceSelector === undefined) return `namespaces ${abbreviatedList([...namespaces].sort(), DESCRIBE_NAMES_MAX)}`;
  const excl = config.excludeNamespaces.length ? ` excluding ${config.excludeNamespaces.join(",")}` : "";
  return `selector ${config.namespaceSelector}${excl}`;
}

/** "a,b,c", or as many names as fit in `max` characters and "… (N in all)". */
export function abbreviatedList(names: readonly string[], max: number): string {
  const full = names.join(",");
  if (full.length <= max) return full;
  const shown: string[] = [];
  let length = 0;
  for (const n of names) {
    if (length + n.length + 1 > max) break;
    shown.push(n);
    length += n.length + 1;
  }
  return `${shown.join(",")},… (${names.length} in all)`;
}
