// Keeps a held Lease ours for as long as the run needs it. A run over the
// Lease's duration (thousands of namespaces on a slow server, a slow registry)
// would otherwise look dead to a second run, which takes a stale Lease over.
// Every third of the duration the keeper moves renewTime forward with a
// resourceVersion-guarded replace, so a takeover is noticed, never
// overwritten. A renewal that fails is retried (and logged) until the Lease
// is actually past its duration; only then, or when another run changed it,
// is it lost. The run asks `lostReason()` before each write (lease-guard.ts).
import { KubeError } from "../model/errors.js";
import type { Clock, LeaseState, LockPort, Log, Timer } from "../model/ports.js";

/** Renewals per duration: two may fail before the Lease is in danger. */
export const RENEWALS_PER_DURATION = 3;

/** What a keeper needs: the Lease as the claim left it, and how to renew it. */
export interface KeeperArgs {
  port: LockPort;
  namespace: string;
  name: string;
  held: LeaseState;
  /** When the claim was written, and the duration it asked for. */
  claimedAt: Date;
  durationSeconds: number;
  clock: Clock;
  /** Runs the renewals. */
  timer: Timer;
  log: Log;
}

/** How soon a failed renewal is tried again: often enough to land several tries before expiry, never a busy loop. */
export function retryDelayMs(durationSeconds: number): number {
  return Math.min(10_000, Math.max(1000, (durationSeconds * 1000) / RENEWALS_PER_DURATION / 5));
}

export class LeaseKeeper {
  private state: LeaseState;
  /**
   * When this run last wrote the Lease (claim or renewal), by its own clock,
   * and for how long it asked: what the run knows for sure, whatever the
   * server echoes back.
   */
  private renewedAt: number;
  private readonly durationMs: number;
  /** Set when another run changed the Lease (taken over, released, deleted). */
  private lost: string | undefined;
  private expired = false;
  private failing: string | undefined;
  private cancel: (() => void) | undefined;
  private inflight: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly a: KeeperArgs) {
    this.state = a.held;
    this.renewedAt = a.claimedAt.getTime();
    this.durationMs = a.durationSeconds * 1000;
    this.schedule(this.intervalMs());
  }

  /** The Lease as this run last wrote or saw it: what a release must still find. */
  get current(): LeaseState {
    return this.state;
  }

  /** Whether another run changed the Lease (taken over, released, deleted): then it is not ours to release. */
  get changedByOthers(): boolean {
    return this.lost !== undefined;
  }

  /**
   * undefined while the Lease is this run's; otherwise why not, for the user.
   * Past its duration it counts as lost for good, even though nobody may have
   * taken it yet: from then on another run may, at any moment.
   */
  lostReason(): string | undefined {
    if (this.lost) return this.lost;
    if (this.expired || this.pastDuration(this.a.clock.now())) {
      this.expired = true;
      return this.expiredText();
    }
    return undefined;
  }

  /**
   * Writes our annotations onto the Lease with a guarded renewal, so the
   * renewals after it carry them. false when the Lease changed under us (the next write's guard then stops the run).
   */
  async annotate(patch: Record<string, string>): Promise<boolean> {
    const { port, namespace, name, clock } = this.a;
    if (this.lost || Object.keys(patch).length === 0) return Object.keys(patch).length === 0;
    await this.inflight;
    const now = clock.now();
    const renewed = await port.renewLease(
      namespace,
      name,
      { ...this.state, annotations: { ...this.state.annotations, ...patch } },
      now,
    );
    if (!renewed) return false;
    this.state = renewed;
    this.renewedAt = now.getTime();
    return true;
  }

  /**
   * Annotations the next write of the Lease (a renewal, or the release at the
   * run's end) carries, with no write of their own: what can wait for the end
   * of the run costs no kubectl.
   */
  stage(patch: Record<string, string>): void {
    if (Object.keys(patch).length) this.state = { ...this.state, annotations: { ...this.state.annotations, ...patch } };
  }

  /** Stops renewing, and waits for a renewal under way, so a release finds the Lease as this run left it. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel?.();
    this.cancel = undefined;
    await this.inflight;
  }

  private intervalMs(): number {
    return this.durationMs / RENEWALS_PER_DURATION;
  }

  private pastDuration(now: Date): boolean {
    return now.getTime() > this.renewedAt + this.durationMs;
  }

  private expiredText(): string {
    return (
      `it was not renewed within its ${this.durationMs / 1000}s (last renewed ${new Date(this.renewedAt).toISOString()}), so another run may have taken it over` +
      (this.failing ? `; renewing failed: ${this.failing}` : "")
    );
  }

  private schedule(ms: number): void {
    if (this.stopped || this.lost || this.expired) return;
    this.cancel = this.a.timer.after(Math.max(0, ms), () => {
      this.cancel = undefined;
      this.inflight = this.renew().finally(() => (this.inflight = undefined));
    });
  }

  private async renew(): Promise<void> {
    const { port, namespace, name, clock, log } = this.a;
    const now = clock.now();
    if (this.pastDuration(now)) {
      // Too late: the run stops before its next write, and releases the Lease (still guarded) at its end.
      this.expired = true;
      log.warn(`Lost the rotation lock (Lease ${namespace}/${name}): ${this.expiredText()}`);
      return;
    }
    try {
      const renewed = await port.renewLease(namespace, name, this.state, now);
      if (renewed) {
        if (this.failing) log.info(`Renewed the rotation lock (Lease ${namespace}/${name}) again`);
        this.failing = undefined;
        this.state = renewed;
        this.renewedAt = now.getTime();
        this.schedule(this.intervalMs());
        return;
      }
      // Changed since our last write. Still ours when our own renewal landed but its answer was lost: carry on from there.
      const seen = await port.readLease(namespace, name);
      if (seen && seen.holder === this.state.holder) {
        this.state = seen;
        const stored = Date.parse(seen.renewTime);
        if (Number.isFinite(stored) && stored > this.renewedAt && stored <= now.getTime()) this.renewedAt = stored;
        this.schedule(retryDelayMs(this.durationMs / 1000));
        return;
      }
      this.lost = !seen
        ? "it was deleted"
        : seen.holder
          ? `another run took it over (holder ${seen.holder})`
          : "someone released it";
      log.warn(`Lost the rotation lock (Lease ${namespace}/${name}): ${this.lost}`);
    } catch (err) {
      this.failing = (err as Error).message;
      const until = this.renewedAt + this.durationMs;
      const wait = Math.min(retryDelayMs(this.durationMs / 1000), Math.max(0, until - clock.now().getTime() + 1));
      log.warn(
        `Could not renew the rotation lock (${this.failing}); retrying in ${Math.ceil(wait / 1000)}s (it holds until ${new Date(until).toISOString()})`,
      );
      this.schedule(wait);
    }
  }
}

/**
 * The run lost its lock part way: it stopped before the write named first in
 * `notDone`. What it did is listed, so the user (and the next run, through
 * the Secrets' records) knows what is left.
 */
export class LockLostError extends KubeError {
  constructor(
    readonly lease: { namespace: string; name: string },
    readonly why: string,
    readonly done: readonly string[],
    readonly notDone: readonly string[],
  ) {
    super(
      "holding the rotation lock",
      `Lease ${lease.namespace}/${lease.name} is no longer this run's: ${why}. This run stopped before ${notDone.join("; ")}. ` +
        (done.length ? `Done before that: ${done.join("; ")}. ` : "Nothing was changed. ") +
        `Another run may be working on this target now; re-run once it is finished: the Secrets record the tokens still to ` +
        `revoke, and tokens no Secret references are swept`,
      [lease.namespace],
    );
  }
}
