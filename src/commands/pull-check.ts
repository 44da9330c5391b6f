// The pull check: the credentials a run is about to write must pull, or
// nothing is written (adapters/registry.ts does the registry's token flow).
import type { Ports, PullCheckRequest } from "../model/ports.js";
import type { RotationReport } from "./rotation-report.js";

/** Proves the credentials pull `check`; throws what the registry said (the caller rolls back). */
export async function verifyCredentials(
  ports: Pick<Ports, "verifier" | "log">,
  req: PullCheckRequest & {
    /** Who the log lines speak of: "the new token", "the credentials of robot". */
    what: string;
  },
): Promise<NonNullable<RotationReport["verified"]>> {
  const { what, ...pull } = req;
  const r = await ports.verifier.verifyPull(pull);
  const image = `${req.repository}${req.tag ? `:${req.tag}` : ""}`;
  if (r.anonymous)
    ports.log.warn(
      `${req.registry} serves ${image} without authentication, so the pull check says nothing about ${what}`,
    );
  else ports.log.info(`Verified: ${what} pulls ${image} from ${req.registry}`);
  return {
    repository: req.repository,
    ...(req.tag ? { tag: req.tag } : {}),
    ...(r.digest ? { digest: r.digest } : {}),
  };
}
