// The Lease's renewal (lease-keeper.ts) and the write guard (lease-guard.ts)
// in fake time: a fake clock and timer, and a LockPort fake that behaves as
// the API server does (resourceVersion-guarded replaces).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { acquireLock } from "../../src/commands/lock.ts";
import { guardWrites } from "../../src/commands/lease-guard.ts";
import { LockLostError, retryDelayMs } from "../../src/commands/lease-keeper.ts";
import { quietKube } from "../support/port-defaults.ts";
import type { LeaseState, LockPort, Ports, Timer } from "../../src/model/ports.ts";

const T0 = Date.parse("2026-11-23T08:30:00Z");

function fakeTime() {
  let now = T0;
  let timers: Array<{ at: number; fn: () => void }> = [];
  const timer: Timer = {
    after(ms, fn) {
      const t = { at: now + ms, fn };
      timers.push(t);
      return () => (timers = timers.filter((x) => x !== t));
    },
  };
  return {
    clock: { now: () => new Date(now) },
    timer,
    pending: () => timers.length,
    /** Moves time on, firing due timers in order and letting what they start settle. */
    async advance(ms: number) {
      const end = now + ms;
      for (;;) {
        await new Promise((r) => setImmediate(r));
        const next = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!next) break;
        timers = timers.filter((t) => t !== next);
        now = next.at;
        next.fn();
      }
      now = end;
      await new Promise((r) => setImmediate(r));
    },
  };
}

/** The API server's Lease, with guarded replaces; `fail` makes renewals fail (the server unreachable). */
function fakeLock(time: ReturnType<typeof fakeTime>) {
  let lease: LeaseState | undefined;
  let rv = 1;
  const calls: string[] = [];
  const state = { fail: false, loseAnswer: false };
  const port: LockPort = {
    async readLease() {
      calls.push("read");
      return lease && { ...lease };
    },
    async readLeases() {
      return new Map();
    },
    async createLease(_ns, _n, holder, durationSeconds, now) {
      calls.push("create");
      lease = {
        holder,
        durationSeconds,
        renewTime: now.toISOString(),
        acquireTime: now.toISOString(),
        resourceVersion: String(++rv),
        uid: "u",
      };
      return { ...lease };
    },
    async claimLease() {
      throw new Error("not used");
    },
    async renewLease(_ns, _n, held, now) {
      calls.push("renew");
      if (state.fail) throw new Error("connection refused");
      if (!lease || lease.resourceVersion !== held.resourceVersion) return undefined;
      lease = { ...lease, renewTime: now.toISOString(), resourceVersion: String(++rv) };
      if (state.loseAnswer) {
        state.loseAnswer = false;
        throw new Error("no answer (timeout)");
      }
      return { ...lease };
    },
    async releaseLease(_ns, _n, held) {
      calls.push("release");
      if (lease?.resourceVersion === held.resourceVersion)
        lease = { ...lease, holder: "", renewTime: "", resourceVersion: String(++rv) };
    },
  };
  return {
    port,
    calls,
    state,
    get lease() {
      return lease;
    },
    takeOver(holder: string) {
      lease = { ...lease!, holder, renewTime: time.clock.now().toISOString(), resourceVersion: String(++rv) };
    },
  };
}

async function held(durationSeconds = 15) {
  const time = fakeTime();
  const lock = fakeLock(time);
  const logs: string[] = [];
  const h = await acquireLock({
    port: lock.port,
    namespace: "a",
    name: "l",
    holder: "gps-me",
    timeoutMs: 0,
    durationSeconds,
    clock: time.clock,
    log: { info: (m) => logs.push(m), warn: (m) => logs.push(`warn ${m}`), secret: () => {} },
    sleep: async () => {},
    timer: time.timer,
  });
  return { time, lock, logs, h };
}

