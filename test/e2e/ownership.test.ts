// "Prove a token is ours before it dies", end to end through the built CLI.
//
// Two clusters that the kubeconfigs cannot tell apart (the same namespace,
// the same Secret name, the same context name "standin", and runs with no
// --context at all): no operation in one revokes, sweeps or reports as an
// orphan a token serving the other. Token names carry the uid of the Lease
// each cluster keeps, not a context name.
//
// One cluster, two pipelines with overlapping namespace sets (a list and a
// list, a list and a selector): no sequence of runs leaves a namespace with a
// token that does not pull, and the overlap is named loudly. That part runs on
// every backend (a real kube-apiserver too when GPS_KUBE_ASSETS is set); the
// two clusters stay on stand-ins, whose context names can be made the same.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { clusterKey, mintedAt, namespaceSetHash } from "../../src/model/naming.ts";
import { startKubeStandIn, type KubeStandIn, type PolicyRule } from "../support/kube/index.ts";
import { stopSharedControlPlane } from "../support/kube-real.ts";
import { kubeBackends, leaks, PROJECT, startWorld, waitFor, type Captured, type World } from "../support/world.ts";

const SECRET = "regcred";
const TOKEN_ID = "gitlab-pull-secret.io/token-id";
const JWT = /^\/jwt\/auth$/;

function rotate(w: World, kubeconfig: string, namespaces: string[], extra: string[] = []): string[] {
  return [
    "rotate",
    "--gitlab-url",
    w.gitlab.url,
    "--project",
    PROJECT.path,
    "--secret-name",
    SECRET,
    "--kubeconfig",
    kubeconfig,
    "--namespace",
    namespaces.join(","),
    ...w.verifyFlags(),
    "--json",
    ...extra,
  ];
}

function command(
  w: World,
  name: string,
  kubeconfig: string,
  namespaces: string[],
  extra: string[] = [],
  secret = SECRET,
): string[] {
  return [
    name,
    "--gitlab-url",
    w.gitlab.url,
    "--project",
    PROJECT.path,
    "--secret-name",
    secret,
    "--kubeconfig",
    kubeconfig,
    "--namespace",
    namespaces.join(","),
    "--json",
    ...extra,
  ];
}

function heldBy(kube: KubeStandIn, ns: string, secret = SECRET): number | undefined {
  const id = kube.getObject("secrets", ns, secret)?.metadata.annotations?.[TOKEN_ID];
  return id === undefined ? undefined : Number(id);
}

/** Pulls with the docker config a Secret of either cluster holds (as the kubelet would read it). */
async function pulls(
  w: World,
  kube: KubeStandIn,
  ns: string,
  secret = SECRET,
): Promise<{ ok: boolean; stderr: string }> {
  const s = kube.getObject("secrets", ns, secret);
  assert.ok(s, `a Secret ${ns}/${secret}`);
  const path = join(
    w.dir,
    `authfile-${kube.url.replace(/\W/g, "")}-${ns}-${secret}-${s.metadata.resourceVersion}.json`,
  );
  writeFileSync(path, Buffer.from(s.data[".dockerconfigjson"], "base64").toString("utf8"), { mode: 0o600 });
  return w.pull(path);
}

async function assertPulls(
  w: World,
  kube: KubeStandIn,
  namespaces: string[],
  when: string,
  secret = SECRET,
): Promise<void> {
  for (const ns of namespaces) {
    const r = await pulls(w, kube, ns, secret);
    assert.ok(r.ok, `${when}: ${ns}/${secret} (token ${heldBy(kube, ns, secret)}) must pull: ${r.stderr}`);
  }
}

/** Waits until a token's minted-at stamp (second resolution) is older than `ms`, so --sweep-grace 1s applies to it. */
async function olderThan(w: World, id: number, ms: number): Promise<void> {
  const name = w.gitlab.tokens.find((t) => t.id === id)!.name;
  await waitFor(() => Date.now() - mintedAt(name)!.getTime() > ms, `token ${id} to be older than ${ms} ms`, 5000);
}

function ok(r: Captured): Captured {
  assert.equal(r.code, 0, r.stderr);
  return r;
}

