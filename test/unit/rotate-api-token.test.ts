// rotate-api-token on fakes: the order of its steps (nothing is rotated
// before the store is proven, the rotation is sent once, the write is retried
// with the new token), its refusals, and the pure parts (expiry date, the
// --api-token-store forms).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  apiTokenExpiryDate,
  decideApiTokenRotation,
  rotateApiToken,
  type ApiTokenObservation,
} from "../../src/commands/rotate-api-token.ts";
import { parseApiTokenStore } from "../../src/config/input-apitoken.ts";
import { ApiTokenRefusalError, ApiTokenStoreWriteError, GitLabError } from "../../src/model/errors.ts";
import type { ApiTokenPorts, ApiTokenStore } from "../../src/model/ports.ts";
import { Secret } from "../../src/model/secret.ts";

const NOW = new Date("2026-06-01T12:00:00Z");
const DAY = 86_400_000;

function world(o: { failWrites?: number; rotateError?: Error; held?: string | null } = {}) {
  const calls: string[] = [];
  const secrets: string[] = [];
  let value = o.held === null ? undefined : (o.held ?? "old-token");
  let writesFailing = o.failWrites ?? 0;
  const store: ApiTokenStore = {
    kind: "gitlab-variable",
    where: "CI/CD variable T of project 1",
    async read(auth) {
      calls.push(`read as ${auth.reveal()}`);
      return value === undefined ? undefined : new Secret(value);
    },
    async proveWritable(current, auth) {
      calls.push(`prove ${current?.reveal() ?? "-"} as ${auth.reveal()}`);
    },
    async write(v, auth) {
      calls.push(`write as ${auth.reveal()}`);
      if (writesFailing-- > 0) throw new GitLabError("writing", 500, "500 Internal Server Error");
      value = v.reveal();
      return undefined;
    },
  };
  const ports: ApiTokenPorts = {
    gitlab: {
      async apiTokenSelf() {
        calls.push("self");
        return { id: 1, name: "ci", scopes: ["api"], expiresAt: "2026-06-10" };
      },
      async apiTokenOwner() {
        return { kind: "personal" };
      },
      async rotateApiTokenSelf(_owner, expiresAt) {
        calls.push(`rotate ${expiresAt}`);
        if (o.rotateError) throw o.rotateError;
        return { id: 2, name: "ci", expiresAt, token: new Secret("new-token") };
      },
    },
    store,
    recovery: undefined,
    clock: { now: () => NOW },
    log: { info: () => {}, warn: () => {}, secret: (s) => secrets.push(s) },
    sleep: async () => {},
  };
  return { ports, calls, secrets, value: () => value };
}

