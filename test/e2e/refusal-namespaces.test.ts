// A refusal whose message names no namespace (a quota, an admission webhook)
// is still named: the server dry run, before anything is minted, says which
// namespace refused and why, one line per namespace, capped, and the --json
// error lists them all. kubectl's request trace that makes this possible
// (-v=6) never reaches the user and holds no secret. On every backend this
// run has; the real server refuses by a ResourceQuota, the stand-in by an
// admission webhook's Status (it has neither quotas nor webhooks).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { REFUSAL_LINES } from "../../src/model/errors.ts";
import { stopSharedControlPlane, type RealKube } from "../support/kube-real.ts";
import {
  kubeBackends,
  leaks,
  NAMESPACES,
  PAT,
  PROJECT,
  run,
  startWorld,
  waitFor,
  type Captured,
  type World,
} from "../support/world.ts";

const SECRET = "regcred";
const WEBHOOK =
  'admission webhook "deny.example.com" denied the request: pull secrets here come from the platform team';
const QUOTA = "exceeded quota: no-secrets, requested: count/secrets=1, used: count/secrets=0, limited: count/secrets=0";

function args(w: World, namespaces: readonly string[], extra: string[] = []): string[] {
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
    namespaces.join(","),
    ...w.verifyFlags(),
    ...extra,
  ];
}

/** The dry run's PATCH of the Secret in these namespaces is denied by a webhook (stand-in). */
function denyDryRun(w: World, namespaces: RegExp, times: number): void {
  w.kube.fault({
    method: "PATCH",
    path: new RegExp(`/namespaces/${namespaces.source}/secrets/${SECRET}$`),
    query: /dryRun=All/,
    status: 403,
    message: WEBHOOK,
    times,
  });
}

/** A ResourceQuota that leaves no room for a Secret in `ns` (real server), enforced once the quota controller has counted. */
async function noRoom(real: RealKube, ns: string): Promise<void> {
  const quota = {
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: { name: "no-secrets", namespace: ns },
    spec: { hard: { "count/secrets": "0" } },
  };
  assert.equal(real.api("POST", `/api/v1/namespaces/${ns}/resourcequotas`, quota).status, 201);
  await waitFor(
    () => real.api("GET", `/api/v1/namespaces/${ns}/resourcequotas/no-secrets`).body?.status?.hard !== undefined,
    "quota status",
  );
}

const secretsIn = (w: World, namespaces: readonly string[]) =>
  namespaces.filter((ns) => w.kube.getObject("secrets", ns, SECRET));

after(stopSharedControlPlane);

