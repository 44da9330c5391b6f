// `npm run bench [-- --quick | --smoke] [--sizes 1,10] [--out FILE] [--strict] [--wait-quiet SECONDS] [--backend MODES]`
//
// Our `rotate` against the baseline people write today (a bash loop of
// `kubectl create secret … --dry-run=client -o yaml | kubectl apply -f -` and
// `kubectl patch serviceaccount default …` per namespace), both run against the
// local stand-ins of the tests (GitLab stand-in, Kubernetes API stand-in driven by
// the REAL kubectl, a real docker-registry for the pull check), for N namespaces.
// Prints the tables and, for a full run, writes bench/RESULTS.md. Exits 1 when a
// rotation was not real or kubectl/GitLab counts exceed their limits or grow with N.
//
// This file only runs the phases in order: args.ts reads the command line, scenarios.ts
// (ours.ts, baseline.ts) measures, checks.ts judges, report.ts and results-md.ts write it up.
import { rmSync, writeFileSync } from "node:fs";
import { relative } from "node:path";
import { kubeAssetsDir, sharedControlPlane, stopSharedControlPlane } from "../test/support/kube-real.ts";
import { commandLine, parseArgs, UsageError, type Settings } from "./args.ts";
import { growthViolations } from "./checks.ts";
import { chooseCli, distSizes } from "./cli-under-test.ts";
import { modeName, RESULTS_MD, type Mode } from "./config.ts";
import { cpuSnapshot, fmtMs, foreignCores } from "./lib.ts";
import { clockTicks, machine, waitQuiet } from "./machine.ts";
import type { Measurements, SizeResult } from "./measurements.ts";
import { buildReport, terminalText } from "./report.ts";
import { resultsMarkdown } from "./results-md.ts";
import { benchSize, spyOverhead, startOverhead } from "./scenarios.ts";
import { openSession, type Session } from "./session.ts";

/** Runs the benchmark; resolves to the exit code. */
async function main(argv: string[]): Promise<number> {
  let settings: Settings;
  try {
    settings = parseArgs(argv, { realAvailable: kubeAssetsDir() !== undefined, defaultOut: RESULTS_MD });
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`bench: ${e.message}\n`);
    return 2;
  }
  const t0 = Date.now();
  const session = openSession({ depth: settings.depth, waitQuietS: settings.waitQuietS, ticks: clockTicks(), t0 });
  try {
    return await measureAndReport(session, settings, argv, t0);
  } finally {
    rmSync(session.tmp, { recursive: true, force: true });
  }
}

async function measureAndReport(session: Session, settings: Settings, argv: string[], t0: number): Promise<number> {
  const { progress, ticks } = session;
  const mach = machine(session.realKubectl);
  progress(`sizes ${settings.sizes.join(", ")}; ${mach.nproc} cores; scratch ${session.tmp}`);

  const cli = await chooseCli(session);
  await waitQuiet(session, "the start-overhead runs");
  const snapStart = cpuSnapshot();
  progress(`measuring ${cli.what}`);
  const start = await startOverhead(session, cli.cli);
  progress(`start: node -e 0 ${fmtMs(start.nodeMs)}, cli --version ${fmtMs(start.cliMs)} (+${fmtMs(start.deltaMs)})`);
  const spy = await spyOverhead(session);

  const byBackend = new Map<Mode, SizeResult[]>();
  const load: Array<[string, number]> = [["start overhead", foreignCores(snapStart, cpuSnapshot(), ticks)]];
  const { sizes } = settings;
  for (const backend of settings.backends) {
    // etcd on disk: the benchmark wants a real server's costs (the tests keep etcd in /dev/shm).
    if (backend === "real") progress(`real API server ${(await sharedControlPlane({ etcdOnDisk: true })).version}`);
    const list: SizeResult[] = [];
    for (const n of sizes) {
      await waitQuiet(session, `N=${n} (${backend})`);
      const a = cpuSnapshot();
      progress(`N=${n} on the ${modeName(backend)}`);
      list.push(await benchSize(session, n, cli.cli, n === sizes[sizes.length - 1], backend));
      load.push([`N=${n} (${backend})`, foreignCores(a, cpuSnapshot(), ticks)]);
      progress(`other processes kept ${load[load.length - 1]![1].toFixed(2)} cores busy during N=${n}`);
    }
    byBackend.set(backend, list);
  }
  await stopSharedControlPlane();
  session.violations.push(...growthViolations(byBackend.get(settings.judged)!));

  const m: Measurements = {
    backends: settings.backends,
    judged: settings.judged,
    sizes,
    depth: settings.depth,
    machine: mach,
    cli,
    dist: distSizes(),
    start,
    spy,
    byBackend,
    load,
    violations: session.violations,
    notes: session.notes,
  };
  const report = buildReport(m);
  process.stdout.write(terminalText(report));
  if (settings.out) {
    const run = {
      command: commandLine(argv, process.env.npm_lifecycle_event),
      writtenAt: new Date(),
      elapsedMs: Date.now() - t0,
    };
    writeFileSync(settings.out, resultsMarkdown(report, m, run));
    progress(`wrote ${relative(process.cwd(), settings.out)}`);
  }

  let exitCode = 0;
  if (m.violations.length) {
    process.stderr.write(`\nFAILED:\n${m.violations.map((v) => `- ${v}`).join("\n")}\n`);
    exitCode = 1;
  } else if (settings.strict && report.targets.some(([, , ok]) => ok === false)) {
    process.stderr.write("\nFAILED (--strict): a target was missed\n");
    exitCode = 1;
  }
  progress(`done in ${((Date.now() - t0) / 60000).toFixed(1)} min`);
  return exitCode;
}

process.exit(await main(process.argv.slice(2)));
