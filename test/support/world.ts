// The whole test world for end-to-end runs: the GitLab stand-in, the
// Kubernetes API stand-in that the real kubectl talks to, the real registry
// (docker-registry) with a seeded image, and a spy in front of kubectl that
// records the argv and environment of every kubectl the tool spawns. Every
// captured stream can then be scanned for every form of every secret.
import { spawn, type ChildProcess } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGitLabStandIn, type GitLabStandIn } from "./gitlab-standin.ts";
import { startKubeStandIn, type KubeStandIn, type LatencyModel } from "./kube/index.ts";
import { kubectlFor } from "./kubectl-binary.ts";
import { kubeAssetsDir, ownControlPlane, sharedControlPlane, type RealKube } from "./kube-real.ts";
import { haveRegistryTools, seedImage, skopeoInspect, startRegistry, type Registry } from "./registry.ts";

export const ROOT = new URL("../../", import.meta.url).pathname;
export const CLI = join(ROOT, "dist", "cli.js");
export const ACTION = join(ROOT, "dist", "index.js");

export const PAT = "glpat-e2eMaintainerSecret0001";
export const ADMIN_PAT = "glpat-e2eAdminSecret000000002";
export const PROJECT = { id: 42, path: "grp/app" };
export const NAMESPACES = ["team-a", "team-b", "team-c"];

export interface Captured {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Extra files the run wrote (Action outputs, summary). */
  files: Record<string, string>;
}

/**
 * Which Kubernetes API server the real kubectl talks to: the stand-in always;
 * a real control plane (test/support/kube-real.ts) too when GPS_KUBE_ASSETS
 * names its binaries.
 */
export type Backend = "standin" | "real";

/**
 * The backends a suite runs on. Without GPS_KUBE_ASSETS: the stand-in. With them, a suite that says what only a
 * real server proves there (`realBecause`: RBAC, the Lease's concurrency, server dry runs, namespace lifecycle,
 * Events) runs on the real control plane, since that is its point; every other suite on the stand-in, which
 * answers from responses captured on a real server; a real-tier suite with tests of its own for the stand-in (a
 * fault only it can inject) runs on both (`standinToo`). GPS_REAL_TIER=all runs every suite on both (running every
 * suite on both took a third of the suite's time).
 */
export function kubeBackends(opts: { realBecause?: string; standinToo?: string } = {}): Backend[] {
  if (!kubeAssetsDir()) return ["standin"];
  if ((process.env.GPS_REAL_TIER ?? "").trim() === "all") return ["standin", "real"];
  if (opts.realBecause === undefined) return ["standin"];
  // A suite with tests only the stand-in can run (a fault it injects) says so, and keeps them.
  return opts.standinToo !== undefined ? ["standin", "real"] : ["real"];
}

/**
 * A cluster of its own (a fleet's second cluster): a fresh stand-in, or a
 * control plane not the one the file's worlds share (the suite's pool lends
 * one, else it is started). Close it yourself.
 */
export async function startKube(backend: Backend, dir: string): Promise<KubeStandIn> {
  let kube: KubeStandIn;
  if (backend === "real") {
    const real = await ownControlPlane({ dir });
    real.reset(NAMESPACES);
    kube = real;
  } else {
    kube = await startKubeStandIn({ dir });
  }
  for (const ns of NAMESPACES) kube.createNamespace(ns);
  return kube;
}

export interface World {
  dir: string;
  backend: Backend;
  gitlab: GitLabStandIn;
  /** The stand-in, or a real API server behind the same interface (its stand-in-only faults throw). */
  kube: KubeStandIn;
  registry: Registry | undefined;
  kubeconfig: string;
  /** Directory where the kubectl spy writes one record per invocation. */
  spyDir: string;
  /**
   * Where helper programs a test writes (credential plugins kubectl runs)
   * record what they were given; the leak scan reads every file in it.
   */
  recordsDir: string;
  /** Where tests put what the tool writes for monitoring (metrics files) and what stand-ins received (pushed bodies); the leak scan reads every file in it. */
  signalsDir: string;
  home: string;
  /** The environment every tool run here starts from: PATH with the kubectl spy first, HOME, TMPDIR, LANG. */
  baseEnv(): Record<string, string>;
  runCli(args: string[], opts?: { env?: Record<string, string>; stdin?: string }): Promise<Captured>;
  /** Starts the CLI and returns at once, for runs a test kills or runs side by side. */
  startCli(args: string[], opts?: { env?: Record<string, string> }): Running;
  runAction(inputs: Record<string, string>, opts?: { env?: Record<string, string> }): Promise<Captured>;
  /** Every kubectl invocation so far: its argv and environment as the spy saw them. */
  kubectlCalls(): Array<{ argv: string[]; env: string }>;
  /**
   * The docker config a Secret holds, decoded, written to a file skopeo can use.
   * A kubernetes.io/dockercfg Secret's `.dockercfg` host map is wrapped as
   * {"auths": map} first, as the kubelet does (skopeo reads only the auths form).
   */
  authfileFromSecret(namespace: string, name: string): string;
  pull(authfile: string): Promise<{ ok: boolean; stderr: string }>;
  /** CLI flags for the registry pull check: trust the registry's CA, or skip the check when no registry runs. */
  verifyFlags(): string[];
  /** The same as Action inputs (kebab-case) or component inputs (snake_case). */
  verifyInputs(style: "action" | "component"): Record<string, string | boolean>;
  /** Every form of every secret this world has seen: PATs, deploy tokens, user:token, base64s, docker configs. */
  secretForms(): string[];
  /** A credential the world did not mint (static registry credentials): its password, user:password and their base64. */
  addCredentials(username: string, password: string): void;
  /** A secret the world did not mint and that is no credential pair (a rotated API token): these exact forms. */
  addSecretForms(...forms: string[]): void;
  /** Files under dir that the tool may have left behind (its TMPDIR). */
  leftoverFiles(): string[];
  close(): Promise<void>;
}

