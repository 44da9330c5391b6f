// Bad input never touches anything: every bad input from the shared table, as
// flags and as option variables, and the ones only a command line or an
// environment can have, go through the built CLI, which must exit 2 naming the
// option (or the variable) before a single request reaches GitLab or the cluster.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { OPTIONS, type RawSettings } from "../../src/config/options.ts";
import { BAD, BAD_FILES, BAD_VARIABLES, TOKEN, good, variableLabel, variablesOf, type BadFile } from "../support/bad-inputs.ts";
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
  before(async () => {
    w = await startWorld({ registry: false });
  });
  after(async () => {
    process.stdout.write(`# bad inputs refused through the CLI with exit 2 and zero requests: ${counted.length}\n`);
    assert.deepEqual(leaks(w, runs), []);
    await w?.close();
    rmSync(files, { recursive: true, force: true });
  });

  function check(name: string, argv: string[], env: Record<string, string>, option: RegExp, command = "rotate") {
    test(name, async () => {
      w.gitlab.resetRequests();
      w.kube.resetRequests();
      const kubectlBefore = w.kubectlCalls().length;
      const r = await w.runCli([command, "--kubeconfig", w.kubeconfig, ...argv], { env: { GITLAB_TOKEN: "", ...env } });
      runs.push(r);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, option);
      for (const secret of [TOKEN, "hunter2"]) assert.ok(!`${r.stdout}${r.stderr}`.includes(secret), "a secret was shown");
      assert.equal(w.gitlab.requests.length, 0, "no GitLab request");
      assert.equal(w.kube.requests.length, 0, "no API server request");
      assert.equal(w.kubectlCalls().length, kubectlBefore, "no kubectl spawned");
      counted.push(name);
    });
  }

  for (const [what, patch, env, option] of BAD) {
    const raw = { ...good, gitlabUrl: "https://gitlab.example.com", ...patch };
    const argv = argvOf(raw);
    if (!argv) continue;
    check(what, argv, env, new RegExp(option.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
  }

  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  for (const [what, patch, env, option, shown] of BAD) {
    const raw = { ...good, gitlabUrl: "https://gitlab.example.com", ...patch };
    const variables = variablesOf(raw);
    if (!variables) continue;
    // The same message as the flag's, the variable named instead.
    const message = `${escape(variableLabel(option, raw))}${shown === undefined ? "" : `.*${escape(JSON.stringify(shown))}`}`;
    check(`${what}, as variables`, [], { ...env, ...variables }, new RegExp(message));
  }
  for (const [what, env, message] of BAD_VARIABLES) {
    check(what, ["--gitlab-url", "https://gitlab.example.com", "--project", "grp/app", "--namespace", "team-a"], { GITLAB_TOKEN: "glpat-cli-bad-input-000", ...env }, message);
  }

  const base = ["--gitlab-url", "https://gitlab.example.com", "--project", "grp/app", "--namespace", "team-a"];
  const env = { GITLAB_TOKEN: "glpat-cli-bad-input-000" };
  check("the token as a flag value", [...base, "--gitlab-token", "glpat-never-on-argv"], env, /--gitlab-token: not accepted: argv is visible/);
  check("an unknown option", [...base, "--namespaces", "x"], env, /--namespaces: a known option/);
  check("a missing CA file", [...base, "--ca-file", "/nonexistent/ca.pem"], env, /--ca-file: invalid value "\/nonexistent\/ca.pem"/);
  check("a CA file that is not PEM", [...base, "--ca-file", "/etc/hostname"], env, /--ca-file: .*BEGIN CERTIFICATE/);
  check("an unwritable --dotenv", [...base, "--dotenv", "/nonexistent/dir/out.env"], env, /--dotenv: invalid value/);
  check("an option without its value", [...base, "--secret-name"], env, /--secret-name: a value after the option/);
  check("an unknown command", base, env, /command: invalid value "rotat"/, "rotat");

  // Secret files: each case gets its own path, so the message can be checked to name it.
  const staticBase = ["--username", "robot", "--registry", "harbor.example.com", "--namespace", "team-a"];
  const why: Record<BadFile, string> = { empty: "this one is empty", blank: "this one is empty", missing: "ENOENT", directory: "EISDIR", "below a file": "ENOTDIR" };
  for (const [i, [what, flag, file, fileEnv, creds]] of BAD_FILES.entries()) {
    const path = join(files, `file-${i}`);
    if (file === "empty") writeFileSync(path, "");
    if (file === "blank") writeFileSync(path, "\n  \n");
    if (file === "directory") mkdirSync(path, { recursive: true });
    const named = file === "below a file" ? join(ROOT, "package.json", "token") : path;
    const quoted = JSON.stringify(named).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    check(what, [...(creds === "static" ? staticBase : base), flag, named], fileEnv, new RegExp(`${flag}: invalid value ${quoted}; expected .*\\(${why[file]}\\)`));
  }
});
