// The GitLab CI/CD component end to end: templates/rotate.yml is included with
// inputs (interpolated as GitLab does), and its job script runs as a runner
// runs it: one shell, errexit/pipefail, every command echoed as `$ ...`, the
// exit code checked after each, predefined CI variables, the job's variables
// (expanded as the runner expands them) and the masked token variable in the
// environment. Against the GitLab and Kubernetes stand-ins and
// the real kubectl. Every run ends with a leak scan of the job log, the dotenv
// report, kubectl's argv/env and the files left behind.
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { arch } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { METRICS_FILE, type InputValue } from "../../src/faces/component-metadata.ts";
import { interpolateComponent } from "../../src/faces/component-interpolation.ts";
import { VERSION } from "../../src/config/version.ts";
import { CLI, leaks, NAMESPACES, PAT, PROJECT, ROOT, startWorld, type Captured, type World } from "../support/world.ts";

const TEMPLATE = readFileSync(join(ROOT, "templates", "rotate.yml"), "utf8");
const TOKEN_VARIABLE = "GITLAB_PULL_SECRET_TOKEN";

interface Job extends Captured {
  /** The interpolated job, as the pipeline would hold it. */
  job: Record<string, any>;
  dotenv: Record<string, string> | undefined;
}

const sq = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

/** The script gitlab-runner's bash/sh shell writer produces for `script:` (shells/bash.go, abstract.go writeCommands). */
function runnerScript(commands: string[], trace: boolean): string {
  let body = "";
  for (const raw of commands) {
    const command = raw.trim();
    const nl = command.indexOf("\n");
    body += `echo ${sq(nl === -1 ? `$ ${command}` : `$ ${command.slice(0, nl)} # collapsed multi-line command`)}\n`;
    body += `${command}\n`;
    body += "_runner_exit_code=$?; if [ $_runner_exit_code -ne 0 ]; then exit $_runner_exit_code; fi\n";
  }
  return [
    "trap exit 1 TERM",
    ...(trace ? ["set -o xtrace"] : []), // CI_DEBUG_TRACE=true
    "if set -o | grep pipefail > /dev/null; then set -o pipefail; fi; set -o errexit",
    "set +o noclobber",
    `: | eval ${sq(body)}`,
    "exit 0",
    "",
  ].join("\n");
}

/** The runner expands $NAME and ${NAME} in a job variable's value ($$ is a literal $). */
function expand(value: string, env: Record<string, string | undefined>): string {
  return value.replace(/\$\$|\$\{(\w+)\}|\$(\w+)/g, (m, braced?: string, bare?: string) =>
    m === "$$" ? "$" : (env[braced ?? bare!] ?? ""),
  );
}

function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

interface RunOpts {
  inputs: Record<string, InputValue>;
  mode?: "hash" | "text";
  shell?: "sh" | "bash";
  trace?: boolean;
  /** Replaces the default PATH (shim + kubectl spy + the system's). */
  path?: string;
  env?: Record<string, string | undefined>;
}

