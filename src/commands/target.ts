// Which target a command is about, named exactly as rotate names it in its
// tokens: commands that recognise "our" tokens (plan, status, revoke) must
// compute the same id rotate minted them under, or they would miss them.
import type { Config } from "../config/inputs.js";
import { targetId } from "../model/naming.js";

/**
 * The id rotate puts in its token names: the namespace list as resolved, or,
 * with a selector, the selector and the exclusions, so a namespace joining
 * the selector keeps the same target.
 */
export function targetOf(config: Config, namespaces: readonly string[]): string {
  const spec =
    config.namespaceSelector === undefined
      ? namespaces
      : [`selector=${config.namespaceSelector}`, ...config.excludeNamespaces.map((n) => `exclude=${n}`)];
  return targetId(config.context, config.secretName, spec);
}
