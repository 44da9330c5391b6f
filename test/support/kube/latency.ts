// The stand-in's latency model: the time a real kube-apiserver spends per
// request that an in-memory stand-in does not (see the comments below).
/**
 * A real kube-apiserver spends time on every request that this in-memory
 * stand-in does not: authentication and admission chains, conversion, an
 * etcd round trip (fsync on a write). Issue 10 measured a sequential request
 * through kubectl at about 1.9 ms on a real v1.25 server and 0.6 ms here, so
 * figures from the fast stand-in flatter anything that makes many requests.
 * The model: every request holds one of `slots` service slots (the server's
 * cores) for `serviceMs` before it is answered; requests beyond the slots
 * queue. No CPU is burnt while a slot is held.
 */
export interface LatencyModel {
  /** Service time per request, ms. 0 = the fast stand-in. */
  serviceMs: number;
  /** Requests served at once (default 2: the cores of the machine the figures came from). */
  slots?: number;
}

/**
 * The calibrated model: a sequential per-object request through kubectl
 * costs about 1.9 ms, as on the real v1.25 server of issue 10, where the fast
 * stand-in's costs 0.6 ms. Chosen by measuring kubectl's step (the bench
 * reports the step it got): a response that waits for a timer costs kubectl
 * about twice the wait (its goroutines park and must be woken), so 0.7 ms of
 * service adds about 1.3 ms per request.
 */
export const CALIBRATED: LatencyModel = { serviceMs: 0.7, slots: 2 };

/** GPS_KUBE_LATENCY_MS=<ms>[/<slots>] turns the model on for every stand-in of a process (e.g. a whole test run). */
export function latencyFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): LatencyModel | undefined {
  const v = env.GPS_KUBE_LATENCY_MS?.trim();
  if (!v) return undefined;
  const m = /^(\d+(?:\.\d+)?)(?:\/(\d+))?$/.exec(v);
  if (!m) throw new Error(`GPS_KUBE_LATENCY_MS: expected <ms>[/<slots>], got ${v}`);
  return { serviceMs: Number(m[1]), ...(m[2] ? { slots: Number(m[2]) } : {}) };
}

/**
 * Node's timers count whole milliseconds (a 1.3 ms timeout fires after 1 to
 * 3 ms), so a slot does not sleep per request: it owes its service time and
 * sleeps once it owes at least this much, then counts what it really slept
 * (a late timer is credited to the next requests). Over a run the delay
 * served equals the service time asked, within one quantum.
 */
const OWED_QUANTUM_MS = 2;

/** The service slots of the latency model: each request takes a free slot (or queues for one) while its slot pays what it owes. */
export class ServiceSlots {
  readonly #owed: number[];
  readonly #busy: boolean[];
  readonly #queue: Array<(slot: number) => void> = [];
  constructor(
    readonly serviceMs: number,
    slots: number,
    private readonly sleep: (ms: number) => Promise<number> = realSleep,
  ) {
    this.#owed = new Array(Math.max(1, slots)).fill(0);
    this.#busy = new Array(Math.max(1, slots)).fill(false);
  }
  async serve(): Promise<void> {
    const slot = await this.#acquire();
    try {
      this.#owed[slot]! += this.serviceMs;
      if (this.#owed[slot]! >= OWED_QUANTUM_MS) {
        const slept = await this.sleep(this.#owed[slot]!);
        this.#owed[slot] = Math.max(this.#owed[slot]! - slept, -OWED_QUANTUM_MS);
      }
    } finally {
      this.#release(slot);
    }
  }
  #acquire(): Promise<number> {
    const free = this.#busy.indexOf(false);
    if (free >= 0) {
      this.#busy[free] = true;
      return Promise.resolve(free);
    }
    return new Promise((ok) => this.#queue.push(ok));
  }
  #release(slot: number): void {
    const next = this.#queue.shift();
    if (next) next(slot);
    else this.#busy[slot] = false;
  }
}

function realSleep(ms: number): Promise<number> {
  const t = performance.now();
  return new Promise((ok) => setTimeout(() => ok(performance.now() - t), ms));
}
