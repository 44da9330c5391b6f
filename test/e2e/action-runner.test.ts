// The GitHub Action started the way the runner starts a `using: node24`
// action: dist/index.js on Node 24, in an environment that holds only what the
// runner gives it. Every input declared in action.yml arrives as
// INPUT_<NAME upper-cased, hyphens kept> (its default, or '' when it has none,
// unless the step's `with:` sets it); the file commands GITHUB_OUTPUT,
// GITHUB_STEP_SUMMARY, GITHUB_ENV and GITHUB_STATE; RUNNER_TEMP; and the
// runner's PATH and HOME. No TMPDIR, no GITLAB_TOKEN.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import yaml from "js-yaml";
import { OUTPUTS } from "../../src/config/options.ts";
import { node24, skipWithout } from "../support/tools.ts";
import {
  ACTION,
  leaks,
  NAMESPACES,
  PAT,
  PROJECT,
  ROOT,
  run,
  startWorld,
  type Captured,
  type World,
} from "../support/world.ts";

const FILE_COMMANDS = ["GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV", "GITHUB_STATE"] as const;
const SECRET = "runner-pull";
const NODE = node24();

/** The runner's INPUT_ variables: every declared input, `with:` over the metadata default, '' without either. */
function runnerInputs(withInputs: Record<string, string>): Record<string, string> {
  const meta = yaml.load(readFileSync(join(ROOT, "action.yml"), "utf8")) as {
    inputs: Record<string, { default?: unknown }>;
  };
  const env: Record<string, string> = {};
  for (const [name, input] of Object.entries(meta.inputs)) {
    const value = withInputs[name] ?? (input.default === undefined ? "" : String(input.default));
    env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] = value;
  }
  for (const name of Object.keys(withInputs)) assert.ok(name in meta.inputs, `action.yml declares input ${name}`);
  return env;
}

function parseGithubOutput(text: string): Record<string, string> {
  // name<<DELIMITER\nvalue\nDELIMITER, as @actions/core writes a file command
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm)) out[m[1]!] = m[3]!;
  return out;
}

