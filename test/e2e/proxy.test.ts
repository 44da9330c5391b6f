// Behind a proxy, through the built CLI and the bundled Action: the GitLab API,
// /jwt/auth and the registry check all go through a CONNECT proxy stand-in
// (HTTPS_PROXY / HTTP_PROXY, with credentials); NO_PROXY bypasses it; a proxy
// that refuses (407, 403, connection refused) gives an error that says "proxy"
// and names its host, and leaves no token live. kubectl talks to the loopback
// API server directly (Go's proxy rule skips loopback). Every test ends with
// the leak scan, which knows every form of the proxy's credentials.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { interpolateComponent } from "../../src/faces/component-interpolation.ts";
import { haveRegistryTools } from "../support/registry.ts";
import { closedPort, startProxyStandIn, type ProxyStandIn } from "../support/proxy-standin.ts";
import {
  leaks,
  NAMESPACES,
  PAT,
  PROJECT,
  registryRequired,
  ROOT,
  startWorld,
  type Captured,
  type World,
} from "../support/world.ts";

const SECRET = "regcred";
const CREDENTIALS = { username: "svc-runner", password: "Pr0xy:p@ss/w0rd%42" };
const skip =
  !haveRegistryTools() && !registryRequired()
    ? "docker-registry/skopeo not installed (CI=true makes this fail)"
    : false;

