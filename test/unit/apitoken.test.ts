// The API token's own expiry: the pure decisions (when it is due, what the
// warning says), status's finding, and rotate's one line or warning.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ROTATE_WARN_MS,
  apiTokenExpiresWithin,
  apiTokenExpiryMessage,
  apiTokenLine,
  checkApiToken,
  readApiToken,
  type ApiTokenStatus,
} from "../../src/commands/apitoken.js";
import { GitLabError } from "../../src/model/errors.js";
import type { ApiTokenSelf, Log } from "../../src/model/ports.js";
import { assessStatus, statusNeedsAttention } from "../../src/commands/status.js";
import { statusLines } from "../../src/faces/status-view.js";

const DAY = 86_400_000;
const NOW = new Date("2026-11-23T10:00:00.000Z");
const token = (
  expiresAt: string | null,
  daysLeft: number | null = null,
): Extract<ApiTokenStatus, { checked: true }> => ({ checked: true, name: "ci", scopes: ["api"], expiresAt, daysLeft });

function recorder(): Log & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), secret: () => undefined };
}

describe("when the API token is due", () => {
  test("it stops working at 00:00 UTC of its date: due exactly when that instant is within the window", () => {
    const t = token("2026-11-30"); // 6 d 14 h from NOW
    assert.equal(apiTokenExpiresWithin(t, NOW, 6 * DAY + 14 * 3_600_000), true);
    assert.equal(apiTokenExpiresWithin(t, NOW, 6 * DAY + 14 * 3_600_000 - 1), false);
    assert.equal(apiTokenExpiresWithin(t, NOW, ROTATE_WARN_MS), true);
    assert.equal(apiTokenExpiresWithin(token("2026-12-08"), NOW, ROTATE_WARN_MS), false, "14 d 14 h left");
  });

  test("never due: a token without expiry, one not checked, none at all", () => {
    assert.equal(apiTokenExpiresWithin(token(null), NOW, 1000 * DAY), false);
    assert.equal(apiTokenExpiresWithin({ checked: false, reason: "x" }, NOW, 1000 * DAY), false);
    assert.equal(apiTokenExpiresWithin(null, NOW, 1000 * DAY), false);
  });

  test("the warning names the token, the date and what to do", () => {
    const t = token("2026-11-28");
    assert.ok(apiTokenExpiresWithin(t, NOW, ROTATE_WARN_MS));
    assert.equal(
      apiTokenExpiryMessage(t, NOW, "within 14 days"),
      'the GitLab API token "ci" expires in 4d, on 2026-11-28 00:00 UTC (within 14 days): create a new access token with the api scope ' +
        "(same role) and update the variable that holds it (GITLAB_TOKEN); once it lapses, every rotation fails",
    );
    const past = token("2026-11-23");
    assert.ok(apiTokenExpiresWithin(past, NOW, 0));
    assert.match(apiTokenExpiryMessage(past, NOW, "within 14 days"), /"ci" expired on 2026-11-23 \(within 14 days\)/);
  });

  test("status's line: date, days left and scopes, or why it was not checked", () => {
    assert.equal(
      apiTokenLine({ checked: true, name: "ci", scopes: ["api", "read_api"], expiresAt: "2026-12-01", daysLeft: 7.5 }),
      'API token "ci": expires 2026-12-01 (7.5 days left); scopes api, read_api',
    );
    assert.equal(
      apiTokenLine({ checked: true, name: "old", scopes: [], expiresAt: null, daysLeft: null }),
      'API token "old": never expires; scopes none',
    );
    assert.equal(
      apiTokenLine({ checked: false, reason: "GitLab refused it." }),
      "API token: not checked. GitLab refused it.",
    );
  });
});

