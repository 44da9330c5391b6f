// Fill without minting, through the built CLI: a scheduled `rotate
// --rotate-before` whose selector gains a namespace copies the current token
// there instead of re-minting for the fleet; plan and status say "fill"; a
// token that cannot be used rotates instead; a namespace list that grows is a
// new target and rotates once, revoking the old list's token, with no overlap
// warning. Real kubectl against the stand-in (and a real API server when
// GPS_KUBE_ASSETS is set), the GitLab stand-in, a real registry and skopeo.
// Every test ends with the leak scan.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { stopSharedControlPlane } from "../support/kube-real.ts";
import { haveRegistryTools } from "../support/registry.ts";
import {
  kubeBackends,
  leaks,
  PROJECT,
  registryRequired,
  startWorld,
  type Captured,
  type World,
} from "../support/world.ts";

const SECRET = "fillcred";
const LABEL = { pull: "fill" };
const ANN = "gitlab-pull-secret.io/";
const skipRegistry =
  !haveRegistryTools() && !registryRequired()
    ? "docker-registry/skopeo not installed (CI=true makes this fail)"
    : false;

function cli(w: World, command: string, where: string[], extra: string[] = [], secret = SECRET): string[] {
  const verify = command === "rotate" || command === "plan" ? w.verifyFlags() : [];
  return [
    command,
    "--gitlab-url",
    w.gitlab.url,
    "--project",
    PROJECT.path,
    "--secret-name",
    secret,
    "--kubeconfig",
    w.kubeconfig,
    ...where,
    "--rotate-before",
    "2d",
    ...verify,
    ...extra,
  ];
}
const SELECTOR = ["--namespace-selector", "pull=fill", "--service-account", "default"];
/** status takes no --service-account (it reads no ServiceAccount). */
const STATUS_SELECTOR = ["--namespace-selector", "pull=fill"];

function ours(s: { metadata: { annotations?: Record<string, string> } }): Record<string, string> {
  return Object.fromEntries(Object.entries(s.metadata.annotations ?? {}).filter(([k]) => k.startsWith(ANN)));
}

function liveIds(w: World): number[] {
  return w.gitlab.tokens.filter((t) => w.gitlab.isLive(t.id)).map((t) => t.id);
}

/** GitLab requests that mint or revoke a deploy token. */
function tokenWrites(w: World): string[] {
  return w.gitlab.requests
    .filter((r) => /deploy_tokens/.test(r.path) && (r.method === "POST" || r.method === "DELETE"))
    .map((r) => `${r.method} ${r.path}`);
}

after(stopSharedControlPlane);