describe("behind a proxy", { skip }, () => {
  let world: World;
  let proxy: ProxyStandIn;
  let gitlabHost: string;
  let registryHost: string;
  /** As a runner sets them: both variables, the same URL, credentials in it. */
  let proxyEnv: Record<string, string>;

  before(async () => {
    world = await startWorld();
    proxy = await startProxyStandIn();
    gitlabHost = new URL(world.gitlab.url).host;
    registryHost = world.registry!.host;
    const url = proxy.url(CREDENTIALS);
    proxyEnv = { HTTPS_PROXY: url, HTTP_PROXY: url };
    // The password as written in the URL is a form too.
    world.addCredentials(CREDENTIALS.username, CREDENTIALS.password);
    world.addCredentials(CREDENTIALS.username, encodeURIComponent(CREDENTIALS.password));
  });
  after(async () => {
    await proxy?.close();
    await world?.close();
  });
  beforeEach(() => {
    proxy.reset();
    proxy.requireAuth(CREDENTIALS);
    proxy.deny(undefined);
    world.gitlab.resetRequests();
  });

  function rotate(env: Record<string, string>, extra: string[] = world.verifyFlags()): Promise<Captured> {
    return world.runCli(
      [
        "rotate",
        "--gitlab-url",
        world.gitlab.url,
        "--project",
        PROJECT.path,
        "--secret-name",
        SECRET,
        "--kubeconfig",
        world.kubeconfig,
        "--namespace",
        NAMESPACES.join(","),
        ...extra,
      ],
      { env },
    );
  }
  const live = (): number[] => world.gitlab.tokens.filter((t) => world.gitlab.isLive(t.id)).map((t) => t.id);
  const heldTokenIds = (): Array<string | undefined> =>
    NAMESPACES.map(
      (ns) => world.kube.getObject("secrets", ns, SECRET)?.metadata.annotations?.["gitlab-pull-secret.io/token-id"],
    );
  const targets = (): string[] => [...new Set(proxy.tunnels.map((t) => t.target))].sort();
  const basic = `Basic ${Buffer.from(`${CREDENTIALS.username}:${CREDENTIALS.password}`).toString("base64")}`;
  /** Every proxy environment given so far: the kubectl records of earlier runs hold them too. */
  const given: Array<Record<string, string>> = [];
  function assertNoLeaks(runs: Captured[], env: Record<string, string> = proxyEnv): void {
    given.push(env);
    // kubectl inherits the proxy variables as given (it needs them for a cluster behind the proxy); nothing else may hold them.
    assert.deepEqual(leaks(world, runs, { inherited: given }), [], "a secret form leaked");
  }

  test("CLI: GitLab, /jwt/auth and the registry all go through the proxy, with its credentials; the Secret pulls", async () => {
    const r = await rotate(proxyEnv, [...world.verifyFlags(), "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(live(), [out.token.id]);

    assert.deepEqual(
      targets(),
      [gitlabHost, registryHost].sort(),
      "tunnels to GitLab and the registry only (kubectl goes direct to loopback)",
    );
    for (const t of proxy.tunnels) {
      assert.equal(t.status, 200, `tunnel to ${t.target}`);
      assert.equal(t.proxyAuthorization, basic, "the URL's credentials arrive as Proxy-Authorization");
    }
    assert.deepEqual(proxy.forwarded, []);
    // The GitLab stand-in speaks plain HTTP, so the proxy can read the request lines in its tunnels:
    // every request GitLab answered came through the proxy.
    const seen = proxy.requestLines(gitlabHost).sort();
    const answered = world.gitlab.requests.map((q) => `${q.method} ${q.path}`).sort();
    assert.deepEqual(seen, answered);
    assert.ok(
      seen.some((l) => l.startsWith("POST /api/v4/projects/42/deploy_tokens")),
      "the create went through the proxy",
    );
    assert.ok(seen.includes("GET /jwt/auth"), "the registry token request went through the proxy");
    // The registry check ran through its tunnel, with the registry's CA (--ca-file) verifying it inside.
    assert.ok(proxy.tunnels.some((t) => t.target === registryHost && t.sent.length > 0));

    const pulled = await world.pull(world.authfileFromSecret("team-a", SECRET));
    assert.ok(pulled.ok, pulled.stderr);
    assertNoLeaks([r]);
  });

  test("CLI: NO_PROXY with the IP literal bypasses the proxy for everything", async () => {
    const env = { ...proxyEnv, NO_PROXY: "example.com, 127.0.0.1" };
    const r = await rotate(env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(proxy.tunnels, []);
    assert.ok(world.gitlab.requests.length > 0);
    assertNoLeaks([r], env);
  });

  test("CLI: NO_PROXY host:port bypasses GitLab only; the registry still goes through the proxy", async () => {
    const env = { ...proxyEnv, no_proxy: gitlabHost };
    const r = await rotate(env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(targets(), [registryHost]);
    assert.deepEqual(proxy.requestLines(gitlabHost), []);
    assertNoLeaks([r], env);
  });

  test("CLI: wrong proxy credentials: 407 named as the proxy's, nothing reaches GitLab, nothing minted", async () => {
    const before = world.gitlab.tokens.length;
    const held = heldTokenIds();
    const env = {
      HTTPS_PROXY: proxy.url({ ...CREDENTIALS, password: "not-the-password" }),
      HTTP_PROXY: proxy.url({ ...CREDENTIALS, password: "not-the-password" }),
    };
    world.addCredentials(CREDENTIALS.username, "not-the-password");
    const r = await rotate(env);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `error: GitLab: reading the project failed: the proxy ${proxy.host} refused the tunnel to ${gitlabHost} \\(HTTP 407 Proxy Authentication Required\\)\\. ` +
          `The proxy rejected the credentials in HTTPS_PROXY / HTTP_PROXY`,
      ),
    );
    assert.doesNotMatch(r.stderr, /svc-runner/, "the proxy is named by host, without its user");
    assert.equal(proxy.tunnels.length, 1, "a 407 is not retried");
    assert.equal(world.gitlab.requests.length, 0);
    assert.equal(world.gitlab.tokens.length, before);
    assert.deepEqual(heldTokenIds(), held);
    assertNoLeaks([r], env);
  });

  test("CLI: the proxy refuses the registry after the token was minted: 403 named as the proxy's, the new token revoked", async () => {
    const liveBefore = live();
    const held = heldTokenIds();
    proxy.deny(new RegExp(`^${registryHost.replace(/\./g, "\\.")}$`));
    const r = await rotate(proxyEnv);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `Registry check failed at step "registry" \\(reaching the registry\\): GET https://${registryHost}/v2/ failed: ` +
          `the proxy ${proxy.host} refused the tunnel to ${registryHost} \\(HTTP 403 Forbidden\\)\\. The proxy does not allow connections to ${registryHost}`,
      ),
    );
    assert.match(r.stderr, /Rollback: .*revoked/i);
    const minted = world.gitlab.requests.filter((q) => q.method === "POST" && q.path.endsWith("/deploy_tokens"));
    assert.equal(minted.length, 1, "a token was minted before the check");
    assert.deepEqual(live(), liveBefore, "no token left live but those live before");
    assert.deepEqual(heldTokenIds(), held, "the Secrets were not touched");
    assertNoLeaks([r]);
  });

  test("CLI: a proxy that refuses connections: named, with a hint, nothing minted", async () => {
    const gone = await closedPort();
    const url = proxy.url(CREDENTIALS).replace(/:\d+$/, `:${gone}`);
    const env = { HTTPS_PROXY: url, HTTP_PROXY: url };
    const before = world.gitlab.tokens.length;
    const r = await rotate(env, [...world.verifyFlags(), "--retry-for", "0s"]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `error: GitLab: reading the project failed: cannot connect to the proxy 127\\.0\\.0\\.1:${gone} \\(ECONNREFUSED\\) to reach ${gitlabHost}; gave up after 1 attempt.*` +
          `Check the proxy's host and port in HTTPS_PROXY / HTTP_PROXY; if this runner reaches 127\\.0\\.0\\.1 without the proxy, add it to NO_PROXY`,
      ),
    );
    assert.equal(world.gitlab.requests.length, 0);
    assert.equal(world.gitlab.tokens.length, before);
    assertNoLeaks([r], env);
  });

  test("CLI: through the proxy the registry's certificate is still checked: without --ca-file it is the registry's error, and the token is revoked", async () => {
    const liveBefore = live();
    const r = await rotate(proxyEnv, []);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`failed: the TLS certificate of ${registryHost} is not trusted .*--ca-file`));
    assert.doesNotMatch(r.stderr, /the proxy .* refused/);
    assert.ok(targets().includes(registryHost), "the TLS handshake ran inside the tunnel");
    assert.deepEqual(live(), liveBefore);
    assertNoLeaks([r]);
  });

  test("Action: the runner's proxy variables work unchanged; the proxy password is masked before anything runs", async () => {
    const r = await world.runAction(
      {
        "gitlab-url": world.gitlab.url,
        "gitlab-token": PAT,
        project: String(PROJECT.id),
        namespaces: NAMESPACES.join("\n"),
        "secret-name": SECRET,
        kubeconfig: world.kubeconfig,
        ...(world.verifyInputs("action") as Record<string, string>),
      },
      { env: proxyEnv },
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(targets(), [gitlabHost, registryHost].sort());
    for (const t of proxy.tunnels) assert.equal(t.proxyAuthorization, basic);
    assert.deepEqual(
      proxy.requestLines(gitlabHost).sort(),
      world.gitlab.requests.map((q) => `${q.method} ${q.path}`).sort(),
    );
    // Workflow command data is escaped (% as %25, CR and LF as %0D and %0A); the runner reads it back.
    const unescape = (d: string): string => d.replace(/%0D/g, "\r").replace(/%0A/g, "\n").replace(/%25/g, "%");
    const masks = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("::add-mask::"))
      .map((l) => unescape(l.slice("::add-mask::".length)));
    for (const form of [CREDENTIALS.password, encodeURIComponent(CREDENTIALS.password), basic.slice("Basic ".length)]) {
      assert.ok(masks.includes(form), "each form of the proxy password is masked in the runner log");
    }
    assertNoLeaks([r]);
  });

  test("CLI: a proxy URL that cannot be used is a usage error before anything happens, without its password", async () => {
    const kubectlBefore = world.kubectlCalls().length;
    const env = {
      HTTPS_PROXY: `socks5://${CREDENTIALS.username}:${encodeURIComponent(CREDENTIALS.password)}@127.0.0.1:1080`,
    };
    const r = await rotate(env);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /error: HTTPS_PROXY: invalid value "socks5:\/\/\*\*\*@127\.0\.0\.1:1080"; expected a proxy URL such as http:\/\/proxy/,
    );
    assert.equal(world.gitlab.requests.length, 0);
    assert.equal(world.kubectlCalls().length, kubectlBefore, "no kubectl spawned");
    assert.deepEqual(proxy.tunnels, []);
    assertNoLeaks([r], env);
  });
});

