// What a run tells the monitoring, end to end through the built CLI: status's
// OpenMetrics parsed by a real Prometheus scrape, the metrics textfile and the
// Pushgateway body checked by promtool, and Kubernetes Events read back with
// the real `kubectl events` and `kubectl describe`, on the stand-in and (with
// GPS_KUBE_ASSETS) a real API server. Every test ends with the leak scan,
// which reads the metrics files, the pushed bodies and every Event.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import yaml from "js-yaml";
import type { PolicyRule } from "../support/kube/index.ts";
import { stopSharedControlPlane } from "../support/kube-real.ts";
import { promtoolCheckMetrics, scrapeWithPrometheus, skipWithoutPrometheus } from "../support/prometheus.ts";
import { startPushgatewayStandIn, type PushgatewayStandIn } from "../support/pushgateway-standin.ts";
import {
  kubeBackends,
  leaks,
  NAMESPACES,
  PROJECT,
  ROOT,
  run,
  startWorld,
  type Captured,
  type World,
} from "../support/world.ts";

const SECRET = "regcred";
const LEASE = `gitlab-pull-secret-${SECRET}`;
const OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const skipPrometheus = skipWithoutPrometheus();

function cli(w: World, command: string, extra: string[] = [], kubeconfig = w.kubeconfig): string[] {
  return [
    command,
    "--gitlab-url",
    w.gitlab.url,
    "--project",
    PROJECT.path,
    "--secret-name",
    SECRET,
    "--kubeconfig",
    kubeconfig,
    "--namespace",
    NAMESPACES.join(","),
    ...(command === "rotate" ? w.verifyFlags() : []),
    ...extra,
  ];
}

function assertNoLeaks(w: World, runs: Captured[]): void {
  assert.deepEqual(leaks(w, runs), [], "a secret form leaked");
}

/** The value of the one sample of `name` whose labels include `labels` (text format). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[3] ?? "").includes(`${k}="${v}"`))) return Number(m[4]);
  }
  return undefined;
}

function kubectl(w: World, args: string[], kubeconfig = w.kubeconfig): Promise<Captured> {
  return run("kubectl", ["--kubeconfig", kubeconfig, ...args], w.baseEnv());
}

function eventsOf(w: World, namespace: string): any[] {
  return w.kube.listObjects("events", namespace).filter((e) => e.reportingController === "gitlab-pull-secret");
}

/** The Role of examples/rbac/role.yaml in every target namespace, with or without its optional Events rule. */
function roleRules(withEvents: boolean): PolicyRule[] {
  const docs = yaml.loadAll(readFileSync(join(ROOT, "examples", "rbac", "role.yaml"), "utf8")) as any[];
  const rules = docs.filter((d) => d?.kind === "Role").flatMap((d) => d.rules as any[]);
  return rules
    .filter((r) => withEvents || !r.resources.includes("events"))
    .map((r) => ({ apiGroups: r.apiGroups, resources: r.resources, verbs: r.verbs, namespaces: [...NAMESPACES] }));
}

after(stopSharedControlPlane);

