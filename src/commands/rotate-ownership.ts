// What a run says about the tokens it will not revoke (the rules are in
// model/ownership.ts, applied by model/decide.ts): overlaps with another
// target loudly, spared tokens plainly; --strict-ownership refuses an overlap.
import { OwnershipError } from "../model/errors.js";
import type { Config } from "../config/inputs.js";
import { overlapMessage, sparedMessage } from "../model/ownership.js";
import type { Log } from "../model/ports.js";
import type { Observed } from "./observed.js";

export function announceOwnership(
  config: Pick<Config, "strictOwnership" | "secretName">,
  log: Log,
  seen: Observed,
): void {
  const own = seen.decision.ownership;
  const target = seen.recall?.target;
  if (!own || !target) return;
  if (own.overlaps.length && config.strictOwnership) throw new OwnershipError(config.secretName, own.overlaps, target);
  for (const o of own.overlaps) log.warn(overlapMessage(o, config.secretName, target));
  for (const s of own.spared) log.info(sparedMessage(s));
}
