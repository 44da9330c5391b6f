// The API token's own expiry, end to end through the built CLI: status shows
// its date and scopes and (with --warn-within) exits 3 when it is due, rotate
// and plan warn within 14 days, and a GitLab that refuses
// /personal_access_tokens/self (before 15.5) is named once while the command
// carries on. Every test ends with the leak scan.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { leaks, NAMESPACES, PROJECT, startWorld, type Captured, type World } from "../support/world.ts";

const DAY_MS = 86_400_000;
const SELF = "GET /api/v4/personal_access_tokens/self";

/** The UTC date `days` whole days after today: a token expiring then has between days-1 and days left. */
function dateIn(days: number): string {
  return new Date(Date.now() + days * DAY_MS).toISOString().slice(0, 10);
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

describe("the API token's own expiry through the CLI", () => {
  let w: World;
  const runs: Captured[] = [];

  before(async () => {
    w = await startWorld();
  });
  after(async () => {
    await w?.close();
  });

  /** A token of the project's Maintainer, as GitLab 16.0 and later makes them: with an expiry date. */
  function apiToken(secret: string, name: string, expiresAt: string | null, scopes = ["api"]): Record<string, string> {
    w.gitlab.addPersonalAccessToken("maintainer", secret, scopes, { name, expiresAt });
    w.addCredentials("maintainer", secret);
    return { GITLAB_TOKEN: secret };
  }

  function args(command: string, extra: string[] = []): string[] {
    const verify = command === "status" ? [] : w.verifyFlags();
    return [
      command,
      "--gitlab-url",
      w.gitlab.url,
      "--project",
      PROJECT.path,
      "--kubeconfig",
      w.kubeconfig,
      "--namespace",
      NAMESPACES.join(","),
      ...verify,
      ...extra,
    ];
  }

  async function cli(command: string, extra: string[], env: Record<string, string>): Promise<Captured> {
    const r = await w.runCli(args(command, extra), { env });
    runs.push(r);
    return r;
  }

  test("an API token due in 5 days: status --warn-within 7d exits 3 naming the date and what to do; rotate and plan warn", async () => {
    // Expires at 00:00 UTC six dates from today: 5 days and some hours left.
    const due = dateIn(6);
    const env = apiToken("glpat-e2eDueInFiveDays000001", "ci rotation", due, ["api", "read_registry"]);
    const rotated = await cli("rotate", ["--json"], env);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.equal(JSON.parse(rotated.stdout).changed, true, "the rotation went on");
    const warning = `warning: The GitLab API token "ci rotation" expires in 5d, on ${due} 00:00 UTC (within 14 days): create a new access token with the api scope (same role) and update the variable that holds it (GITLAB_TOKEN); once it lapses, every rotation fails`;
    assert.equal(count(rotated.stderr, warning), 1, rotated.stderr);

    const plan = await cli("plan", [], env);
    assert.equal(plan.code, 0, plan.stderr);
    assert.equal(count(plan.stderr, warning), 1, plan.stderr);

    w.gitlab.resetRequests();
    const status = await cli("status", ["--warn-within", "7d"], env);
    assert.equal(status.code, 3, status.stderr + status.stdout);
    assert.match(
      status.stdout,
      new RegExp(`^API token "ci rotation": expires ${due} \\(5\\.\\d days left\\); scopes api, read_registry$`, "m"),
    );
    assert.ok(
      status.stdout.includes(
        `attention: the GitLab API token "ci rotation" expires in 5d, on ${due} 00:00 UTC (within --warn-within): create a new access token`,
      ),
      status.stdout,
    );
    assert.ok(w.gitlab.requests.some((q) => `${q.method} ${q.path}` === SELF && q.status === 200));

    const json = await cli("status", ["--json", "--warn-within", "7d"], env);
    assert.equal(json.code, 3);
    const report = JSON.parse(json.stdout);
    assert.equal(report.apiToken.checked, true);
    assert.equal(report.apiToken.name, "ci rotation");
    assert.equal(report.apiToken.expiresAt, due);
    assert.deepEqual(report.apiToken.scopes, ["api", "read_registry"]);
    assert.ok(report.apiToken.daysLeft > 5 && report.apiToken.daysLeft < 6, String(report.apiToken.daysLeft));
    assert.deepEqual(
      report.findings.map((f: { kind: string }) => f.kind),
      ["api-token-expiring"],
    );

    // The same token is no concern within a shorter window: the deploy token is fresh, so nothing needs attention.
    const shorter = await cli("status", ["--warn-within", "3d"], env);
    assert.equal(shorter.code, 0, shorter.stdout);
    assert.doesNotMatch(shorter.stdout, /attention:/);
    assert.deepEqual(leaks(w, runs), []);
  });

  test("an API token far from expiry: status shows its date and scopes, nothing needs attention, rotate does not warn", async () => {
    const far = dateIn(200);
    const env = apiToken("glpat-e2eFarFromExpiry000002", "long lived", far);
    const rotated = await cli("rotate", ["--json"], env);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.doesNotMatch(rotated.stderr, /warning:/);
    assert.match(
      rotated.stderr,
      new RegExp(`^API token "long lived": expires ${far} \\(199\\.\\d days left\\); scopes api$`, "m"),
    );

    const status = await cli("status", ["--warn-within", "7d"], env);
    assert.equal(status.code, 0, status.stdout);
    assert.match(status.stdout, new RegExp(`^API token "long lived": expires ${far} `, "m"));
    assert.match(status.stdout, /Nothing needs attention\./);

    // A token from before GitLab 16.0 may never expire (the world's own token is one).
    const legacy = await cli("status", ["--json"], {});
    assert.equal(legacy.code, 0, legacy.stderr);
    assert.deepEqual(JSON.parse(legacy.stdout).apiToken, {
      checked: true,
      name: "maintainer token",
      scopes: ["api"],
      expiresAt: null,
      daysLeft: null,
    });
    assert.deepEqual(leaks(w, runs), []);
  });

  for (const [version, mode, answer] of [
    ["before 15.1", "absent", "HTTP 404: 404 Not Found"],
    ["15.1 to 15.4", "by-id", "HTTP 401: 401 Unauthorized"],
  ] as const) {
    test(`GitLab ${version} refuses /personal_access_tokens/self (${answer}): said once, and status and rotate carry on`, async () => {
      w.gitlab.setPatSelf(mode);
      try {
        const env = apiToken(`glpat-e2eOldGitLab${mode.padEnd(9, "0")}03`, "old gitlab", dateIn(3));
        const note = `GitLab refused GET /personal_access_tokens/self (${answer}): GitLab before 15.5 has no such endpoint`;
        const status = await cli("status", ["--warn-within", "7d"], env);
        assert.equal(status.code, 0, status.stdout + status.stderr);
        assert.equal(count(status.stdout + status.stderr, note), 1, status.stdout);
        assert.match(status.stdout, /^API token: not checked\. GitLab refused/m);
        assert.match(status.stdout, /Nothing needs attention\./);

        const json = await cli("status", ["--json"], env);
        const report = JSON.parse(json.stdout);
        assert.equal(report.apiToken.checked, false);
        assert.ok(report.apiToken.reason.startsWith(note), report.apiToken.reason);

        w.gitlab.resetRequests();
        const rotated = await cli("rotate", ["--json"], env);
        assert.equal(rotated.code, 0, rotated.stderr);
        assert.equal(JSON.parse(rotated.stdout).changed, true);
        assert.equal(count(rotated.stderr, note), 1, rotated.stderr);
        assert.doesNotMatch(rotated.stderr, /warning:/);
        // Asked once, refused once, not retried.
        assert.deepEqual(
          w.gitlab.requests.filter((q) => `${q.method} ${q.path}` === SELF).map((q) => q.status),
          [mode === "absent" ? 404 : 401],
        );
      } finally {
        w.gitlab.setPatSelf("self");
      }
      assert.deepEqual(leaks(w, runs), []);
    });
  }

  test("an API token that has lapsed fails with GitLab's own answer, not a note about /self", async () => {
    const env = apiToken("glpat-e2eLapsedYesterday0004", "lapsed", dateIn(0));
    const r = await cli("rotate", [], env);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /GitLab: reading the project failed \(HTTP 401\): invalid_token: Token is expired\./);
    assert.doesNotMatch(r.stderr, /personal_access_tokens/);
    assert.deepEqual(leaks(w, runs), []);
  });
});
