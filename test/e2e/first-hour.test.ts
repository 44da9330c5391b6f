// Issue 25, class 2: a remote refusal is exit 1 (or 2 when only the user can
// decide), names its cause, and says a fix that works. Each case goes through
// the built CLI (or the Action) and ends with the world's leak scan.
import assert from "node:assert/strict";
import { createServer as createHttpsServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { issueServerCert, makeCA } from "../support/certs.ts";
import { stopSharedControlPlane } from "../support/kube-real.ts";
import { kubeBackends, leaks, PAT, PROJECT, run, startWorld, type Captured, type World } from "../support/world.ts";

after(stopSharedControlPlane);

function rotateArgs(w: World, extra: string[]): string[] {
  return [
    "rotate",
    "--gitlab-url",
    w.gitlab.url,
    "--project",
    PROJECT.path,
    "--kubeconfig",
    w.kubeconfig,
    ...w.verifyFlags(),
    ...extra,
  ];
}

describe("a scheme the server does not speak fails at once, naming the scheme", () => {
  let w: World;
  let tls: Server;
  let tlsRequests = 0;
  const runs: Captured[] = [];
  before(async () => {
    w = await startWorld({ registry: false });
    const ca = makeCA(join(w.dir, "https-gitlab"));
    const cert = issueServerCert(join(w.dir, "https-gitlab"), ca, "gitlab");
    tls = createHttpsServer({ key: cert.key, cert: cert.cert }, (_req, res) => {
      tlsRequests++;
      res.end("{}");
    });
    await new Promise<void>((resolve) => tls.listen(0, "127.0.0.1", resolve));
  });
  after(async () => {
    assert.deepEqual(leaks(w, runs), []);
    tls.close();
    await w?.close();
  });

  test("https:// against a plain-http GitLab: exit 1 within seconds, not after --retry-for", async () => {
    w.gitlab.resetRequests();
    const url = w.gitlab.url.replace(/^http:/, "https:");
    const started = Date.now();
    const r = await w.runCli([
      "rotate",
      "--gitlab-url",
      url,
      "--project",
      PROJECT.path,
      "--kubeconfig",
      w.kubeconfig,
      "--namespace",
      "team-a",
      "--no-verify",
    ]);
    runs.push(r);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /127\.0\.0\.1:\d+ answers plain http, not https/);
    assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms (the default --retry-for is 60s)`);
    assert.equal(w.gitlab.requests.length, 0, "no request reached GitLab");
  });

  test("http:// against an https GitLab: exit 1 within seconds, saying it speaks https", async () => {
    tlsRequests = 0;
    const port = (tls.address() as AddressInfo).port;
    const started = Date.now();
    const r = await w.runCli([
      "rotate",
      "--gitlab-url",
      `http://127.0.0.1:${port}`,
      "--project",
      PROJECT.path,
      "--kubeconfig",
      w.kubeconfig,
      "--namespace",
      "team-a",
      "--no-verify",
    ]);
    runs.push(r);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${port} speaks https, but the GitLab URL says http://`));
    assert.match(r.stderr, new RegExp(`Use https://127\\.0\\.0\\.1:${port}`));
    assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms (the default --retry-for is 60s)`);
    assert.equal(tlsRequests, 0, "the plain request never became an HTTP request (the probe is a TLS hello only)");
  });
});

for (const backend of kubeBackends()) {
  describe(`refusals that only the user can resolve say so (${backend})`, () => {
    let w: World;
    const runs: Captured[] = [];
    before(async () => {
      w = await startWorld({ backend });
    });
    after(async () => {
      assert.deepEqual(leaks(w, runs), []);
      await w?.close();
    });

    test("an Opaque Secret of the same name: advice that works, with and without --adopt", async () => {
      w.kube.putObject("secrets", {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "opaque-pull", namespace: "team-a" },
        type: "Opaque",
        data: { note: Buffer.from("mine").toString("base64") },
      });
      const tokens = w.gitlab.tokens.length;
      for (const adopt of [[], ["--adopt"]]) {
        const r = await w.runCli(rotateArgs(w, ["--namespace", "team-a", "--secret-name", "opaque-pull", ...adopt]));
        runs.push(r);
        assert.equal(r.code, 2, r.stderr);
        assert.match(
          r.stderr,
          /Secret "opaque-pull" already exists with another type in namespace\(s\) team-a \(Opaque\)/,
        );
        assert.match(
          r.stderr,
          /--adopt cannot help.*another --secret-name.*kubectl delete secret opaque-pull -n team-a/,
        );
        assert.doesNotMatch(r.stderr, /Pass --adopt|keep the --secret-type/);
      }
      assert.equal(w.gitlab.tokens.length, tokens, "nothing minted");
      assert.equal(w.kube.getObject("secrets", "team-a", "opaque-pull").type, "Opaque", "left as it was");
    });

    test("a Secret of the other docker type: the --secret-type value that matches it", async () => {
      const cfg = Buffer.from(JSON.stringify({ "registry.test:5005": { auth: "eDp5" } })).toString("base64");
      w.kube.putObject("secrets", {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: "legacy-type",
          namespace: "team-b",
          labels: { "app.kubernetes.io/managed-by": "gitlab-pull-secret" },
        },
        type: "kubernetes.io/dockercfg",
        data: { ".dockercfg": cfg },
      });
      const r = await w.runCli(rotateArgs(w, ["--namespace", "team-b", "--secret-name", "legacy-type"]));
      runs.push(r);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /Pass --secret-type dockercfg \(Action input secret-type\), the type the Secret has/);
    });

    test("a Secret whose fields another field manager wrote last: exit 2, retrying cannot help, --adopt takes them over", async () => {
      const first = await w.runCli(rotateArgs(w, ["--namespace", "team-c", "--secret-name", "contested"]));
      runs.push(first);
      assert.equal(first.code, 0, first.stderr);
      // Another tool takes the data over with its own server-side apply.
      const other = {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "contested", namespace: "team-c" },
        type: "kubernetes.io/dockerconfigjson",
        data: { ".dockerconfigjson": Buffer.from('{"auths":{}}').toString("base64") },
      };
      // Asynchronously: the stand-in answers from this process.
      const applied = await run(
        "kubectl",
        [
          "--kubeconfig",
          w.kubeconfig,
          "apply",
          "--server-side",
          "--force-conflicts",
          "--field-manager=other-tool",
          "--validate=false",
          "-f",
          "-",
        ],
        { PATH: process.env.PATH ?? "", HOME: w.home },
        JSON.stringify(other),
      );
      assert.equal(applied.code, 0, applied.stderr);
      const live = () => w.gitlab.tokens.filter((t) => w.gitlab.isLive(t.id)).map((t) => t.id);
      const liveBefore = live();
      const r = await w.runCli(rotateArgs(w, ["--namespace", "team-c", "--secret-name", "contested"]));
      runs.push(r);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /conflict/);
      assert.match(
        r.stderr,
        /Another field manager \("other-tool"\) last wrote these fields of the Secret, so every apply is refused the same way: retrying cannot help\. Pass --adopt/,
      );
      assert.deepEqual(live(), liveBefore, "no new live token");
      const adopted = await w.runCli(rotateArgs(w, ["--namespace", "team-c", "--secret-name", "contested", "--adopt"]));
      runs.push(adopted);
      assert.equal(adopted.code, 0, adopted.stderr);
    });

    test("the Action: a job summary that cannot be written after a successful rotation is a warning, not a failure", async () => {
      const inputs = {
        "gitlab-url": w.gitlab.url,
        "gitlab-token": PAT,
        project: PROJECT.path,
        namespaces: "team-a",
        "secret-name": "summary-less",
        kubeconfig: w.kubeconfig,
        ...(w.verifyInputs("action") as Record<string, string>),
      };
      const r = await w.runAction(inputs, { env: { GITHUB_STEP_SUMMARY: "" } });
      runs.push(r);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(
        r.stdout,
        /::warning::The job summary was not written \(.*GITHUB_STEP_SUMMARY.*\); the rotation itself succeeded/,
      );
      assert.doesNotMatch(r.stdout, /::error::/);
      assert.match(r.files.GITHUB_OUTPUT!, /token-id/);
      assert.ok(w.kube.getObject("secrets", "team-a", "summary-less"), "the Secret was written");
    });
  });
}

// Class 3: plan and status check what rotate needs from GitLab (the api scope, the role for the
// owner kind) with the same function, and fail as rotate would: exit 1, naming what is missing.
for (const backend of kubeBackends()) {
  describe(`plan and status refuse what rotate refuses (${backend})`, () => {
    let w: World;
    const runs: Captured[] = [];
    const READ_API = "glpat-e2eReadApiOnlySecret0003";
    before(async () => {
      w = await startWorld({ backend, registry: false });
      w.gitlab.addPersonalAccessToken("maintainer", READ_API, ["read_api"]);
      w.gitlab.addGroup({ id: 7, path: "grp", members: { maintainer: "maintainer" } });
    });
    after(async () => {
      assert.deepEqual(leaks(w, runs), []);
      await w?.close();
    });

    const base = (w: World) => [
      "--gitlab-url",
      w.gitlab.url,
      "--kubeconfig",
      w.kubeconfig,
      "--namespace",
      "team-a",
      "--no-verify",
    ];
    for (const command of ["rotate", "plan", "status"]) {
      test(`${command} with a read_api token: exit 1 naming the api scope, nothing minted`, async () => {
        const tokens = w.gitlab.tokens.length;
        const r = await w.runCli(
          [command, ...base(w).filter((a) => command !== "status" || a !== "--no-verify"), "--project", PROJECT.path],
          { env: { GITLAB_TOKEN: READ_API } },
        );
        runs.push(r);
        assert.equal(r.code, 1, r.stderr);
        assert.match(
          r.stderr,
          /checking the API token's scopes failed: the GitLab API token ".*" has the scopes read_api, not api/,
        );
        assert.doesNotMatch(r.stdout + r.stderr, /Nothing needs attention/);
        assert.equal(w.gitlab.tokens.length, tokens);
      });
      test(`${command} for group deploy tokens with a Maintainer's token: exit 1 naming the Owner role`, async () => {
        const tokens = w.gitlab.tokens.length;
        const args = [
          command,
          ...base(w).filter((a) => command !== "status" || a !== "--no-verify"),
          "--group",
          "grp",
          "--registry",
          "registry.test:5005",
        ];
        const r = await w.runCli(args);
        runs.push(r);
        assert.equal(r.code, 1, r.stderr);
        assert.match(
          r.stderr,
          /checking the API token's role failed: the GitLab API token's user is Maintainer of group grp; group deploy tokens need Owner/,
        );
        assert.equal(w.gitlab.tokens.length, tokens);
        const asked = w.gitlab.requests.map((q) => q.path);
        assert.ok(
          asked.some((p) => /\/groups\/7\/members\/all\/\d+$/.test(p)),
          "the role was read from GitLab's members API",
        );
      });
    }

    test("render (it mints too) with a read_api token: exit 1 naming the api scope, nothing minted or printed", async () => {
      const tokens = w.gitlab.tokens.length;
      const r = await w.runCli(
        ["render", "--format", "config.json", "--gitlab-url", w.gitlab.url, "--project", PROJECT.path, "--no-verify"],
        { env: { GITLAB_TOKEN: READ_API } },
      );
      runs.push(r);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /checking the API token's scopes failed: the GitLab API token ".*" has the scopes read_api, not api/,
      );
      assert.equal(r.stdout, "");
      assert.equal(w.gitlab.tokens.length, tokens);
    });

    test("plan with a Maintainer's api token on the project still passes", async () => {
      const r = await w.runCli(["plan", ...base(w), "--project", PROJECT.path]);
      runs.push(r);
      assert.equal(r.code, 0, r.stderr);
    });
  });
}