for (const backend of kubeBackends({
  realBecause: "namespaces that terminate, with the namespace controller emptying them, behave as a real cluster's do",
  standinToo: "a webhook's denial of the dry run, which names no namespace, is a fault only the stand-in injects",
})) {
  describe(`refusals that name no namespace (${backend})`, () => {
    let w: World;
    const runs: Captured[] = [];
    before(async () => {
      w = await startWorld({ backend });
    });
    after(async () => {
      assert.deepEqual(leaks(w, runs), [], "no secret form leaked");
      await w?.close();
    });

    /** team-b refuses the Secret with a message that names no namespace: a quota (real), a webhook (stand-in). Returns the reason and the undo. */
    async function refuseTeamB(): Promise<{ reason: string; undo: () => void }> {
      if (backend === "standin") {
        denyDryRun(w, /team-b/, 1);
        return { reason: WEBHOOK, undo: () => w.kube.clearFaults() };
      }
      const real = w.kube as RealKube;
      await noRoom(real, "team-b");
      return {
        reason: QUOTA,
        undo: () => assert.equal(real.api("DELETE", "/api/v1/namespaces/team-b/resourcequotas/no-secrets").status, 200),
      };
    }

    test("one of three namespaces refuses the Secret: the dry run names it and why, nothing is minted or written", async () => {
      const { reason, undo } = await refuseTeamB();

      const r = await w.runCli(args(w, NAMESPACES, ["--json"]));
      runs.push(r);
      assert.equal(r.code, 1, r.stderr);
      assert.ok(
        r.stderr.includes(
          `error: Kubernetes: checking the Secrets (server dry run) failed in 1 namespace:\n  team-b: ${reason}\n`,
        ),
        r.stderr,
      );
      assert.doesNotMatch(r.stderr, /^ {2}team-[ac]:/m, "the namespaces that accepted it are not named");
      const out = JSON.parse(r.stdout);
      assert.deepEqual(out.error.refusedNamespaces, [{ namespace: "team-b", reason }]);
      assert.equal(out.error.exitCode, 1);
      // The trace kubectl wrote for it stays behind the parsed lines.
      for (const text of [r.stdout, r.stderr])
        assert.doesNotMatch(text, /round_trippers|I\d{4} \d\d:\d\d|server response object/);
      assert.equal(w.gitlab.tokens.length, 0, "nothing minted");
      assert.deepEqual(secretsIn(w, NAMESPACES), [], "nothing written");
      undo();
    });

    test("the Action fails the step with the same lines", async () => {
      const { reason, undo } = await refuseTeamB();
      const r = await w.runAction({
        "gitlab-url": w.gitlab.url,
        "gitlab-token": PAT,
        project: String(PROJECT.id),
        namespaces: NAMESPACES.join("\n"),
        "secret-name": SECRET,
        kubeconfig: w.kubeconfig,
        ...(w.verifyInputs("action") as Record<string, string>),
      });
      runs.push(r);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      // The runner's ::error:: command carries the message's line breaks as %0A.
      assert.ok(
        r.stdout
          .split("\n")
          .includes(
            `::error::Kubernetes: checking the Secrets (server dry run) failed in 1 namespace:%0A  team-b: ${reason}`,
          ),
        r.stdout,
      );
      assert.doesNotMatch(r.stdout + r.stderr, /round_trippers|I\d{4} \d\d:\d\d/);
      assert.equal(w.gitlab.tokens.length, 0, "nothing minted");
      assert.deepEqual(secretsIn(w, NAMESPACES), [], "nothing written");
      undo();
    });

    test("kubectl's trace (-v=6) holds no Secret data and no credential, only URLs and statuses", async () => {
      const marker = "gps-trace-marker-0123456789";
      w.addCredentials("trace-user", marker);
      const data = Buffer.from(
        JSON.stringify({ auths: { "r.test": { auth: Buffer.from(`trace-user:${marker}`).toString("base64") } } }),
      ).toString("base64");
      const list = {
        apiVersion: "v1",
        kind: "List",
        items: ["team-a", "no-such-ns"].map((namespace) => ({
          apiVersion: "v1",
          kind: "Secret",
          type: "kubernetes.io/dockerconfigjson",
          metadata: { name: "trace-check", namespace },
          data: { ".dockerconfigjson": data },
        })),
      };
      const k = await run(
        "kubectl",
        [
          "--kubeconfig",
          w.kubeconfig,
          "apply",
          "--server-side",
          "--dry-run=server",
          "--field-manager=trace-check",
          "-f",
          "-",
          "-v=6",
        ],
        w.baseEnv(),
        JSON.stringify(list),
      );
      assert.equal(k.code, 1, k.stderr);
      assert.match(
        k.stderr,
        /PATCH https:\/\/127\.0\.0\.1:\d+\/api\/v1\/namespaces\/no-such-ns\/secrets\/trace-check\?dryRun=All\S* 404 Not Found in \d+ milliseconds/,
      );
      // The stand-in's users hold bearer tokens; the real server's hold client certificates (their key must not show either).
      const credential = backend === "real" ? /-----BEGIN|PRIVATE KEY/ : new RegExp(w.kube.tokenFor());
      assert.doesNotMatch(k.stderr, credential);
      const forms = [...w.secretForms(), data].filter((f) => f.length >= 8);
      assert.deepEqual(
        forms.filter((f) => k.stderr.includes(f) || k.stdout.includes(f)).map((f) => f.slice(0, 6)),
        [],
      );
      assert.doesNotMatch(k.stderr, /Authorization|Bearer|Request Headers|Response Body/i);
    });

    test(
      `30 of 70 namespaces refuse, in both kubectl processes: ${REFUSAL_LINES} lines, a count of the rest, --json lists all 30`,
      { skip: backend === "real" && "a webhook's denial needs the stand-in" },
      async () => {
        const fleet = Array.from({ length: 70 }, (_, i) => `fleet-${String(i).padStart(2, "0")}`);
        for (const ns of fleet) w.kube.createNamespace(ns);
        const refused = fleet.filter((_, i) => i % 2 === 0 && i < 60);
        denyDryRun(w, /fleet-[0-5][02468]/, refused.length);

        const r = await w.runCli(args(w, fleet, ["--json"]));
        runs.push(r);
        assert.equal(r.code, 1, r.stderr);
        const shown = refused.slice(0, REFUSAL_LINES).map((ns) => `  ${ns}: ${WEBHOOK}`);
        assert.ok(
          r.stderr.includes(
            [
              "error: Kubernetes: checking the Secrets (server dry run) failed in 30 namespaces:",
              ...shown,
              "  … and 10 more namespaces",
              "",
            ].join("\n"),
          ),
          r.stderr,
        );
        const out = JSON.parse(r.stdout);
        assert.deepEqual(
          out.error.refusedNamespaces.map((x: { namespace: string }) => x.namespace),
          refused,
          "every refused namespace, in list order, across both parts",
        );
        assert.ok(out.error.refusedNamespaces.every((x: { reason: string }) => x.reason === WEBHOOK));
        assert.equal(w.gitlab.tokens.length, 0, "nothing minted");
        assert.deepEqual(secretsIn(w, fleet), [], "nothing written");
      },
    );
  });
}
