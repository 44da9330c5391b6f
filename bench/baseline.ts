// One pass of the baseline (bench/baseline.sh: three kubectl processes per namespace) in a world,
// measured and checked.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BASELINE_SECRET, BASELINE_SH } from "./config.ts";
import { checkBaseline } from "./checks.ts";
import { resetCounters, spyCount, type Ctx } from "./ctx.ts";
import { cpuSnapshot, fmtS, foreignCores, readTraces, runProc, type Proc } from "./lib.ts";
import type { BaseRun } from "./measurements.ts";
import type { Session } from "./session.ts";

/**
 * One pass of the baseline loop over `namespaces`, checked: every namespace has the Secret and the default
 * ServiceAccount lists it. With `measure`, every kubectl is traced (for its peak RSS).
 */
export async function runBaseline(
  session: Session,
  ctx: Ctx,
  label: string,
  namespaces: string[],
  registry: string,
  measure = false,
): Promise<BaseRun> {
  const { world } = ctx;
  const { wrapper } = session;
  const id = session.nextId(ctx.n);
  const nsFile = join(session.tmp, `ns-${id}.txt`);
  writeFileSync(nsFile, `${namespaces.join("\n")}\n`);
  resetCounters(ctx);
  const measureDir = measure ? join(session.tmp, `trace-${id}`) : undefined;
  if (measureDir) {
    mkdirSync(measureDir);
    wrapper.measure(measureDir);
  }
  let p: Proc;
  const snap0 = cpuSnapshot();
  try {
    p = await runProc(
      "bash",
      [BASELINE_SH, nsFile],
      {
        PATH: `${ctx.binDir}:${process.env.PATH ?? ""}`,
        HOME: world.home,
        LANG: "C.UTF-8",
        KUBECONFIG: world.kubeconfig,
        SECRET_NAME: BASELINE_SECRET,
        REGISTRY: registry,
        REGISTRY_USER: "gitlab+deploy-token-0",
        REGISTRY_PASSWORD: "fake-baseline-token",
      },
      { timeoutMs: 40 * 60_000 },
    );
  } finally {
    if (measureDir) wrapper.plain();
  }
  const problems = checkBaseline(ctx, p, namespaces);
  if (problems.length) session.violations.push(`baseline N=${ctx.n} ${label}: ${problems.join("; ")}`);
  const run: BaseRun = {
    label,
    ms: p.ms,
    foreign: foreignCores(snap0, cpuSnapshot(), session.ticks),
    kubectl: spyCount(ctx),
    kube: world.kube.requests.length,
    traces: measureDir ? readTraces(measureDir) : [],
  };
  session.progress(
    [
      `baseline N=${ctx.n} ${label.padEnd(8)} ${fmtS(run.ms).padStart(8)}`,
      `kubectl ${run.kubectl}`,
      `API ${run.kube}`,
      `other load ${run.foreign.toFixed(2)}`,
    ].join("  "),
  );
  return run;
}