describe("the Action on Node 24, started as the runner starts it", { skip: skipWithout(NODE, "Node 24") }, () => {
  let world: World;
  let step = 0;
  before(async () => {
    world = await startWorld();
  });
  after(async () => {
    await world?.close();
  });

  async function runStep(withInputs: Record<string, string>): Promise<Captured & { runnerTemp: string }> {
    const stepDir = join(world.dir, `step-${++step}`);
    const runnerTemp = join(stepDir, "_temp");
    mkdirSync(runnerTemp, { recursive: true });
    const env: Record<string, string> = {
      PATH: world.baseEnv().PATH!,
      HOME: world.home,
      RUNNER_TEMP: runnerTemp,
      ...runnerInputs(withInputs),
    };
    for (const name of FILE_COMMANDS) {
      env[name] = join(runnerTemp, "_runner_file_commands", `${name.toLowerCase()}_${step}`);
      mkdirSync(join(runnerTemp, "_runner_file_commands"), { recursive: true });
      writeFileSync(env[name]!, "");
    }
    const r = await run(NODE!, [ACTION], env);
    for (const name of FILE_COMMANDS) r.files[name] = readFileSync(env[name]!, "utf8");
    return { ...r, runnerTemp };
  }

  const withInputs = (): Record<string, string> => ({
    "gitlab-url": world.gitlab.url,
    "gitlab-token": PAT,
    project: PROJECT.path,
    namespaces: NAMESPACES.join("\n"),
    "secret-name": SECRET,
    kubeconfig: world.kubeconfig,
    ...(world.verifyInputs("action") as Record<string, string>),
  });

  test("every output and the summary are written, and every secret is masked before any line could show it", async () => {
    const first = await runStep(withInputs());
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const second = await runStep(withInputs());
    assert.equal(second.code, 0, second.stdout + second.stderr);

    const outputs = parseGithubOutput(second.files.GITHUB_OUTPUT!);
    assert.deepEqual(Object.keys(outputs).sort(), OUTPUTS.map((o) => o.name).sort(), "every output is written");
    const live = world.gitlab.tokens.filter((t) => world.gitlab.isLive(t.id));
    assert.equal(live.length, 1);
    const token = live[0]!;
    assert.equal(outputs["token-id"], String(token.id));
    assert.equal(outputs["token-username"], token.username);
    assert.equal(outputs["secret-name"], SECRET);
    assert.equal(outputs.changed, "true");
    assert.deepEqual(JSON.parse(outputs.namespaces!), NAMESPACES);
    assert.deepEqual(JSON.parse(outputs["revoked-token-ids"]!), [
      Number(parseGithubOutput(first.files.GITHUB_OUTPUT!)["token-id"]),
    ]);
    assert.match(outputs["expires-at"]!, /^\d{4}-\d{2}-\d{2}T00:00:00\.000Z$/);

    const summary = second.files.GITHUB_STEP_SUMMARY!;
    assert.match(summary, /^<h3>/, "the summary is written");
    for (const ns of NAMESPACES) assert.ok(summary.includes(`<td>${ns}</td>`), `the summary's table lists ${ns}`);
    assert.ok(summary.includes(`<td>${token.username}</td>`));
    // Nothing is handed to later steps: no GITHUB_ENV, no GITHUB_STATE.
    assert.equal(second.files.GITHUB_ENV, "");
    assert.equal(second.files.GITHUB_STATE, "");

    for (const r of [first, second]) {
      const lines = r.stdout.split("\n");
      const masked = (i: number) => lines[i]!.startsWith("::add-mask::");
      // The GitLab token is known from the start: masked on the first line, before anything else.
      assert.equal(lines[0], `::add-mask::${PAT}`);
      // The minted token's forms are masked before the first line that speaks of that token.
      const minted = world.gitlab.tokens.find(
        (t) => t.id === Number(parseGithubOutput(r.files.GITHUB_OUTPUT!)["token-id"]),
      )!;
      const userToken = `${minted.username}:${minted.token}`;
      const secretB64 = world.kube.getObject("secrets", "team-a", SECRET).data[".dockerconfigjson"];
      const forms = [minted.token, userToken, Buffer.from(userToken).toString("base64")];
      if (r === second) forms.push(secretB64);
      const firstMention = lines.findIndex((l, i) => !masked(i) && l.includes(minted.username));
      assert.ok(firstMention > 0, `a line names ${minted.username}`);
      for (const form of forms) {
        const at = lines.indexOf(`::add-mask::${form}`);
        assert.ok(
          at >= 0 && at < firstMention,
          `a form of the minted token is masked (line ${at}) before line ${firstMention}`,
        );
      }
    }
    assert.deepEqual(leaks(world, [first, second].map(withRunnerTemp)), []);
  });

  test("rotate-api-token-within: one self-rotation, written back to the GitLab variable; outputs and summary say so", async () => {
    const old = "glpat-e2eActionWithin000000001";
    const expiresAt = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
    world.gitlab.addPersonalAccessToken("maintainer", old, ["api"], { name: "action within", expiresAt });
    world.gitlab.addVariable(
      { kind: "project", id: PROJECT.id },
      { key: "GITLAB_API_TOKEN", value: old, masked: true },
    );
    world.addSecretForms(old, Buffer.from(old).toString("base64"));
    world.gitlab.resetRequests();
    const r = await runStep({
      ...withInputs(),
      "gitlab-token": old,
      "rotate-api-token-within": "7d",
      "api-token-store": `gitlab:project:${PROJECT.id}:GITLAB_API_TOKEN`,
    });
    const [v] = world.gitlab.variables({ kind: "project", id: PROJECT.id }, "GITLAB_API_TOKEN");
    world.addSecretForms(v!.value, Buffer.from(v!.value).toString("base64"));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.notEqual(v!.value, old);
    assert.equal(world.gitlab.accessToken(old)!.revoked, true, "the old API token is dead");
    const fresh = world.gitlab.accessToken(v!.value)!;
    assert.equal(fresh.active, true, "the new one is alive: no family revocation");
    assert.equal(fresh.family, world.gitlab.accessToken(old)!.family);
    assert.equal(
      world.gitlab.requests.filter((q) => q.method === "POST" && q.path.endsWith("/rotate")).length,
      1,
      "one rotation",
    );
    const outputs = parseGithubOutput(r.files.GITHUB_OUTPUT!);
    assert.equal(outputs["api-token-rotated"], "true");
    assert.equal(outputs["api-token-expires-at"], fresh.expiresAt, "the new token's expiry");
    assert.ok(world.gitlab.isLive(Number(outputs["token-id"])), "the deploy token rotated too");
    assert.match(r.files.GITHUB_STEP_SUMMARY!, /Rotated the GitLab API token \(it expires on /);
    // The new value is masked before any line could show it, the old one from the first line.
    const lines = r.stdout.split("\n");
    assert.equal(lines[0], `::add-mask::${old}`);
    assert.ok(lines.includes(`::add-mask::${v!.value}`), "the new API token is masked");
    assert.deepEqual(leaks(world, [withRunnerTemp(r)]), []);
  });

  test("a bad input fails the step with ::error:: and exit 1, before any request", async () => {
    const requests = world.gitlab.requests.length;
    const kubectl = world.kubectlCalls().length;
    const r = await runStep({ ...withInputs(), namespaces: "Team_A" });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^::error::input 'namespaces': invalid value "Team_A"/m);
    assert.equal(world.gitlab.requests.length, requests, "no GitLab request");
    assert.equal(world.kubectlCalls().length, kubectl, "no kubectl");
    assert.equal(parseGithubOutput(r.files.GITHUB_OUTPUT!)["token-id"], undefined);
    assert.deepEqual(leaks(world, [withRunnerTemp(r)]), []);
  });
});

/** The leak scan also reads every file the step left in RUNNER_TEMP. */
function withRunnerTemp(r: Captured & { runnerTemp: string }): Captured {
  const files = { ...r.files };
  const walk = (d: string): void => {
    for (const f of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, f.name);
      if (f.isDirectory()) walk(p);
      else files[p] = readFileSync(p, "utf8");
    }
  };
  walk(r.runnerTemp);
  return { ...r, files };
}
