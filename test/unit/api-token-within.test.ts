// rotate --rotate-api-token-within: the pure decision (within, not within, no
// expiry known) and the usage errors, found before any request (exit 2).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { apiTokenDue } from "../../src/model/apitoken-due.ts";
import { configFor } from "../../src/faces/commands.ts";
import { apiTokenStoreText, parseApiTokenStore } from "../../src/config/input-apitoken.ts";
import { ExitCode, UsageError } from "../../src/model/errors.ts";
import { actionOutputs, jobSummary, resultJson, summaryLines } from "../../src/faces/report.ts";
import type { RawSettings } from "../../src/config/options.ts";
import type { RotationReport } from "../../src/commands/rotation-report.ts";

const NOW = new Date("2026-06-01T12:00:00Z");
const DAY = 86_400_000;
const ENV = { GITLAB_TOKEN: "glpat-unit-within" };

describe("the decision: rotate the API token or leave it", () => {
  test("within: expiring in 6.5 days with 7d is due, and says its date and the limit", () => {
    const due = apiTokenDue({ known: true, expiresAt: "2026-06-08" }, NOW, 7 * DAY);
    assert.equal(due.rotate, true);
    assert.match(due.reason, /expires on 2026-06-08 \(in 6d\), within --rotate-api-token-within 7d/);
  });

  test("exactly at the limit is due; a day later is not, and says from when it will be", () => {
    const at = apiTokenDue({ known: true, expiresAt: "2026-06-08" }, new Date("2026-06-01T00:00:00Z"), 7 * DAY);
    assert.equal(at.rotate, true);
    const not = apiTokenDue({ known: true, expiresAt: "2026-06-09" }, new Date("2026-06-01T00:00:00Z"), 7 * DAY);
    assert.equal(not.rotate, false);
    assert.equal(not.rotate === false && not.unknown, false);
    assert.match(not.reason, /not within --rotate-api-token-within 7d \(due from 2026-06-02 00:00 UTC\)/);
  });

  test("an expired token counts as due (the run could not have got here with it, but the rule holds)", () => {
    assert.equal(apiTokenDue({ known: true, expiresAt: "2026-05-01" }, NOW, DAY).rotate, true);
  });

  test("no expiry known: a token that never expires is left alone; an unreadable expiry is unknown, not due", () => {
    const never = apiTokenDue({ known: true, expiresAt: null }, NOW, 7 * DAY);
    assert.deepEqual(
      { rotate: never.rotate, unknown: never.rotate === false && never.unknown },
      { rotate: false, unknown: false },
    );
    assert.match(never.reason, /never expires/);
    const unknown = apiTokenDue({ known: false, why: "GitLab refused GET /personal_access_tokens/self" }, NOW, 7 * DAY);
    assert.equal(unknown.rotate, false);
    assert.equal(unknown.rotate === false && unknown.unknown, true);
    assert.match(unknown.reason, /could not be read.*GitLab refused GET \/personal_access_tokens\/self/);
  });
});

