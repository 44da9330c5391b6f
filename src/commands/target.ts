// Which target a command is about, named exactly as rotate names it in its
// tokens: commands that recognise "our" tokens (plan, status, revoke) must
// compute the same id rotate minted them under, or they would miss them.
import type { Config } from "../config/inputs.js";
import { clusterKey, namespaceSetHash, targetId, type TargetRef } from "../model/naming.js";
import { normalizeSelector } from "../model/selector.js";

export { normalizeSelector };

export type { TargetRef };

/**
 * The namespace spec a target is named for. A plain list is the list as
 * resolved (the hash older versions wrote). A selector is the whole spec:
 * selector, exclusions and the list named beside it, so two pipelines that
 * share a selector but add different namespaces are two targets and never take
 * each other's token for their own (issue: P/Q/P).
 */
function namespaceSpec(config: SpecInput, namespaces: readonly string[]): string[] {
  if (config.namespaceSelector === undefined) return [...namespaces];
  const listed = [...new Set(config.listedNamespaces)].filter((n) => !config.excludeNamespaces.includes(n));
  return [
    `selector=${normalizeSelector(config.namespaceSelector)}`,
    ...[...new Set(config.excludeNamespaces)].map((n) => `exclude=${n}`),
    ...listed.map((n) => `namespace=${n}`),
  ];
}

/** What names a target: the configured spec, never the namespaces that happen to match or exist. */
export type SpecInput = Pick<Config, "secretName" | "namespaceSelector" | "excludeNamespaces" | "listedNamespaces">;

/**
 * The id rotate puts in its token names: the cluster (the uid of the target's
 * Lease; `earlierUids`, identities the cluster gave the target before, whose
 * tokens are its own too), the Secret name, and the namespace spec: the list as resolved, or,
 * with a selector, the selector, the exclusions and any list beside it, so a
 * namespace joining the selector keeps the same target.
 */
export function targetOf(
  config: SpecInput,
  namespaces: readonly string[],
  leaseUid: string | undefined,
  earlierUids: readonly string[] = [],
): TargetRef {
  const spec = namespaceSpec(config, namespaces);
  const cluster = leaseUid === undefined ? undefined : clusterKey(leaseUid);
  return {
    cluster,
    earlier: earlierUids.map(clusterKey),
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

export function describeSpec(config: SpecInput, namespaces: readonly string[]): string {
  if (config.namespaceSelector === undefined)
    return `namespaces ${abbreviatedList([...namespaces].sort(), DESCRIBE_NAMES_MAX)}`;
  const excl = config.excludeNamespaces.length ? ` excluding ${config.excludeNamespaces.join(",")}` : "";
  const listed = config.listedNamespaces.filter((n) => !config.excludeNamespaces.includes(n));
  const plus = listed.length ? ` plus namespaces ${abbreviatedList([...listed].sort(), DESCRIBE_NAMES_MAX)}` : "";
  return `selector ${normalizeSelector(config.namespaceSelector)}${plus}${excl}`;
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