describe("reading it", () => {
  const self: ApiTokenSelf = { id: 3, name: "ci", scopes: ["api"], expiresAt: "2026-11-28" };

  test("days left floored to a tenth", async () => {
    assert.deepEqual(await readApiToken({ apiTokenSelf: async () => self }, NOW), {
      checked: true,
      name: "ci",
      scopes: ["api"],
      expiresAt: "2026-11-28",
      daysLeft: 4.5,
    });
  });

  test("a GitLabError becomes the reason; anything else is a bug and is thrown", async () => {
    const refused = await readApiToken(
      { apiTokenSelf: async () => Promise.reject(new GitLabError("reading", 403, "403 Forbidden")) },
      NOW,
    );
    assert.deepEqual(refused?.checked, false);
    assert.match(refused.reason, /^GitLab refused GET \/personal_access_tokens\/self \(HTTP 403: 403 Forbidden\)/);
    const down = await readApiToken(
      {
        apiTokenSelf: async () =>
          Promise.reject(new GitLabError("reading", undefined, "the connection to GitLab failed (ECONNRESET)")),
      },
      NOW,
    );
    assert.deepEqual(down?.checked, false);
    assert.match(
      down.reason,
      /^GitLab did not answer GET \/personal_access_tokens\/self \(the connection to GitLab failed \(ECONNRESET\)\)/,
    );
    await assert.rejects(
      readApiToken({ apiTokenSelf: async () => Promise.reject(new TypeError("bug")) }, NOW),
      TypeError,
    );
  });

  test("rotate: a warning within 14 days, one info line otherwise, a note when refused", async () => {
    const cases: Array<[Parameters<typeof checkApiToken>[0], RegExp]> = [
      [
        { apiTokenSelf: async () => self },
        /^warn The GitLab API token "ci" expires in 4d, on 2026-11-28 00:00 UTC \(within 14 days\): create a new access token/,
      ],
      [
        { apiTokenSelf: async () => ({ ...self, expiresAt: "2027-06-01" }) },
        /^info API token "ci": expires 2027-06-01 \(189\.5 days left\); scopes api$/,
      ],
      [
        { apiTokenSelf: async () => Promise.reject(new GitLabError("reading", 404, "404 Not Found")) },
        /^info Note: GitLab refused GET \/personal_access_tokens\/self \(HTTP 404: 404 Not Found\)/,
      ],
    ];
    for (const [gitlab, expected] of cases) {
      const log = recorder();
      await checkApiToken(gitlab, NOW, log);
      assert.equal(log.lines.length, 1, log.lines.join("\n"));
      assert.match(log.lines[0]!, expected);
    }
  });
});

describe("status", () => {
  const base = (apiToken: ApiTokenStatus | null, warnWithinMs: number | undefined) =>
    assessStatus({
      owner: {
        kind: "project",
        id: 42,
        path: "grp/app",
        registryImagePrefix: undefined,
        registryAccessLevel: undefined,
      },
      secretName: "gitlab-pull-secret",
      namespaces: [],
      target: {
        cluster: undefined,
        earlier: [],
        secretName: "gitlab-pull-secret",
        set: "00000000",
        id: undefined,
        describe: "namespaces none",
      },
      prefix: "gitlab-pull-secret",
      existing: [],
      tokens: [],
      now: NOW,
      warnWithinMs,
      graceMs: 0,
      apiToken,
    });

  test("due within --warn-within: attention, exit 3; outside it: nothing", () => {
    const due = base(token("2026-11-28", 4.5), 7 * DAY);
    assert.deepEqual(
      due.findings.map((f) => [f.severity, f.kind]),
      [["attention", "api-token-expiring"]],
    );
    assert.match(
      due.findings[0]!.message,
      /expires in 4d, on 2026-11-28 00:00 UTC \(within --warn-within\): create a new access token/,
    );
    assert.equal(statusNeedsAttention(due), true);
    assert.equal(due.apiToken?.checked, true);
    const later = base(token("2026-11-28"), 3 * DAY);
    assert.deepEqual(later.findings, []);
    assert.equal(statusNeedsAttention(later), false);
  });

  test("without --warn-within: reported within rotate's 14 days, exit code unchanged", () => {
    const r = base(token("2026-12-01"), undefined);
    assert.deepEqual(
      r.findings.map((f) => f.kind),
      ["api-token-expiring"],
    );
    assert.match(r.findings[0]!.message, /\(within 14 days\)/);
    assert.equal(statusNeedsAttention(r), false);
  });

  test("the report and its lines carry the token's date and scopes, or why it was not checked; none with static credentials", () => {
    const lines = statusLines(
      base({ checked: true, name: "ci", scopes: ["api"], expiresAt: "2027-01-01", daysLeft: 38.5 }, undefined),
    );
    assert.equal(lines[1], 'API token "ci": expires 2027-01-01 (38.5 days left); scopes api');
    const refused = statusLines(
      base(
        { checked: false, reason: "GitLab refused GET /personal_access_tokens/self (HTTP 404: 404 Not Found)." },
        7 * DAY,
      ),
    );
    assert.equal(refused.filter((l) => l.includes("personal_access_tokens")).length, 1, "said once");
    assert.equal(base(null, undefined).apiToken, null);
    assert.equal(statusLines(base(null, undefined))[1], "");
  });
});
