// The measured scenarios: at each N on each mode, ours against the baseline in a fresh world; and,
// once per run, the CLI's start overhead and the cost of the tests' kubectl spy.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CALIBRATED } from "../test/support/kube/latency.ts";
import { kubectlSpyScript, PROJECT, startWorld } from "../test/support/world.ts";
import { runBaseline } from "./baseline.ts";
import { baselineUpdates, coldRuns, oursRuns, startRuns, type Mode } from "./config.ts";
import { instrumentKube, type Ctx } from "./ctx.ts";
import { median, runProc } from "./lib.ts";
import type { BaseRun, OursRun, SizeResult, SpyOverhead, StartOverhead } from "./measurements.ts";
import { runOurs } from "./ours.ts";
import type { Session } from "./session.ts";

/**
 * N namespaces in a fresh world on `mode`. Ours: one warm-up rotation (it creates the Secrets), timed
 * rotations interleaved with cold-cache ones, one traced rotation and, at the largest N, one profiled one.
 * The baseline: a create pass, update passes, one traced pass over (at most) 10 namespaces.
 */
export async function benchSize(
  session: Session,
  n: number,
  cli: string,
  largest: boolean,
  mode: Mode,
): Promise<SizeResult> {
  const kubectl = session.wrapper.path;
  const world = await startWorld(
    mode === "real"
      ? { backend: "real", kubectl }
      : { backend: "standin", kubectl, ...(mode === "calibrated" ? { kubeLatency: CALIBRATED } : {}) },
  );
  try {
    const binDir = join(world.dir, "bin");
    if (!existsSync(join(binDir, "kubectl")))
      throw new Error(`the world's kubectl spy is not at ${binDir}/kubectl (test/support/world.ts changed?)`);
    if (!world.registry)
      session.notes.push(
        `N=${n}: no docker-registry here, so the pull check was skipped (--no-verify); GitLab counts lack /jwt/auth.`,
      );
    const namespaces = Array.from({ length: n }, (_, i) => `bench-${String(i).padStart(4, "0")}`);
    for (const ns of namespaces) world.kube.createNamespace(ns);
    const ctx: Ctx = {
      n,
      world,
      namespaces,
      binDir,
      toolTmp: join(world.dir, "tool-tmp"),
      timings: instrumentKube(world),
      cli,
      args: [
        "rotate",
        "--gitlab-url",
        world.gitlab.url,
        "--project",
        PROJECT.path,
        "--kubeconfig",
        world.kubeconfig,
        "--namespace",
        namespaces.join(","),
        "--service-account",
        "default",
        ...world.verifyFlags(),
        "--json",
      ],
      tokenId: undefined,
    };
    const ours = (label: string, opts?: Parameters<typeof runOurs>[3]) => runOurs(session, ctx, label, opts);
    // The first rotation creates the Secrets and adds them to the ServiceAccounts
    // (on a cold kubectl cache); the timed ones update them.
    const warmup = await ours("warm-up");
    // Warm and cold runs interleaved, so a burst of load from elsewhere does not land on one kind only.
    const timed: OursRun[] = [];
    const cold: OursRun[] = [];
    const [timedRuns, coldCount] = [oursRuns(n, session.depth), coldRuns(n, session.depth)];
    while (timed.length < timedRuns || cold.length < coldCount) {
      if (timed.length < timedRuns) timed.push(await ours(`run ${timed.length + 1}`));
      if (cold.length < coldCount) cold.push(await ours(`cold ${cold.length + 1}`, { cold: true }));
    }
    const measure = await ours("trace", { measure: true });
    const profile = largest && session.depth !== "smoke" ? await ours("profile", { profile: true }) : undefined;

    const registry = world.registry?.host ?? "registry.test:5005";
    const baseline = (label: string, nss: string[], traced?: boolean) =>
      runBaseline(session, ctx, label, nss, registry, traced);
    const create = await baseline("create", namespaces);
    const updates: BaseRun[] = [];
    for (let i = 0; i < baselineUpdates(n, session.depth); i++)
      updates.push(await baseline(`update ${i + 1}`, namespaces));
    const rss = await baseline("trace", namespaces.slice(0, 10), true);
    const timedMs = updates.length ? median(updates.map((u) => u.ms)) : create.ms;
    const timedWhat = updates.length
      ? updates.length === 1
        ? "the single update pass"
        : `median of ${updates.length} update passes`
      : "the single create pass";
    return { n, warmup, timed, cold, measure, profile, base: { create, updates, rss, timedMs, timedWhat } };
  } finally {
    await world.close();
  }
}

/** `node cli.js --version` against `node -e 0`, interleaved, startRuns() each: medians and their difference. */
export async function startOverhead(session: Session, cli: string): Promise<StartOverhead> {
  const env = { PATH: process.env.PATH ?? "", HOME: session.tmp, LANG: "C.UTF-8" };
  const node: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < 3; i++) await runProc(process.execPath, [cli, "--version"], env); // page cache
  const runs = startRuns(session.depth);
  for (let i = 0; i < runs; i++) {
    node.push((await runProc(process.execPath, ["-e", "0"], env)).ms);
    const r = await runProc(process.execPath, [cli, "--version"], env);
    if (r.code !== 0) session.violations.push(`${cli} --version exited ${r.code}`);
    ours.push(r.ms);
  }
  const nodeMs = median(node);
  const cliMs = median(ours);
  return { nodeMs, cliMs, deltaMs: cliMs - nodeMs, runs };
}

/**
 * The spy (sh + two small files per kubectl) costs the same for ours and the baseline; measured so the
 * notes can say how much.
 */
export async function spyOverhead(session: Session): Promise<SpyOverhead> {
  const { realKubectl } = session;
  const dir = join(session.tmp, "spy-probe");
  mkdirSync(join(dir, "rec"), { recursive: true });
  const spy = join(dir, "kubectl");
  writeFileSync(spy, kubectlSpyScript(join(dir, "rec"), realKubectl), { mode: 0o755 });
  const env = { PATH: process.env.PATH ?? "", HOME: session.tmp };
  const direct: number[] = [];
  const spied: number[] = [];
  for (let i = 0; i < 25; i++) {
    direct.push((await runProc(realKubectl, ["version", "--client"], env)).ms);
    spied.push((await runProc(spy, ["version", "--client"], env)).ms);
  }
  return { directMs: median(direct), spiedMs: median(spied) };
}