export function registryRequired(): boolean {
  return process.env.CI === "true" || process.env.GPS_REQUIRE_REGISTRY === "1";
}

export interface Running {
  child: ChildProcess;
  done: Promise<Captured>;
}

export function start(cmd: string, args: string[], env: Record<string, string>, stdin?: string): Running {
  const child = spawn(cmd, args, { env, stdio: ["pipe", "pipe", "pipe"] });
  const done = new Promise<Captured>((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({ code: code ?? (signal ? 128 + 9 : null), stdout, stderr, files: {} }),
    );
  });
  child.stdin!.end(stdin ?? "");
  return { child, done };
}

export function run(cmd: string, args: string[], env: Record<string, string>, stdin?: string): Promise<Captured> {
  return start(cmd, args, env, stdin).done;
}

/** Polls `condition` until it holds or `timeoutMs` passes: waiting on a condition, not sleeping and hoping. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The kubectl spy: records each call's argv and environment under `spyDir`, then becomes `realKubectl`. */
export function kubectlSpyScript(spyDir: string, realKubectl: string): string {
  return [
    "#!/bin/sh",
    "set -C",
    "n=0",
    `while ! { true > "${spyDir}/$$-$n.argv"; } 2>/dev/null; do n=$((n + 1)); done`,
    `rec="${spyDir}/$$-$n"`,
    "set +C",
    `printf '%s\\0' "$@" > "$rec.argv"`,
    'env > "$rec.env"',
    `exec "${realKubectl}" "$@"`,
    "",
  ].join("\n");
}