/**
 * Everything the tool does in `namespaces` (examples/rbac/role.yaml, with list and
 * delete for status and revoke), and getting namespaces, but no cluster-wide list
 * of Secrets: RBAC refuses that list on either backend.
 */
function rulesWithoutClusterList(namespaces: string[]): PolicyRule[] {
  return [
    { apiGroups: [""], resources: ["namespaces"], verbs: ["get"] },
    { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "create", "patch", "delete"], namespaces },
    { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["get", "update"], namespaces },
    {
      apiGroups: ["coordination.k8s.io"],
      resources: ["leases"],
      verbs: ["get", "list", "create", "update", "delete"],
      namespaces,
    },
  ];
}

after(stopSharedControlPlane);

describe("two clusters that kubeconfigs cannot tell apart", () => {
  let w: World;
  let b: KubeStandIn;
  let kcA: string;
  let kcB: string;
  const runs: Captured[] = [];
  const NS = ["team-a"];
  const runA = async (args: string[]) => {
    const r = await w.runCli(args);
    runs.push(r);
    return r;
  };

  before(async () => {
    w = await startWorld();
    b = await startKubeStandIn({ dir: join(w.dir, "kube-b") });
    b.createNamespace("team-a");
    // Both kubeconfigs name their context "standin" and make it current.
    kcA = w.kubeconfig;
    kcB = b.writeKubeconfig(join(w.dir, "kube-b"));
  });
  after(async () => {
    await b?.close();
    await w?.close();
  });

  test("each rotates with its own token; A's sweep, A's explicit --context, A's status leave B's token alone", async () => {
    const a1 = JSON.parse(ok(await runA(rotate(w, kcA, NS))).stdout).token.id as number;
    const b1 = JSON.parse(ok(await runA(rotate(w, kcB, NS))).stdout).token.id as number;
    assert.notEqual(a1, b1);
    const uidA = w.kube.getObject("leases", "team-a", `gitlab-pull-secret-${SECRET}`).metadata.uid;
    const uidB = b.getObject("leases", "team-a", `gitlab-pull-secret-${SECRET}`).metadata.uid;
    assert.notEqual(uidA, uidB, "two clusters, two identities");
    assert.match(w.gitlab.tokens.find((t) => t.id === a1)!.name, new RegExp(`/${clusterKey(uidA)}/${SECRET}/`));
    assert.match(w.gitlab.tokens.find((t) => t.id === b1)!.name, new RegExp(`/${clusterKey(uidB)}/${SECRET}/`));

    // The sweep that used to revoke B's token.
    await olderThan(w, b1, 1000);
    const sweep = ok(await runA(rotate(w, kcA, NS, ["--sweep-grace", "1s"])));
    const a2 = JSON.parse(sweep.stdout).token.id as number;
    assert.deepEqual(JSON.parse(sweep.stdout).revokedTokenIds, [a1]);
    assert.doesNotMatch(sweep.stderr, /Swept/);
    assert.ok(w.gitlab.isLive(b1), "B's token stays live");
    await assertPulls(w, b, NS, "B after A's sweep");
    await assertPulls(w, w.kube, NS, "A after A's sweep");

    // The same cluster named explicitly: the same identity, so A's previous token is its own.
    const named = ok(await runA(rotate(w, kcA, NS, ["--context", "standin", "--sweep-grace", "1s"])));
    assert.deepEqual(JSON.parse(named.stdout).revokedTokenIds, [a2]);
    assert.ok(w.gitlab.isLive(b1));

    const status = ok(await runA(command(w, "status", kcA, NS, ["--sweep-grace", "1s", "--warn-within", "1d"])));
    const s = JSON.parse(status.stdout);
    assert.ok(!s.tokens.some((t: { id: number }) => t.id === b1), "B's token is not listed as A's");
    assert.ok(!s.findings.some((f: { kind: string }) => f.kind === "orphan"), status.stdout);
    assert.equal(s.attention, false);
    assert.deepEqual(leaks(w, runs), []);
  });

  test("a run of A killed between mint and apply leaves an orphan that A's next run sweeps, and only that", async () => {
    const bToken = heldBy(b, "team-a")!;
    const before = new Set(w.gitlab.tokens.map((t) => t.id));
    const jwtBefore = w.gitlab.requests.filter((r) => JWT.test(r.path)).length;
    w.gitlab.fault({ method: "GET", path: JWT, kind: "timeout", times: 1 });
    const running = w.startCli(rotate(w, kcA, NS));
    // The pull check hangs: the token is minted, no Secret holds it yet.
    await waitFor(
      () => w.gitlab.requests.filter((r) => JWT.test(r.path)).length > jwtBefore,
      "the run to reach the pull check",
    );
    running.child.kill("SIGKILL");
    runs.push(await running.done);
    w.gitlab.clearFaults();
    const orphan = w.gitlab.tokens.find((t) => !before.has(t.id))!;
    assert.ok(orphan && w.gitlab.isLive(orphan.id), "the killed run minted a token");
    assert.notEqual(heldBy(w.kube, "team-a"), orphan.id, "and never applied it");
    // Time passes: the killed run's Lease goes stale.
    const lease = w.kube.getObject("leases", "team-a", `gitlab-pull-secret-${SECRET}`);
    lease.spec.renewTime = "2020-01-01T00:00:00.000000Z";
    w.kube.putObject("leases", lease);
    await olderThan(w, orphan.id, 1000);

    const repair = ok(await runA(rotate(w, kcA, NS, ["--sweep-grace", "1s"])));
    assert.deepEqual(JSON.parse(repair.stdout).revokedTokenIds.length, 1);
    assert.match(repair.stderr, new RegExp(`Swept orphaned deploy token ${orphan.id} `));
    assert.ok(!w.gitlab.isLive(orphan.id));
    assert.ok(w.gitlab.isLive(bToken), "B's token stays live");
    assert.equal(
      w.kube.getObject("leases", "team-a", `gitlab-pull-secret-${SECRET}`).metadata.uid,
      lease.metadata.uid,
      "the taken-over Lease keeps the cluster's identity",
    );
    await assertPulls(w, b, NS, "B after A's repair");
    await assertPulls(w, w.kube, NS, "A after A's repair");
    assert.deepEqual(leaks(w, runs), []);
  });

  test("migration: legacy names are revoked where this cluster holds them, left alone (and reported) where it does not", async () => {
    const legacy = (id: number) => {
      const t = w.gitlab.tokens.find((x) => x.id === id)!;
      t.name = t.name.replace(/\/cluster-[0-9a-f-]{36}\//, "/current-context/");
      return t.name;
    };
    // As an older version named them: A's current token, and B's current token.
    const aHeld = heldBy(w.kube, "team-a")!;
    const bHeld = heldBy(b, "team-a")!;
    legacy(aHeld);
    const bName = legacy(bHeld);
    assert.match(bName, new RegExp(`^gitlab-pull-secret/current-context/${SECRET}/${namespaceSetHash(NS)}/`));
    await olderThan(w, bHeld, 1000);

    const status = ok(await runA(command(w, "status", kcA, NS, ["--sweep-grace", "1s"])));
    const s = JSON.parse(status.stdout);
    assert.deepEqual(s.tokens.find((t: { id: number }) => t.id === bHeld)?.role, "legacy");
    assert.match(status.stdout, new RegExp(`deploy token ${bHeld} .* is legacy, not ours to sweep`));
    assert.ok(!s.findings.some((f: { kind: string }) => f.kind === "orphan"));

    const r = ok(await runA(rotate(w, kcA, NS, ["--sweep-grace", "1s"])));
    assert.deepEqual(
      JSON.parse(r.stdout).revokedTokenIds,
      [aHeld],
      "the legacy token A's Secret held is revoked, as before",
    );
    assert.ok(w.gitlab.isLive(bHeld), "the unreferenced legacy token (B's) is left alone");
    await assertPulls(w, b, NS, "B after A's rotation over legacy names");
    assert.deepEqual(leaks(w, runs), []);
  });

  test("revoke --yes in A tears A down and leaves B's tokens and Secret alone", async () => {
    const bHeld = heldBy(b, "team-a")!;
    const bVersion = b.getObject("secrets", "team-a", SECRET).metadata.resourceVersion;
    const r = ok(await runA(command(w, "revoke", kcA, NS, ["--yes"])));
    const out = JSON.parse(r.stdout);
    assert.ok(out.revokedTokenIds.length >= 1);
    assert.ok(!out.revokedTokenIds.includes(bHeld));
    assert.equal(w.kube.getObject("secrets", "team-a", SECRET), undefined, "A's Secret is gone");
    assert.ok(w.gitlab.isLive(bHeld), "B's token stays live");
    assert.equal(b.getObject("secrets", "team-a", SECRET).metadata.resourceVersion, bVersion);
    await assertPulls(w, b, NS, "B after A's teardown");
    // Of A, nothing live is left: neither A's own tokens nor the killed run's.
    const live = w.gitlab.tokens.filter((t) => w.gitlab.isLive(t.id)).map((t) => t.id);
    assert.deepEqual(live, [bHeld]);
    assert.deepEqual(leaks(w, runs), []);
  });
});

for (const backend of kubeBackends()) {
  describe(`one cluster, two pipelines whose namespace sets overlap (${backend})`, () => {
    let w: World;
    const runs: Captured[] = [];
    const A = ["team-a", "team-b"];
    const B = ["team-b", "team-c"];
    const ALL = ["team-a", "team-b", "team-c"];
    const run = async (args: string[], env?: Record<string, string>) => {
      const r = await w.runCli(args, env ? { env } : {});
      runs.push(r);
      return r;
    };

    before(async () => {
      w = await startWorld({ backend });
      w.kube.createNamespace("mirror");
      w.kube.createNamespace("web-1", { tier: "web" });
      w.kube.createNamespace("web-2", { tier: "web" });
    });
    after(async () => {
      await w?.close();
    });

    for (const [variant, secret, denyList] of [
      ["the cluster-wide list readable", "pull-1", false],
      ["RBAC refusing the cluster-wide list", "pull-2", true],
    ] as const) {
      test(`a,b then b,c, four times (${variant}): every namespace pulls after every run, the overlap is named`, async () => {
        let kubeconfig = w.kubeconfig;
        if (denyList) {
          w.kube.addUser("no-cluster-list", rulesWithoutClusterList(ALL));
          kubeconfig = w.kube.writeKubeconfig(join(w.dir, "kube-no-cluster-list"), "no-cluster-list");
        }
        const sequence = [
          ["A", A],
          ["B", B],
          ["A", A],
          ["B", B],
        ] as const;
        const mine: Record<string, number[]> = { A: [], B: [] };
        for (const [i, [who, namespaces]] of sequence.entries()) {
          const r = ok(await run(command(w, "rotate", kubeconfig, [...namespaces], w.verifyFlags(), secret)));
          const out = JSON.parse(r.stdout);
          mine[who]!.push(out.token.id);
          // Only this pipeline's own previous token may die.
          const other = who === "A" ? mine.B! : mine.A!;
          for (const id of out.revokedTokenIds)
            assert.ok(!other.includes(id), `run ${i + 1} (${who}) revoked ${id}, the other pipeline's`);
          if (i > 0) {
            // team-b held the other pipeline's token: named loudly, with both targets and the way out.
            assert.match(r.stderr, /warning: namespace team-b is written by two targets/);
            assert.match(
              r.stderr,
              new RegExp(
                `\\(namespaces ${(who === "A" ? B : A).join(",")}\\), and this run's target is .*\\(namespaces ${[...namespaces].join(",")}\\)`,
              ),
            );
            assert.match(r.stderr, /own --secret-name/);
          }
          const noteCount = (r.stderr.match(/RBAC does not allow listing Secrets cluster-wide/g) ?? []).length;
          // Asked only when a token of this pipeline could die: from its second run on.
          assert.equal(
            noteCount,
            denyList && i >= 2 ? 1 : 0,
            `the fallback is said once, only when it applies: ${r.stderr}`,
          );
          await assertPulls(
            w,
            w.kube,
            ALL.filter((ns) => w.kube.getObject("secrets", ns, secret)),
            `after run ${i + 1} (${who})`,
            secret,
          );
        }
        // Each pipeline's latest token lives; each superseded one is gone once nothing holds it.
        assert.ok(w.gitlab.isLive(mine.A!.at(-1)!) && w.gitlab.isLive(mine.B!.at(-1)!));
        const held = new Set(ALL.map((ns) => heldBy(w.kube, ns, secret)));
        for (const id of [mine.A![0]!, mine.B![0]!])
          assert.equal(w.gitlab.isLive(id), held.has(id), `token ${id}: live exactly when a Secret holds it`);

        // status names the overlap; plan says which token it would keep because another target owns it.
        const st = JSON.parse((await run(command(w, "status", kubeconfig, A, [], secret))).stdout);
        assert.ok(
          st.findings.some(
            (f: { kind: string; namespaces?: string[] }) => f.kind === "overlap" && f.namespaces?.includes("team-b"),
          ),
          JSON.stringify(st.findings),
        );
        const plan = JSON.parse(ok(await run(command(w, "plan", kubeconfig, A, w.verifyFlags(), secret))).stdout);
        assert.deepEqual(
          plan.spared.map((t: { id: number; why: string }) => [t.id, t.why]),
          [[mine.B!.at(-1)!, "other-target"]],
        );
        assert.deepEqual(
          plan.revoke.map((t: { id: number }) => t.id),
          [mine.A!.at(-1)!],
        );

        // --strict-ownership refuses before anything changes.
        const liveBefore = w.gitlab.tokens.filter((t) => w.gitlab.isLive(t.id)).length;
        const strict = await run(
          command(w, "rotate", kubeconfig, A, [...w.verifyFlags(), "--strict-ownership"], secret),
        );
        assert.equal(strict.code, 2, strict.stderr);
        assert.match(
          strict.stderr,
          /--strict-ownership: Secret "pull-\d" in team-b \(deploy token \d+ of cluster-[0-9a-f-]+\/pull-\d\/[0-9a-f]{8}, namespaces team-b,team-c\) belongs to another target[\s\S]*Nothing was changed/,
        );
        assert.equal(w.gitlab.tokens.filter((t) => w.gitlab.isLive(t.id)).length, liveBefore);

        // revoke --yes of A: A's tokens die, B's stay, and team-b's Secret (B's) is kept.
        const bLatest = mine.B!.at(-1)!;
        const down = JSON.parse(ok(await run(command(w, "revoke", kubeconfig, A, ["--yes"], secret))).stdout);
        assert.ok(!down.revokedTokenIds.includes(bLatest));
        assert.deepEqual(down.keepSecrets, ["team-b"]);
        assert.ok(w.gitlab.isLive(bLatest));
        assert.equal(w.kube.getObject("secrets", "team-a", secret), undefined);
        await assertPulls(w, w.kube, ["team-b", "team-c"], "after A's teardown", secret);
        assert.deepEqual(leaks(w, runs), []);
      });
    }

    test("a selector target overlapping a list target: every namespace pulls after every run", async () => {
      const secret = "pull-3";
      const list = ["team-a", "web-1"];
      const selector = ["--namespace-selector", "tier=web"];
      const seq: Array<[string, string[]]> = [
        ["list", command(w, "rotate", w.kubeconfig, list, w.verifyFlags(), secret)],
        [
          "selector",
          [
            ...command(w, "rotate", w.kubeconfig, [], w.verifyFlags(), secret).filter(
              (a, i, all) => a !== "--namespace" && all[i - 1] !== "--namespace",
            ),
            ...selector,
          ],
        ],
      ];
      const ids: Record<string, number[]> = { list: [], selector: [] };
      for (let round = 0; round < 2; round++) {
        for (const [who, args] of seq) {
          const r = ok(await run(args));
          const out = JSON.parse(r.stdout);
          ids[who]!.push(out.token.id);
          const other = ids[who === "list" ? "selector" : "list"]!;
          for (const id of out.revokedTokenIds)
            assert.ok(!other.includes(id), `${who} revoked ${id}, the other target's`);
          if (ids.list!.length + ids.selector!.length > 1)
            assert.match(r.stderr, /namespace web-1 is written by two targets/);
          await assertPulls(
            w,
            w.kube,
            ["team-a", "web-1", "web-2"].filter((ns) => w.kube.getObject("secrets", ns, secret)),
            `after ${who} (round ${round + 1})`,
            secret,
          );
        }
      }
      assert.deepEqual(leaks(w, runs), []);
    });

    test("P/Q/P: two pipelines share a selector and each adds a namespace (least privilege): every namespace pulls", async () => {
      // The outage of issue 21: the selector's target ignored the list, so P and Q were one
      // target and each revoked the other's token as its own "previous" one.
      const secret = "pull-5";
      for (const ns of ["x-1", "x-2"]) w.kube.createNamespace(ns, { team: "x" });
      for (const ns of ["only-p", "only-q"]) w.kube.createNamespace(ns);
      const all = ["x-1", "x-2", "only-p", "only-q"];
      // examples/rbac: role.yaml in each namespace, clusterrole-selector.yaml (list namespaces); no cluster-wide Secret list.
      w.kube.addUser("least-privilege", [
        { apiGroups: [""], resources: ["namespaces"], verbs: ["list"] },
        { apiGroups: [""], resources: ["secrets"], verbs: ["get", "create", "patch"], namespaces: all },
        { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["get", "update"], namespaces: all },
        {
          apiGroups: ["coordination.k8s.io"],
          resources: ["leases"],
          verbs: ["get", "list", "create", "update", "delete"],
          namespaces: all,
        },
      ]);
      const kubeconfig = w.kube.writeKubeconfig(join(w.dir, "kube-least-privilege"), "least-privilege");
      const pipeline = (extra: string) => [
        ...command(w, "rotate", kubeconfig, [extra], [...w.verifyFlags(), "--force"], secret),
        "--namespace-selector",
        "team=x",
      ];
      const mine: Record<string, number[]> = { P: [], Q: [] };
      for (const [who, extra] of [
        ["P", "only-p"],
        ["Q", "only-q"],
        ["P", "only-p"],
      ] as const) {
        const out = JSON.parse(ok(await run(pipeline(extra))).stdout);
        mine[who]!.push(out.token.id);
        const other = mine[who === "P" ? "Q" : "P"]!;
        for (const id of out.revokedTokenIds)
          assert.ok(!other.includes(id), `${who} revoked ${id}, the other pipeline's token`);
        await assertPulls(
          w,
          w.kube,
          all.filter((ns) => w.kube.getObject("secrets", ns, secret)),
          `after ${who}`,
          secret,
        );
      }
      assert.notEqual(heldBy(w.kube, "only-q", secret), undefined);
      assert.ok(
        w.gitlab.isLive(heldBy(w.kube, "only-q", secret)!),
        "Q's namespace still holds a live token after P's second run",
      );
      assert.deepEqual(leaks(w, runs), []);
    });

    test("the cluster-wide list keeps a token alive that a managed copy outside the target still holds", async () => {
      const secret = "pull-4";
      const first = JSON.parse(
        ok(await run(command(w, "rotate", w.kubeconfig, ["team-a"], w.verifyFlags(), secret))).stdout,
      ).token.id as number;
      // A Secret-mirroring tool copies ours, labels and annotations included, into another namespace.
      const copy = structuredClone(w.kube.getObject("secrets", "team-a", secret));
      copy.metadata = {
        name: secret,
        namespace: "mirror",
        labels: copy.metadata.labels,
        annotations: copy.metadata.annotations,
      };
      w.kube.putObject("secrets", copy);
      const r = ok(
        await run(command(w, "rotate", w.kubeconfig, ["team-a"], [...w.verifyFlags(), "--sweep-grace", "0s"], secret)),
      );
      assert.deepEqual(JSON.parse(r.stdout).revokedTokenIds, []);
      assert.match(
        r.stderr,
        new RegExp(
          `Left deploy token ${first} \\(in team-a\\) alive: managed Secret\\(s\\) outside this target still hold it: mirror/${secret}`,
        ),
      );
      assert.ok(w.gitlab.isLive(first));
      await assertPulls(w, w.kube, ["team-a", "mirror"], "with a managed copy outside the target", secret);
      // The next run neither revokes nor sweeps it while the copy holds it.
      const again = ok(
        await run(command(w, "rotate", w.kubeconfig, ["team-a"], [...w.verifyFlags(), "--sweep-grace", "0s"], secret)),
      );
      assert.ok(!JSON.parse(again.stdout).revokedTokenIds.includes(first));
      assert.doesNotMatch(again.stderr, new RegExp(`Swept orphaned deploy token ${first} `));
      await assertPulls(w, w.kube, ["team-a", "mirror"], "a run later", secret);
      assert.deepEqual(leaks(w, runs), []);
    });
  });
}
