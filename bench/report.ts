// The report: tables, targets and findings as pure functions of the measurements, and the text the
// terminal gets. RESULTS.md is built from the same report (results-md.ts).
import { LIMITS } from "./config.ts";
import { findings, type Findings } from "./findings.ts";
import { fmtMB, fmtMs, fmtS, median, runsOf, textTable } from "./lib.ts";
import type { Measurements, OursRun, SizeResult } from "./measurements.ts";

export interface Table {
  head: string[];
  rows: string[][];
}

/**
 * A target: what, what was measured, and true met, false missed, undefined not checked (the target is for a
 * size this run did not measure).
 */
export type Target = [string, string, boolean | undefined];

export interface Report extends Findings {
  /** The results of the mode the targets are judged on. */
  results: SizeResult[];
  /** Load from other processes per phase, as text. */
  loadTxt: string;
  /** The run's notes, and one when the machine was not quiet. */
  notes: string[];
  modes: Table;
  ours: Table;
  base: Table;
  targets: Target[];
}

/** The lowest and highest of a count over runs: "8" or "8–9". */
export const counts = (runs: OursRun[], key: "kubectl" | "gitlab" | "kube"): string => {
  const v = runs.map((r) => r[key]);
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  return lo === hi ? String(lo) : `${lo}–${hi}`;
};

/** Median wall time of the timed rotations of ours. */
export const oursMedian = (r: SizeResult): number => median(r.timed.map((t) => t.ms));

function modesTable(m: Measurements): Table {
  const head = [
    "N",
    ...m.backends.flatMap((b) => [`ours (${b})`, `baseline (${b})`, `ratio (${b})`, `API reqs per rotation (${b})`]),
  ];
  const rows = m.sizes.map((n, i) => [
    String(n),
    ...m.backends.flatMap((b) => {
      const r = m.byBackend.get(b)![i]!;
      const ours = oursMedian(r);
      return [fmtS(ours), fmtS(r.base.timedMs), `${(r.base.timedMs / ours).toFixed(1)}×`, counts(r.timed, "kube")];
    }),
  ]);
  return { head, rows };
}

function oursTable(results: SizeResult[]): Table {
  const head = [
    "N",
    "ours: wall, warm cache (median, min–max)",
    "cold cache (median)",
    "kubectl procs",
    "GitLab reqs",
    "API server reqs",
    "node CPU",
    "node peak RSS",
    "kubectl peak RSS",
    "other load (max)",
  ];
  const rows = results.map((r) => {
    const ms = r.timed.map((t) => t.ms);
    const kubectlRss = Math.max(...r.measure.traces.map((t) => t.maxRssKB));
    return [
      String(r.n),
      `${fmtS(median(ms))} (${fmtS(Math.min(...ms))}–${fmtS(Math.max(...ms))}, ${runsOf(ms.length)})`,
      `${fmtS(median(r.cold.map((c) => c.ms)))} (${runsOf(r.cold.length)})`,
      `${counts(r.timed, "kubectl")} (first run ${r.warmup.kubectl})`,
      `${counts(r.timed, "gitlab")} (first run ${r.warmup.gitlab})`,
      `${counts(r.timed, "kube")} (cold ${counts(r.cold, "kube")})`,
      fmtMs(median(r.timed.map((t) => t.cpuMs))),
      fmtMB(Math.max(...r.timed.map((t) => t.rssKB))),
      fmtMB(kubectlRss),
      Math.max(...[...r.timed, ...r.cold].map((t) => t.foreign)).toFixed(2),
    ];
  });
  return { head, rows };
}

function baseTable(results: SizeResult[]): Table {
  const head = [
    "N",
    "baseline: create pass",
    "baseline: update passes (median)",
    "kubectl procs",
    "API server reqs",
    "kubectl peak RSS",
    "other load (max)",
    "ours (median)",
    "ratio baseline/ours",
  ];
  const rows = results.map((r) => {
    const ours = oursMedian(r);
    return [
      String(r.n),
      fmtS(r.base.create.ms),
      r.base.updates.length ? `${fmtS(r.base.timedMs)} (${runsOf(r.base.updates.length)})` : "not run",
      String(r.base.create.kubectl),
      String(r.base.create.kube),
      fmtMB(Math.max(...r.base.rss.traces.map((t) => t.maxRssKB))),
      Math.max(...[r.base.create, ...r.base.updates].map((t) => t.foreign)).toFixed(2),
      fmtS(ours),
      `${(r.base.timedMs / ours).toFixed(1)}×${r.base.updates.length ? "" : " (vs create pass)"}`,
    ];
  });
  return { head, rows };
}