describe("status --format openmetrics, --metrics-file and --pushgateway-url", () => {
  let w: World;
  let pg: PushgatewayStandIn;
  const runs: Captured[] = [];

  before(async () => {
    w = await startWorld();
    pg = await startPushgatewayStandIn(w.signalsDir);
  });
  after(async () => {
    await pg?.close();
    await w?.close();
  });

  test(
    "status --format openmetrics: the table on stderr, OpenMetrics on stdout that Prometheus scrapes and promtool lints clean",
    { skip: skipPrometheus },
    async () => {
      const r0 = await w.runCli(cli(w, "rotate", ["--json"]));
      runs.push(r0);
      assert.equal(r0.code, 0, r0.stderr);
      const token = JSON.parse(r0.stdout).token;
      const r = await w.runCli(cli(w, "status", ["--format", "openmetrics"]));
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /NAMESPACE\s+TYPE\s+TOKEN/, "the table went to stderr");
      assert.ok(r.stdout.endsWith("# EOF\n"), "OpenMetrics ends with # EOF");
      for (const ns of NAMESPACES) {
        assert.equal(sample(r.stdout, "gitlab_pull_secret_secret_healthy", { namespace: ns, secret: SECRET }), 1, ns);
        assert.equal(
          sample(r.stdout, "gitlab_pull_secret_token_expiry_timestamp_seconds", { namespace: ns }),
          Date.parse(token.expiresAt) / 1000,
          ns,
        );
      }
      assert.equal(sample(r.stdout, "gitlab_pull_secret_api_token_info", { scopes: "api" }), 1);
      // Prometheus' own OpenMetrics parser: a scrape answered with the OpenMetrics content type.
      const scraped = await scrapeWithPrometheus(r.stdout, OPENMETRICS, "gitlab_pull_secret_secret_healthy");
      assert.deepEqual([scraped.health, scraped.lastError], ["up", ""]);
      assert.deepEqual(
        scraped.series.map((s) => [s.metric.namespace, s.value]).sort(),
        NAMESPACES.map((ns) => [ns, "1"]),
      );
      // The same parser refuses what is not OpenMetrics: proof the check above could fail.
      const broken = await scrapeWithPrometheus(r.stdout.replace("# EOF\n", ""), OPENMETRICS, "up");
      assert.equal(broken.health, "down");
      assert.match(broken.lastError, /EOF/);
      const lint = await promtoolCheckMetrics(r.stdout);
      assert.deepEqual(lint, { code: 0, output: "" });
      assertNoLeaks(w, runs);
    },
  );

  test("--format is openmetrics for status, and not with --json", async () => {
    const bad = await w.runCli(cli(w, "status", ["--format", "yaml"]));
    const both = await w.runCli(cli(w, "status", ["--format", "openmetrics", "--json"]));
    runs.push(bad, both);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--format: invalid value "yaml"; expected openmetrics/);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /not both/);
    assertNoLeaks(w, runs);
  });

  test(
    "rotate --metrics-file and --pushgateway-url: the textfile written whole, the same body pushed; a failed run keeps the last success",
    { skip: skipPrometheus },
    async () => {
      const file = join(w.signalsDir, "gitlab-pull-secret.prom");
      const r = await w.runCli(cli(w, "rotate", ["--json", "--metrics-file", file, "--pushgateway-url", pg.url]));
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      const token = JSON.parse(r.stdout).token;
      const text = readFileSync(file, "utf8");
      assert.deepEqual(await promtoolCheckMetrics(text), { code: 0, output: "" });
      assert.equal(sample(text, "gitlab_pull_secret_last_run_result", { result: "rotated" }), 1);
      assert.equal(sample(text, "gitlab_pull_secret_last_run_result", { result: "failed" }), 0);
      assert.equal(sample(text, "gitlab_pull_secret_last_run_success"), 1);
      assert.equal(sample(text, "gitlab_pull_secret_last_run_minted_tokens"), 1);
      assert.equal(sample(text, "gitlab_pull_secret_last_run_revoked_tokens"), 1, "the first test's token");
      const success = sample(text, "gitlab_pull_secret_last_success_timestamp_seconds")!;
      assert.equal(success, sample(text, "gitlab_pull_secret_last_run_timestamp_seconds"));
      assert.ok(sample(text, "gitlab_pull_secret_last_run_duration_seconds")! > 0);
      for (const ns of NAMESPACES) {
        assert.equal(
          sample(text, "gitlab_pull_secret_token_expiry_timestamp_seconds", { namespace: ns }),
          Date.parse(token.expiresAt) / 1000,
          ns,
        );
      }
      assert.equal(pg.pushes.length, 1);
      const push = pg.pushes[0]!;
      assert.equal(push.method, "POST");
      assert.deepEqual(push.grouping, { job: "gitlab-pull-secret", secret: SECRET });
      assert.match(push.contentType, /^text\/plain; version=0\.0\.4/);
      assert.equal(push.body, text, "the push is the textfile");
      assert.equal(push.authorization, false);

      // A run that fails (the project does not exist): its own result, the previous success carried over.
      const failed = await w.runCli(
        cli(w, "rotate", ["--metrics-file", file, "--pushgateway-url", pg.url]).map((a) =>
          a === PROJECT.path ? "grp/gone" : a,
        ),
      );
      runs.push(failed);
      assert.equal(failed.code, 1, failed.stderr);
      const after = readFileSync(file, "utf8");
      assert.deepEqual(await promtoolCheckMetrics(after), { code: 0, output: "" });
      assert.equal(sample(after, "gitlab_pull_secret_last_run_result", { result: "failed" }), 1);
      assert.equal(sample(after, "gitlab_pull_secret_last_run_success"), 0);
      assert.equal(sample(after, "gitlab_pull_secret_last_success_timestamp_seconds"), success);
      assert.equal(pg.pushes.length, 2);
      // POST replaces only the names pushed: without a new last success, the Pushgateway keeps the one it has.
      assert.equal(sample(pg.pushes[1]!.body, "gitlab_pull_secret_last_success_timestamp_seconds"), success);
      assert.deepEqual(
        readdirSync(w.signalsDir).filter((f) => f.endsWith(".tmp")),
        [],
        "no temporary file left",
      );
      assertNoLeaks(w, runs);
    },
  );

  test("status --metrics-file writes the status metrics; a Pushgateway that refuses is a warning, not a failure", async () => {
    const file = join(w.signalsDir, "status.prom");
    pg.failNext(400, "pushed metrics are invalid or inconsistent with existing metrics");
    const r = await w.runCli(cli(w, "status", ["--metrics-file", file, "--pushgateway-url", pg.url]));
    runs.push(r);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /warning: Could not push the metrics: the Pushgateway at 127\.0\.0\.1:\d+ answered HTTP 400: pushed metrics are invalid/,
    );
    const text = readFileSync(file, "utf8");
    assert.equal(sample(text, "gitlab_pull_secret_secret_healthy", { namespace: "team-a" }), 1);
    assert.equal(sample(text, "gitlab_pull_secret_last_run_success"), undefined, "status claims no run");
    assertNoLeaks(w, runs);
  });

  test("a Pushgateway URL with credentials or a query is refused before anything runs, and never shown", async () => {
    const kubectlBefore = w.kubectlCalls().length;
    const creds = await w.runCli(cli(w, "rotate", ["--pushgateway-url", "http://pusher:Pg-s3cret-pw@127.0.0.1:9091"]));
    const query = await w.runCli(cli(w, "rotate", ["--pushgateway-url", "http://127.0.0.1:9091/?token=Pg-q-s3cret"]));
    const unwritable = await w.runCli(cli(w, "rotate", ["--metrics-file", join(w.dir, "no-such-dir", "x.prom")]));
    runs.push(creds, query, unwritable);
    for (const r of [creds, query, unwritable]) assert.equal(r.code, 2, r.stderr);
    assert.match(creds.stderr, /--pushgateway-url: .*credentials in a URL end up in logs; this one was not shown/);
    assert.match(query.stderr, /--pushgateway-url: .*query or fragment and was not shown/);
    assert.match(unwritable.stderr, /--metrics-file: invalid value .*writable directory \(ENOENT\)/);
    for (const r of [creds, query]) assert.doesNotMatch(`${r.stdout}${r.stderr}`, /s3cret/);
    assert.equal(w.kubectlCalls().length, kubectlBefore, "no kubectl ran");
    w.addCredentials("pusher", "Pg-s3cret-pw");
    assertNoLeaks(w, runs);
  });
});