describe("the GitLab CI/CD component's job", () => {
  let world: World;
  let n = 0;
  const shimDir = () => join(world.dir, "component-shim");
  const spyBin = () => join(world.dir, "bin"); // startWorld's kubectl spy
  const toolTmp = () => join(world.dir, "tool-tmp");

  before(async () => {
    world = await startWorld();
    // The image "has" the tool: gitlab-pull-secret on PATH is the committed dist/cli.js.
    mkdirSync(shimDir());
    writeFileSync(join(shimDir(), "gitlab-pull-secret"), `#!/bin/sh\nexec ${sq(process.execPath)} ${sq(CLI)} "$@"\n`);
    chmodSync(join(shimDir(), "gitlab-pull-secret"), 0o755);
  });
  after(async () => {
    await world?.close();
  });

  async function runJob(o: RunOpts): Promise<Job> {
    const pipeline = interpolateComponent(
      TEMPLATE,
      { ...world.verifyInputs("component"), ...o.inputs } as RunOpts["inputs"],
      o.mode ?? "hash",
    );
    const names = Object.keys(pipeline);
    assert.equal(names.length, 1, "the component adds exactly one job");
    const job = pipeline[names[0]!];
    const jobDir = join(world.dir, `job-${++n}`);
    const buildDir = join(jobDir, "build");
    mkdirSync(buildDir, { recursive: true });
    const scriptPath = join(jobDir, "script.sh");
    writeFileSync(scriptPath, runnerScript(job.script, o.trace ?? false));
    const url = new URL(world.gitlab.url);
    const env: Record<string, string | undefined> = {
      PATH: o.path ?? `${shimDir()}:${spyBin()}:${process.env.PATH ?? ""}`,
      HOME: world.home,
      TMPDIR: toolTmp(),
      LANG: "C.UTF-8",
      CI: "true",
      GITLAB_CI: "true",
      CI_SERVER_URL: world.gitlab.url,
      CI_SERVER_FQDN: url.host,
      CI_API_V4_URL: `${world.gitlab.url}/api/v4`,
      CI_PROJECT_ID: String(PROJECT.id),
      CI_PROJECT_PATH: PROJECT.path,
      CI_PROJECT_DIR: buildDir,
      CI_DEFAULT_BRANCH: "main",
      CI_COMMIT_BRANCH: "main",
      CI_PIPELINE_SOURCE: "schedule",
      CI_JOB_NAME: names[0],
      KUBECONFIG: world.kubeconfig,
    };
    // CI/CD variables of the project (the masked token's) outrank the job's own variables in GitLab.
    const project: Record<string, string | undefined> = { [TOKEN_VARIABLE]: PAT, ...o.env };
    const lookup = { ...env, ...project };
    for (const [name, value] of Object.entries((job.variables ?? {}) as Record<string, string>))
      env[name] = expand(value, lookup);
    Object.assign(env, project);
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const r = await new Promise<Captured>((resolve, reject) => {
      const child = spawn(o.shell ?? "sh", [scriptPath], {
        cwd: buildDir,
        env: env as Record<string, string>,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr, files: {} }));
    });
    const dotenvPath = join(buildDir, "gitlab-pull-secret.env");
    const dotenvText = existsSync(dotenvPath) ? readFileSync(dotenvPath, "utf8") : undefined;
    if (dotenvText !== undefined) r.files["gitlab-pull-secret.env"] = dotenvText;
    // Input metrics: the textfile the job uploads as an artifact (the leak scan reads it too).
    const metricsPath = join(buildDir, METRICS_FILE);
    if (existsSync(metricsPath)) r.files[METRICS_FILE] = readFileSync(metricsPath, "utf8");
    return { ...r, job, dotenv: dotenvText === undefined ? undefined : parseDotenv(dotenvText) };
  }

  const live = () => world.gitlab.tokens.filter((t) => world.gitlab.isLive(t.id));
  const secretTokenIds = (name: string) =>
    NAMESPACES.map(
      (ns) => world.kube.getObject("secrets", ns, name)?.metadata.annotations?.["gitlab-pull-secret.io/token-id"],
    );
  const log = (j: Captured) => `${j.stdout}\n${j.stderr}`;

  test("a scheduled run (sh, GitLab's hash interpolation) creates the Secret in every namespace and reports it as dotenv", async () => {
    const j = await runJob({ inputs: { namespaces: NAMESPACES, kube_context: "standin" }, shell: "sh", mode: "hash" });
    assert.equal(j.code, 0, log(j));
    // The job as the pipeline gets it from the defaults.
    assert.equal(j.job.stage, "deploy");
    assert.deepEqual(j.job.image, {
      name: `registry.gitlab.com/gitlab-pull-secret/gitlab-pull-secret:${VERSION}`,
      entrypoint: [""],
    });
    assert.deepEqual(j.job.rules, [
      { if: '$CI_PIPELINE_SOURCE == "schedule"' },
      { if: "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH" },
    ]);
    assert.deepEqual(j.job.artifacts, {
      when: "always",
      paths: [METRICS_FILE],
      reports: { dotenv: "gitlab-pull-secret.env" },
    });
    assert.equal(j.files[METRICS_FILE], undefined, "no metrics file without input metrics");
    // The runner's command echo; the inputs reached the CLI as variables: defaults ($CI_SERVER_URL,
    // $CI_PROJECT_ID, 7d, ...) applied by the CLI, the agent context used for every kubectl.
    assert.match(
      j.stdout,
      /^\$ # Take the GitLab token \(with a username: the registry password\) from the CI\/CD variable .* # collapsed multi-line command$/m,
    );
    assert.match(j.stdout, /^\$ # Rotate: .* # collapsed multi-line command$/m);
    assert.equal(
      j.job.variables.GITLAB_PULL_SECRET_OPT_NAMESPACES,
      '["team-a", "team-b", "team-c"]\n',
      "an array input as GitLab embeds it in text",
    );
    assert.equal(j.job.variables.GITLAB_PULL_SECRET_OPT_PROJECT, "", "empty: the CLI falls back to $CI_PROJECT_ID");
    assert.match(j.stdout, new RegExp(`^gitlab-pull-secret ${VERSION.replace(/\./g, "\\.")}, Client Version: v`, "m"));
    assert.match(j.stderr, /Rotated Secret "gitlab-pull-secret" in team-a, team-b, team-c/);

    const [token] = live();
    assert.equal(live().length, 1);
    assert.deepEqual(token!.scopes, ["read_registry"]);
    assert.deepEqual(
      secretTokenIds("gitlab-pull-secret"),
      NAMESPACES.map(() => String(token!.id)),
    );
    const contexts = world.kubectlCalls().filter((c) => c.argv.includes("--context"));
    assert.ok(contexts.length > 0 && contexts.every((c) => c.argv[c.argv.indexOf("--context") + 1] === "standin"));

    assert.ok(j.dotenv, "no dotenv report");
    assert.equal(j.dotenv.GITLAB_PULL_SECRET_TOKEN_ID, String(token!.id));
    assert.equal(j.dotenv.GITLAB_PULL_SECRET_TOKEN_USERNAME, token!.username);
    assert.equal(j.dotenv.GITLAB_PULL_SECRET_EXPIRES_AT, token!.expires_at);
    assert.equal(j.dotenv.GITLAB_PULL_SECRET_CHANGED, "true");
    assert.deepEqual(leaks(world, [j]), []);
  });

  test("the next run (bash, GitLab's text interpolation, CI_DEBUG_TRACE on) replaces the token and revokes the first", async () => {
    const first = live()[0]!;
    const calls = world.kubectlCalls().length;
    const started = Date.now();
    const j = await runJob({
      // kube_context from a variable of the pipeline, as with parallel:matrix: the runner expands it.
      inputs: {
        namespaces: NAMESPACES,
        project: PROJECT.path,
        expires_in: "36h",
        kube_context: "$KUBE_CONTEXT",
        metrics: true,
      },
      env: { KUBE_CONTEXT: "standin" },
      shell: "bash",
      mode: "text",
      trace: true,
    });
    assert.equal(j.code, 0, log(j));
    assert.match(j.stderr, /^\+ /m, "the runner's xtrace was on");
    assert.equal(
      j.job.variables.GITLAB_PULL_SECRET_OPT_NAMESPACES,
      '["team-a","team-b","team-c"]\n',
      "text interpolation writes arrays as JSON",
    );
    const all = world.kubectlCalls();
    const withContext = all.filter((c) => c.argv.includes("--context"));
    assert.ok(
      all.length > calls && withContext.every((c) => c.argv[c.argv.indexOf("--context") + 1] === "standin"),
      "$KUBE_CONTEXT expanded",
    );
    const now = live();
    assert.equal(now.length, 1);
    // --expires-in 36h from its variable: the first 00:00 UTC at or after the run's start + 36h (GitLab expires
    // tokens at midnight), whichever moment of the run it was computed at.
    const midnightAfter = (ms: number) => Math.ceil(ms / 86400_000) * 86400_000;
    const expected = new Set([midnightAfter(started + 36 * 3600_000), midnightAfter(Date.now() + 36 * 3600_000)]);
    assert.ok(expected.has(Date.parse(now[0]!.expires_at!)), `expires ${now[0]!.expires_at}`);
    assert.equal(now[0]!.name.startsWith("gitlab-pull-secret/"), true);
    assert.notEqual(now[0]!.id, first.id);
    assert.equal(world.gitlab.isLive(first.id), false);
    assert.deepEqual(
      secretTokenIds("gitlab-pull-secret"),
      NAMESPACES.map(() => String(now[0]!.id)),
    );
    assert.equal(j.dotenv?.GITLAB_PULL_SECRET_TOKEN_ID, String(now[0]!.id));
    assert.equal(j.dotenv?.GITLAB_PULL_SECRET_REVOKED_TOKEN_IDS, JSON.stringify([first.id]));
    // metrics: true wrote the run's metrics where the job's artifacts: paths picks them up.
    const prom = j.files[METRICS_FILE] ?? "";
    assert.match(prom, /^gitlab_pull_secret_last_run_success\{secret="gitlab-pull-secret"\} 1$/m, prom);
    assert.match(prom, /^gitlab_pull_secret_last_run_minted_tokens\{secret="gitlab-pull-secret"\} 1$/m);
    assert.deepEqual(j.job.artifacts.paths, [METRICS_FILE]);
    // Tracing is switched off before the token is expanded: the masked variable never reaches the log.
    assert.ok(!log(j).includes(PAT));
    assert.deepEqual(leaks(world, [j]), []);
  });

  test("an unset token variable fails the job with a message naming it, and mints nothing", async () => {
    const tokens = world.gitlab.tokens.length;
    const requests = world.gitlab.requests.length;
    const kubectl = world.kubectlCalls().length;
    const j = await runJob({
      inputs: { namespaces: NAMESPACES, token_variable: "DEPLOY_TOKEN_ADMIN" },
      env: { [TOKEN_VARIABLE]: PAT, DEPLOY_TOKEN_ADMIN: undefined },
    });
    assert.equal(j.code, 2, log(j));
    assert.match(
      j.stderr,
      /^error: the CI\/CD variable DEPLOY_TOKEN_ADMIN \(input token_variable\) is not set or empty\. Add it under Settings > CI\/CD > Variables, masked/m,
    );
    assert.doesNotMatch(j.stdout, /^\$ # Rotate/m, "nothing ran after the check");
    assert.equal(world.gitlab.tokens.length, tokens);
    assert.equal(world.gitlab.requests.length, requests);
    assert.equal(world.kubectlCalls().length, kubectl);
    assert.equal(j.dotenv, undefined);
    // Set but empty is the same failure.
    const empty = await runJob({ inputs: { namespaces: NAMESPACES }, env: { [TOKEN_VARIABLE]: "" } });
    assert.equal(empty.code, 2);
    assert.match(
      empty.stderr,
      /the CI\/CD variable GITLAB_PULL_SECRET_TOKEN \(input token_variable\) is not set or empty/,
    );
    assert.equal(world.gitlab.tokens.length, tokens);
    assert.deepEqual(leaks(world, [j, empty]), []);
  });

  test("static credentials: with a username the job takes the password variable instead of the token, and GitLab is never called", async () => {
    const password = "static-component-password-0001";
    world.addCredentials("robot", password);
    const inputs = {
      namespaces: ["team-a"],
      username: "robot",
      registry: "registry.example.com",
      secret_name: "static-component",
    };
    const missing = await runJob({ inputs, env: { REGISTRY_PASSWORD: undefined } });
    assert.equal(missing.code, 2, log(missing));
    assert.match(
      missing.stderr,
      /^error: the CI\/CD variable REGISTRY_PASSWORD \(input password_variable\) is not set or empty\. With input username/m,
    );

    world.gitlab.resetRequests();
    // The token variable is still set (runJob's default): with a username it is not read.
    const j = await runJob({
      inputs: { ...inputs, password_variable: "HARBOR_PASSWORD" },
      env: { HARBOR_PASSWORD: password },
      shell: "bash",
      mode: "text",
    });
    assert.equal(j.code, 0, log(j));
    assert.deepEqual(world.gitlab.requests, [], "no GitLab request");
    const s = world.kube.getObject("secrets", "team-a", "static-component");
    assert.equal(s.metadata.annotations["gitlab-pull-secret.io/owner"], "static");
    const auth = JSON.parse(Buffer.from(s.data[".dockerconfigjson"], "base64").toString()).auths["registry.example.com"]
      .auth;
    assert.equal(Buffer.from(auth, "base64").toString(), `robot:${password}`);
    assert.equal(j.dotenv?.GITLAB_PULL_SECRET_TOKEN_USERNAME, "robot");
    assert.equal(j.dotenv?.GITLAB_PULL_SECRET_TOKEN_ID, "");
    assert.deepEqual(leaks(world, [missing, j]), []);
  });

  test("inputs are data: shell syntax in them runs nothing, and a bad value fails as the flag would (exit 2, the variable named)", async () => {
    const tokens = world.gitlab.tokens.length;
    world.gitlab.resetRequests();
    // The script's own `kubectl version --client` aside, the CLI must not spawn kubectl.
    const clusterCalls = () => world.kubectlCalls().filter((c) => c.argv[0] !== "version").length;
    const kubectl = clusterCalls();
    const buildDir = () => join(world.dir, `job-${n}`, "build");
    const hostile = await runJob({
      inputs: {
        namespaces: NAMESPACES,
        namespace_selector: "team=$(touch pwned-1)",
        secret_name: '"; touch pwned-2; echo "',
        kube_context: "`touch pwned-3`",
        kubeconfig: "$(touch pwned-4)",
      },
    });
    assert.equal(hostile.code, 2, log(hostile));
    assert.match(
      hostile.stderr,
      /^error: \$GITLAB_PULL_SECRET_OPT_NAMESPACE_SELECTOR: invalid value "team=\$\(touch pwned-1\)"; expected a label selector/m,
    );
    for (const f of ["pwned-1", "pwned-2", "pwned-3", "pwned-4"])
      assert.ok(!existsSync(join(buildDir(), f)), `${f} was created: an input ran as code`);

    const bad = await runJob({ inputs: { namespaces: NAMESPACES, expires_in: "7y" }, mode: "text" });
    assert.equal(bad.code, 2, log(bad));
    const cli = await world.runCli(
      ["rotate", "--project", PROJECT.path, "--namespace", "team-a", "--expires-in", "7y"],
      {},
    );
    assert.equal(cli.code, 2);
    // The same message as the flag's, naming the variable instead.
    const message = /--expires-in: (invalid value .*)$/m.exec(cli.stderr)![1]!;
    assert.ok(bad.stderr.includes(`error: $GITLAB_PULL_SECRET_OPT_EXPIRES_IN: ${message}`), bad.stderr);

    assert.equal(world.gitlab.tokens.length, tokens);
    assert.deepEqual(world.gitlab.requests, [], "no GitLab request");
    assert.equal(clusterCalls(), kubectl, "no kubectl spawned");
    assert.deepEqual(leaks(world, [hostile, bad, cli]), []);
  });

  describe("an image without kubectl and gitlab-pull-secret", () => {
    // A PATH with only the basic tools of an image, a fake curl serving dl.k8s.io and a fake npm.
    let bin: string;
    let kubectlPayload: string;
    const record = (name: string) => join(bin, `${name}.record`);

    before(() => {
      bin = mkdtempSync(join(world.dir, "image-bin-"));
      for (const tool of [
        "sh",
        "node",
        "sed",
        "cat",
        "mkdir",
        "chmod",
        "uname",
        "sha256sum",
        "env",
        "printenv",
        "head",
        "grep",
        "cp",
      ]) {
        symlinkSync(execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim(), join(bin, tool));
      }
      // What "dl.k8s.io" serves as kubectl: the world's kubectl spy.
      kubectlPayload = join(bin, "kubectl.payload");
      writeFileSync(kubectlPayload, `#!/bin/sh\nexec ${sq(join(spyBin(), "kubectl"))} "$@"\n`);
      writeFileSync(
        join(bin, "curl"),
        [
          "#!/bin/sh",
          'out=""; url=""',
          'while [ $# -gt 0 ]; do case "$1" in -o) out="$2"; shift 2 ;; --retry) shift 2 ;; -*) shift ;; *) url="$1"; shift ;; esac; done',
          `echo "$url" >> ${sq(record("curl"))}`,
          'case "$url" in',
          `  https://dl.k8s.io/release/stable.txt) printf 'v1.32.4' > "$out" ;;`,
          `  https://dl.k8s.io/release/*/kubectl) cp ${sq(kubectlPayload)} "$out" ;;`,
          `  https://dl.k8s.io/release/*/kubectl.sha256) cp ${sq(join(bin, "kubectl.sha256"))} "$out" ;;`,
          '  *) echo "curl: (22) The requested URL returned error: 404" >&2; exit 22 ;;',
          "esac",
          "",
        ].join("\n"),
      );
      // npm install -g --prefix DIR ... gitlab-pull-secret@V: records argv and env, installs the CLI into DIR/bin.
      writeFileSync(
        join(bin, "npm"),
        [
          "#!/bin/sh",
          `printf '%s\\n' "$@" > ${sq(record("npm"))}`,
          `env > ${sq(record("npm-env"))}`,
          'prefix=""',
          'while [ $# -gt 0 ]; do if [ "$1" = --prefix ]; then prefix="$2"; fi; shift; done',
          'mkdir -p "$prefix/bin"',
          `printf '#!/bin/sh\\nexec %s %s "$@"\\n' ${sq(sq(process.execPath))} ${sq(sq(CLI))} > "$prefix/bin/gitlab-pull-secret"`,
          'chmod +x "$prefix/bin/gitlab-pull-secret"',
          "",
        ].join("\n"),
      );
      chmodSync(join(bin, "curl"), 0o755);
      chmodSync(join(bin, "npm"), 0o755);
    });

    test("a kubectl download whose checksum does not match fails the job before anything is minted", async () => {
      writeFileSync(join(bin, "kubectl.sha256"), createHash("sha256").update("something else").digest("hex"));
      const tokens = world.gitlab.tokens.length;
      const j = await runJob({
        inputs: { namespaces: NAMESPACES, kubectl_version: "v1.32.4" },
        path: bin,
        env: { TMPDIR: join(world.dir, "tmp-bad") },
      });
      assert.notEqual(j.code, 0);
      assert.match(log(j), /FAILED/);
      assert.ok(!existsSync(record("npm")), "nothing installed after the failed check");
      assert.doesNotMatch(j.stdout, /^\$ # Rotate/m);
      assert.equal(world.gitlab.tokens.length, tokens);
    });

    test("the job installs kubectl (stable, checksum verified) and the pinned CLI without the token, then runs (dry run)", async () => {
      writeFileSync(
        join(bin, "kubectl.sha256"),
        createHash("sha256").update(readFileSync(kubectlPayload)).digest("hex"),
      );
      writeFileSync(record("curl"), "");
      const tokens = world.gitlab.tokens.length;
      const before = secretTokenIds("gitlab-pull-secret");
      const j = await runJob({ inputs: { namespaces: NAMESPACES, dry_run: true }, path: bin });
      assert.equal(j.code, 0, log(j));
      const k8sArch = arch() === "arm64" ? "arm64" : "amd64";
      assert.deepEqual(readFileSync(record("curl"), "utf8").trim().split("\n"), [
        "https://dl.k8s.io/release/stable.txt",
        `https://dl.k8s.io/release/v1.32.4/bin/linux/${k8sArch}/kubectl`,
        `https://dl.k8s.io/release/v1.32.4/bin/linux/${k8sArch}/kubectl.sha256`,
      ]);
      assert.match(j.stdout, /^Installing kubectl v1\.32\.4 /m);
      const installDir = join(toolTmp(), "gitlab-pull-secret");
      assert.deepEqual(readFileSync(record("npm"), "utf8").trim().split("\n"), [
        "install",
        "-g",
        "--prefix",
        installDir,
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        `gitlab-pull-secret@${VERSION}`,
      ]);
      const npmEnv = readFileSync(record("npm-env"), "utf8");
      assert.doesNotMatch(npmEnv, new RegExp(`^${TOKEN_VARIABLE}=`, "m"), "npm must not see the token variable");
      assert.ok(!npmEnv.includes(PAT), "npm must not see the token");
      // The installed tools did the run: a dry run, bare --dry-run flag, nothing minted or changed.
      assert.match(j.stderr, /Dry run: nothing changed/);
      assert.equal(world.gitlab.tokens.length, tokens);
      assert.deepEqual(secretTokenIds("gitlab-pull-secret"), before);
      assert.deepEqual(leaks(world, [j]), []);
    });
  });
});