describe("--rotate-api-token-within: usage errors before any request", () => {
  const rotate = (raw: RawSettings) =>
    configFor("rotate", { project: "grp/app", namespaces: ["a"], ...raw }, ENV, "cli");
  const usage = (fn: () => unknown, pattern: RegExp) =>
    assert.throws(
      fn,
      (e: unknown) => e instanceof UsageError && e.exitCode === ExitCode.usage && pattern.test(e.message),
    );

  test("parsed into the Config with its store", () => {
    const c = rotate({ rotateApiTokenWithin: "7d", apiTokenStore: "gitlab:project:42:GITLAB_TOKEN" });
    assert.equal(c.apiToken.rotateWithinMs, 7 * DAY);
    assert.equal(apiTokenStoreText(c.apiToken.store!), "gitlab:project:42:GITLAB_TOKEN");
    assert.equal(rotate({}).apiToken.rotateWithinMs, undefined);
  });

  test("the store is required with it", () => {
    usage(() => rotate({ rotateApiTokenWithin: "7d" }), /--api-token-store.*required with --rotate-api-token-within/);
  });

  test("the store and the recovery file mean nothing without it", () => {
    usage(
      () => rotate({ apiTokenStore: "gitlab:project:42:T" }),
      /--api-token-store.*only with --rotate-api-token-within/,
    );
    usage(
      () => rotate({ apiTokenRecoveryFile: "/tmp/x" }),
      /--api-token-recovery-file.*only with --rotate-api-token-within/,
    );
    // rotate-api-token always rotates: its store needs no --rotate-api-token-within, and it takes none.
    assert.ok(configFor("rotate-api-token", { apiTokenStore: "gitlab:project:42:T" }, ENV, "cli").apiToken.store);
    usage(
      () =>
        configFor("rotate-api-token", { apiTokenStore: "gitlab:project:42:T", rotateApiTokenWithin: "7d" }, ENV, "cli"),
      /not an option of rotate-api-token/,
    );
  });

  test("a day at least, shorter than --api-token-expires-in (or every run would rotate it)", () => {
    const store = { apiTokenStore: "gitlab:project:42:T" };
    usage(() => rotate({ ...store, rotateApiTokenWithin: "12h" }), /--rotate-api-token-within.*"12h"/);
    usage(() => rotate({ ...store, rotateApiTokenWithin: "soon" }), /--rotate-api-token-within.*"soon"/);
    usage(
      () => rotate({ ...store, rotateApiTokenWithin: "30d" }),
      /--rotate-api-token-within shorter than --api-token-expires-in/,
    );
    assert.equal(
      rotate({ ...store, rotateApiTokenWithin: "30d", apiTokenExpiresIn: "60d" }).apiToken.rotateWithinMs,
      30 * DAY,
    );
  });

  test("not with static credentials: there is no API token", () => {
    usage(
      () =>
        configFor(
          "rotate",
          {
            username: "robot",
            registry: "r.example",
            namespaces: ["a"],
            rotateApiTokenWithin: "7d",
            apiTokenStore: "gitlab:project:42:T",
          },
          { REGISTRY_PASSWORD: "pw-unit-0001" },
          "cli",
        ),
      /--rotate-api-token-within.*not used with static credentials/,
    );
  });

  test("the Action names its inputs", () => {
    assert.throws(
      () =>
        configFor(
          "rotate",
          { project: "grp/app", namespaces: ["a"], rotateApiTokenWithin: "7d", apiTokenExpiresIn: "30d" },
          ENV,
          "action",
        ),
      /input 'api-token-store'.*required with input 'rotate-api-token-within'/,
    );
  });

  test("a store's text is the value it was parsed from", () => {
    for (const v of [
      "gitlab:project:grp/app:GITLAB_TOKEN",
      "gitlab:group:7:T:production",
      "kubernetes:gitlab-pull-secret/gitlab-api-token/token",
    ]) {
      const spec = parseApiTokenStore(v);
      assert.ok(typeof spec !== "string", v);
      assert.equal(apiTokenStoreText(spec), v);
    }
  });
});

describe("what the reports say about the API token", () => {
  const base: RotationReport = {
    changed: true,
    dryRun: false,
    secretName: "s",
    namespaces: ["a"],
    skipped: [],
    created: [],
    reason: "forced",
    token: { id: 5, username: "gitlab+deploy-token-5", expiresAt: "2026-06-08T00:00:00.000Z" },
    previousTokenIds: [],
    keptTokenIds: [],
    revokedTokenIds: [],
    sweptTokenIds: [],
    verified: null,
    serviceAccountsUpdated: [],
    owner: { kind: "project", id: 42, path: "grp/app" },
    static: null,
    registry: "r.example",
    registryAliases: [],
    problems: [],
  };
  const store = "gitlab:project:42:GITLAB_TOKEN";

  test("rotated: --json, the outputs, the summary lines and the job summary say so", () => {
    const r: RotationReport = {
      ...base,
      apiToken: {
        action: "rotated",
        reason: "it expires on 2026-06-05 (in 3d), within --rotate-api-token-within 7d",
        expiresAt: "2026-06-05",
        store,
        rotated: { id: 9, expiresAt: "2026-07-01", confirmed: true },
      },
    };
    assert.equal(resultJson(r).apiToken?.rotated?.id, 9);
    assert.equal(actionOutputs(r)["api-token-rotated"], "true");
    const line = `Rotated the GitLab API token (it expires on 2026-06-05 (in 3d), within --rotate-api-token-within 7d): the new token 9 expires on 2026-07-01, written to ${store} and read back`;
    assert.ok(summaryLines(r).includes(line), summaryLines(r).join("\n"));
    assert.ok(jobSummary(r).notes.includes(line));
  });

  test("not due: false; without the option: empty, and --json has no apiToken", () => {
    const r: RotationReport = {
      ...base,
      apiToken: {
        action: "not-due",
        reason: "it expires on 2027-01-01 (in 214d), not within",
        expiresAt: "2027-01-01",
        store,
      },
    };
    assert.equal(actionOutputs(r)["api-token-rotated"], "false");
    assert.match(summaryLines(r).join("\n"), /GitLab API token not rotated: it expires on 2027-01-01/);
    assert.equal(actionOutputs(base)["api-token-rotated"], "");
    assert.equal("apiToken" in resultJson(base), false);
  });
});
