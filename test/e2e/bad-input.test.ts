// Bad input never touches anything: it must exit 2 naming the option (or the
// variable) before a single request reaches GitLab or the cluster, and before
// kubectl is spawned. What only a command line or an environment can have (a
// token as a flag, an unknown option, a proxy URL with a query, ...), the
// kubeconfig checked on this machine and the secret files go through the built
// CLI. Every bad input of the shared table, as flags and as option variables,
// goes through runCli in this process, given the argv and environment the CLI
// would get: the code the CLI is bundled from (the packaging test keeps dist/
// fresh; bin.ts only hands runCli its argv, environment and streams), checked
// the same way, without starting the CLI some 150 more times to see the same
// parsing refuse (over a minute of CPU in CI).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { OPTIONS, type RawSettings } from "../../src/config/options.ts";
import { runCli } from "../../src/faces/cli.ts";
import {
  BAD,
  BAD_FILES,
  BAD_VARIABLES,
  TOKEN,
  good,
  variableLabel,
  variablesOf,
  type BadFile,
} from "../support/bad-inputs.ts";
import { ROOT, leaks, startWorld, type Captured, type World } from "../support/world.ts";

/** RawSettings -> argv, the way a person would type them. */
function argvOf(raw: RawSettings): string[] | undefined {
  const argv: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const spec = OPTIONS.find((o) => o.key === key)!;
    if (!spec.flag) return undefined;
    if (spec.kind === "boolean") {
      if (value !== true) return undefined; // a flag cannot carry "yes": that case is the Action's
      argv.push(`--${spec.flag}`);
    } else {
      argv.push(`--${spec.flag}`, Array.isArray(value) ? value.join(",") : String(value));
    }
  }
  return argv;
}

