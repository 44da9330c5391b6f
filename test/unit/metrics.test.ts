// The pure parts of the run's signals: the metric families built from a
// status report and a run (faces/metrics.ts), the Events a run leaves
// (commands/run-signals.ts, model/events.ts), and the Pushgateway URL check.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { StatusReport } from "../../src/commands/status-report.ts";
import type { RotationReport } from "../../src/commands/rotation-report.ts";
import { expectedLease, runEvents, runResult, runSucceeded, WARNING_CAP } from "../../src/commands/run-signals.ts";
import { parseConfig } from "../../src/config/inputs.ts";
import { KubeError, UnmanagedSecretError } from "../../src/model/errors.ts";
import { clip, eventList, NOTE_LIMIT } from "../../src/model/events.ts";
import { metricsText, previousLastSuccess, secretHealthy, type RunFacts } from "../../src/faces/metrics.ts";
import { actionOutputs } from "../../src/faces/report.ts";
import { UsageError } from "../../src/model/errors.ts";

function status(over: Partial<StatusReport> = {}): StatusReport {
  const secret = (namespace: string, extra: object = {}) => ({
    namespace,
    present: true,
    managed: true,
    type: "kubernetes.io/dockerconfigjson",
    credentials: "deploy-token" as const,
    owner: "project/42",
    tokenId: 7,
    username: "gitlab+deploy-token-7",
    expiresAt: "2030-01-08T00:00:00.000Z",
    daysLeft: 7,
    tokenState: "live" as const,
    fillWith: null,
    namespaceState: null,
    ...extra,
  });
  return {
    secretName: "regcred",
    owner: { kind: "project", id: 42, path: "grp/app" },
    static: null,
    secretType: "kubernetes.io/dockerconfigjson",
    checkedAt: "2030-01-01T00:00:00.000Z",
    warnWithinMs: undefined,
    secrets: [
      secret("a"),
      secret("b", { tokenState: "expired" }),
      { ...secret("c"), present: false, managed: false, tokenId: null, expiresAt: null, tokenState: null },
    ],
    tokens: [],
    apiToken: { checked: true, name: "rotator", scopes: ["read_api", "api"], expiresAt: "2030-02-01", daysLeft: 31 },
    findings: [
      { severity: "attention", kind: "dead-token", tokenId: 7, namespaces: ["b"], message: "dead" },
      { severity: "attention", kind: "missing-secret", namespaces: ["c"], message: "missing" },
      { severity: "info", kind: "stale", tokenId: 3, message: "stale" },
    ],
    attention: true,
    ...over,
  };
}

const run: RunFacts = {
  secretName: "regcred",
  result: "rotated",
  success: true,
  finishedAt: new Date("2030-01-01T00:00:10Z"),
  durationSeconds: 2.5,
  lastSuccessSeconds: 1893456010,
  minted: 1,
  revoked: 2,
  swept: 0,
  filled: 0,
  skipped: 1,
};

function report(over: Partial<RotationReport> = {}): RotationReport {
  return {
    changed: true,
    dryRun: false,
    secretName: "regcred",
    namespaces: ["a", "b"],
    skipped: [],
    created: [],
    reason: "forced",
    token: { id: 9, username: "gitlab+deploy-token-9", expiresAt: "2030-01-08T00:00:00.000Z" },
    previousTokenIds: [7],
    keptTokenIds: [],
    revokedTokenIds: [7],
    sweptTokenIds: [],
    verified: null,
    serviceAccountsUpdated: [],
    owner: { kind: "project", id: 42, path: "grp/app" },
    static: null,
    registry: "registry.test:5005",
    registryAliases: [],
    problems: [],
    ...over,
  };
}

