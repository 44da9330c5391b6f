// One run per target at a time: a coordination.k8s.io/v1 Lease in the first
// target namespace. Uncontended, taking and releasing it costs one kubectl
// process each (create, then delete by our holder label); a Lease older than
// its duration belongs to a run that died and is taken over with a
// resourceVersion-guarded replace.
import { KubeError, NamespacesUnavailableError, unavailableText, type UnavailableNamespace } from "../model/errors.js";
import { unavailableIn } from "./lifecycle.js";
import type { Clock, KubePort, LeaseState, LockPort, Log } from "../model/ports.js";

export const LEASE_DURATION_SECONDS = 300;

export function leaseName(secretName: string): string {
  return `gitlab-pull-secret-${secretName}`.slice(0, 253).replace(/[.-]+$/, "");
}

/** The namespace holding the target's Lease: the same for every run on these namespaces, whatever their order. */
export function lockNamespace(namespaces: readonly string[]): string {
  return [...namespaces].sort()[0]!;
}

export function isStale(lease: LeaseState, now: Date): boolean {
  const renewed = Date.parse(lease.renewTime);
  return !Number.isFinite(renewed) || renewed + lease.durationSeconds * 1000 < now.getTime();
}

export class LockTimeoutError extends KubeError {
  constructor(namespace: string, name: string, holder: string, waitedMs: number) {
    super(
      "waiting for the rotation lock",
      `Lease ${namespace}/${name} is held by ${holder} (another run on this target); gave up after ${Math.round(waitedMs / 1000)}s. ` +
        `Nothing was changed. Re-run later, raise --lock-timeout, or delete the Lease if that run is gone ` +
        `(it is taken over automatically ${LEASE_DURATION_SECONDS}s after its last renewal)`,
      [namespace],
    );
  }
}

export interface Held {
  release(): Promise<void>;
}

export async function acquireLock(args: {
  port: LockPort;
  namespace: string;
  name: string;
  holder: string;
  timeoutMs: number;
  clock: Clock;
  log: Log;
  sleep: (ms: number) => Promise<void>;
}): Promise<Held> {
  const { port, namespace, name, holder, clock } = args;
  const started = clock.now().getTime();
  let delay = 250;
  let announced = false;
  for (;;) {
    const now = clock.now();
    const existing = await port.createLease(namespace, name, holder, LEASE_DURATION_SECONDS, now);
    if (existing === undefined) break;
    if (isStale(existing, now)) {
      if (await port.takeOverLease(namespace, name, holder, LEASE_DURATION_SECONDS, now, existing.resourceVersion)) {
        args.log.warn(`Took over the stale lock of ${existing.holder} (last renewed ${existing.renewTime})`);
        break;
      }
      continue;
    }
    const waited = now.getTime() - started;
    if (waited >= args.timeoutMs) throw new LockTimeoutError(namespace, name, existing.holder, waited);
    if (!announced) {
      args.log.info(`Waiting for ${existing.holder} to finish (Lease ${namespace}/${name})`);
      announced = true;
    }
    // Jitter keeps waiting runs from retrying in lock step.
    await args.sleep(Math.min(delay * (0.5 + Math.random()), args.timeoutMs - waited));
    delay = Math.min(delay * 2, 2000);
  }
  return { release: () => port.releaseLease(namespace, name, holder) };
}

/**
 * The target's lock, named and placed the same for every command that changes
 * the target: in the first namespace, alphabetically, that exists. When that
 * one is missing or being deleted the next one holds it, so a deleted
 * namespace does not stop the others (runs that disagree about whether it
 * exists can only meet while it is being created or deleted).
 */
export async function acquireTargetLock(
  ports: { lock: LockPort; clock: Clock; log: Log; sleep: (ms: number) => Promise<void>; nonce: () => string; kube?: Pick<KubePort, "namespaceStates"> },
  target: { namespaces: readonly string[]; secretName: string; lockTimeoutMs: number },
): Promise<Held> {
  const gone: UnavailableNamespace[] = [];
  for (const namespace of [...target.namespaces].sort()) {
    try {
      return await acquireLock({
        port: ports.lock,
        namespace,
        name: leaseName(target.secretName),
        holder: `gps-${ports.nonce()}`,
        timeoutMs: target.lockTimeoutMs,
        clock: ports.clock,
        log: ports.log,
        sleep: ports.sleep,
      });
    } catch (err) {
      const here = (await unavailableIn(err, ports.kube))?.find((u) => u.namespace === namespace);
      if (!here) throw err;
      gone.push(here);
      ports.log.info(`Namespace ${unavailableText([here])}: the rotation lock goes to the next listed namespace`);
    }
  }
  throw new NamespacesUnavailableError(gone, "No listed namespace can hold the rotation lock; nothing was changed");
}