for (const backend of kubeBackends({
  realBecause: "events.k8s.io/v1 validation and its limits are the real server's",
})) {
  describe(`Kubernetes Events (--events, ${backend})`, () => {
    let w: World;
    const runs: Captured[] = [];

    before(async () => {
      w = await startWorld({ backend });
    });
    after(async () => {
      await w?.close();
    });

    test("one Event per run on the Lease, read back with kubectl events and kubectl describe; no per-namespace Normal Events", async () => {
      const r = await w.runCli(cli(w, "rotate", ["--events"]));
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      const lease = w.kube.getObject("leases", "team-a", LEASE);
      let events = eventsOf(w, "team-a");
      assert.equal(events.length, 1);
      const e = events[0];
      assert.deepEqual(
        [e.type, e.reason, e.action, e.reportingController],
        ["Normal", "Rotated", "Rotate", "gitlab-pull-secret"],
      );
      assert.deepEqual([e.regarding.kind, e.regarding.name, e.regarding.uid], ["Lease", LEASE, lease.metadata.uid]);
      assert.ok(e.reportingInstance);
      assert.match(e.note, /^Rotated Secret "regcred" in 3 namespaces: deploy token \d+/);
      for (const ns of ["team-b", "team-c"]) assert.deepEqual(eventsOf(w, ns), [], ns);

      const nothing = await w.runCli(cli(w, "rotate", ["--events", "--rotate-before", "1d"]));
      runs.push(nothing);
      assert.equal(nothing.code, 0, nothing.stderr);
      events = eventsOf(w, "team-a");
      assert.deepEqual(events.map((x) => x.reason).sort(), ["NothingDue", "Rotated"]);

      const listed = await kubectl(w, ["events", "-n", "team-a", "--for", `lease/${LEASE}`]);
      runs.push(listed);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /Normal\s+Rotated\s+Lease\/gitlab-pull-secret-regcred\s+Rotated Secret "regcred"/);
      assert.match(listed.stdout, /Normal\s+NothingDue\s+Lease\/gitlab-pull-secret-regcred\s+Nothing due/);
      const described = await kubectl(w, ["describe", "lease", "-n", "team-a", LEASE]);
      runs.push(described);
      assert.equal(described.code, 0, described.stderr);
      assert.match(described.stdout, /Events:[\s\S]*Normal\s+Rotated\s+\S+\s+gitlab-pull-secret\s+Rotated Secret/);
      assertNoLeaks(w, runs);
    });

    test("a refused run: RotationFailed on the Lease and a Warning on the Secret in the namespace that needs a person", async () => {
      // Someone else's pull Secret of our name and type (an Opaque one is refused for its type first):
      // replaced, not edited (a real server never changes a Secret's type).
      w.kube.deleteObject("secrets", "team-b", SECRET);
      const theirs = Buffer.from(JSON.stringify({ auths: {} })).toString("base64");
      w.kube.putObject("secrets", {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: SECRET, namespace: "team-b" },
        type: "kubernetes.io/dockerconfigjson",
        data: { ".dockerconfigjson": theirs },
      });
      try {
        const r = await w.runCli(cli(w, "rotate", ["--events"]));
        runs.push(r);
        assert.equal(r.code, 2, r.stderr);
        const failed = eventsOf(w, "team-a").filter((e) => e.reason === "RotationFailed");
        assert.equal(failed.length, 1);
        assert.equal(failed[0].type, "Warning");
        assert.match(failed[0].note, /^Rotation failed: Secret "regcred" already exists in namespace\(s\) team-b/);
        const warned = eventsOf(w, "team-b");
        assert.deepEqual(
          warned.map((e) => [e.type, e.reason, e.regarding.kind, e.regarding.name]),
          [["Warning", "SecretNotManaged", "Secret", SECRET]],
        );
        const listed = await kubectl(w, ["events", "-n", "team-b", "--types", "Warning"]);
        runs.push(listed);
        assert.match(
          listed.stdout,
          /Warning\s+SecretNotManaged\s+Secret\/regcred\s+Secret "regcred" exists and is not managed/,
        );
      } finally {
        w.kube.deleteObject("secrets", "team-b", SECRET);
      }
      assertNoLeaks(w, runs);
    });

    test("RBAC without create on events: said once, the rotation goes on", async () => {
      w.kube.addUser("deployer", roleRules(false));
      const kc = w.kube.writeKubeconfig(join(w.dir, "deployer"), "deployer");
      const before = w.kube.listObjects("events").length;
      const r = await w.runCli(cli(w, "rotate", ["--events"], kc));
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
      const said = r.stderr.split("\n").filter((l) => /Kubernetes Events/.test(l));
      assert.equal(said.length, 1, r.stderr);
      assert.match(
        said[0]!,
        /^warning: Kubernetes Events: RBAC refuses create on events \(API group events\.k8s\.io\) in some namespace; 0 of 1 recorded/,
      );
      assert.equal(w.kube.listObjects("events").length, before);

      // With the Role's optional rule the same user records them.
      w.kube.addUser("deployer", roleRules(true));
      const ok = await w.runCli(cli(w, "rotate", ["--events", "--force", "--rotate-before", "1d"], kc));
      runs.push(ok);
      assert.equal(ok.code, 0, ok.stderr);
      assert.doesNotMatch(ok.stderr, /Kubernetes Events/);
      assert.equal(eventsOf(w, "team-a").filter((e) => e.reason === "Rotated").length, 2);
      assertNoLeaks(w, runs);
    });
  });
}