describe("metrics", () => {
  test("per Secret: expiry where a token is held, health for every listed namespace", async () => {
    const { text } = await metricsText("text", { status: status() });
    assert.match(
      text,
      /^gitlab_pull_secret_token_expiry_timestamp_seconds\{namespace="a",secret="regcred"\} 1894060800$/m,
    );
    assert.doesNotMatch(text, /token_expiry_timestamp_seconds\{namespace="c"/);
    assert.match(text, /^gitlab_pull_secret_secret_healthy\{namespace="a",secret="regcred"\} 1$/m);
    assert.match(text, /^gitlab_pull_secret_secret_healthy\{namespace="b",secret="regcred"\} 0$/m, "an expired token");
    assert.match(text, /^gitlab_pull_secret_secret_healthy\{namespace="c",secret="regcred"\} 0$/m, "no Secret");
    assert.match(text, /^gitlab_pull_secret_findings\{secret="regcred",reason="dead-token",severity="attention"\} 1$/m);
    assert.match(text, /^gitlab_pull_secret_findings\{secret="regcred",reason="stale",severity="info"\} 1$/m);
    assert.match(
      text,
      /^gitlab_pull_secret_api_token_info\{secret="regcred",name="rotator",scopes="api,read_api"\} 1$/m,
    );
    assert.match(text, /^gitlab_pull_secret_api_token_expiry_timestamp_seconds\{secret="regcred"\} 1896134400$/m);
    assert.match(text, /^gitlab_pull_secret_attention\{secret="regcred"\} 1$/m);
    assert.doesNotMatch(text, /# EOF/, "the text format has no EOF");
  });

  test("an API token that never expires has info but no expiry; one that could not be read has neither", async () => {
    const never = (
      await metricsText("text", {
        status: status({ apiToken: { checked: true, name: "old", scopes: ["api"], expiresAt: null, daysLeft: null } }),
      })
    ).text;
    assert.match(never, /api_token_info/);
    assert.doesNotMatch(never, /api_token_expiry/);
    const unread = (
      await metricsText("text", { status: status({ apiToken: { checked: false, reason: "GitLab 15.4" } }) })
    ).text;
    assert.doesNotMatch(unread, /api_token/);
  });

  test("a run: its result as one of five series, counts, timestamps in seconds; OpenMetrics ends with # EOF", async () => {
    const { text, contentType } = await metricsText("openmetrics", { run });
    assert.equal(contentType, "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assert.ok(text.endsWith("\n# EOF\n"));
    const results = [
      ...text.matchAll(/^gitlab_pull_secret_last_run_result\{secret="regcred",result="([a-z-]+)"\} (\d)$/gm),
    ].map((m) => [m[1], m[2]]);
    assert.deepEqual(results, [
      ["rotated", "1"],
      ["applied", "0"],
      ["filled", "0"],
      ["nothing-due", "0"],
      ["failed", "0"],
    ]);
    assert.match(text, /^gitlab_pull_secret_last_run_timestamp_seconds\{secret="regcred"\} 1893456010$/m);
    assert.match(text, /^gitlab_pull_secret_last_run_duration_seconds\{secret="regcred"\} 2.5$/m);
    assert.match(text, /^gitlab_pull_secret_last_run_revoked_tokens\{secret="regcred"\} 2$/m);
    assert.match(text, /^gitlab_pull_secret_last_run_skipped_namespaces\{secret="regcred"\} 1$/m);
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      assert.equal(m[2], "gauge", m[1]);
      assert.match(m[1]!, /^gitlab_pull_secret_[a-z_]+$/);
      assert.doesNotMatch(m[1]!, /_total$/);
    }
  });

  test("the last success is carried from the file, for its own Secret only", async () => {
    const before = (await metricsText("text", { run })).text;
    assert.equal(previousLastSuccess(before, "regcred"), 1893456010);
    assert.equal(previousLastSuccess(before, "other"), undefined);
    assert.equal(previousLastSuccess("", "regcred"), undefined);
  });

  test("health: an overlap or another owner makes a live Secret unhealthy; an expiring token does not", () => {
    const s = status({ findings: [{ severity: "attention", kind: "expiring", namespaces: ["a"], message: "soon" }] });
    assert.equal(secretHealthy(s, "a"), true);
    assert.equal(
      secretHealthy(
        status({ findings: [{ severity: "attention", kind: "overlap", namespaces: ["a"], message: "x" }] }),
        "a",
      ),
      false,
    );
  });
});

describe("run signals", () => {
  test("result and success from the report", () => {
    assert.equal(runResult({ report: report() }), "rotated");
    assert.equal(runResult({ report: report({ token: null, filled: { namespaces: ["b"], tokenId: 7 } }) }), "filled");
    assert.equal(runResult({ report: report({ token: null }) }), "nothing-due");
    assert.equal(
      runResult({ report: report({ token: null, static: { username: "robot", applied: true } }) }),
      "applied",
    );
    assert.equal(runResult({ error: new Error("x") }), "failed");
    assert.equal(runSucceeded({ report: report({ problems: ["Skipped c"] }) }), false);
    assert.equal(actionOutputs(report()).result, "rotated");
    assert.equal(actionOutputs(report())["token-expiry-timestamp"], "1894060800");
    assert.equal(actionOutputs(report(), { apiTokenExpiresAt: "2030-02-01" })["api-token-expires-at"], "2030-02-01");
  });

  test("one Event per run on the Lease; Warnings per namespace that needs a person, capped, the rest counted", () => {
    const lease = expectedLease(["b", "a"], "regcred")!;
    assert.deepEqual([lease.namespace, lease.name], ["a", "gitlab-pull-secret-regcred"]);
    const ok = runEvents({ outcome: { report: report() }, lease, secretName: "regcred", redact: (t) => t });
    assert.deepEqual(
      ok.map((e) => [e.type, e.reason, e.regarding.kind]),
      [["Normal", "Rotated", "Lease"]],
    );
    const many = Array.from({ length: 30 }, (_, i) => `ns-${i}`);
    const refused = new KubeError(
      "applying",
      "",
      many,
      undefined,
      many.map((namespace) => ({ namespace, reason: "forbidden" })),
    );
    const events = runEvents({ outcome: { error: refused }, lease, secretName: "regcred", redact: (t) => t });
    assert.equal(events.length, 1 + WARNING_CAP);
    assert.deepEqual([events[0]!.type, events[0]!.reason], ["Warning", "RotationFailed"]);
    assert.match(events[0]!.note, /10 more namespace\(s\) need attention/);
    assert.ok(
      events
        .slice(1)
        .every((e) => e.type === "Warning" && e.reason === "SecretRefused" && e.regarding.kind === "Secret"),
    );
    const foreign = runEvents({
      outcome: { error: new UnmanagedSecretError("regcred", ["b"]) },
      lease: undefined,
      secretName: "regcred",
      redact: (t) => t,
    });
    assert.deepEqual(
      foreign.map((e) => [e.reason, e.regarding.namespace]),
      [["SecretNotManaged", "b"]],
    );
  });

  test("every note passes the run's redaction", () => {
    const secret = "glpat-verySecretValue123";
    const events = runEvents({
      outcome: { error: new Error(`boom ${secret}`) },
      lease: expectedLease(["a"], "regcred"),
      secretName: "regcred",
      redact: (t) => t.replaceAll(secret, "***"),
    });
    assert.equal(events[0]!.note, "Rotation failed: boom ***");
  });

  test("the manifest: events.k8s.io/v1 within the API server's limits", () => {
    const long = "é".repeat(2000);
    assert.ok(Buffer.byteLength(clip(long, NOTE_LIMIT)) <= NOTE_LIMIT);
    const list = JSON.parse(
      eventList(
        [
          {
            type: "Warning",
            reason: "X",
            action: "Rotate",
            regarding: { apiVersion: "v1", kind: "Secret", namespace: "a", name: "s".repeat(253) },
            note: long,
          },
        ],
        new Date(0),
        "h".repeat(300),
      ),
    );
    const e = list.items[0];
    assert.equal(e.apiVersion, "events.k8s.io/v1");
    assert.equal(e.metadata.namespace, "a");
    assert.ok(e.metadata.name.length <= 253);
    assert.ok(e.reportingInstance.length <= 128);
    assert.ok(Buffer.byteLength(e.note) <= NOTE_LIMIT);
    assert.equal(e.eventTime, "1970-01-01T00:00:00.000000Z");
  });
});

describe("--pushgateway-url", () => {
  const parse = (url: string) =>
    parseConfig({ project: "1", namespaces: ["a"], pushgatewayUrl: url }, { GITLAB_TOKEN: "glpat-x" }, "cli");
  test("scheme, host, port and a path prefix; never credentials, a query or a fragment, and never echoed", () => {
    assert.equal(parse("http://pg.monitoring:9091/").observe.pushgatewayUrl, "http://pg.monitoring:9091");
    assert.equal(
      parse("https://proxy.example/pushgateway/").observe.pushgatewayUrl,
      "https://proxy.example/pushgateway",
    );
    for (const bad of [
      "http://u:hunter2hunter2@pg:9091",
      "http://pg:9091/?hunter2hunter2",
      "http://pg:9091/#hunter2hunter2",
      "ftp://pg/hunter2hunter2",
      "::hunter2hunter2",
    ]) {
      assert.throws(
        () => parse(bad),
        (e: unknown) =>
          e instanceof UsageError && !e.message.includes("hunter2") && /--pushgateway-url/.test(e.message),
        bad,
      );
    }
  });
});
