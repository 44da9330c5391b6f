// The rotation lock over a long run, through the built CLI: real kubectl
// against the stand-in (and a real kube-apiserver when GPS_KUBE_ASSETS is
// set), the GitLab stand-in, the real registry. The run is made to outlast
// its Lease by holding GitLab's answer to the mint (a slow GitLab) while the
// test watches the Lease; --lock-lease-duration 15s keeps that to seconds.
// Every test ends with the leak scan.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { stopSharedControlPlane } from "../support/kube-real.ts";
import {
  kubeBackends,
  leaks,
  NAMESPACES,
  PROJECT,
  startWorld,
  type Captured,
  type Running,
  type World,
} from "../support/world.ts";

const SECRET = "regcred";
const LEASE = `gitlab-pull-secret-${SECRET}`;
const [A] = NAMESPACES as [string];
const DURATION_S = 15;

function cli(w: World, extra: string[]): string[] {
  return [
    "rotate",
    "--gitlab-url",
    w.gitlab.url,
    "--project",
    PROJECT.path,
    "--secret-name",
    SECRET,
    "--kubeconfig",
    w.kubeconfig,
    "--namespace",
    NAMESPACES.join(","),
    ...w.verifyFlags(),
    "--json",
    ...extra,
  ];
}

/** The Lease's spec as the API server holds it now. */
function lease(w: World): {
  holderIdentity?: string;
  renewTime?: string;
  acquireTime?: string;
  leaseDurationSeconds?: number;
} {
  return w.kube.getObject("leases", A, LEASE)?.spec ?? {};
}

/** Polls a condition (each look may be a request to a real API server, so not every 10 ms). */
async function until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** stderr so far, while the run goes on. */
function watchStderr(r: Running): () => string {
  let text = "";
  r.child.stderr!.on("data", (d) => (text += d));
  return () => text;
}

/** GitLab answers the next mint only when `release` is called. */
function holdMint(w: World): () => void {
  let release!: () => void;
  w.gitlab.resetRequests();
  w.gitlab.fault({
    kind: "hold",
    method: "POST",
    path: /\/deploy_tokens$/,
    times: 1,
    until: new Promise<void>((r) => (release = r)),
  });
  return release;
}

const mintHeld = (w: World) => () => w.gitlab.requests.some((q) => q.method === "POST" && q.fault === "hold");

after(stopSharedControlPlane);