function targets(m: Measurements, results: SizeResult[]): Target[] {
  const last = results[results.length - 1]!;
  const lastOurs = oursMedian(last);
  const ratio = last.base.timedMs / lastOurs;
  const peakRss = Math.max(...last.timed.map((t) => t.rssKB));
  const allRuns = (r: SizeResult) => [r.warmup, ...r.timed, ...r.cold, r.measure, ...(r.profile ? [r.profile] : [])];
  const maxKubectl = Math.max(...results.flatMap((r) => allRuns(r).map((x) => x.kubectl)));
  const maxGitlab = Math.max(...results.flatMap((r) => allRuns(r).map((x) => x.gitlab)));
  const countsGrow = m.violations.some((v) => /grows with N/.test(v));
  const { start } = m;
  const list: Target[] = [
    [
      `N = ${last.n}: ours ≥ ${LIMITS.ratio}× faster than the baseline`,
      `${ratio.toFixed(1)}× (baseline ${fmtS(last.base.timedMs)}, ${last.base.timedWhat}, measured in full; ` +
        `ours ${fmtS(lastOurs)})`,
      ratio >= LIMITS.ratio,
    ],
    [
      `kubectl processes per run ≤ ${LIMITS.kubectl}, not growing with N`,
      `max ${maxKubectl} over every rotation at every N${countsGrow ? "; GROWS" : "; the same at every N"}`,
      maxKubectl <= LIMITS.kubectl && !countsGrow,
    ],
    [
      `GitLab requests per run ≤ ${LIMITS.gitlab} (with /jwt/auth), not growing with N`,
      `max ${maxGitlab}${countsGrow ? "; GROWS" : "; the same at every N"}`,
      maxGitlab <= LIMITS.gitlab && !countsGrow,
    ],
    [
      `CLI start overhead ≤ ${LIMITS.startMs} ms`,
      `${fmtMs(start.deltaMs)} (\`node cli.js --version\` ${fmtMs(start.cliMs)} − ` +
        `\`node -e 0\` ${fmtMs(start.nodeMs)}, medians of ${start.runs})`,
      start.deltaMs <= LIMITS.startMs,
    ],
    [
      `peak RSS < ${LIMITS.rssMB} MB at N = ${last.n}`,
      `${fmtMB(peakRss)} (our node process, max of the timed runs)`,
      peakRss / 1024 < LIMITS.rssMB,
    ],
  ];
  if (last.n < 1000) {
    for (const i of [0, 4]) {
      list[i]![0] += " (the target is for N = 1000, not run)";
      list[i]![2] = undefined;
    }
  }
  return list;
}

/** The note when other processes kept the cores busy. */
function loadNote(m: Measurements, loadTxt: string): string | undefined {
  const busiest = Math.max(...m.load.map(([, v]) => v));
  if (!(busiest > 0.25)) return undefined;
  return (
    `**The machine was not quiet**: other processes kept up to ${busiest.toFixed(2)} of the ` +
    `${m.machine.nproc} cores busy (${loadTxt}); wall times and ratios of the affected sizes are inflated ` +
    "accordingly. Re-run on a quiet machine for clean numbers."
  );
}

/** The report of a run. Its violations must include the growth checks (targets read them). */
export function buildReport(m: Measurements): Report {
  const results = m.byBackend.get(m.judged)!;
  // Server-side latency per request is only seen inside the stand-in (it runs in this process).
  const timingResults =
    m.byBackend.get(m.judged === "real" ? "calibrated" : m.judged) ?? m.byBackend.get("standin") ?? results;
  const loadTxt = m.load.map(([k, v]) => `${k}: ${v.toFixed(2)}`).join(", ");
  const note = loadNote(m, loadTxt);
  return {
    results,
    loadTxt,
    notes: note ? [...m.notes, note] : m.notes,
    modes: modesTable(m),
    ours: oursTable(results),
    base: baseTable(results),
    targets: targets(m, results),
    ...findings(results, timingResults),
  };
}

/** A target's verdict: met, **MISSED** or not checked. */
export const targetRows = (r: Report): string[][] =>
  r.targets.map(([t, measured, ok]) => [t, measured, ok === undefined ? "not checked" : ok ? "met" : "**MISSED**"]);

/** The tables and findings as the terminal gets them: aligned text, no markdown emphasis or code marks. */
export function terminalText(r: Report): string {
  const tables = [
    textTable(r.modes.head, r.modes.rows),
    textTable(r.ours.head, r.ours.rows),
    textTable(r.base.head, r.base.rows),
    textTable(
      ["target", "measured", ""],
      targetRows(r).map((row) => row.map((c) => c.replace(/\*\*/g, ""))),
    ),
  ];
  const findings = r.dominates.map((d) => `- ${d.replace(/`/g, "")}\n`).join("");
  return `\n${tables.join("\n\n")}\n\n${findings}`;
}
