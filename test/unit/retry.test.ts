// The retry schedule (pure) and its runner on a fake clock: nothing here sleeps.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  advertisedWaitMs,
  backoffMs,
  isRetryable,
  nextStep,
  outcomeOf,
  retrying,
  retryOptions,
  RetryExhaustedError,
  type Failure,
  type RetryOptions,
} from "../../src/adapters/retry.js";

const NOW = Date.UTC(2026, 10, 23, 8, 30, 0);
const status = (s: number, headers: Record<string, string> = {}): Failure => ({ kind: "status", status: s, headers });
const conn = (code: string): Failure => ({ kind: "connection", code });
const OPTS = { baseDelayMs: 500, maxDelayMs: 10_000 };

/** A clock that only moves when the runner sleeps; records every wait. */
function fakeTime(patch: Partial<RetryOptions> = {}) {
  let now = NOW;
  const waits: number[] = [];
  const opts = retryOptions({
    now: () => now,
    sleep: async (ms) => {
      waits.push(ms);
      now += ms;
    },
    random: () => 0.5,
    ...patch,
  });
  return { opts, waits, elapsed: () => now - NOW };
}

class Fail extends Error {
  constructor(readonly f: Failure) {
    super(`fail ${JSON.stringify(f)}`);
  }
}
const classify = (err: unknown): Failure | undefined => (err instanceof Fail ? err.f : undefined);

/** An attempt function failing with `failures` in turn, then returning "ok". */
function script(failures: Failure[]) {
  let calls = 0;
  return {
    fn: async () => {
      const f = failures[calls++];
      if (f) throw new Fail(f);
      return "ok";
    },
    calls: () => calls,
  };
}

describe("advertised waits", () => {
  test("Retry-After (seconds) wins over RateLimit-Reset", () => {
    const f = status(429, { "retry-after": "3", "ratelimit-reset": String(NOW / 1000 + 40) });
    assert.equal(advertisedWaitMs(f, NOW), 3000);
  });
  test("Retry-After as an HTTP date", () => {
    assert.equal(advertisedWaitMs(status(429, { "retry-after": new Date(NOW + 7000).toUTCString() }), NOW), 7000);
  });
  test("RateLimit-Reset (epoch seconds) is next, measured against the response's Date", () => {
    assert.equal(advertisedWaitMs(status(429, { "ratelimit-reset": String(NOW / 1000 + 12) }), NOW), 12_000);
    // Our clock runs 100 s behind the server's: the server's Date keeps the wait honest.
    const skewed = status(429, { "ratelimit-reset": String(NOW / 1000 + 12), date: new Date(NOW).toUTCString() });
    assert.equal(advertisedWaitMs(skewed, NOW - 100_000), 12_000);
    // A reset already past means go now, not a negative wait.
    assert.equal(advertisedWaitMs(status(429, { "ratelimit-reset": String(NOW / 1000 - 5) }), NOW), 0);
  });
  test("header names are case-insensitive", () => {
    assert.equal(advertisedWaitMs(status(429, { "Retry-After": "2" }), NOW), 2000);
  });
  test("RateLimit-Reset counts on a 429 only; Retry-After on any retried status", () => {
    assert.equal(advertisedWaitMs(status(503, { "ratelimit-reset": String(NOW / 1000 + 12) }), NOW), undefined);
    assert.equal(advertisedWaitMs(status(503, { "retry-after": "4" }), NOW), 4000);
  });
  test("nothing advertised: the schedule falls back to backoff", () => {
    assert.equal(advertisedWaitMs(status(429), NOW), undefined);
    const step = nextStep(
      status(429),
      { idempotent: true, retryNumber: 1, nowMs: NOW, deadlineAt: NOW + 60_000 },
      OPTS,
      0,
    );
    assert.deepEqual(step, { retry: true, waitMs: 250 });
  });
});

describe("backoff", () => {
  test("doubles per retry, jittered within [d/2, d)", () => {
    for (const [n, d] of [
      [1, 500],
      [2, 1000],
      [3, 2000],
      [4, 4000],
      [5, 8000],
    ] as const) {
      assert.equal(backoffMs(n, OPTS, 0), d / 2, `retry ${n}, low end`);
      assert.ok(backoffMs(n, OPTS, 0.999999) < d, `retry ${n}, high end`);
      assert.ok(backoffMs(n, OPTS, 0.999999) > d * 0.99, `retry ${n}, high end reached`);
    }
  });
  test("is capped", () => {
    for (const n of [6, 10, 40]) {
      assert.equal(backoffMs(n, OPTS, 0), 5000);
      assert.ok(backoffMs(n, OPTS, 0.999999) <= 10_000);
    }
  });
  test("jitter spreads real random draws over the whole band", () => {
    const draws = Array.from({ length: 2000 }, () => backoffMs(3, OPTS, Math.random()));
    assert.ok(draws.every((w) => w >= 1000 && w < 2000));
    assert.ok(Math.min(...draws) < 1100 && Math.max(...draws) > 1900, "not stuck at one value");
  });
});