describe("rotate-api-token", () => {
  it("proves the store before the one rotation, writes and reads back with the new token", async () => {
    const w = world();
    const report = await rotateApiToken(new Secret("old-token"), { expiresInMs: 30 * DAY }, w.ports);
    assert.deepEqual(w.calls, [
      "self",
      "read as old-token",
      "prove old-token as old-token",
      "rotate 2026-07-02",
      "write as new-token",
      "read as new-token",
    ]);
    assert.equal(w.value(), "new-token");
    assert.equal(report.store.confirmed, true);
    for (const form of ["old-token", "new-token", Buffer.from("new-token").toString("base64")])
      assert.ok(w.secrets.includes(form), form);
  });

  it("retries the write, never the rotation; a write that keeps failing exits 1 saying the token is lost", async () => {
    const ok = world({ failWrites: 2 });
    await rotateApiToken(new Secret("old-token"), { expiresInMs: DAY }, ok.ports);
    assert.equal(ok.calls.filter((c) => c.startsWith("rotate")).length, 1);
    assert.equal(ok.calls.filter((c) => c.startsWith("write")).length, 3);
    const lost = world({ failWrites: 99 });
    await assert.rejects(
      rotateApiToken(new Secret("old-token"), { expiresInMs: DAY }, lost.ports),
      (e: Error) => e instanceof ApiTokenStoreWriteError && /is lost\. Revoke token 2/.test(e.message),
    );
    assert.equal(lost.calls.filter((c) => c.startsWith("rotate")).length, 1);
  });

  it("a store holding another value, or a read_api token, is refused before anything is rotated", async () => {
    const other = world({ held: "someone-else" });
    await assert.rejects(
      rotateApiToken(new Secret("old-token"), { expiresInMs: DAY }, other.ports),
      ApiTokenRefusalError,
    );
    assert.ok(!other.calls.some((c) => c.startsWith("rotate") || c.startsWith("prove")));
    assert.throws(
      () =>
        decideApiTokenRotation(
          {
            self: { id: 1, name: "x", scopes: ["self_rotate"], expiresAt: null },
            owner: { kind: "personal" },
            storeKind: "gitlab-variable",
            holds: "this-token",
          },
          NOW,
          { expiresInMs: DAY },
          "here",
        ),
      /needs api/,
    );
  });

  it("a self_rotate token that may not read GET /user is refused before anything is rotated", async () => {
    const w = world();
    w.ports.gitlab.apiTokenOwner = async () => {
      throw new GitLabError("reading the API token's user", 403, "insufficient_scope");
    };
    await assert.rejects(
      rotateApiToken(new Secret("old-token"), { expiresInMs: DAY }, w.ports),
      (e: Error) => e instanceof ApiTokenRefusalError && /may not read GET \/user/.test(e.message),
    );
    assert.ok(!w.calls.some((c) => c.startsWith("rotate") || c.startsWith("prove")));
  });

  it("a rotate without an answer is not retried and says its outcome is unknown", async () => {
    const w = world({ rotateError: new GitLabError("rotating the API token", undefined, "no answer within 30 s") });
    await assert.rejects(
      rotateApiToken(new Secret("old-token"), { expiresInMs: DAY }, w.ports),
      /whether it rotated the token is unknown\. It is NOT retried/,
    );
    assert.ok(!w.calls.some((c) => c.startsWith("write")));
  });

  it("expiry: rounded up to a date, never past 365 days", () => {
    assert.equal(apiTokenExpiryDate(NOW, 30 * DAY), "2026-07-02");
    assert.equal(apiTokenExpiryDate(new Date("2026-06-01T00:00:00Z"), 30 * DAY), "2026-07-01");
    assert.equal(apiTokenExpiryDate(NOW, 365 * DAY), "2027-06-01");
  });

  it("--api-token-store forms", () => {
    assert.deepEqual(parseApiTokenStore("gitlab:project:grp/app:GITLAB_TOKEN:production"), {
      kind: "gitlab-variable",
      owner: { kind: "project", ref: "grp/app" },
      key: "GITLAB_TOKEN",
      environmentScope: "production",
    });
    assert.deepEqual(parseApiTokenStore("gitlab:group:7:T"), {
      kind: "gitlab-variable",
      owner: { kind: "group", ref: "7" },
      key: "T",
      environmentScope: undefined,
    });
    assert.deepEqual(parseApiTokenStore("kubernetes:ops/gitlab-token/token"), {
      kind: "kubernetes-secret",
      namespace: "ops",
      name: "gitlab-token",
      key: "token",
    });
    for (const bad of ["gitlab:project:app:T", "gitlab:user:1:T", "kubernetes:Ops/x/y", "gitlab:project:1:BAD-KEY"])
      assert.equal(typeof parseApiTokenStore(bad), "string", bad);
  });

  it("--api-token-store github: forms, named as GitHub stores them; bad ones say what is wrong", () => {
    assert.deepEqual(parseApiTokenStore("github:acme/app:gitlab_token"), {
      kind: "github-secret",
      owner: "acme",
      repo: "app",
      name: "GITLAB_TOKEN",
      environment: undefined,
    });
    assert.deepEqual(parseApiTokenStore("github:my-org/app.web_1:T:review/prod"), {
      kind: "github-secret",
      owner: "my-org",
      repo: "app.web_1",
      name: "T",
      environment: "review/prod",
    });
    const refusals: Array<[string, RegExp]> = [
      ["github:acme:T", /github:<owner>\/<repo>:<NAME>\[:<environment>\]/],
      ["github:acme/app", /github:<owner>\/<repo>:<NAME>/],
      ["github:-acme/app:T", /the owner must be a GitHub account/],
      ["github:ac--me/app:T", /the owner/],
      ["github:acme/..:T", /the repository/],
      ["github:acme/a b:T", /the repository/],
      ["github:acme/app:1TOKEN", /not starting with a digit/],
      ["github:acme/app:MY-TOKEN", /letters, digits and '_'/],
      ["github:acme/app:github_token", /must not start with GITHUB_/],
      ["github:acme/app:T:", /the environment: 1 to 255/],
      [`github:acme/app:T:${"e".repeat(256)}`, /the environment: 1 to 255/],
    ];
    for (const [bad, why] of refusals) {
      const parsed = parseApiTokenStore(bad);
      assert.equal(typeof parsed, "string", bad);
      assert.match(parsed as string, why, bad);
    }
  });

  it("a store that never shows its value (an Actions secret) is proven with the token this run holds, and confirmed by the store", async () => {
    const w = world({ held: null });
    const store: ApiTokenStore = {
      ...w.ports.store,
      kind: "github-secret",
      async proveWritable(shown, held) {
        w.calls.push(`prove ${shown?.reveal() ?? "-"} with ${held.reveal()}`);
      },
      async write(v) {
        w.calls.push(`write ${v.reveal()}`);
        return "updated_at is not earlier than the write";
      },
    };
    const report = await rotateApiToken(new Secret("old-token"), { expiresInMs: DAY }, { ...w.ports, store });
    assert.deepEqual(w.calls, [
      "self",
      "read as old-token",
      "prove - with old-token",
      "rotate 2026-06-03",
      "write new-token",
    ]);
    assert.equal(report.store.confirmed, true);
    assert.equal(report.store.confirmation, "updated_at is not earlier than the write");
  });

  it("decision: an Actions secret needs no api scope (GitHub's token writes it); self_rotate alone rotates", () => {
    const seen: ApiTokenObservation = {
      self: { id: 1, name: "x", scopes: ["self_rotate"], expiresAt: null },
      owner: { kind: "personal" },
      storeKind: "github-secret",
      holds: "unknown",
    };
    assert.deepEqual(decideApiTokenRotation(seen, NOW, { expiresInMs: DAY }, "here"), { expiresAt: "2026-06-03" });
    assert.throws(
      () =>
        decideApiTokenRotation(
          { ...seen, self: { ...seen.self, scopes: ["read_api"] } },
          NOW,
          { expiresInMs: DAY },
          "here",
        ),
      /needs api or self_rotate/,
    );
  });
});
