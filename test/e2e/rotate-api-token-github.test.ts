// rotate-api-token with a GitHub Actions secret store, end to end through the
// built CLI, against the GitLab stand-in (self-rotation with reuse detection)
// and the GitHub secrets stand-in (HTTPS on the test PKI, sealed values
// opened with the repository's key): rotated; written back (the secret's
// plaintext is GitLab's new token); the old token dead and the new one alive
// with no family revocation; a GitHub token that may not write refused
// before the rotation (nothing changes); a write refused after it (the new
// token kept in the recovery file); and every captured stream and file
// scanned for both API token values and the GitHub token.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startGitHubStandIn, type GitHubStandIn } from "../support/github/server.ts";
import { holdSelfRotation } from "../support/gitlab-standin.ts";
import { leaks, startWorld, waitFor, type Captured, type World } from "../support/world.ts";

const WRITER = "github_pat_e2eWriter000000000000000001";
const READER = "github_pat_e2eReader000000000000000002";
const WORKFLOW = "ghs_e2eWorkflowToken00000000000000003";

describe("rotate-api-token to a GitHub Actions secret, through the CLI", () => {
  let w: World;
  let gh: GitHubStandIn;
  const runs: Captured[] = [];
  let n = 0;

  before(async () => {
    w = await startWorld({ registry: false });
    gh = await startGitHubStandIn({ dir: join(w.dir, "github") });
    gh.addRepo("acme/app", ["production"]);
    gh.addToken(WRITER, { kind: "fine-grained", repos: ["acme/app"], secrets: "write", environments: "write" });
    gh.addToken(READER, { kind: "fine-grained", repos: ["acme/app"], secrets: "read", environments: "read" });
    gh.addToken(WORKFLOW, { kind: "app", repos: ["acme/app"], secrets: "none", environments: "none" });
    w.addSecretForms(WRITER, READER, WORKFLOW);
  });
  after(async () => {
    assert.deepEqual(leaks(w, runs), [], "no form of any token value may show anywhere");
    await gh?.close();
    await w?.close();
  });

  function apiToken(): string {
    const secret = `glpat-e2eGitHub${String(++n).padStart(4, "0")}Secret00000`;
    w.gitlab.addPersonalAccessToken("maintainer", secret, ["api"], { name: `github ${n}`, expiresAt: "2099-01-01" });
    remember(secret);
    return secret;
  }
  function remember(token: string): void {
    w.addSecretForms(token, Buffer.from(token).toString("base64"));
  }
  const args = (store: string, extra: string[] = []): string[] => [
    "rotate-api-token",
    "--gitlab-url",
    w.gitlab.url,
    "--github-api-url",
    gh.url,
    "--ca-file",
    gh.caPath,
    "--api-token-store",
    store,
    "--retry-for",
    "0s",
    ...extra,
  ];
  async function cli(token: string, github: string, store: string, extra: string[] = []): Promise<Captured> {
    const r = await w.runCli(args(store, extra), { env: { GITLAB_TOKEN: token, GPS_GITHUB_TOKEN: github } });
    runs.push(r);
    return r;
  }
  const rotations = () => w.gitlab.requests.filter((r) => r.method === "POST" && r.path.endsWith("/rotate"));

  test("a repository secret: proven, rotated once, written back sealed and confirmed by updated_at", async () => {
    const old = apiToken();
    gh.putSecret("acme/app", "GITLAB_TOKEN", old);
    w.gitlab.resetRequests();
    gh.resetRequests();
    const r = await cli(old, WRITER, "github:acme/app:GITLAB_TOKEN", ["--json"]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.store.kind, "github-secret");
    assert.equal(report.store.confirmed, true);
    assert.match(report.store.confirmation, /updated_at/);
    assert.equal(rotations().length, 1, "exactly one rotate request");

    const stored = gh.secret("acme/app", "GITLAB_TOKEN")!.value;
    remember(stored);
    assert.notEqual(stored, old);
    const oldState = w.gitlab.accessToken(old)!;
    const fresh = w.gitlab.accessToken(stored);
    assert.ok(fresh, "the secret holds GitLab's new token");
    assert.equal(fresh.id, report.rotated.id);
    assert.equal(oldState.revoked, true, "the old token is dead");
    assert.equal(fresh.active, true, "the new one is alive: no family revocation");
    assert.equal(fresh.family, oldState.family);
    // Read the secret; then the proof (public key, the current value PUT back) before the rotation; then the write.
    assert.deepEqual(
      gh.requests.map((q) => `${q.method} ${q.path.replace("/repos/acme/app/actions/secrets/", "")} ${q.status}`),
      [
        "GET GITLAB_TOKEN 200",
        "GET public-key 200",
        "PUT GITLAB_TOKEN 204",
        "GET public-key 200",
        "PUT GITLAB_TOKEN 204",
        "GET GITLAB_TOKEN 200",
      ],
    );

    // The new token rotates again into an environment secret given in a file: the family is intact.
    gh.putSecret("acme/app", "GITLAB_TOKEN", stored, "production");
    const tokenFile = join(w.dir, "github-token");
    writeFileSync(tokenFile, `${WRITER}\n`, { mode: 0o600 });
    const again = await w.runCli(args("github:acme/app:GITLAB_TOKEN:production", ["--github-token-file", tokenFile]), {
      env: { GITLAB_TOKEN: stored },
    });
    runs.push(again);
    assert.equal(again.code, 0, again.stderr);
    const newest = gh.secret("acme/app", "GITLAB_TOKEN", "production")!.value;
    remember(newest);
    assert.equal(w.gitlab.accessToken(newest)!.active, true);
    assert.equal(w.gitlab.accessToken(stored)!.revoked, true);
  });

  test("a GitHub token that may not write is refused before the rotation: nothing changes", async () => {
    const token = apiToken();
    gh.putSecret("acme/app", "REFUSED_TOKEN", token);
    const before = gh.secret("acme/app", "REFUSED_TOKEN")!;
    w.gitlab.resetRequests();
    const reader = await cli(token, READER, "github:acme/app:REFUSED_TOKEN");
    assert.equal(reader.code, 1, reader.stderr);
    assert.match(reader.stderr, /HTTP 403\): Resource not accessible by personal access token/);
    assert.match(reader.stderr, /"Secrets: Read and write" on acme\/app \(GitHub accepts: secrets=write\)/);

    // The workflow's GITHUB_TOKEN (an App's token) may not even read it.
    const workflow = await cli(token, WORKFLOW, "github:acme/app:REFUSED_TOKEN");
    assert.equal(workflow.code, 1, workflow.stderr);
    assert.match(
      workflow.stderr,
      /Resource not accessible by integration\. .*GITHUB_TOKEN is one and can never write secrets/,
    );

    // A secret that does not exist yet: created by nobody, refused.
    const missing = await cli(token, WRITER, "github:acme/app:NO_SUCH_TOKEN");
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(missing.stderr, /Create the secret NO_SUCH_TOKEN first/);
    assert.equal(gh.secret("acme/app", "NO_SUCH_TOKEN"), undefined);

    // No GitHub token at all: a usage error before any request.
    const none = await w.runCli(args("github:acme/app:REFUSED_TOKEN"), { env: { GITLAB_TOKEN: token } });
    runs.push(none);
    assert.equal(none.code, 2, none.stderr);
    assert.match(
      none.stderr,
      /\$GPS_GITHUB_TOKEN \/ --github-token-file: required with a github: --api-token-store: a fine-grained token/,
    );

    assert.equal(rotations().length, 0, "never rotated");
    assert.equal(w.gitlab.accessToken(token)!.active, true, "GitLab's token is still the old one, alive");
    assert.deepEqual(gh.secret("acme/app", "REFUSED_TOKEN"), before, "the secret is as it was");
  });

  test("the write refused after the rotation: exit 1 saying so, the new token in the recovery file, alive", async () => {
    const token = apiToken();
    gh.putSecret("acme/app", "FAILING_TOKEN", token);
    const grant = "github_pat_e2eLosesWrite0000000000004";
    w.addSecretForms(grant);
    gh.addToken(grant, { kind: "fine-grained", repos: ["acme/app"], secrets: "write", environments: "none" });
    const recovery = join(w.dir, "recovery-github.token");
    const release = holdSelfRotation(w.gitlab);
    w.gitlab.resetRequests();
    const running = w.startCli(args("github:acme/app:FAILING_TOKEN", ["--api-token-recovery-file", recovery]), {
      env: { GITLAB_TOKEN: token, GPS_GITHUB_TOKEN: grant },
    });
    // The proof is behind the rotation: now the token loses its write permission.
    await waitFor(() => rotations().length === 1, "the rotate request");
    gh.setGrant(grant, { secrets: "read" });
    release();
    const r = await running.done;
    runs.push(r);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /the API token was rotated \(the old value is revoked; the new token, id \d+, expires on [\d-]+\), but writing it to Actions secret FAILING_TOKEN of repository acme\/app failed 3 times: GitHub: writing/,
    );
    assert.ok(r.stderr.includes(`The new token is kept in ${recovery} (mode 0600)`), r.stderr);
    assert.equal(rotations().length, 1, "the rotation is never retried");
    const kept = readFileSync(recovery, "utf8");
    remember(kept);
    assert.equal(w.gitlab.accessToken(kept)!.active, true, "the kept token works: the run is recoverable");
    assert.equal(w.gitlab.accessToken(token)!.revoked, true);
    assert.equal(gh.secret("acme/app", "FAILING_TOKEN")!.value, token, "the secret still holds the old value");
  });
});
