// One rotation of ours (`node cli.js rotate …`) in a world, measured and checked.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { PROBE } from "./config.ts";
import { checkRotation, limitViolations } from "./checks.ts";
import { cliEnv, resetCounters, spyCount, type Ctx } from "./ctx.ts";
import {
  cpuSnapshot,
  fmtMB,
  fmtMs,
  fmtS,
  foreignCores,
  readTraces,
  runProc,
  summarizeProfile,
  type ProfileSummary,
  type Proc,
} from "./lib.ts";
import type { OursRun } from "./measurements.ts";
import type { Session } from "./session.ts";

export interface OursOptions {
  /** Remove kubectl's discovery cache first. */
  cold?: boolean;
  /** Trace every kubectl (-v=6 under /usr/bin/time). */
  measure?: boolean;
  /** CPU-profile our node process. */
  profile?: boolean;
}

/**
 * One real rotation of ours, checked (fresh token, previous one revoked, every Secret and ServiceAccount
 * updated; see checkRotation): what is wrong goes to the session's violations.
 */
export async function runOurs(session: Session, ctx: Ctx, label: string, opts: OursOptions = {}): Promise<OursRun> {
  const { world } = ctx;
  const { wrapper } = session;
  const id = session.nextId(ctx.n);
  if (opts.cold) rmSync(join(world.home, ".kube", "cache"), { recursive: true, force: true });
  resetCounters(ctx);
  const rssFile = join(session.tmp, `rss-${id}.json`);
  const measureDir = opts.measure ? join(session.tmp, `trace-${id}`) : undefined;
  const profileDir = opts.profile ? join(session.tmp, `prof-${id}`) : undefined;
  // --cpu-prof is not allowed in NODE_OPTIONS: it goes on node's own argv.
  const nodeFlags = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  if (measureDir) {
    mkdirSync(measureDir);
    wrapper.measure(measureDir);
  }
  const prev = ctx.tokenId;
  const cpu0 = process.cpuUsage();
  const snap0 = cpuSnapshot();
  let p: Proc;
  try {
    p = await runProc(
      process.execPath,
      [...nodeFlags, ctx.cli, ...ctx.args],
      cliEnv(ctx, { NODE_OPTIONS: `--import=${PROBE}`, GPS_BENCH_RSS_OUT: rssFile }),
      { timeoutMs: 10 * 60_000 },
    );
  } finally {
    if (measureDir) wrapper.plain();
  }
  const cpu = process.cpuUsage(cpu0);
  const foreign = foreignCores(snap0, cpuSnapshot(), session.ticks);

  const { problems, newId } = checkRotation(ctx, p, prev);
  if (newId !== undefined) ctx.tokenId = newId;
  if (problems.length) session.violations.push(`ours N=${ctx.n} ${label}: not a real rotation: ${problems.join("; ")}`);

  let rssKB = NaN;
  let cpuMs = NaN;
  try {
    const probe = JSON.parse(readFileSync(rssFile, "utf8")) as { vmHWMkB: number; cpuMs: number };
    rssKB = probe.vmHWMkB;
    cpuMs = probe.cpuMs;
  } catch {
    session.notes.push(`N=${ctx.n} ${label}: the RSS probe wrote nothing`);
  }
  let profile: ProfileSummary | undefined;
  if (profileDir) {
    const f = existsSync(profileDir) ? readdirSync(profileDir).find((x) => x.endsWith(".cpuprofile")) : undefined;
    if (f) profile = summarizeProfile(join(profileDir, f));
  }
  const run: OursRun = {
    label,
    ms: p.ms,
    kubectl: spyCount(ctx),
    gitlab: world.gitlab.requests.length,
    gitlabCalls: world.gitlab.requests.map((r) => `${r.method} ${r.path.replace(/\/\d+$/, "/:id")}`),
    kube: world.kube.requests.length,
    rssKB,
    cpuMs,
    benchCpuMs: (cpu.user + cpu.system) / 1000,
    foreign,
    server: [...ctx.timings],
    traces: measureDir ? readTraces(measureDir) : [],
    profile,
  };
  session.violations.push(...limitViolations(ctx.n, run));
  session.progress(
    [
      `ours     N=${ctx.n} ${label.padEnd(8)} ${fmtS(run.ms).padStart(8)}`,
      `kubectl ${run.kubectl}`,
      `GitLab ${run.gitlab}`,
      `API ${run.kube}`,
      `RSS ${fmtMB(run.rssKB)}`,
      `node CPU ${fmtMs(run.cpuMs)}`,
      `other load ${foreign.toFixed(2)}`,
    ].join("  "),
  );
  return run;
}