for (const backend of kubeBackends({
  realBecause:
    "the Lease's resourceVersion conflicts and renewals over a long run are the coordination API's, not a model of it",
})) {
  describe(`the rotation lock over a long run (${backend})`, () => {
    let w: World;
    const runs: Captured[] = [];

    before(async () => {
      w = await startWorld({ backend });
    });
    after(async () => {
      w?.gitlab.clearFaults();
      await w?.close();
    });

    test("a long run with the Lease renewed: it outlasts the duration, and a second run waits instead of taking over", async () => {
      const release = holdMint(w);
      const first = w.startCli(
        cli(w, ["--rotate-before", "1d", "--lock-lease-duration", `${DURATION_S}s`, "--request-timeout", "2m"]),
      );
      const firstErr = watchStderr(first);
      await until(mintHeld(w), "the first run to reach the mint");
      const claimed = lease(w);
      assert.match(claimed.holderIdentity ?? "", /^gps-[0-9a-f]{6}$/);
      assert.equal(claimed.leaseDurationSeconds, DURATION_S);
      const acquired = Date.parse(claimed.acquireTime!);

      const second = w.startCli(cli(w, ["--rotate-before", "1d", "--lock-timeout", "5m"]));
      const secondErr = watchStderr(second);
      await until(() => secondErr().includes("Waiting for"), "the second run to wait");

      // Renewed while held: renewTime moves on, acquireTime stays, until the run has held it longer than its duration.
      const renewals = new Set<string>();
      await until(() => {
        const now = lease(w);
        if (now.renewTime) renewals.add(now.renewTime);
        return Date.parse(now.renewTime!) - acquired > DURATION_S * 1000;
      }, `the Lease to be renewed past its ${DURATION_S}s`);
      const held = lease(w);
      assert.equal(held.holderIdentity, claimed.holderIdentity, "still the first run's");
      assert.equal(held.acquireTime, claimed.acquireTime, "a renewal keeps acquireTime");
      assert.ok(renewals.size >= 3, `renewTime advanced several times (${[...renewals].join(", ")})`);
      assert.doesNotMatch(secondErr(), /Took over/, "the second run did not take the renewed Lease over");
      assert.match(secondErr(), new RegExp(`Waiting for ${claimed.holderIdentity} to finish`));

      release();
      const r1 = await first.done;
      const r2 = await second.done;
      runs.push(r1, r2);
      assert.equal(r1.code, 0, r1.stderr);
      const out1 = JSON.parse(r1.stdout);
      assert.equal(out1.changed, true);
      assert.doesNotMatch(firstErr(), /Could not renew|Lost the rotation lock/);
      // The second run got the lock only once the first released it, and found nothing due.
      assert.equal(r2.code, 0, r2.stderr);
      const out2 = JSON.parse(r2.stdout);
      assert.equal(out2.token, null);
      assert.match(r2.stderr, new RegExp(`Nothing to do: deploy token ${out1.token.id} has \\d+d left`));
      assert.doesNotMatch(r2.stderr, /Took over/);
      assert.equal(lease(w).holderIdentity ?? "", "", "released at the end");
      for (const ns of NAMESPACES) {
        assert.equal(
          w.kube.getObject("secrets", ns, SECRET).metadata.annotations["gitlab-pull-secret.io/token-id"],
          String(out1.token.id),
        );
      }
      assert.deepEqual(leaks(w, runs), [], "a secret form leaked");
    });

    test("a run whose Lease was taken over stops before its next write, says so, and takes its new token back", async () => {
      const versions = NAMESPACES.map((ns) => w.kube.getObject("secrets", ns, SECRET).metadata.resourceVersion);
      const liveBefore = w.gitlab.tokens.filter((t) => w.gitlab.isLive(t.id)).map((t) => t.id);
      const release = holdMint(w);
      const run = w.startCli(cli(w, ["--force", "--lock-lease-duration", `${DURATION_S}s`, "--request-timeout", "2m"]));
      const err = watchStderr(run);
      await until(mintHeld(w), "the run to reach the mint");
      const mine = lease(w).holderIdentity!;

      // Another holder writes the Lease (as a run that found it stale would); the next renewal finds it changed.
      const current = w.kube.getObject("leases", A, LEASE);
      const now = new Date().toISOString().replace(/Z$/, "000Z");
      w.kube.putObject("leases", {
        ...current,
        spec: { holderIdentity: "gps-intruder", leaseDurationSeconds: 300, acquireTime: now, renewTime: now },
      });
      await until(() => err().includes("Lost the rotation lock"), "the run to notice");

      release();
      const r = await run.done;
      runs.push(r);
      assert.equal(r.code, 1, r.stderr);
      assert.notEqual(mine, "gps-intruder");
      assert.match(
        r.stderr,
        new RegExp(`Lease ${A}/${LEASE} is no longer this run's: another run took it over \\(holder gps-intruder\\)`),
      );
      assert.match(
        r.stderr,
        /This run stopped before writing the Secrets\. Done before that: minted deploy token (\d+)/,
      );
      assert.match(r.stderr, /Rollback: new deploy token \d+ revoked; the Secrets are as they were/);
      const minted = Number(/minted deploy token (\d+)/.exec(r.stderr)![1]);
      assert.equal(w.gitlab.isLive(minted), false, "its new token was taken back");
      assert.deepEqual(
        w.gitlab.tokens.filter((t) => w.gitlab.isLive(t.id)).map((t) => t.id),
        liveBefore,
        "the previous token was not revoked",
      );
      assert.deepEqual(
        NAMESPACES.map((ns) => w.kube.getObject("secrets", ns, SECRET).metadata.resourceVersion),
        versions,
        "no Secret written",
      );
      assert.equal(lease(w).holderIdentity, "gps-intruder", "the other holder's Lease is left alone");
      assert.deepEqual(leaks(w, runs), [], "a secret form leaked");
    });
  });
}