describe("what is retried", () => {
  test("outcomes", () => {
    assert.equal(outcomeOf(status(429)), "not-processed");
    for (const s of [500, 502, 503, 504]) assert.equal(outcomeOf(status(s)), "unknown", String(s));
    for (const s of [400, 401, 403, 404, 405, 409, 422]) assert.equal(outcomeOf(status(s)), "final", String(s));
    assert.equal(outcomeOf(conn("ECONNREFUSED")), "not-processed");
    for (const c of ["ECONNRESET", "UND_ERR_SOCKET", "socket hang up", "timeout", "lost-response"])
      assert.equal(outcomeOf(conn(c)), "unknown", c);
    for (const c of ["ENOTFOUND", "SELF_SIGNED_CERT_IN_CHAIN", "aborted"]) assert.equal(outcomeOf(conn(c)), "final", c);
  });
  test("a non-idempotent call is retried only when GitLab did not process it", () => {
    assert.equal(isRetryable(status(429), false), true);
    assert.equal(isRetryable(conn("ECONNREFUSED"), false), true);
    for (const f of [status(500), status(502), status(503), status(504), conn("ECONNRESET"), conn("timeout")]) {
      assert.equal(isRetryable(f, false), false, JSON.stringify(f));
      assert.equal(isRetryable(f, true), true, JSON.stringify(f));
    }
  });
  test("a 4xx other than 429 is never retried", () => {
    for (const s of [400, 401, 403, 404, 409]) {
      assert.deepEqual(
        nextStep(status(s), { idempotent: true, retryNumber: 1, nowMs: NOW, deadlineAt: NOW + 60_000 }, OPTS, 0.5),
        { retry: false, why: "final" },
      );
    }
  });
  test("deadline: a wait that would cross it is refused", () => {
    const ctx = { idempotent: true, retryNumber: 1, nowMs: NOW, deadlineAt: NOW + 2000 };
    assert.deepEqual(nextStep(status(429, { "retry-after": "2" }), ctx, OPTS, 0), { retry: true, waitMs: 2000 });
    assert.deepEqual(nextStep(status(429, { "retry-after": "3" }), ctx, OPTS, 0), {
      retry: false,
      why: "deadline",
      waitMs: 3000,
    });
  });
});

describe("retrying (runner)", () => {
  test("429 then success: waits what Retry-After says, exactly", async () => {
    const t = fakeTime();
    const s = script([status(429, { "retry-after": "7", "ratelimit-reset": String(NOW / 1000 + 30) })]);
    assert.equal(await retrying(s.fn, { idempotent: false, classify, opts: t.opts }), "ok");
    assert.equal(s.calls(), 2);
    assert.deepEqual(t.waits, [7000]);
  });
  test("5xx and connection errors on an idempotent call back off exponentially", async () => {
    const t = fakeTime({ random: () => 0 });
    const s = script([status(502), status(503), conn("ECONNRESET"), status(504), status(500)]);
    assert.equal(await retrying(s.fn, { idempotent: true, classify, opts: t.opts }), "ok");
    assert.equal(s.calls(), 6);
    assert.deepEqual(t.waits, [250, 500, 1000, 2000, 4000]);
  });
  test("non-idempotent: a 5xx is thrown after one attempt, untouched", async () => {
    for (const f of [status(500), status(502), status(503), status(504), conn("UND_ERR_SOCKET"), conn("timeout")]) {
      const t = fakeTime();
      const s = script([f]);
      await assert.rejects(
        retrying(s.fn, { idempotent: false, classify, opts: t.opts }),
        (err: unknown) => err instanceof Fail && err.f === f,
      );
      assert.equal(s.calls(), 1, JSON.stringify(f));
      assert.deepEqual(t.waits, []);
    }
  });
  test("a 4xx is thrown after one attempt", async () => {
    const t = fakeTime();
    const s = script([status(403)]);
    await assert.rejects(retrying(s.fn, { idempotent: true, classify, opts: t.opts }), Fail);
    assert.equal(s.calls(), 1);
  });
  test("errors the classifier does not know are not retried", async () => {
    const t = fakeTime();
    let calls = 0;
    await assert.rejects(
      retrying(
        async () => {
          calls++;
          throw new TypeError("bug");
        },
        { idempotent: true, classify, opts: t.opts },
      ),
      TypeError,
    );
    assert.equal(calls, 1);
  });
  test("persistent 503: stops before a wait would cross the deadline, says attempts and last status", async () => {
    const t = fakeTime({ deadlineMs: 10_000, random: () => 0 });
    const s = script(Array.from({ length: 100 }, () => status(503)));
    const err = await retrying(s.fn, { idempotent: true, classify, opts: t.opts }).then(
      () => assert.fail("should fail"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof RetryExhaustedError);
    // Waits 250, 500, 1000, 2000, 4000 (7.75 s); the next (8000 → 4000 at random 0) would end at 11.75 s.
    assert.deepEqual(t.waits, [250, 500, 1000, 2000, 4000]);
    assert.equal(s.calls(), 6);
    assert.equal(err.attempts, 6);
    assert.ok(t.elapsed() <= 10_000);
    assert.match(err.message, /gave up after 6 attempts in 7\.8 s \(last: HTTP 503\)/);
    assert.match(err.message, /10 s deadline/);
  });
  test("a Retry-After longer than the deadline fails at once instead of sleeping", async () => {
    const t = fakeTime({ deadlineMs: 5000 });
    const s = script([status(429, { "retry-after": "60" })]);
    await assert.rejects(retrying(s.fn, { idempotent: false, classify, opts: t.opts }), (e: unknown) => {
      assert.ok(e instanceof RetryExhaustedError);
      assert.match(e.message, /after 1 attempt in 0 s \(last: HTTP 429\).*60 s later/);
      return true;
    });
    assert.deepEqual(t.waits, []);
  });
  test("a shared absolute deadline is honoured", async () => {
    const t = fakeTime({ random: () => 0 });
    const s = script([status(502), status(502)]);
    await assert.rejects(
      retrying(s.fn, { idempotent: true, classify, opts: t.opts, deadlineAt: NOW + 300 }),
      RetryExhaustedError,
    );
    assert.deepEqual(t.waits, [250]);
  });
});
