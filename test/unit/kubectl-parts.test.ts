// The pieces of a large run: a List split into parts for kubectl processes
// that run at once, their stderr merged, a LIST refused at cluster scope told
// apart from other failures, and the stand-in's latency model.
import assert from "node:assert/strict";
import { test } from "node:test";
import { listForbidden, mergeStderr } from "../../src/adapters/kubectl.js";
import { splitList } from "../../src/model/manifests.js";
import { Secret } from "../../src/model/secret.js";
import { latencyFromEnv, ServiceSlots } from "../support/kube/index.ts";

const list = (n: number) =>
  new Secret(JSON.stringify({ apiVersion: "v1", kind: "List", items: Array.from({ length: n }, (_, i) => ({ i })) }));
const items = (parts: Secret[]) =>
  parts.map((p) => (JSON.parse(p.reveal()).items as Array<{ i: number }>).map((x) => x.i));

test("splitList: contiguous parts, every item once, in order; small Lists stay whole", () => {
  assert.deepEqual(items(splitList(list(10), 2, 5)), [
    [0, 1, 2, 3, 4],
    [5, 6, 7, 8, 9],
  ]);
  assert.deepEqual(items(splitList(list(7), 2, 3)), [
    [0, 1, 2, 3],
    [4, 5, 6],
  ]);
  assert.equal(splitList(list(9), 2, 5).length, 1, "a part would be below the minimum");
  const whole = list(3);
  assert.equal(splitList(whole, 4, 1).length, 3);
  assert.deepEqual(
    items(splitList(list(1000), 2, 30)).map((p) => p.length),
    [500, 500],
  );
  assert.equal(splitList(list(0), 2, 1)[0]!.reveal(), list(0).reveal());
  for (const p of splitList(list(10), 2, 5)) assert.equal(String(p), "[redacted]");
  assert.equal(JSON.parse(splitList(list(10), 2, 5)[1]!.reveal()).kind, "List");
});

test("mergeStderr: each line once, in order", () => {
  assert.equal(mergeStderr(["error: a\nerror: b\n", "error: b\nerror: c", ""]), "error: a\nerror: b\nerror: c");
});

test("listForbidden: only RBAC's refusal of a LIST at cluster scope", () => {
  const refused =
    'Error from server (Forbidden): secrets is forbidden: User "system:serviceaccount:ci:deployer" cannot list resource "secrets" in API group "" at the cluster scope';
  assert.equal(listForbidden(refused, "secrets"), true);
  assert.equal(listForbidden(refused, "serviceaccounts"), false);
  assert.equal(
    listForbidden(
      'Error from server (Forbidden): secrets is forbidden: User "x" cannot list resource "secrets" in API group "" in the namespace "a"',
      "secrets",
    ),
    false,
  );
  assert.equal(
    listForbidden("Unable to connect to the server: dial tcp 127.0.0.1:1: connect: connection refused", "secrets"),
    false,
  );
});

test("latency model: each slot serves what it owes in quanta, a late timer is credited, requests beyond the slots queue", async () => {
  const sleeps: number[] = [];
  // A timer that always fires 1 ms late.
  const late = (ms: number) => (sleeps.push(ms), Promise.resolve(ms + 1));
  const one = new ServiceSlots(0.7, 1, late);
  for (let i = 0; i < 100; i++) await one.serve();
  const slept = sleeps.reduce((a, b) => a + b + 1, 0);
  assert.ok(Math.abs(slept - 70) <= 3, `served ${slept} ms for 100 × 0.7 ms`);
  assert.ok(
    sleeps.every((ms) => ms >= 2),
    "no timer below the quantum",
  );

  let release!: (v: number) => void;
  const held: Array<() => void> = [];
  const blocking = new ServiceSlots(2, 1, () => new Promise<number>((ok) => ((release = ok), held.push(() => ok(2)))));
  const order: number[] = [];
  const a = blocking.serve().then(() => order.push(1));
  const b = blocking.serve().then(() => order.push(2));
  await new Promise((r) => setImmediate(r));
  assert.equal(held.length, 1, "the second request waits for the only slot");
  release(2);
  await new Promise((r) => setImmediate(r));
  assert.equal(held.length, 2);
  held[1]!();
  await Promise.all([a, b]);
  assert.deepEqual(order, [1, 2]);
});

test("latencyFromEnv: <ms>[/<slots>], absent is off, anything else is an error", () => {
  assert.equal(latencyFromEnv({}), undefined);
  assert.deepEqual(latencyFromEnv({ GPS_KUBE_LATENCY_MS: "0.7" }), { serviceMs: 0.7 });
  assert.deepEqual(latencyFromEnv({ GPS_KUBE_LATENCY_MS: "1.3/4" }), { serviceMs: 1.3, slots: 4 });
  assert.throws(() => latencyFromEnv({ GPS_KUBE_LATENCY_MS: "fast" }), /GPS_KUBE_LATENCY_MS/);
});
