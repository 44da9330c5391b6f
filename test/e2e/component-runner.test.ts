// The GitLab CI/CD component run by a real CI runner: gitlab-ci-local (on
// Node 24) resolves `include: - local: templates/rotate.yml` with `inputs:`
// from a consumer project, takes the CI/CD variables from --variable, and runs
// the jobs with its shell executor, gitlab-pull-secret on PATH from the packed
// package. Against the GitLab stand-in, two Kubernetes stand-ins (one cluster
// per include) and the real kubectl and registry. The assertions are about
// behaviour, not the template's text, so they hold however the template passes
// its inputs to the CLI.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import yaml from "js-yaml";
import { startKubeStandIn, type KubeStandIn } from "../support/kube/index.ts";
import { packAndInstall, type Installed } from "../support/package.ts";
import { gitlabCiLocal, node24, skipWithout } from "../support/tools.ts";
import { leaks, NAMESPACES, PAT, PROJECT, ROOT, run, startWorld, type Captured, type World } from "../support/world.ts";

const NODE = node24();
const GCL = gitlabCiLocal();
const TOKEN_VARIABLE = "GITLAB_PULL_SECRET_TOKEN";
const SECRET = "gitlab-pull-secret";

interface Pipeline extends Captured {
  /** Job log and report of each job, as gitlab-ci-local keeps them. */
  jobLog(job: string): string;
  dotenv(job: string): Record<string, string> | undefined;
}