describe("the component's install step behind a proxy", () => {
  // The download function of the generated job, run with an image's tools faked: which proxy
  // variables reach curl and wget. npm reads HTTPS_PROXY / https_proxy / NO_PROXY itself.
  const template = readFileSync(join(ROOT, "templates", "rotate.yml"), "utf8");
  const job: any = Object.values(interpolateComponent(template, { namespaces: ["team-a"] }, "hash"))[0];
  const install = job.script.find((item: string) => item.includes("gps_fetch() {"))!;
  const gpsFetch = /^gps_fetch\(\) \{\n[\s\S]*?\n\}$/m.exec(install)![0];
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "gps-proxy-install-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs gps_fetch with only `tool` (a fake that records its environment) on PATH; returns that environment. */
  function fetchWith(tool: "curl" | "wget", env: Record<string, string>): Record<string, string> {
    const bin = mkdtempSync(join(dir, `${tool}-`));
    for (const t of ["env", "sh"])
      symlinkSync(execFileSync("sh", ["-c", `command -v ${t}`], { encoding: "utf8" }).trim(), join(bin, t));
    writeFileSync(join(bin, tool), `#!/bin/sh\nenv > "${bin}/${tool}.env"\n`);
    chmodSync(join(bin, tool), 0o755);
    const r = spawnSync(
      join(bin, "sh"),
      ["-c", `${gpsFetch}\ngps_fetch https://dl.k8s.io/release/stable.txt "${bin}/out"`],
      { env: { PATH: bin, ...env }, encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    return Object.fromEntries(
      readFileSync(join(bin, `${tool}.env`), "utf8")
        .trim()
        .split("\n")
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
  }
  const runner = { HTTPS_PROXY: "http://svc:secret@proxy.corp.example:3128", NO_PROXY: ".corp.example,10.0.0.1" };

  test("curl gets the runner's variables unchanged (it reads HTTPS_PROXY and NO_PROXY itself)", () => {
    const env = fetchWith("curl", runner);
    assert.equal(env.HTTPS_PROXY, runner.HTTPS_PROXY);
    assert.equal(env.NO_PROXY, runner.NO_PROXY);
    assert.equal(env.https_proxy, undefined);
  });

  test("wget, which reads only the lower-case names, gets them from the upper-case ones; lower case set by the runner wins", () => {
    let env = fetchWith("wget", runner);
    assert.equal(env.https_proxy, runner.HTTPS_PROXY);
    assert.equal(env.no_proxy, runner.NO_PROXY);
    env = fetchWith("wget", { ...runner, https_proxy: "http://lower.corp.example:8080", no_proxy: "lower" });
    assert.equal(env.https_proxy, "http://lower.corp.example:8080");
    assert.equal(env.no_proxy, "lower");
  });
});