describe("bad input through the CLI", () => {
  let w: World;
  const runs: Captured[] = [];
  // Made before the tests are defined: a case names its file in its argv.
  const files = mkdtempSync(join(tmpdir(), "gps-bad-files-"));
  const counted: string[] = [];
  let inProcessCount = 0;
  before(async () => {
    w = await startWorld({ registry: false });
  });
  after(async () => {
    const inside = inProcessCount;
    process.stdout.write(
      `# bad inputs refused with exit 2 and zero requests: ${counted.length - inside} by the built CLI, ${inside} in process\n`,
    );
    assert.deepEqual(leaks(w, runs), []);
    await w?.close();
    rmSync(files, { recursive: true, force: true });
  });

  /** runCli in this process, started as the built CLI is: the world's environment, the variables on top. */
  async function inProcess(args: string[], env: Record<string, string>): Promise<Captured> {
    const out = { stdout: "", stderr: "" };
    const code = await runCli(
      args,
      { ...w.baseEnv(), ...env },
      { stdout: (t) => void (out.stdout += t), stderr: (t) => void (out.stderr += t) },
    );
    return { code, ...out, files: {} };
  }

  function check(
    name: string,
    argv: string[],
    env: Record<string, string>,
    option: RegExp,
    command = "rotate",
    how: "built CLI" | "in process" = "built CLI",
  ) {
    test(name, async () => {
      w.gitlab.resetRequests();
      w.kube.resetRequests();
      const kubectlBefore = w.kubectlCalls().length;
      const args = [command, "--kubeconfig", w.kubeconfig, ...argv];
      const withEnv = { GITLAB_TOKEN: "", ...env };
      const r = how === "built CLI" ? await w.runCli(args, { env: withEnv }) : await inProcess(args, withEnv);
      if (how === "in process") inProcessCount++;
      runs.push(r);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, option);
      for (const secret of [TOKEN, "hunter2"])
        assert.ok(!`${r.stdout}${r.stderr}`.includes(secret), "a secret was shown");
      assert.equal(w.gitlab.requests.length, 0, "no GitLab request");
      assert.equal(w.kube.requests.length, 0, "no API server request");
      assert.equal(w.kubectlCalls().length, kubectlBefore, "no kubectl spawned");
      counted.push(name);
    });
  }

  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  for (const [what, patch, env, option] of BAD) {
    const raw = { ...good, gitlabUrl: "https://gitlab.example.com", ...patch };
    const argv = argvOf(raw);
    if (!argv) continue;
    check(what, argv, env, new RegExp(escape(option)), "rotate", "in process");
  }

  for (const [what, patch, env, option, shown] of BAD) {
    const raw = { ...good, gitlabUrl: "https://gitlab.example.com", ...patch };
    const variables = variablesOf(raw);
    if (!variables) continue;
    // The same message as the flag's, the variable named instead.
    const message = `${escape(variableLabel(option, raw))}${shown === undefined ? "" : `.*${escape(JSON.stringify(shown))}`}`;
    check(`${what}, as variables`, [], { ...env, ...variables }, new RegExp(message), "rotate", "in process");
  }
  for (const [what, env, message] of BAD_VARIABLES) {
    check(
      what,
      ["--gitlab-url", "https://gitlab.example.com", "--project", "grp/app", "--namespace", "team-a"],
      { GITLAB_TOKEN: "glpat-cli-bad-input-000", ...env },
      message,
    );
  }

  const base = ["--gitlab-url", "https://gitlab.example.com", "--project", "grp/app", "--namespace", "team-a"];
  const env = { GITLAB_TOKEN: "glpat-cli-bad-input-000" };
  check(
    "the token as a flag value",
    [...base, "--gitlab-token", "glpat-never-on-argv"],
    env,
    /--gitlab-token: not accepted: argv is visible/,
  );
  check("an unknown option", [...base, "--namespaces", "x"], env, /--namespaces: a known option/);
  check(
    "a missing CA file",
    [...base, "--ca-file", "/nonexistent/ca.pem"],
    env,
    /--ca-file: invalid value "\/nonexistent\/ca.pem"/,
  );
  check("a CA file that is not PEM", [...base, "--ca-file", "/etc/hostname"], env, /--ca-file: .*BEGIN CERTIFICATE/);
  check("an unwritable --dotenv", [...base, "--dotenv", "/nonexistent/dir/out.env"], env, /--dotenv: invalid value/);
  check("an option without its value", [...base, "--secret-name"], env, /--secret-name: a value after the option/);
  check("an unknown command", base, env, /command: invalid value "rotat"/, "rotat");

  // On a command line an empty value is a mistake, not "use the default".
  check(
    "an empty --token-name",
    [...base, "--token-name", ""],
    env,
    /--token-name: an empty value; give a value, or leave the option out for its default \(gitlab-pull-secret\)/,
  );
  check(
    "an empty --gitlab-url (an unset shell variable)",
    ["--gitlab-url", "", "--project", "grp/app", "--namespace", "team-a"],
    env,
    /--gitlab-url: an empty value/,
  );
  check("an empty --context", [...base, "--context", " "], env, /--context: an empty value/);
  // Options a command does not use with the others given are refused, not ignored.
  const renderBase = ["--gitlab-url", "https://gitlab.example.com", "--project", "grp/app"];
  for (const [what, argv, message] of [
    [
      "render --format config.json --namespace",
      ["--format", "config.json", "--namespace", "x"],
      /--namespace: not used by render --format config\.json/,
    ],
    [
      "render --format config.json --secret-type",
      ["--format", "config.json", "--secret-type", "dockerconfigjson"],
      /--secret-type: invalid value "dockerconfigjson"; expected only with --format secret/,
    ],
    [
      "render --kubeconfig",
      ["--format", "secret", "--namespace", "x", "--kubeconfig", "/k"],
      /--kubeconfig: not an option of render/,
    ],
    ["status --expires-in", [], /--expires-in: not an option of status/],
  ] as const) {
    const command = what.split(" ")[0]!;
    const rest = command === "status" ? [...base, "--expires-in", "30d"] : [...renderBase, ...argv];
    test(what, async () => {
      w.gitlab.resetRequests();
      w.kube.resetRequests();
      const kubectlBefore = w.kubectlCalls().length;
      const r = await w.runCli([command, ...rest], { env });
      runs.push(r);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(w.gitlab.requests.length, 0, "no GitLab request");
      assert.equal(w.kube.requests.length, 0, "no API server request");
      assert.equal(w.kubectlCalls().length, kubectlBefore, "no kubectl spawned");
      counted.push(what);
    });
  }
  // URL-valued settings from the environment: a proxy URL's query may hold a token too.
  check(
    "a proxy URL with a query",
    base,
    { ...env, HTTPS_PROXY: `http://proxy.example.com:3128/?token=${TOKEN}` },
    /HTTPS_PROXY: invalid value "http:\/\/proxy\.example\.com:3128"; expected .*without a query/,
  );
  check(
    "$CI_SERVER_URL with the token in its query",
    ["--project", "grp/app", "--namespace", "team-a"],
    { ...env, CI_SERVER_URL: `https://gitlab.example.com/?private_token=${TOKEN}` },
    /\$CI_SERVER_URL: has a query/,
  );

  // The kubeconfig, checked on this machine: kubectl may run (`kubectl config view`, which sends no request),
  // GitLab and the API server hear nothing, and the message names the file or the context.
  function checkLocal(
    name: string,
    command: string,
    argv: string[],
    extraEnv: Record<string, string>,
    message: RegExp,
  ) {
    test(name, async () => {
      w.gitlab.resetRequests();
      w.kube.resetRequests();
      const kubectlBefore = w.kubectlCalls().length;
      const r = await w.runCli([command, ...argv], { env: { GITLAB_TOKEN: "glpat-cli-bad-input-000", ...extraEnv } });
      runs.push(r);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.ok(!`${r.stdout}${r.stderr}`.includes(KUBECONFIG_TOKEN), "the kubeconfig's credential was shown");
      assert.equal(w.gitlab.requests.length, 0, "no GitLab request");
      assert.equal(w.kube.requests.length, 0, "no API server request");
      for (const c of w.kubectlCalls().slice(kubectlBefore))
        assert.ok(c.argv.includes("config"), `only local kubectl: ${c.argv.join(" ")}`);
      counted.push(name);
    });
  }
  const KUBECONFIG_TOKEN = "kubeconfig-bearer-token-never-shown-0001";
  const kc = (name: string, text: string) => {
    const path = join(files, name);
    writeFileSync(path, text);
    return path;
  };
  const notYaml = kc("not-yaml", "clusters: [\n  - name: x\n");
  const notKubeconfig = kc("not-a-kubeconfig", `users: "${KUBECONFIG_TOKEN}"\n`);
  const noCurrent = kc(
    "no-current-context",
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: c",
      "  cluster: {server: 'https://127.0.0.1:1'}",
      "users:",
      "- name: u",
      `  user: {token: '${KUBECONFIG_TOKEN}'}`,
      "contexts:",
      "- name: prod",
      "  context: {cluster: c, user: u}",
      "",
    ].join("\n"),
  );
  const target = ["--gitlab-url", "https://gitlab.example.com", "--project", "grp/app", "--namespace", "team-a"];
  for (const command of ["rotate", "plan", "status", "revoke"]) {
    checkLocal(
      `${command}: a kubeconfig that does not exist`,
      command,
      [...target, "--kubeconfig", join(files, "no-such-kubeconfig")],
      {},
      /--kubeconfig: invalid value ".*no-such-kubeconfig"; expected an existing kubeconfig file \(ENOENT\)/,
    );
    checkLocal(
      `${command}: an unknown --context`,
      command,
      [...target, "--kubeconfig", noCurrent, "--context", "staging"],
      {},
      /--context: invalid value "staging"; expected a context of .*no-current-context: prod/,
    );
  }
  checkLocal(
    "a kubeconfig that is not YAML",
    "rotate",
    [...target, "--kubeconfig", notYaml],
    {},
    /--kubeconfig: invalid value ".*not-yaml"; expected a kubeconfig \(YAML\) kubectl can read; kubectl says: yaml: /,
  );
  checkLocal(
    "a YAML file that is no kubeconfig",
    "rotate",
    [...target, "--kubeconfig", notKubeconfig],
    {},
    /--kubeconfig: invalid value ".*not-a-kubeconfig"; expected a kubeconfig \(YAML\) kubectl can read/,
  );
  checkLocal(
    "a kubeconfig that is a directory",
    "rotate",
    [...target, "--kubeconfig", files],
    {},
    /--kubeconfig: .*this is a directory/,
  );
  checkLocal(
    "a kubeconfig without a current context, and no --context",
    "plan",
    [...target, "--kubeconfig", noCurrent],
    {},
    /--context: required here: .*no-current-context sets no current-context.*contexts there: prod/,
  );
  checkLocal(
    "$KUBECONFIG naming a file that is not YAML",
    "status",
    target,
    { KUBECONFIG: notYaml },
    /\$KUBECONFIG: invalid value ".*not-yaml"; expected a kubeconfig \(YAML\)/,
  );
  checkLocal(
    "the context as an option variable",
    "rotate",
    [...target, "--kubeconfig", noCurrent],
    { GITLAB_PULL_SECRET_OPT_CONTEXT: "staging" },
    /\$GITLAB_PULL_SECRET_OPT_CONTEXT: invalid value "staging"/,
  );

  // Secret files: each case gets its own path, so the message can be checked to name it.
  const staticBase = ["--username", "robot", "--registry", "harbor.example.com", "--namespace", "team-a"];
  const why: Record<BadFile, string> = {
    empty: "this one is empty",
    blank: "this one is empty",
    missing: "ENOENT",
    directory: "EISDIR",
    "below a file": "ENOTDIR",
  };
  for (const [i, [what, flag, file, fileEnv, creds]] of BAD_FILES.entries()) {
    const path = join(files, `file-${i}`);
    if (file === "empty") writeFileSync(path, "");
    if (file === "blank") writeFileSync(path, "\n  \n");
    if (file === "directory") mkdirSync(path, { recursive: true });
    const named = file === "below a file" ? join(ROOT, "package.json", "token") : path;
    const quoted = escape(JSON.stringify(named));
    check(
      what,
      [...(creds === "static" ? staticBase : base), flag, named],
      fileEnv,
      new RegExp(`${flag}: invalid value ${quoted}; expected .*\\(${why[file]}\\)`),
    );
  }
});
