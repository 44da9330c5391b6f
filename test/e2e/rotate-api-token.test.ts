// rotate-api-token end to end through the built CLI, against the GitLab
// stand-in (self-rotation with reuse detection, CI/CD variables) and the
// Kubernetes stand-in: rotated, written back with the new token and read back;
// the old token dead and the new one alive with no family revocation; a store
// that refuses before the rotation changes nothing; a write that fails after
// it is recoverable as docs/security.md says; and every run's output, argv
// and environment scanned for every form of both token values.
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { leaks, PROJECT, startWorld, waitFor, type Captured, type World } from "../support/world.ts";
import { holdSelfRotation } from "../support/gitlab-standin.ts";

const KEY = "GITLAB_TOKEN";
const VAR = { kind: "project", id: PROJECT.id } as const;

describe("rotate-api-token through the CLI", () => {
  let w: World;
  const runs: Captured[] = [];
  let n = 0;

  before(async () => {
    w = await startWorld({ registry: false });
  });
  after(async () => {
    assert.deepEqual(leaks(w, runs), [], "no form of any token value may show anywhere");
    await w?.close();
  });

  /** A fresh API token of the project's Maintainer, registered for the leak scan in both its forms. */
  function apiToken(scopes = ["api"]): string {
    const secret = `glpat-e2eRotate${String(++n).padStart(4, "0")}Secret00000`;
    w.gitlab.addPersonalAccessToken("maintainer", secret, scopes, { name: `rotation ${n}`, expiresAt: "2099-01-01" });
    remember(secret);
    return secret;
  }
  function remember(token: string): void {
    w.addSecretForms(token, Buffer.from(token).toString("base64"));
  }

  function args(store: string, extra: string[] = []): string[] {
    return [
      "rotate-api-token",
      "--gitlab-url",
      w.gitlab.url,
      "--kubeconfig",
      w.kubeconfig,
      "--api-token-store",
      store,
      "--retry-for",
      "0s",
      ...extra,
    ];
  }
  async function cli(token: string, store: string, extra: string[] = []): Promise<Captured> {
    const r = await w.runCli(args(store, extra), { env: { GITLAB_TOKEN: token } });
    runs.push(r);
    return r;
  }
  const variable = (key = KEY) => w.gitlab.variables(VAR, key);
  const rotations = () => w.gitlab.requests.filter((r) => r.method === "POST" && r.path.endsWith("/rotate"));

  test("a project variable: rotated once, written back with the new token, read back; flags kept", async () => {
    const old = apiToken();
    w.gitlab.addVariable(VAR, { key: KEY, value: old, masked: true, protected: true, raw: true });
    w.gitlab.resetRequests();
    const r = await cli(old, `gitlab:project:${PROJECT.path}:${KEY}`, ["--json", "--api-token-expires-in", "30d"]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.store.confirmed, true);
    assert.equal(rotations().length, 1, "exactly one rotate request");

    const [v] = variable();
    remember(v!.value);
    assert.notEqual(v!.value, old);
    assert.deepEqual([v!.masked, v!.protected, v!.raw, v!.hidden], [true, true, true, false]);
    const oldState = w.gitlab.accessToken(old)!;
    const fresh = w.gitlab.accessToken(v!.value)!;
    assert.equal(oldState.revoked, true, "the old token is dead");
    assert.equal(fresh.active, true, "the new one is alive: no family revocation");
    assert.equal(fresh.family, oldState.family);
    assert.equal(fresh.id, report.rotated.id);
    const expected = new Date(Date.now() + 30 * 86_400_000);
    assert.ok(
      [0, 1].some((d) => new Date(expected.getTime() + d * 86_400_000).toISOString().slice(0, 10) === fresh.expiresAt),
      `expires in 30 days, rounded up to a date: ${fresh.expiresAt}`,
    );
    // The write back was made with the new token (the old one was already dead).
    const puts = w.gitlab.requests.filter((q) => q.method === "PUT" && q.path.includes("/variables/"));
    assert.equal(puts.length, 2, "the proof (unchanged value) and the write");
    assert.deepEqual(
      puts.map((p) => p.status),
      [200, 200],
    );

    // The new token rotates again with no trouble: the family is intact.
    w.gitlab.resetRequests();
    const again = await cli(v!.value, `gitlab:project:${PROJECT.path}:${KEY}`);
    assert.equal(again.code, 0, again.stderr);
    remember(variable()[0]!.value);
    assert.equal(w.gitlab.accessToken(variable()[0]!.value)!.active, true);
  });

  test("store refused before rotating: nothing changes (no rotate request, the token still works)", async () => {
    // A group variable needs an Owner; the token's user is none.
    w.gitlab.addGroup({ id: 900, path: "grp", members: { maintainer: "maintainer" } });
    const token = apiToken();
    w.gitlab.addVariable({ kind: "group", id: 900 }, { key: KEY, value: token, masked: true });
    w.gitlab.resetRequests();
    const r = await cli(token, `gitlab:group:grp:${KEY}`);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /HTTP 403/);
    assert.match(r.stderr, /needs the api scope and a Owner of the group|Owner of the group/);
    assert.equal(rotations().length, 0);
    assert.equal(w.gitlab.accessToken(token)!.active, true);
    assert.equal(w.gitlab.variables({ kind: "group", id: 900 }, KEY)[0]!.value, token);

    // A store holding another value than this token: exit 2, nothing changed.
    const other = apiToken();
    w.gitlab.addVariable(VAR, { key: "OTHER_TOKEN", value: "someone-elses-value-1", masked: true });
    w.gitlab.resetRequests();
    const wrong = await cli(other, `gitlab:project:${PROJECT.id}:OTHER_TOKEN`);
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /holds another value than the API token this run uses/);
    assert.equal(rotations().length, 0);
    assert.equal(w.gitlab.accessToken(other)!.active, true);

    // read_api cannot rotate itself: exit 2 before anything.
    const reader = apiToken(["read_api"]);
    w.gitlab.addVariable(VAR, { key: "READER_TOKEN", value: reader });
    const ro = await cli(reader, `gitlab:project:${PROJECT.id}:READER_TOKEN`);
    assert.equal(ro.code, 2, ro.stderr);
    assert.match(ro.stderr, /needs api or self_rotate/);
    assert.equal(w.gitlab.accessToken(reader)!.active, true);
  });

  test("the write fails after rotating: exit 1 saying so, the new token kept in the recovery file (0600), alive", async () => {
    const token = apiToken();
    w.gitlab.addVariable(VAR, { key: "FAILING_TOKEN", value: token, masked: true });
    const recovery = join(w.dir, "recovery.token");
    let release = holdSelfRotation(w.gitlab);
    w.gitlab.resetRequests();
    const running = w.startCli(
      args(`gitlab:project:${PROJECT.id}:FAILING_TOKEN`, ["--api-token-recovery-file", recovery]),
      {
        env: { GITLAB_TOKEN: token },
      },
    );
    // Once the rotation is on its way (the proof is behind it), every variable write fails.
    await waitFor(() => rotations().length === 1, "the rotate request");
    assert.ok(existsSync(recovery), "the recovery file is prepared before the rotation");
    w.gitlab.fault({ kind: "status", status: 500, method: "PUT", path: /\/variables\/FAILING_TOKEN$/ });
    release();
    const r = await running.done;
    runs.push(r);
    w.gitlab.clearFaults();
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /the API token was rotated \(the old value is revoked; the new token, id \d+, expires on /);
    assert.match(r.stderr, /failed 3 times/);
    assert.ok(r.stderr.includes(`The new token is kept in ${recovery} (mode 0600)`), r.stderr);
    assert.equal(rotations().length, 1, "the rotation is never retried");

    const kept = readFileSync(recovery, "utf8");
    remember(kept);
    assert.equal(statSync(recovery).mode & 0o777, 0o600);
    assert.equal(w.gitlab.accessToken(token)!.revoked, true);
    assert.equal(w.gitlab.accessToken(kept)!.active, true, "the kept token works: the run is recoverable");
    assert.equal(variable("FAILING_TOKEN")[0]!.value, token, "the store still holds the old value");

    // Without a recovery file the message says the token is lost and what to do.
    const t2 = apiToken();
    w.gitlab.addVariable(VAR, { key: "LOST_TOKEN", value: t2, masked: true });
    release = holdSelfRotation(w.gitlab);
    w.gitlab.resetRequests();
    const lost = w.startCli(args(`gitlab:project:${PROJECT.id}:LOST_TOKEN`), { env: { GITLAB_TOKEN: t2 } });
    await waitFor(() => rotations().length === 1, "the rotate request");
    w.gitlab.fault({ kind: "status", status: 500, method: "PUT", path: /\/variables\/LOST_TOKEN$/ });
    release();
    const r2 = await lost.done;
    runs.push(r2);
    w.gitlab.clearFaults();
    assert.equal(r2.code, 1, r2.stderr);
    assert.match(
      r2.stderr,
      /No --api-token-recovery-file was given, so the new value was not kept anywhere and is lost\. Revoke token \d+/,
    );
    const newest = w.gitlab.accessTokensOf("maintainer").at(-1)!;
    assert.equal(newest.active, true);
    assert.equal(w.gitlab.accessToken(t2)!.revoked, true);
  });

  test("a project access token rotates on its project's endpoint; environment scopes and a hidden variable", async () => {
    const bot = `glpat-e2eRotateProjectBot0000001`;
    remember(bot);
    w.gitlab.addResourceAccessToken(VAR, bot, ["api"], {
      role: "maintainer",
      name: "deploy bot",
      expiresAt: "2099-01-01",
    });
    w.gitlab.addVariable(VAR, { key: "BOT_TOKEN", value: bot, environmentScope: "production", masked: true });
    w.gitlab.addVariable(VAR, { key: "BOT_TOKEN", value: "staging-value-0001", environmentScope: "staging" });
    // Two variables named BOT_TOKEN and no scope given: GitLab's 409, found before the rotation.
    w.gitlab.resetRequests();
    const ambiguous = await cli(bot, `gitlab:project:${PROJECT.id}:BOT_TOKEN`);
    assert.equal(ambiguous.code, 1, ambiguous.stderr);
    assert.match(ambiguous.stderr, /HTTP 409/);
    assert.match(ambiguous.stderr, /add the environment scope/);
    assert.equal(rotations().length, 0);

    const r = await cli(bot, `gitlab:project:${PROJECT.id}:BOT_TOKEN:production`);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      rotations().map((q) => q.path),
      [`/api/v4/projects/${PROJECT.id}/access_tokens/self/rotate`],
    );
    const [production, staging] = variable("BOT_TOKEN");
    remember(production!.value);
    assert.equal(w.gitlab.accessToken(production!.value)!.active, true);
    assert.equal(w.gitlab.accessToken(bot)!.revoked, true);
    assert.equal(staging!.value, "staging-value-0001", "the other scope is untouched");

    // A hidden variable shows no value: proven by its read, written, not read back.
    const token = apiToken();
    w.gitlab.addVariable(VAR, { key: "HIDDEN_TOKEN", value: token, masked: true, hidden: true });
    const hidden = await cli(token, `gitlab:project:${PROJECT.id}:HIDDEN_TOKEN`, ["--json"]);
    assert.equal(hidden.code, 0, hidden.stderr);
    assert.equal(JSON.parse(hidden.stdout).store.confirmed, false);
    const [h] = variable("HIDDEN_TOKEN");
    remember(h!.value);
    assert.equal(h!.hidden, true);
    assert.equal(w.gitlab.accessToken(h!.value)!.active, true);
  });

  test("a rotation whose answer is lost is not retried: the run says the outcome is unknown", async () => {
    const token = apiToken();
    w.gitlab.addVariable(VAR, { key: "LOST_ANSWER", value: token, masked: true });
    w.gitlab.fault({ kind: "lostResponse", method: "POST", path: /\/rotate$/, times: 1 });
    w.gitlab.resetRequests();
    const r = await cli(token, `gitlab:project:${PROJECT.id}:LOST_ANSWER`);
    w.gitlab.clearFaults();
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /whether it rotated the token is unknown\. It is NOT retried/);
    assert.equal(rotations().length, 1);
    // GitLab did rotate: the newest token of the family is alive (no reuse, no family revocation).
    const newest = w.gitlab.accessTokensOf("maintainer").at(-1)!;
    assert.equal(newest.family, w.gitlab.accessToken(token)!.family);
    assert.equal(newest.active, true);
    assert.equal(variable("LOST_ANSWER")[0]!.value, token);
  });

  test("a Kubernetes Secret store: written with kubectl on stdin, the rest of the Secret kept", async () => {
    const token = apiToken();
    w.kube.putObject("secrets", {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "gitlab-token", namespace: "team-a" },
      type: "Opaque",
      data: { token: Buffer.from(token).toString("base64"), other: Buffer.from("keep-me").toString("base64") },
    });
    w.gitlab.resetRequests();
    const r = await cli(token, "kubernetes:team-a/gitlab-token/token");
    assert.equal(r.code, 0, r.stderr);
    const s = w.kube.getObject("secrets", "team-a", "gitlab-token");
    const value = Buffer.from(s.data.token, "base64").toString("utf8");
    remember(value);
    assert.notEqual(value, token);
    assert.equal(Buffer.from(s.data.other, "base64").toString("utf8"), "keep-me");
    assert.equal(w.gitlab.accessToken(value)!.active, true);
    assert.equal(w.gitlab.accessToken(token)!.revoked, true);
    for (const call of w.kubectlCalls()) assert.ok(!call.argv.join(" ").includes(value));

    // Refused before rotating: no update on secrets there. Nothing changes.
    w.kube.deny({ namespace: "team-a", verb: "update", resource: "secrets" });
    w.gitlab.resetRequests();
    const refused = await cli(value, "kubernetes:team-a/gitlab-token/token");
    w.kube.clearDenials();
    assert.equal(refused.code, 1, refused.stderr);
    assert.equal(rotations().length, 0);
    assert.equal(w.gitlab.accessToken(value)!.active, true);

    // Refused after rotating (the update right taken away while the rotation is on its way): exit 1,
    // the new value kept in the recovery file, the Secret unchanged.
    const recovery = join(w.dir, "recovery-kube.token");
    const release = holdSelfRotation(w.gitlab);
    w.gitlab.resetRequests();
    const running = w.startCli(args("kubernetes:team-a/gitlab-token/token", ["--api-token-recovery-file", recovery]), {
      env: { GITLAB_TOKEN: value },
    });
    await waitFor(() => rotations().length === 1, "the rotate request");
    w.kube.deny({ namespace: "team-a", verb: "update", resource: "secrets" });
    release();
    const failed = await running.done;
    runs.push(failed);
    w.kube.clearDenials();
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(
      failed.stderr,
      /the API token was rotated .* but writing it to key token of Secret team-a\/gitlab-token failed 3 times/,
    );
    const kept = readFileSync(recovery, "utf8");
    remember(kept);
    assert.equal(w.gitlab.accessToken(kept)!.active, true);
    assert.equal(w.gitlab.accessToken(value)!.revoked, true);
    const unchanged = w.kube.getObject("secrets", "team-a", "gitlab-token");
    assert.equal(Buffer.from(unchanged.data.token, "base64").toString("utf8"), value);
  });
});

