// rotate = lock -> observe -> decide -> execute. What it reads is
// observe.ts, what it makes of that is the pure model/decide.ts (plan and
// status call the same), what it changes is execute.ts. A dry run observes
// and decides the same way without the lock, and executes nothing.
// With --rotate-api-token-within the API token's own rotation wraps it
// (api-token-step.ts): its store proven before anything changes, the
// rotation itself last, under the Lease, and only after the deploy token's.
import type { Config } from "../config/inputs.js";
import type { ApiTokenPorts, Ports } from "../model/ports.js";
import {
  apiTokenDecided,
  apiTokenStep,
  dropApiTokenStep,
  finishApiTokenStep,
  prepareApiTokenStep,
} from "./api-token-step.js";
import { execute, wouldDo } from "./execute.js";
import { guardWrites } from "./lease-guard.js";
import { acquireTargetLock } from "./lock.js";
import { observeSubject, observeTarget, observeUnlocked } from "./observe.js";
import type { Subject } from "./observed.js";
import type { RotationReport } from "./rotation-report.js";
import { announceOwnership } from "./rotate-ownership.js";

export { registryHost, resolveNamespaces, verifyTarget } from "./rotate-scope.js";

/** `apiToken`: the API token's ports, needed with --rotate-api-token-within. */
export async function rotate(config: Config, ports: Ports, apiToken?: ApiTokenPorts): Promise<RotationReport> {
  const subject = await observeSubject(config, ports);
  const step = apiTokenStep(config, subject, ports.clock.now());
  if (step && !apiToken) throw new Error("internal: --rotate-api-token-within without the API token's ports");
  if (config.dryRun) {
    // Changes nothing, not even a Lease: the Lease is only read (the cluster's identity).
    const report = wouldDo(await observeUnlocked(config, subject, ports, ports.clock.now()), ports, config);
    return step ? apiTokenDecided(step, report, ports.log) : report;
  }
  // The API token's store is proven before the first change, a namespace or the Lease included.
  const prepared = step?.due.rotate ? await prepareApiTokenStep(config, apiToken!) : undefined;
  let report: RotationReport;
  try {
    report = await rotateDeployToken(config, ports, subject, async (done) =>
      prepared ? finishApiTokenStep(step!, prepared, done, apiToken!) : done,
    );
  } catch (err) {
    if (prepared) await dropApiTokenStep(apiToken!);
    throw err;
  }
  return step && !prepared ? apiTokenDecided(step, report, ports.log) : report;
}

/** The deploy token's rotation under the target's Lease; `last` runs while the Lease is still held. */
async function rotateDeployToken(
  config: Config,
  ports: Ports,
  subject: Subject,
  last: (report: RotationReport) => Promise<RotationReport>,
): Promise<RotationReport> {
  const target = { ...config, namespaces: subject.namespaces };
  // Before the lock: the Lease lives in the first namespace, which may be one to create.
  const created = config.createNamespace ? await ports.kube.applyNamespaces(subject.namespaces) : [];
  try {
    const held = await acquireTargetLock(ports, target);
    // Every write under the lock first checks the Lease is still ours (renewed in the background).
    const guard = guardWrites(ports, held);
    try {
      const hand = { lease: held.current(), namespace: held.lease.namespace, fresh: held.fresh };
      const seen = await observeTarget(config, subject, ports, hand, ports.clock.now());
      announceOwnership(config, ports.log, seen);
      const report = guard.settle(await execute(seen, guard.ports, held));
      // Under the Lease, so a second run for this target waits, then finds the old API token dead and stops.
      return await last(report);
    } finally {
      await held.release().catch((err: Error) => {
        ports.log.warn(`Could not release the rotation lock (${err.message}); it expires by itself`);
      });
    }
  } catch (err) {
    // Namespaces are created first (the Lease and the Secrets' dry run need them), so a later failure
    // (no grant to write Secrets there, say) would leave them behind unnoticed: say which, and how to remove them.
    if (created.length) {
      ports.log.warn(
        `--create-namespace created namespace(s) ${created.join(", ")} before the run failed; they were left in place, empty of our Secret. ` +
          `Delete them if they are not wanted (kubectl delete namespace ${created.join(" ")}), or fix the cause and run again.`,
      );
    }
    throw err;
  }
}