describe(
  "the component run by gitlab-ci-local",
  { skip: skipWithout(NODE && GCL, "Node 24 or gitlab-ci-local") },
  () => {
    let world: World;
    let us: KubeStandIn;
    let installed: Installed;
    let project: string;
    let guardBin: string;
    let npmCalled: string;
    const clusters: Record<string, { kube: () => KubeStandIn; kubeconfig: string }> = {};

    before(async () => {
      world = await startWorld();
      us = await startKubeStandIn({ dir: join(world.dir, "kube-us") });
      for (const ns of NAMESPACES) us.createNamespace(ns);
      for (const [context, kube] of [
        ["prod-eu", world.kube],
        ["prod-us", us],
      ] as const) {
        const path = kube.writeKubeconfig(join(world.dir, `kube-${context}`));
        writeFileSync(path, readFileSync(path, "utf8").replaceAll("standin", context));
        clusters[context] = { kube: () => kube, kubeconfig: path };
      }
      installed = packAndInstall(join(world.dir, "npm"));
      // An npm that only records being called: the job must find gitlab-pull-secret on PATH and install nothing.
      guardBin = join(world.dir, "guard-bin");
      npmCalled = join(world.dir, "npm-called");
      mkdirSync(guardBin);
      writeFileSync(join(guardBin, "npm"), `#!/bin/sh\necho "$@" > '${npmCalled}'\nexit 1\n`, { mode: 0o755 });

      // The consumer project: a git repository holding the component and its pipeline.
      project = join(world.dir, "consumer");
      mkdirSync(join(project, "templates"), { recursive: true });
      copyFileSync(join(ROOT, "templates", "rotate.yml"), join(project, "templates", "rotate.yml"));
      // gitlab-ci-local copies each job's artifacts back into the project; they are no source.
      writeFileSync(join(project, ".gitignore"), "gitlab-pull-secret.env\n");
      git("init", "-q", "-b", "main");
      git("config", "user.name", "Consumer");
      git("config", "user.email", "consumer@example.com");
    });
    after(async () => {
      await us?.close();
      await world?.close();
    });

    function git(...args: string[]): void {
      execFileSync("git", args, { cwd: project, stdio: "ignore" });
    }

    /** One include of the component per cluster, with inputs; committed, as a pipeline runs a commit. */
    function writePipeline(includes: Array<Record<string, unknown>>): void {
      const doc = { include: includes.map((inputs) => ({ local: "templates/rotate.yml", inputs })) };
      writeFileSync(join(project, ".gitlab-ci.yml"), yaml.dump(doc));
      git("add", "-A");
      git("commit", "-q", "--allow-empty", "-m", "pipeline");
    }

    async function runPipeline(variables: Record<string, string>): Promise<Pipeline> {
      const env = { ...world.baseEnv() };
      // gitlab-pull-secret from the packed package first, on Node 24 (as in the component's node:24 image).
      env.PATH = [join(installed.prefix, "bin"), guardBin, dirname(NODE!), env.PATH].join(":");
      // gitlab-ci-local takes its --cwd relative to its own working directory (ours).
      const args = [
        GCL!,
        "--cwd",
        relative(process.cwd(), project),
        "--force-shell-executor",
        "--shell-isolation",
        "--no-color",
        "--concurrency",
        "2",
      ];
      for (const [k, v] of Object.entries(variables)) args.push("--variable", `${k}=${v}`);
      // Each pipeline starts without the last one's logs and artifacts.
      const state = join(project, ".gitlab-ci-local");
      rmSync(state, { recursive: true, force: true });
      const r = await run(NODE!, args, env);
      // Everything in the project (job logs, artifacts, build folders, artifacts copied back) goes to the leak scan.
      const walk = (d: string): void => {
        for (const f of readdirSync(d, { withFileTypes: true })) {
          const p = join(d, f.name);
          if (f.isDirectory()) {
            if (f.name !== ".git") walk(p);
          } else r.files[p] = readFileSync(p, "utf8");
        }
      };
      walk(project);
      const dotenvPath = (job: string) =>
        join(state, "artifacts", job, ".gitlab-ci-reports", "dotenv", "gitlab-pull-secret.env");
      return {
        ...r,
        jobLog: (job) => readFileSync(join(state, "output", `${job}.log`), "utf8"),
        dotenv: (job) =>
          existsSync(dotenvPath(job))
            ? Object.fromEntries(
                readFileSync(dotenvPath(job), "utf8")
                  .trim()
                  .split("\n")
                  .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
              )
            : undefined,
      };
    }

    const verify = () => world.verifyInputs("component");
    const tokenIdIn = (kube: KubeStandIn, ns: string) =>
      kube.getObject("secrets", ns, SECRET)?.metadata.annotations?.["gitlab-pull-secret.io/token-id"];

    test("two includes, one per cluster, run side by side; list and boolean inputs take effect; the Secrets pull", async () => {
      writePipeline([
        {
          job_name: "pull-secret-eu",
          gitlab_url: world.gitlab.url,
          project: PROJECT.path,
          namespaces: ["team-a", "team-b", "team-new"],
          create_namespace: true,
          service_accounts: ["default"],
          kubeconfig: clusters["prod-eu"]!.kubeconfig,
          kube_context: "prod-eu",
          ...verify(),
        },
        {
          job_name: "pull-secret-us",
          gitlab_url: world.gitlab.url,
          project: PROJECT.path,
          namespaces: ["team-a", "team-c"],
          kubeconfig: clusters["prod-us"]!.kubeconfig,
          kube_context: "prod-us",
          ...verify(),
        },
      ]);
      const p = await runPipeline({ [TOKEN_VARIABLE]: PAT });
      const out = `${p.stdout}\n${p.stderr}`;
      assert.equal(p.code, 0, out);
      assert.match(p.stdout, /PASS\s+pull-secret-eu/);
      assert.match(p.stdout, /PASS\s+pull-secret-us/);
      // Side by side: both jobs started before either finished.
      const lines = p.stdout.split("\n");
      const firstFinished = lines.findIndex((l) => / finished in /.test(l));
      for (const job of ["pull-secret-eu", "pull-secret-us"]) {
        const started = lines.findIndex((l) => l.startsWith(job) && / starting shell/.test(l));
        assert.ok(
          started >= 0 && started < firstFinished,
          `${job} started (line ${started}) before the first job finished (line ${firstFinished})`,
        );
      }
      // The packed package on PATH did the work: the job never reached for npm.
      assert.equal(existsSync(npmCalled), false, "the job ran npm");

      // eu: the list of three namespaces (one created, boolean create_namespace), the default ServiceAccounts patched.
      const euId = tokenIdIn(world.kube, "team-a");
      const usId = tokenIdIn(us, "team-a");
      assert.ok(euId && usId && euId !== usId, "one token per cluster");
      assert.ok(world.kube.getObject("namespaces", undefined, "team-new"), "create_namespace: true created team-new");
      for (const ns of ["team-a", "team-b", "team-new"]) {
        assert.equal(tokenIdIn(world.kube, ns), euId);
        const sa = world.kube.getObject("serviceaccounts", ns, "default");
        assert.ok(
          (sa?.imagePullSecrets ?? []).some((e: { name: string }) => e.name === SECRET),
          `service_accounts: [default] in ${ns}`,
        );
      }
      assert.equal(tokenIdIn(world.kube, "team-c"), undefined, "team-c is not in eu's list");
      // us: its own list, and none of eu's inputs (no namespace created, no ServiceAccount touched).
      for (const ns of ["team-a", "team-c"]) {
        assert.equal(tokenIdIn(us, ns), usId);
        assert.ok(
          !(us.getObject("serviceaccounts", ns, "default")?.imagePullSecrets ?? []).some(
            (e: { name: string }) => e.name === SECRET,
          ),
        );
      }
      assert.equal(tokenIdIn(us, "team-b"), undefined);
      assert.equal(us.getObject("namespaces", undefined, "team-new"), undefined);
      const live = world.gitlab.tokens
        .filter((t) => world.gitlab.isLive(t.id))
        .map((t) => String(t.id))
        .sort();
      assert.deepEqual(live, [euId, usId].sort());

      // The Secrets pull, in both clusters.
      if (world.registry) {
        assert.ok((await world.pull(world.authfileFromSecret("team-new", SECRET))).ok, "eu's Secret pulls");
        const usSecret = us.getObject("secrets", "team-c", SECRET);
        const authfile = join(world.dir, "authfile-us.json");
        writeFileSync(authfile, Buffer.from(usSecret.data[".dockerconfigjson"], "base64"), { mode: 0o600 });
        assert.ok((await world.pull(authfile)).ok, "us's Secret pulls");
      }

      // The dotenv report of each job, and no secret in it (the leak scan below reads it too).
      for (const [job, id] of [
        ["pull-secret-eu", euId],
        ["pull-secret-us", usId],
      ] as const) {
        const dotenv = p.dotenv(job);
        assert.ok(dotenv, `${job} wrote its dotenv report`);
        assert.equal(dotenv.GITLAB_PULL_SECRET_TOKEN_ID, id);
        assert.equal(dotenv.GITLAB_PULL_SECRET_CHANGED, "true");
        const token = world.gitlab.tokens.find((t) => String(t.id) === id)!;
        assert.equal(dotenv.GITLAB_PULL_SECRET_TOKEN_USERNAME, token.username);
        for (const value of Object.values(dotenv)) assert.ok(!value.includes(token.token) && !value.includes(PAT));
      }
      // The token never shows in the job logs; nor does any form of either cluster's Secret.
      for (const job of ["pull-secret-eu", "pull-secret-us"])
        assert.ok(!p.jobLog(job).includes(PAT) && !out.includes(PAT));
      const usForms = ["team-a", "team-c"].flatMap((ns) => {
        const b64 = us.getObject("secrets", ns, SECRET).data[".dockerconfigjson"] as string;
        return [b64, Buffer.from(b64, "base64").toString()];
      });
      const texts = [p.stdout, p.stderr, ...Object.values(p.files)];
      assert.deepEqual(
        usForms.filter((f) => texts.some((t) => t.includes(f))).map((f) => f.slice(0, 6)),
        [],
      );
      assert.deepEqual(leaks(world, [p]), []);
    });

    test("rotate_api_token_within: one self-rotation into its default store, the token variable in $CI_PROJECT_ID", async () => {
      const old = "glpat-e2eComponentWithin000001";
      const expiresAt = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
      world.gitlab.addPersonalAccessToken("maintainer", old, ["api"], { name: "component within", expiresAt });
      world.gitlab.addVariable(
        { kind: "project", id: PROJECT.id },
        { key: TOKEN_VARIABLE, value: old, masked: true, protected: true },
      );
      world.addSecretForms(old, Buffer.from(old).toString("base64"));
      writePipeline([
        {
          job_name: "pull-secret-eu",
          gitlab_url: world.gitlab.url,
          project: PROJECT.path,
          namespaces: ["team-a"],
          kubeconfig: clusters["prod-eu"]!.kubeconfig,
          kube_context: "prod-eu",
          rotate_api_token_within: "7d",
          ...verify(),
        },
      ]);
      world.gitlab.resetRequests();
      // As GitLab hands a job its project's variables: the token, and the project's id.
      const p = await runPipeline({ [TOKEN_VARIABLE]: old, CI_PROJECT_ID: String(PROJECT.id) });
      const [v] = world.gitlab.variables({ kind: "project", id: PROJECT.id }, TOKEN_VARIABLE);
      world.addSecretForms(v!.value, Buffer.from(v!.value).toString("base64"));
      assert.equal(p.code, 0, `${p.stdout}\n${p.stderr}\n${p.jobLog("pull-secret-eu")}`);
      assert.notEqual(v!.value, old, "the variable token_variable names holds the new token");
      assert.deepEqual([v!.masked, v!.protected], [true, true], "its flags are kept");
      assert.equal(world.gitlab.accessToken(old)!.revoked, true, "the old API token is dead");
      const fresh = world.gitlab.accessToken(v!.value)!;
      assert.equal(fresh.active, true, "the new one is alive: no family revocation");
      assert.equal(fresh.family, world.gitlab.accessToken(old)!.family);
      const rotations = world.gitlab.requests.filter((q) => q.method === "POST" && q.path.endsWith("/rotate"));
      assert.equal(rotations.length, 1);
      const puts = world.gitlab.requests.filter((q) => q.method === "PUT" && q.path.includes("/variables/"));
      assert.ok(
        puts.length > 0 && puts.every((q) => q.path === `/api/v4/projects/${PROJECT.id}/variables/${TOKEN_VARIABLE}`),
        puts.map((q) => q.path).join(", "),
      );
      const dotenv = p.dotenv("pull-secret-eu")!;
      assert.equal(dotenv.GITLAB_PULL_SECRET_API_TOKEN_ROTATED, "true");
      assert.equal(dotenv.GITLAB_PULL_SECRET_API_TOKEN_EXPIRES_AT, fresh.expiresAt);
      assert.ok(world.gitlab.isLive(Number(dotenv.GITLAB_PULL_SECRET_TOKEN_ID)), "the deploy token rotated too");
      assert.match(p.jobLog("pull-secret-eu"), /Rotated the GitLab API token \(it expires on /);
      assert.deepEqual(leaks(world, [p]), []);
    });

    test("without the token variable the job fails naming it, and makes 0 GitLab requests", async () => {
      writePipeline([
        {
          job_name: "pull-secret-eu",
          gitlab_url: world.gitlab.url,
          project: PROJECT.path,
          namespaces: ["team-a"],
          kubeconfig: clusters["prod-eu"]!.kubeconfig,
          kube_context: "prod-eu",
          ...verify(),
        },
      ]);
      world.gitlab.resetRequests();
      const tokens = world.gitlab.tokens.length;
      // `kubectl version --client` (the job's banner) talks to no cluster; any other call would.
      const clusterCalls = () => world.kubectlCalls().filter((c) => !c.argv.includes("version")).length;
      const kubectl = clusterCalls();
      const before = tokenIdIn(world.kube, "team-a");
      const p = await runPipeline({});
      assert.notEqual(p.code, 0, "the pipeline fails");
      assert.match(p.stdout, /FAIL\s+pull-secret-eu/);
      // Named in what the job printed, not in the runner's echo of a script line ("$ ...").
      const printed = p
        .jobLog("pull-secret-eu")
        .split("\n")
        .filter((l) => !l.startsWith("$ "));
      assert.ok(
        printed.some((l) => l.includes(TOKEN_VARIABLE)),
        `the job's message names ${TOKEN_VARIABLE}`,
      );
      assert.deepEqual(world.gitlab.requests, [], "0 GitLab requests");
      assert.equal(world.gitlab.tokens.length, tokens);
      assert.equal(tokenIdIn(world.kube, "team-a"), before);
      assert.equal(clusterCalls(), kubectl, "no kubectl call to the cluster");
      assert.equal(p.dotenv("pull-secret-eu"), undefined);
      assert.deepEqual(leaks(world, [p]), []);
    });
  },
);
