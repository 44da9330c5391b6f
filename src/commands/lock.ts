// One run per target at a time: a coordination.k8s.io/v1 Lease in the first
// target namespace (the first, alphabetically, that exists). The Lease is kept
// between runs with its holder cleared: its server-assigned metadata.uid is the
// cluster's identity in our token names (naming.ts clusterKey). Taking it costs
// two kubectl processes (get, then create or a resourceVersion-guarded
// replace), releasing it one (a guarded replace that clears the holder). A
// Lease older than its duration belongs to a run that died and is taken over
// the same way; while a run holds it, lease-keeper.ts renews it (one kubectl
// every third of the duration, none in a run shorter than that).
import { KubeError, NamespacesUnavailableError, unavailableText, type UnavailableNamespace } from "../model/errors.js";
import { statesOf, unavailableIn } from "./lifecycle.js";
import { LeaseKeeper, type KeeperArgs } from "./lease-keeper.js";
import type { LeaseWatch } from "./lease-guard.js";
import type { Clock, KubeReader, LeaseState, LockPort, Log, Timer } from "../model/ports.js";
import { UNSETTLED } from "../model/target-record.js";

/** The default of --lock-lease-duration. */
export const LEASE_DURATION_SECONDS = 300;

export function leaseName(secretName: string): string {
  return `gitlab-pull-secret-${secretName}`.slice(0, 253).replace(/[.-]+$/, "");
}

/** The namespace holding the target's Lease: the same for every run on these namespaces, whatever their order. */
export function lockNamespace(namespaces: readonly string[]): string {
  return [...namespaces].sort()[0]!;
}

export function isFree(lease: LeaseState): boolean {
  return lease.holder === "";
}

export function isStale(lease: LeaseState, now: Date): boolean {
  const renewed = Date.parse(lease.renewTime);
  return !Number.isFinite(renewed) || renewed + lease.durationSeconds * 1000 < now.getTime();
}

export class LockTimeoutError extends KubeError {
  constructor(namespace: string, name: string, holder: string, waitedMs: number, durationSeconds: number) {
    super(
      "waiting for the rotation lock",
      `Lease ${namespace}/${name} is held by ${holder} (another run on this target); gave up after ${Math.round(waitedMs / 1000)}s. ` +
        `Nothing was changed. Re-run later, raise --lock-timeout, or delete the Lease if that run is gone ` +
        `(it is taken over automatically ${durationSeconds}s after its last renewal)`,
      [namespace],
    );
  }
}

export interface HeldLease extends LeaseWatch {
  /** The Lease's uid. */
  uid: string;
  /** The Lease as this run last wrote it (its annotations: model/target-record.ts). */
  current(): LeaseState;
  /** This run created the Lease (there was none in its namespace). */
  fresh: boolean;
  /** Writes our annotations onto the Lease (lease-keeper.ts annotate); false when it could not. */
  annotate(patch: Record<string, string>): Promise<boolean>;
  /** Annotations the Lease gets with its next write, the release at the latest (lease-keeper.ts stage). */
  stage(patch: Record<string, string>): void;
  /** Stops the renewal, then clears the holder unless another run changed the Lease. */
  release(): Promise<void>;
}

export async function acquireLock(args: {
  port: LockPort;
  namespace: string;
  name: string;
  holder: string;
  timeoutMs: number;
  /** How long the Lease stays ours without a renewal (default LEASE_DURATION_SECONDS). */
  durationSeconds?: number;
  clock: Clock;
  log: Log;
  sleep: (ms: number) => Promise<void>;
  /** Renews the Lease while held. */
  timer: Timer;
}): Promise<HeldLease> {
  const { port, namespace, name, holder, clock } = args;
  const duration = args.durationSeconds ?? LEASE_DURATION_SECONDS;
  const started = clock.now().getTime();
  let delay = 250;
  let announced = false;
  for (;;) {
    const now = clock.now();
    const existing = await port.readLease(namespace, name);
    let taken: LeaseState | undefined;
    if (existing === undefined) {
      taken = await port.createLease(namespace, name, holder, duration, now, { ...UNSETTLED });
    } else if (isFree(existing) || isStale(existing, now)) {
      taken = await port.claimLease(
        namespace,
        name,
        holder,
        duration,
        now,
        existing.resourceVersion,
        existing.annotations ?? {},
      );
      if (taken && !isFree(existing))
        args.log.warn(`Took over the stale lock of ${existing.holder} (last renewed ${existing.renewTime})`);
    } else {
      const waited = now.getTime() - started;
      if (waited >= args.timeoutMs)
        throw new LockTimeoutError(namespace, name, existing.holder, waited, existing.durationSeconds);
      if (!announced) {
        args.log.info(`Waiting for ${existing.holder} to finish (Lease ${namespace}/${name})`);
        announced = true;
      }
      // Jitter keeps waiting runs from retrying in lock step.
      await args.sleep(Math.min(delay * (0.5 + Math.random()), args.timeoutMs - waited));
      delay = Math.min(delay * 2, 2000);
      continue;
    }
    // undefined: another run created or claimed it between our read and write; look again at once.
    if (taken) return hold({ ...args, held: taken, claimedAt: now, durationSeconds: duration }, existing === undefined);
  }
}