describe("the Lease's renewal", () => {
  test("every third of the duration, moving renewTime and keeping acquireTime; stopped at release", async () => {
    const { time, lock, h } = await held(15);
    const acquire = lock.lease!.acquireTime;
    await time.advance(4_999);
    assert.equal(lock.calls.filter((c) => c === "renew").length, 0);
    await time.advance(1);
    assert.equal(lock.lease!.renewTime, new Date(T0 + 5_000).toISOString());
    await time.advance(60_000);
    assert.equal(lock.calls.filter((c) => c === "renew").length, 13);
    assert.equal(lock.lease!.acquireTime, acquire);
    assert.equal(h.lostReason(), undefined, "a renewed Lease is still ours after four durations");
    await h.release();
    assert.equal(time.pending(), 0, "no timer left behind");
    assert.equal(lock.lease!.holder, "", "released with the renewed resourceVersion");
  });

  test("a failing renewal is retried and logged, and not fatal while the Lease lasts", async () => {
    const { time, lock, logs, h } = await held(30);
    lock.state.fail = true;
    await time.advance(10_000);
    assert.match(
      logs.at(-1)!,
      /^warn Could not renew the rotation lock \(connection refused\); retrying in 2s \(it holds until 2026-11-23T08:30:30\.000Z\)$/,
    );
    assert.equal(retryDelayMs(30), 2_000);
    await time.advance(15_000);
    assert.equal(h.lostReason(), undefined, "25 s into a 30 s Lease: still ours");
    lock.state.fail = false;
    await time.advance(2_000);
    assert.ok(logs.includes("Renewed the rotation lock (Lease a/l) again"));
    assert.equal(lock.lease!.renewTime, new Date(T0 + 26_000).toISOString());
    await time.advance(60_000);
    assert.equal(h.lostReason(), undefined);
    await h.release();
  });

  test("failing until past its duration, the Lease is lost: renewals stop, the release still clears it", async () => {
    const { time, lock, logs, h } = await held(15);
    lock.state.fail = true;
    await time.advance(15_001);
    assert.match(
      h.lostReason()!,
      /^it was not renewed within its 15s \(last renewed 2026-11-23T08:30:00\.000Z\), so another run may have taken it over; renewing failed: connection refused$/,
    );
    await time.advance(1_000);
    assert.ok(logs.some((l) => l.startsWith("warn Lost the rotation lock (Lease a/l): it was not renewed")));
    const renewsThen = lock.calls.filter((c) => c === "renew").length;
    lock.state.fail = false;
    await time.advance(60_000);
    assert.equal(lock.calls.filter((c) => c === "renew").length, renewsThen, "no renewal once lost");
    assert.ok(h.lostReason(), "lost for good");
    await h.release();
    assert.equal(lock.lease!.holder, "", "nobody took it: this run's guarded release clears it");
  });

  test("taken over: lost at the next renewal, and the other holder's Lease is not released", async () => {
    const { time, lock, logs, h } = await held(15);
    await time.advance(5_000);
    lock.takeOver("gps-other");
    await time.advance(5_000);
    assert.equal(h.lostReason(), "another run took it over (holder gps-other)");
    assert.ok(logs.includes("warn Lost the rotation lock (Lease a/l): another run took it over (holder gps-other)"));
    await h.release();
    assert.equal(lock.lease!.holder, "gps-other");
    assert.ok(!lock.calls.includes("release"));
  });

  test("a renewal that landed but whose answer was lost: the next one conflicts, reads the Lease, finds it ours, goes on", async () => {
    const { time, lock, h } = await held(15);
    lock.state.loseAnswer = true;
    await time.advance(5_000);
    await time.advance(2_000);
    assert.equal(h.lostReason(), undefined);
    assert.ok(lock.calls.includes("read"));
    await time.advance(30_000);
    assert.equal(h.lostReason(), undefined);
    assert.equal(lock.lease!.holder, "gps-me");
    await h.release();
    assert.equal(lock.lease!.holder, "");
  });
});

describe("writes under a lost lock", () => {
  function ports(events: string[]): Ports {
    return {
      gitlab: {
        resolveOwner: async () => ({
          kind: "project",
          id: 1,
          path: "g/p",
          registryImagePrefix: undefined,
          registryAccessLevel: undefined,
        }),
        createDeployToken: async () => (
          events.push("mint"),
          { id: 9, name: "n", username: "u", expiresAt: "2026-12-01", token: undefined as never }
        ),
        revokeDeployToken: async (_o: unknown, id: number) => (events.push(`revoke ${id}`), "revoked"),
        listDeployTokens: async () => [],
      },
      kube: {
        ...quietKube,
        readTarget: async () => ({ secrets: [], serviceAccounts: [] }),
        replaceServiceAccounts: async () => (events.push("sa"), "ok"),
        applyNamespaces: async () => [],
        readSecrets: async () => [],
        applySecrets: async () => void events.push("apply"),
        dryRunSecrets: async () => void events.push("dry-apply"),
      },
    } as unknown as Ports;
  }
  const owner = {
    kind: "project" as const,
    id: 1,
    path: "g/p",
    registryImagePrefix: undefined,
    registryAccessLevel: undefined,
  };

  test("each write asks first; once lost, writes are refused, the run's own token may still be taken back, and settle says what was and wasn't done", async () => {
    const events: string[] = [];
    let lost: string | undefined = undefined;
    const g = guardWrites(ports(events), { lease: { namespace: "a", name: "l" }, lostReason: () => lost });
    await g.ports.gitlab.createDeployToken(owner, { name: "n", expiresAt: "2026-12-01", scopes: ["read_registry"] });
    await g.ports.kube.applySecrets(undefined as never, { force: false });
    assert.equal(g.settle("report"), "report", "nothing refused: the run's result");
    lost = "another run took it over (holder gps-other)";
    await g.ports.kube.dryRunSecrets(undefined as never, { force: false });
    await assert.rejects(g.ports.gitlab.revokeDeployToken(owner, 7), LockLostError);
    await assert.rejects(
      g.ports.kube.replaceServiceAccounts([]),
      /This run stopped before updating the ServiceAccounts/,
    );
    await g.ports.gitlab.revokeDeployToken(owner, 9);
    assert.deepEqual(
      events,
      ["mint", "apply", "dry-apply", "revoke 9"],
      "only the dry run and the rollback of its own token went out",
    );
    const err = (() => {
      try {
        g.settle("report");
      } catch (e) {
        return e as LockLostError;
      }
    })()!;
    assert.ok(err instanceof LockLostError);
    assert.equal(err.exitCode, 1);
    assert.deepEqual(err.notDone, ["revoking deploy token 7", "updating the ServiceAccounts"]);
    assert.deepEqual(err.done, ["minted deploy token 9", "wrote the Secrets", "revoked deploy token 9"]);
    assert.match(
      err.message,
      /^Kubernetes: holding the rotation lock failed in namespace\(s\) a: Lease a\/l is no longer this run's: another run took it over \(holder gps-other\)\. This run stopped before revoking deploy token 7; updating the ServiceAccounts\. Done before that: minted deploy token 9; wrote the Secrets; revoked deploy token 9\./,
    );
  });

  test("lost before anything was written: nothing was changed", async () => {
    const events: string[] = [];
    const g = guardWrites(ports(events), { lease: { namespace: "a", name: "l" }, lostReason: () => "it was deleted" });
    await assert.rejects(
      g.ports.gitlab.createDeployToken(owner, { name: "n", expiresAt: "2026-12-01", scopes: ["read_registry"] }),
      /stopped before minting a deploy token\. Nothing was changed\./,
    );
    assert.deepEqual(events, []);
  });
});