export async function startWorld(
  opts: {
    registry?: boolean;
    backend?: Backend;
    kubeLatency?: LatencyModel;
    /** The kubectl the spy becomes, instead of the binary kubectl-binary.ts picks (the bench's measuring wrapper). */
    kubectl?: string;
  } = {},
): Promise<World> {
  const backend = opts.backend ?? "standin";
  const dir = mkdtempSync(join(tmpdir(), "gps-e2e-"));
  const home = join(dir, "home");
  const toolTmp = join(dir, "tool-tmp");
  const spyDir = join(dir, "kubectl-spy");
  const binDir = join(dir, "bin");
  const recordsDir = join(dir, "records");
  const signalsDir = join(dir, "signals");
  for (const d of [home, toolTmp, spyDir, binDir, recordsDir, signalsDir]) mkdirSync(d, { recursive: true });

  const gitlab = await startGitLabStandIn({ dir: join(dir, "gitlab") });
  gitlab.addUser({ username: "maintainer" });
  gitlab.addUser({ username: "root", admin: true });
  gitlab.addPersonalAccessToken("maintainer", PAT, ["api"]);
  gitlab.addPersonalAccessToken("root", ADMIN_PAT, ["api"]);
  gitlab.addProject({ id: PROJECT.id, path: PROJECT.path, members: { maintainer: "maintainer" } });

  // A real control plane is shared by the file's worlds, each starting from a clean slate: the suite's, leased for
  // this file (scripts/test.mjs), or one started for this file.
  let real: RealKube | undefined;
  let kube: KubeStandIn;
  if (backend === "real") {
    real = await sharedControlPlane();
    real.reset(NAMESPACES);
    kube = real;
  } else {
    kube = await startKubeStandIn({
      dir: join(dir, "kube"),
      ...(opts.kubeLatency ? { latency: opts.kubeLatency } : {}),
    });
  }
  for (const ns of NAMESPACES) kube.createNamespace(ns);
  const kubeconfig = kube.writeKubeconfig(join(dir, "kube"));

  let registry: Registry | undefined;
  const wantRegistry = opts.registry ?? true;
  if (wantRegistry && haveRegistryTools()) {
    registry = await startRegistry({ gitlab, dir: join(dir, "registry") });
    gitlab.setRegistry({ host: registry.host });
    await seedImage(registry, PROJECT.path, "latest", { username: "root", token: ADMIN_PAT });
  } else if (wantRegistry && registryRequired()) {
    throw new Error(
      "docker-registry and skopeo are required here (CI=true): apt-get install -y docker-registry skopeo",
    );
  } else {
    gitlab.setRegistry({ host: "registry.test:5005" });
  }

  const baseEnv = (): Record<string, string> => ({
    PATH: `${binDir}:${process.env.PATH ?? ""}`,
    HOME: home,
    TMPDIR: toolTmp,
    LANG: "C.UTF-8",
  });

  // The spy: records argv (NUL-separated) and environment, then becomes the real kubectl (the binary
  // test/support/kubectl-binary.ts picks for this kind of server). A record is named for its process and made
  // with noclobber, so a pid the kernel hands out again (pid_max is often 32768, and a suite starts thousands
  // of processes) gets a record of its own instead of overwriting an earlier one.
  const realKubectl =
    opts.kubectl ?? (await kubectlFor(kubeconfig, backend, { ...process.env, HOME: home } as Record<string, string>));
  const spy = join(binDir, "kubectl");
  writeFileSync(spy, kubectlSpyScript(spyDir, realKubectl));
  chmodSync(spy, 0o755);

  const secretsSeen = new Set<string>([PAT, ADMIN_PAT]);

  const world: World = {
    dir,
    backend,
    gitlab,
    kube,
    registry,
    kubeconfig,
    spyDir,
    recordsDir,
    signalsDir,
    home,
    baseEnv,
    runCli: (args, o = {}) =>
      run(process.execPath, [CLI, ...args], { ...baseEnv(), GITLAB_TOKEN: PAT, ...o.env }, o.stdin),
    startCli: (args, o = {}) => start(process.execPath, [CLI, ...args], { ...baseEnv(), GITLAB_TOKEN: PAT, ...o.env }),
    async runAction(inputs, o = {}) {
      const outputs = join(dir, `github-output-${Date.now()}-${Math.random()}`);
      const summary = join(dir, `github-summary-${Date.now()}-${Math.random()}`);
      writeFileSync(outputs, "");
      writeFileSync(summary, "");
      const env: Record<string, string> = {
        ...baseEnv(),
        GITHUB_OUTPUT: outputs,
        GITHUB_STEP_SUMMARY: summary,
        ...o.env,
      };
      for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
      const r = await run(process.execPath, [ACTION], env);
      r.files = { GITHUB_OUTPUT: readFileSync(outputs, "utf8"), GITHUB_STEP_SUMMARY: readFileSync(summary, "utf8") };
      return r;
    },
    kubectlCalls() {
      // In the order they started (a directory lists in no order): callers slice from an earlier length.
      const records = readdirSync(spyDir)
        .filter((f) => f.endsWith(".argv"))
        .map((f) => ({ f, born: statSync(join(spyDir, f), { bigint: true }).mtimeNs }))
        .sort((a, b) => (a.born < b.born ? -1 : a.born > b.born ? 1 : a.f.localeCompare(b.f)))
        .map(({ f }) => f);
      return records.map((f) => ({
        argv: readFileSync(join(spyDir, f), "utf8")
          .split("\0")
          .filter((a) => a !== ""),
        env: readFileSync(join(spyDir, f.replace(/\.argv$/, ".env")), "utf8"),
      }));
    },
    authfileFromSecret(namespace, name) {
      const s = kube.getObject("secrets", namespace, name);
      if (!s) throw new Error(`no Secret ${namespace}/${name}`);
      const path = join(dir, `authfile-${namespace}-${name}-${s.metadata.resourceVersion}.json`);
      let config: string;
      if (s.type === "kubernetes.io/dockercfg") {
        // As the kubelet reads it: credentialprovider/secrets MakeDockerKeyring unmarshals a
        // dockercfg Secret's `.dockercfg` into the same DockerConfig host map it takes from a
        // dockerconfigjson Secret's `auths`. skopeo reads only the auths form, so wrap the map there.
        const map = JSON.parse(Buffer.from(s.data[".dockercfg"], "base64").toString("utf8"));
        config = JSON.stringify({ auths: map });
      } else {
        config = Buffer.from(s.data[".dockerconfigjson"], "base64").toString("utf8");
      }
      writeFileSync(path, config, { mode: 0o600 });
      return path;
    },
    async pull(authfile) {
      if (!registry) throw new Error("no registry in this world");
      const r = await skopeoInspect(registry, `${PROJECT.path}:latest`, authfile);
      return { ok: r.ok, stderr: r.stderr };
    },
    verifyFlags() {
      return registry ? ["--ca-file", registry.caPath] : ["--no-verify"];
    },
    verifyInputs(style) {
      const [ca, no] = style === "action" ? ["ca-file", "no-verify"] : ["ca_file", "no_verify"];
      return registry ? { [ca]: registry.caPath } : { [no]: style === "action" ? "true" : true };
    },
    secretForms() {
      for (const t of gitlab.tokens) {
        const userToken = `${t.username}:${t.token}`;
        const auth = Buffer.from(userToken).toString("base64");
        for (const f of [t.token, userToken, auth, auth.replace(/=+$/, "")]) secretsSeen.add(f);
      }
      for (const s of kube.listObjects("secrets")) {
        for (const key of [".dockerconfigjson", ".dockercfg"]) {
          const b64 = s.data?.[key];
          if (typeof b64 === "string") {
            secretsSeen.add(b64);
            secretsSeen.add(Buffer.from(b64, "base64").toString("utf8"));
          }
        }
      }
      secretsSeen.delete("");
      return [...secretsSeen];
    },
    addCredentials(username, password) {
      const userPass = `${username}:${password}`;
      const auth = Buffer.from(userPass).toString("base64");
      for (const f of [password, userPass, auth, auth.replace(/=+$/, "")]) secretsSeen.add(f);
    },
    addSecretForms(...forms) {
      for (const f of forms) secretsSeen.add(f);
    },
    leftoverFiles() {
      const out: string[] = [];
      const walk = (d: string) => {
        for (const f of readdirSync(d)) {
          const p = join(d, f);
          if (statSync(p).isDirectory()) walk(p);
          else out.push(p);
        }
      };
      for (const d of [toolTmp, home]) if (existsSync(d)) walk(d);
      return out;
    },
    async close() {
      await registry?.close();
      if (real) real.reset(NAMESPACES);
      else await kube.close();
      await gitlab.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/**
 * Scans every stream a run produced, every kubectl argv and environment, what
 * credential plugins recorded, the metrics files and pushed bodies in
 * signalsDir, every Kubernetes Event, and every file the tool could have left, for
 * every secret form. Returns the
 * hits as "where: which form (first chars)" so a failure shows where, not what.
 *
 * `inherited`: variables the test itself gave the tool that kubectl is meant
 * to inherit unchanged (a proxy URL with its credentials, as the runner gives
 * every process of the job). Exactly those NAME=value lines are left out of
 * the kubectl environments; everything else is scanned.
 */
export function leaks(
  world: World,
  captured: Captured[],
  opts: { inherited?: ReadonlyArray<Record<string, string>> } = {},
): string[] {
  const forms = world.secretForms().filter((f) => f.length >= 8);
  const places: Array<[string, string]> = [];
  captured.forEach((c, i) => {
    // ::add-mask:: lines are how an Action tells the runner what to mask; the runner consumes them.
    places.push([
      `run ${i} stdout`,
      c.stdout
        .split("\n")
        .filter((l) => !l.startsWith("::add-mask::"))
        .join("\n"),
    ]);
    places.push([`run ${i} stderr`, c.stderr]);
    for (const [name, text] of Object.entries(c.files)) places.push([`run ${i} ${name}`, text]);
  });
  for (const [i, call] of world.kubectlCalls().entries()) {
    places.push([`kubectl ${i} argv`, call.argv.join(" ")]);
    const passed = new Set((opts.inherited ?? []).flatMap((env) => Object.entries(env).map(([k, v]) => `${k}=${v}`)));
    places.push([
      `kubectl ${i} env`,
      call.env
        .split("\n")
        .filter((l) => !passed.has(l))
        .join("\n"),
    ]);
  }
  for (const f of readdirSync(world.recordsDir)) {
    places.push([`record ${f}`, readFileSync(join(world.recordsDir, f), "utf8")]);
  }
  for (const f of readdirSync(world.signalsDir)) {
    places.push([`signal ${f}`, readFileSync(join(world.signalsDir, f), "utf8")]);
  }
  // Every Event in the cluster, whoever wrote it: the notes are where a token would show.
  for (const e of world.kube.listObjects("events"))
    places.push([`event ${e.metadata.namespace}/${e.metadata.name}`, JSON.stringify(e)]);
  for (const f of world.leftoverFiles()) {
    // kubectl's discovery cache is the server's documents, not ours; scan it anyway.
    places.push([`file ${f}`, readFileSync(f, "utf8")]);
  }
  const hits: string[] = [];
  for (const [where, text] of places) {
    for (const form of forms) if (text.includes(form)) hits.push(`${where}: ${form.slice(0, 6)}…`);
  }
  return hits;
}