function hold(args: KeeperArgs, fresh: boolean): HeldLease {
  const { port, namespace, name } = args;
  const keeper = new LeaseKeeper(args);
  return {
    uid: args.held.uid,
    fresh,
    current: () => keeper.current,
    annotate: (patch) => keeper.annotate(patch),
    stage: (patch) => keeper.stage(patch),
    lease: { namespace, name },
    lostReason: () => keeper.lostReason(),
    async release() {
      await keeper.stop();
      if (keeper.changedByOthers) return;
      await port.releaseLease(namespace, name, keeper.current);
    },
  };
}

/**
 * The target's Lease without taking it (dry runs, plan, status, revoke), in
 * the namespace rotate places it: the first, alphabetically, unless that one is
 * missing or being deleted (then the next). Asking about a namespace's state
 * only when its Lease is absent keeps the common case at one request. No
 * Lease before the first rotation; `namespace` is then where rotate would
 * create it (undefined when it cannot tell).
 */
export async function readTargetLease(
  lock: Pick<LockPort, "readLease">,
  target: { namespaces: readonly string[]; secretName: string },
  kube: Pick<KubeReader, "namespaceStates">,
  /** Namespaces the run creates before it takes the lock (--create-namespace): the first of them holds no Lease yet. */
  absent: readonly string[] = [],
): Promise<{ lease: LeaseState | undefined; namespace: string | undefined }> {
  for (const namespace of [...target.namespaces].sort()) {
    if (absent.includes(namespace)) return { lease: undefined, namespace };
    let lease: LeaseState | undefined;
    try {
      lease = await lock.readLease(namespace, leaseName(target.secretName));
    } catch (err) {
      // As acquireTargetLock: a namespace that is gone (its RoleBinding with it) refuses the read; the next one holds the lock.
      if ((await unavailableIn(err, kube))?.some((u) => u.namespace === namespace)) continue;
      throw err;
    }
    if (lease?.uid) return { lease, namespace };
    const state = (await statesOf(kube, [namespace])).get(namespace);
    if (state !== "missing" && state !== "terminating") return { lease: undefined, namespace };
  }
  return { lease: undefined, namespace: undefined };
}

/**
 * The target's lock, named and placed the same for every command that changes
 * the target: in the first namespace, alphabetically, that exists. When that
 * one is missing or being deleted the next one holds it, so a deleted
 * namespace does not stop the others (runs that disagree about whether it
 * exists can only meet while it is being created or deleted).
 */
export async function acquireTargetLock(
  ports: {
    lock: LockPort;
    clock: Clock;
    log: Log;
    sleep: (ms: number) => Promise<void>;
    nonce: () => string;
    timer: Timer;
    kube: Pick<KubeReader, "namespaceStates">;
  },
  target: { namespaces: readonly string[]; secretName: string; lockTimeoutMs: number; lockLeaseMs?: number },
): Promise<HeldLease> {
  const gone: UnavailableNamespace[] = [];
  for (const namespace of [...target.namespaces].sort()) {
    try {
      return await acquireLock({
        port: ports.lock,
        namespace,
        name: leaseName(target.secretName),
        holder: `gps-${ports.nonce()}`,
        timeoutMs: target.lockTimeoutMs,
        durationSeconds: target.lockLeaseMs === undefined ? undefined : Math.round(target.lockLeaseMs / 1000),
        clock: ports.clock,
        log: ports.log,
        sleep: ports.sleep,
        timer: ports.timer,
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