describe("rotate --rotate-api-token-within through the CLI", () => {
  let w: World;
  const runs: Captured[] = [];
  let n = 0;
  const SECRET = "within-pull";

  before(async () => {
    w = await startWorld({ registry: false });
  });
  after(async () => {
    assert.deepEqual(leaks(w, runs), [], "no form of any token value may show anywhere");
    await w?.close();
  });

  function remember(token: string): void {
    w.addSecretForms(token, Buffer.from(token).toString("base64"));
  }
  const dateIn = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
  /** A Maintainer's API token expiring in `days`, held by a project variable of its own (`key`; `store` names it). */
  function apiToken(days: number): { token: string; key: string; store: string } {
    const token = `glpat-e2eWithin${String(++n).padStart(4, "0")}Secret000000`;
    w.gitlab.addPersonalAccessToken("maintainer", token, ["api"], { name: `within ${n}`, expiresAt: dateIn(days) });
    remember(token);
    const key = `WITHIN_TOKEN_${n}`;
    w.gitlab.addVariable(VAR, { key, value: token, masked: true });
    return { token, key, store: `gitlab:project:${PROJECT.path}:${key}` };
  }
  /** `registry`: where the pull check goes (checked only when given); without it there is none. */
  function rotateArgs(extra: string[] = [], store: string | null = null, registry?: string): string[] {
    return [
      "rotate",
      "--gitlab-url",
      w.gitlab.url,
      "--project",
      PROJECT.path,
      "--namespace",
      "team-a,team-b",
      "--secret-name",
      SECRET,
      "--kubeconfig",
      w.kubeconfig,
      "--registry",
      ...(registry ? [registry, "--verify-image", PROJECT.path] : ["registry.example.com", "--no-verify"]),
      "--retry-for",
      "0s",
      "--json",
      ...(store ? ["--api-token-store", store] : []),
      ...extra,
    ];
  }
  async function rotate(
    token: string,
    extra: string[] = [],
    store: string | null = null,
    registry?: string,
  ): Promise<Captured> {
    const r = await w.runCli(rotateArgs(extra, store, registry), { env: { GITLAB_TOKEN: token } });
    runs.push(r);
    return r;
  }
  const tokenIn = (ns: string) =>
    w.kube.getObject("secrets", ns, SECRET)?.metadata.annotations?.["gitlab-pull-secret.io/token-id"] as
      string | undefined;
  const step = (q: { method: string; path: string }): string | undefined =>
    q.method === "POST" && q.path.endsWith("/deploy_tokens")
      ? "mint"
      : q.method === "POST" && q.path.endsWith("/rotate")
        ? "rotate"
        : q.method === "PUT" && q.path.includes("/variables/")
          ? "store"
          : undefined;
  const steps = () => w.gitlab.requests.map(step).filter((x) => x !== undefined);

  test("due: the deploy token into the namespaces, then the API token rotated and written back, in one run", async () => {
    const { token: old, key, store } = apiToken(3);
    const metrics = join(w.dir, "within.prom");
    w.gitlab.resetRequests();
    const r = await rotate(old, ["--rotate-api-token-within", "7d", "--metrics-file", metrics], store);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    const [v] = w.gitlab.variables(VAR, key);
    remember(v!.value);

    // The deploy token: minted, in both namespaces.
    assert.ok(report.token, "a deploy token was minted");
    for (const ns of ["team-a", "team-b"]) assert.equal(tokenIn(ns), String(report.token.id), ns);
    assert.equal(w.gitlab.isLive(report.token.id), true);
    // The API token: the store proven first, the deploy token minted, the API token rotated last, then written.
    assert.deepEqual(steps(), ["store", "mint", "rotate", "store"]);
    assert.equal(report.apiToken.action, "rotated");
    assert.match(report.apiToken.reason, /within --rotate-api-token-within 7d/);
    assert.equal(report.apiToken.store, store);
    assert.equal(report.apiToken.rotated.confirmed, true);
    assert.notEqual(v!.value, old);
    assert.equal(v!.masked, true, "the variable's flags are kept");
    const oldState = w.gitlab.accessToken(old)!;
    const fresh = w.gitlab.accessToken(v!.value)!;
    assert.equal(oldState.revoked, true, "the old API token is dead");
    assert.equal(fresh.active, true, "the new one is alive: no family revocation");
    assert.equal(fresh.family, oldState.family);
    assert.equal(fresh.id, report.apiToken.rotated.id);
    assert.equal(fresh.expiresAt, report.apiToken.rotated.expiresAt);
    // After the rotation the run read GitLab with the new token (the metrics' status read), not the dead one.
    assert.doesNotMatch(r.stderr, /metrics hold the run only/);
    const text = readFileSync(metrics, "utf8");
    assert.match(text, /^gitlab_pull_secret_last_run_api_token_rotated\{secret="within-pull"\} 1$/m);
    assert.match(text, /^gitlab_pull_secret_last_run_success\{secret="within-pull"\} 1$/m);
    assert.match(r.stderr, /Rotated the GitLab API token \(it expires on .*\): the new token \d+ expires on/);

    // The next scheduled run holds the new token, which is not due: the chain carries on.
    w.gitlab.resetRequests();
    const next = await rotate(v!.value, ["--rotate-api-token-within", "7d", "--force"], store);
    assert.equal(next.code, 0, next.stderr);
    assert.equal(JSON.parse(next.stdout).apiToken.action, "not-due");
    assert.deepEqual(steps(), ["mint"]);
  });

  test("not within D: the deploy token rotates, the API token and its store are left alone", async () => {
    const { token, key, store } = apiToken(60);
    w.gitlab.resetRequests();
    const r = await rotate(token, ["--rotate-api-token-within", "7d", "--force"], store);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.ok(report.token);
    assert.equal(report.apiToken.action, "not-due");
    assert.match(
      report.apiToken.reason,
      new RegExp(`expires on ${dateIn(60)} .*not within --rotate-api-token-within 7d`),
    );
    assert.deepEqual(steps(), ["mint"], "no proof, no rotation, no write");
    assert.equal(w.gitlab.accessToken(token)!.active, true);
    assert.equal(w.gitlab.variables(VAR, key)[0]!.value, token);
    assert.match(r.stderr, /GitLab API token not rotated: it expires on/);
  });

  test("the store refused: nothing changes (no deploy token minted, no Secret written, the API token untouched)", async () => {
    const { token } = apiToken(3);
    const before = ["team-a", "team-b"].map(tokenIn);
    const minted = w.gitlab.tokens.length;
    // A store holding another value: exit 2.
    w.gitlab.addVariable(VAR, { key: "SOMETHING_ELSE", value: "another-value-0001", masked: true });
    w.gitlab.resetRequests();
    const other = await rotate(
      token,
      ["--rotate-api-token-within", "7d", "--force"],
      `gitlab:project:${PROJECT.id}:SOMETHING_ELSE`,
    );
    assert.equal(other.code, 2, other.stderr);
    assert.match(other.stderr, /holds another value than the API token this run uses/);
    // A store the token's user may not write (a group variable needs an Owner): exit 1, naming it.
    w.gitlab.addGroup({ id: 910, path: "within-grp", members: { maintainer: "maintainer" } });
    w.gitlab.addVariable({ kind: "group", id: 910 }, { key: KEY, value: token, masked: true });
    const refused = await rotate(
      token,
      ["--rotate-api-token-within", "7d", "--force"],
      `gitlab:group:within-grp:${KEY}`,
    );
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /HTTP 403/);
    for (const r of [other, refused]) assert.equal(JSON.parse(r.stdout).error.exitCode, r.code);

    assert.deepEqual(
      steps().filter((s) => s !== "store"),
      [],
      "no deploy token minted, no rotation",
    );
    assert.equal(w.gitlab.tokens.length, minted);
    assert.deepEqual(["team-a", "team-b"].map(tokenIn), before, "the Secrets are as they were");
    assert.equal(w.gitlab.accessToken(token)!.active, true);
    assert.equal(w.gitlab.variables({ kind: "group", id: 910 }, KEY)[0]!.value, token);
  });

  test("the deploy token's rotation fails: the API token is left alone (and the prepared recovery file removed)", async () => {
    const { token, key, store } = apiToken(3);
    const recovery = join(w.dir, "within-recovery.token");
    const before = ["team-a", "team-b"].map(tokenIn);
    w.gitlab.resetRequests();
    // After the mint: the new deploy token's pull check meets no registry, so it is taken back.
    const r = await rotate(
      token,
      ["--rotate-api-token-within", "7d", "--force", "--api-token-recovery-file", recovery],
      store,
      "127.0.0.1:9",
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /The GitLab API token was not rotated: the deploy token's rotation failed first/);
    assert.deepEqual(
      steps(),
      ["store", "mint"],
      `the store proven, the deploy token minted (and taken back); no rotation\n${r.stderr}`,
    );
    const minted = w.gitlab.tokens.at(-1)!;
    assert.equal(w.gitlab.isLive(minted.id), false, "the failed rotation's deploy token is revoked");
    assert.deepEqual(["team-a", "team-b"].map(tokenIn), before);
    assert.equal(w.gitlab.accessToken(token)!.active, true);
    assert.equal(w.gitlab.variables(VAR, key)[0]!.value, token);
    assert.equal(existsSync(recovery), false, "the empty recovery file is gone");
  });

  test("the write back fails after the API token was rotated: exit 1, the deploy token in place, the new API token in the recovery file", async () => {
    const { token, key, store } = apiToken(3);
    const recovery = join(w.dir, "within-write-fails.token");
    const release = holdSelfRotation(w.gitlab);
    w.gitlab.resetRequests();
    const running = w.startCli(
      rotateArgs(["--force", "--rotate-api-token-within", "7d", "--api-token-recovery-file", recovery], store),
      { env: { GITLAB_TOKEN: token } },
    );
    // The store was proven and the deploy token rotated before the API token's rotation left: from now on every
    // write to the variable fails.
    await waitFor(() => steps().includes("rotate"), "the API token's rotate request");
    w.gitlab.fault({ kind: "status", status: 500, method: "PUT", path: new RegExp(`/variables/${key}$`) });
    release();
    const r = await running.done;
    runs.push(r);
    w.gitlab.clearFaults();
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /the API token was rotated .* but writing it to CI\/CD variable WITHIN_TOKEN_\d+ .*failed 3 times/,
    );
    const report = JSON.parse(r.stdout);
    for (const ns of ["team-a", "team-b"])
      assert.equal(tokenIn(ns), String(report.token.id), `${ns} holds the new deploy token`);
    assert.equal(w.gitlab.isLive(report.token.id), true);
    const kept = readFileSync(recovery, "utf8");
    remember(kept);
    assert.equal(statSync(recovery).mode & 0o777, 0o600);
    assert.equal(w.gitlab.accessToken(kept)!.active, true, "the new API token is alive and recoverable");
    assert.equal(w.gitlab.accessToken(token)!.revoked, true, "the old one died with the rotation");
    assert.equal(w.gitlab.variables(VAR, key)[0]!.value, token, "the variable still holds the old value");
    assert.ok(!r.stdout.includes(kept) && !r.stderr.includes(kept), "the new value is never printed");
  });

  test("usage: --rotate-api-token-within without a store is exit 2 before any request", async () => {
    w.gitlab.resetRequests();
    const kubectl = w.kubectlCalls().length;
    const r = await rotate(PAT_UNUSED, ["--rotate-api-token-within", "7d"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--api-token-store: .*required with --rotate-api-token-within/);
    assert.deepEqual(w.gitlab.requests, []);
    assert.equal(w.kubectlCalls().length, kubectl);
  });
});

const PAT_UNUSED = "glpat-e2eWithinNeverUsed000001";