for (const backend of kubeBackends()) {
  describe(`fill: a new namespace gets the current token, nothing minted (${backend})`, () => {
    let w: World;
    const runs: Captured[] = [];
    let first: number;
    const ok = async (args: string[], code = 0): Promise<Captured> => {
      const r = await w.runCli(args);
      runs.push(r);
      assert.equal(r.code, code, r.stderr);
      return r;
    };

    before(async () => {
      w = await startWorld({ backend });
      w.kube.createNamespace("fill-1", LABEL);
      w.kube.createNamespace("fill-2", LABEL);
      const r = await ok(cli(w, "rotate", SELECTOR, ["--json"]));
      first = JSON.parse(r.stdout).token.id;
    });
    after(async () => {
      await w?.close();
    });

    test("plan and status say fill for the namespace that joined the selector", async () => {
      w.kube.createNamespace("fill-3", LABEL);
      const plan = await ok(cli(w, "plan", SELECTOR));
      assert.match(
        plan.stdout,
        new RegExp(`: fill, because deploy token ${first} has \\d+d left, more than --rotate-before`),
      );
      assert.match(plan.stdout, /^ {2}fill-1 +unchanged$/m);
      assert.match(plan.stdout, /^ {2}fill-3 +fill$/m);
      assert.match(plan.stdout, new RegExp(`Mint: +nothing \\(fill fill-3 with deploy token ${first}`));
      assert.match(plan.stdout, /ServiceAccounts to get "fillcred": fill-3\/default/);
      const planJson = JSON.parse((await ok(cli(w, "plan", SELECTOR, ["--json"]))).stdout);
      assert.deepEqual(planJson.fill, { tokenId: first, namespaces: ["fill-3"] });
      assert.equal(planJson.mint, null);
      assert.deepEqual(planJson.revoke, []);

      const status = await ok(cli(w, "status", STATUS_SELECTOR));
      assert.match(status.stdout, new RegExp(`^fill-3 .*missing: rotate fills it with ${first}$`, "m"));
      assert.match(
        status.stdout,
        new RegExp(
          `no Secret "fillcred" in fill-3: pods there cannot pull; rotate fills it with deploy token ${first}`,
        ),
      );
      const statusJson = JSON.parse((await ok(cli(w, "status", STATUS_SELECTOR, ["--json"]))).stdout);
      assert.equal(statusJson.secrets.find((s: { namespace: string }) => s.namespace === "fill-3").fillWith, first);
      assert.equal(statusJson.secrets.find((s: { namespace: string }) => s.namespace === "fill-1").fillWith, null);
      assert.deepEqual(tokenWrites(w).length, 1, "plan and status minted nothing (the one POST is the first rotation)");
      assert.deepEqual(leaks(w, runs), []);
    });

    test("rotate fills it: 0 minted, 0 revoked, the same token and docker config, pull-checked, ServiceAccount linked", async () => {
      const tokensBefore = w.gitlab.tokens.length;
      w.gitlab.resetRequests();
      const r = await ok(cli(w, "rotate", SELECTOR, ["--json"]));
      const out = JSON.parse(r.stdout);
      assert.equal(out.changed, true);
      assert.equal(out.token, null);
      assert.deepEqual(out.filledNamespaces, ["fill-3"]);
      assert.deepEqual(out.revokedTokenIds, []);
      assert.deepEqual(out.namespaces, ["fill-1", "fill-2", "fill-3"]);
      assert.equal(w.gitlab.tokens.length, tokensBefore, "no token minted");
      assert.deepEqual(tokenWrites(w), [], "no mint, no revoke");
      assert.deepEqual(liveIds(w), [first]);

      const source = w.kube.getObject("secrets", "fill-1", SECRET);
      const filled = w.kube.getObject("secrets", "fill-3", SECRET);
      assert.equal(filled.type, source.type);
      assert.equal(filled.metadata.labels["app.kubernetes.io/managed-by"], "gitlab-pull-secret");
      assert.equal(filled.metadata.annotations[`${ANN}token-id`], String(first));
      assert.deepEqual(ours(filled), ours(source), "the same record: token, owner, registry, expiry, target");
      assert.equal(filled.data[".dockerconfigjson"], source.data[".dockerconfigjson"], "the same docker config");
      // The pull check ran with the read credentials: the registry's token flow asked GitLab as the deploy token.
      assert.match(r.stderr, new RegExp(`Verified: deploy token ${first} pulls grp/app`));
      if (!skipRegistry)
        assert.ok(
          w.gitlab.requests.some((q) => /jwt\/auth/.test(q.path)),
          "the registry's token flow ran",
        );
      assert.deepEqual(w.kube.getObject("serviceaccounts", "fill-3", "default").imagePullSecrets, [{ name: SECRET }]);
      assert.match(
        r.stderr,
        new RegExp(
          `Filled fill-3 with deploy token ${first} \\(no rotation due: deploy token ${first} has \\d+d left, more than --rotate-before\\)`,
        ),
      );
      assert.match(r.stderr, /nothing was minted or revoked/);
      assert.deepEqual(leaks(w, runs), []);
    });

    test("a real client pulls with the filled Secret", { skip: skipRegistry }, async () => {
      const pulled = await w.pull(w.authfileFromSecret("fill-3", SECRET));
      assert.ok(pulled.ok, pulled.stderr);
    });

    test("the next run changes nothing; status has nothing missing", async () => {
      const r = await ok(cli(w, "rotate", SELECTOR, ["--json"]));
      const out = JSON.parse(r.stdout);
      assert.equal(out.changed, false);
      assert.deepEqual(out.filledNamespaces, []);
      assert.match(r.stderr, /Unchanged: deploy token \d+ has \d+d left/);
      const status = JSON.parse((await ok(cli(w, "status", STATUS_SELECTOR, ["--json"]))).stdout);
      assert.deepEqual(
        status.findings.filter((f: { kind: string }) => f.kind === "missing-secret" || f.kind === "overlap"),
        [],
      );
      assert.deepEqual(
        status.tokens.map((t: { id: number; role: string; usedBy: string[] }) => [t.id, t.role, t.usedBy]),
        [[first, "current", ["fill-1", "fill-2", "fill-3"]]],
      );
      assert.deepEqual(leaks(w, runs), []);
    });

    test("a current token revoked in GitLab is not copied: the run rotates every namespace", async () => {
      w.kube.createNamespace("fill-4", LABEL);
      w.gitlab.revokeToken(first);
      const r = await ok(cli(w, "rotate", SELECTOR, ["--json"]));
      const out = JSON.parse(r.stdout);
      assert.match(r.stderr, new RegExp(`Rotating: deploy token ${first} in fill-1 is no longer live in GitLab`));
      assert.notEqual(out.token, null);
      assert.deepEqual(out.filledNamespaces, []);
      for (const ns of ["fill-1", "fill-2", "fill-3", "fill-4"])
        assert.equal(
          w.kube.getObject("secrets", ns, SECRET).metadata.annotations[`${ANN}token-id`],
          String(out.token.id),
        );
      assert.deepEqual(liveIds(w), [out.token.id]);
      assert.deepEqual(leaks(w, runs), []);
    });

    test("a listed namespace that did not exist is skipped, not filled; once created, the next run fills it", async () => {
      const secret = "ghostcred";
      // It sorts after team-a: the Lease (the cluster's identity in token names) stays in the first namespace that exists.
      const where = ["--namespace", "team-a,team-b,team-x"];
      const r1 = await ok(cli(w, "rotate", where, ["--json"], secret), 1);
      const minted = JSON.parse(r1.stdout).token.id as number;
      assert.deepEqual(JSON.parse(r1.stdout).skippedNamespaces, [{ namespace: "team-x", reason: "missing" }]);
      const missing = JSON.parse((await ok(cli(w, "status", where, ["--json"], secret))).stdout);
      const ghost = missing.secrets.find((x: { namespace: string }) => x.namespace === "team-x");
      assert.equal(ghost.namespaceState, "missing");
      assert.equal(ghost.fillWith, null, "rotate skips a namespace that does not exist; it is not one to fill");

      w.kube.createNamespace("team-x");
      const status = JSON.parse((await ok(cli(w, "status", where, ["--json"], secret))).stdout);
      assert.equal(status.secrets.find((x: { namespace: string }) => x.namespace === "team-x").fillWith, minted);
      const tokensBefore = w.gitlab.tokens.length;
      const r2 = await ok(cli(w, "rotate", where, ["--json"], secret));
      const out = JSON.parse(r2.stdout);
      assert.deepEqual(out.filledNamespaces, ["team-x"]);
      assert.equal(w.gitlab.tokens.length, tokensBefore);
      assert.equal(
        w.kube.getObject("secrets", "team-x", secret).metadata.annotations[`${ANN}token-id`],
        String(minted),
      );
      assert.deepEqual(leaks(w, runs), []);
    });

    test("a namespace list that grows rotates once, revokes the old list's token and warns of no overlap", async () => {
      const secret = "listcred";
      const list = (ns: string[]) => ["--namespace", ns.join(",")];
      const r1 = await ok(cli(w, "rotate", list(["team-a", "team-b"]), ["--json"], secret));
      const old = JSON.parse(r1.stdout).token.id as number;

      const plan = await ok(cli(w, "plan", list(["team-a", "team-b", "team-c"]), [], secret));
      assert.match(
        plan.stdout,
        /: rotate, because no managed Secret in team-c, and deploy token \d+ cannot be copied there: it was minted for namespaces team-a,team-b/,
      );
      assert.match(plan.stdout, new RegExp(`Revoke: +${old} `));
      assert.doesNotMatch(plan.stdout + plan.stderr, /written by two targets|Leave alive/);

      const r2 = await ok(cli(w, "rotate", list(["team-a", "team-b", "team-c"]), ["--json"], secret));
      const out = JSON.parse(r2.stdout);
      assert.match(
        r2.stderr,
        /Rotating: no managed Secret in team-c, and deploy token \d+ cannot be copied there: it was minted for namespaces team-a,team-b/,
      );
      assert.doesNotMatch(r2.stderr, /written by two targets|Left deploy token/);
      assert.deepEqual(out.revokedTokenIds, [old], "the old list's token is revoked, not orphaned");
      assert.ok(!w.gitlab.isLive(old));
      for (const ns of ["team-a", "team-b", "team-c"])
        assert.equal(
          w.kube.getObject("secrets", ns, secret).metadata.annotations[`${ANN}token-id`],
          String(out.token.id),
        );
      assert.deepEqual(
        liveIds(w).filter((id) => w.gitlab.tokens.find((t) => t.id === id)!.name.includes(`/${secret}/`)),
        [out.token.id],
      );

      const again = await ok(cli(w, "rotate", list(["team-a", "team-b", "team-c"]), ["--json"], secret));
      assert.equal(JSON.parse(again.stdout).changed, false);
      const status = JSON.parse(
        (await ok(cli(w, "status", list(["team-a", "team-b", "team-c"]), ["--json"], secret))).stdout,
      );
      assert.deepEqual(
        status.findings.filter((f: { severity: string }) => f.severity === "attention"),
        [],
      );
      assert.deepEqual(leaks(w, runs), []);
    });
  });
}
