// Where the time goes at the largest N: the traced rotation kubectl by kubectl, the API requests by
// kind, and the findings the report states about them. Pure functions of the measurements.
import { LIST_FROM_NAMESPACES } from "../src/adapters/kubectl.ts";
import { fmtMB, fmtMs, fmtS, kubectlLabel, median, quantile, requestPhaseMs, stepsByKind, sum } from "./lib.ts";
import type { TracedKubectl } from "./lib.ts";
import type { SizeResult } from "./measurements.ts";

export interface Findings {
  /** The traced rotation at the largest N, one row per kubectl, then node's share and the total. */
  breakdownRows: string[][];
  /** The ten costliest request kinds per timed rotation. */
  perReqRows: string[][];
  /** What dominates, one paragraph each. */
  dominates: string[];
}

export const BREAKDOWN_HEAD = [
  "#",
  "kubectl",
  "wall",
  "API requests",
  "first → last response",
  "per request",
  "outside requests (start, discovery cache, exit)",
  "peak RSS",
];

export const PER_REQUEST_HEAD = [
  "request",
  "per run",
  "server median",
  "server p90",
  "server total per run",
  "kubectl's step per object",
];

/** Per request kind: its server-side latencies over the timed runs, per run and in total per run. */
interface Kind {
  k: string;
  perRun: number;
  total: number;
  v: number[];
}

function requestKinds(timingLast: SizeResult): Kind[] {
  const server = new Map<string, number[]>();
  for (const run of timingLast.timed) {
    for (const t of run.server) {
      if (t.t1 === undefined) continue;
      const list = server.get(t.kind) ?? [];
      list.push(t.t1 - t.t0);
      server.set(t.kind, list);
    }
  }
  const kinds = [...server.entries()].map(([k, v]) => ({
    k,
    perRun: v.length / timingLast.timed.length,
    total: sum(v) / timingLast.timed.length,
    v,
  }));
  return kinds.sort((a, b) => b.total - a.total);
}

/**
 * `results`: the judged mode's, by N; `timingResults`: a stand-in mode's, whose server-side latencies were
 * timed from inside.
 */
export function findings(results: SizeResult[], timingResults: SizeResult[]): Findings {
  const first = results[0]!;
  const last = results[results.length - 1]!;
  const timingLast = timingResults[timingResults.length - 1]!;
  const lastOurs = median(last.timed.map((t) => t.ms));

  // ---- the traced run, kubectl by kubectl
  const tr = last.measure.traces;
  const kubectlTotal = sum(tr.map((t) => t.wallMs));
  // kubectl processes of one step overlap, so their walls cannot be subtracted from the run's.
  const outsideKubectl = (fmt: (ms: number) => string) =>
    tr.some((t) => t.argv.includes("apply")) && kubectlTotal > last.measure.ms
      ? "not separable (kubectl processes ran at once)"
      : fmt(last.measure.ms - kubectlTotal);
  const breakdownRows = tr.map((t, i) => {
    const phase = requestPhaseMs(t);
    return [
      String(i + 1),
      `\`${kubectlLabel(t.argv)}\``,
      fmtMs(t.wallMs),
      String(t.requests.length),
      fmtMs(phase),
      t.requests.length > 1 ? fmtMs(phase / (t.requests.length - 1)) : "–",
      fmtMs(t.wallMs - phase),
      fmtMB(t.maxRssKB),
    ];
  });
  breakdownRows.push([
    "",
    "node outside kubectl (start, GitLab, pull check, manifests, spawning)",
    outsideKubectl(fmtMs),
    "",
    "",
    "",
    "",
    fmtMB(last.measure.rssKB),
  ]);
  breakdownRows.push([
    "",
    "**total (traced run, kubectl at -v=6)**",
    `**${fmtMs(last.measure.ms)}**`,
    String(sum(tr.map((t) => t.requests.length))),
    "",
    "",
    "",
    "",
  ]);

  // ---- per request kind: server-side latency (timed runs); kubectl's per-object step (traced run)
  const steps = stepsByKind(tr);
  const kinds = requestKinds(timingLast);
  const perReqRows = kinds
    .slice(0, 10)
    .map(({ k, perRun, total, v }) => [
      `\`${k}\``,
      perRun.toFixed(perRun % 1 ? 1 : 0),
      fmtMs(median(v)),
      fmtMs(quantile(v, 0.9)),
      fmtMs(total),
      (steps.get(k)?.length ?? 0) >= 5 ? fmtMs(median(steps.get(k)!)) : "–",
    ]);

  // ---- what dominates
  const perObject = kinds.filter((x) => x.perRun >= last.n);
  const perObjectCount = sum(perObject.map((x) => x.perRun));
  const perObjectServer = sum(perObject.map((x) => x.total));
  const perObjectSteps = sum(perObject.map((x) => x.perRun * median(steps.get(x.k) ?? [NaN])));
  const perObjectList = perObject.map((x) => `\`${x.k}\` ×${x.perRun.toFixed(0)}`).join(", ");
  const patch = kinds.find((x) => /^PATCH .*secrets\/\{name\}$/.test(x.k));
  const patchDry = kinds.find((x) => /^PATCH .*secrets\/\{name\} \(dry run\)$/.test(x.k));
  const patchStep = patch ? median(steps.get(patch.k) ?? [NaN]) : NaN;
  const cpuPerReq = median(timingLast.timed.map((r) => r.benchCpuMs / r.kube));
  const applyTrace = tr.filter((t) => t.argv.includes("apply"));
  const dryTrace = applyTrace.filter((t) => t.argv.includes("--dry-run=server"));
  const getTrace = tr.filter((t) => t.argv.includes("get"));
  const share = (ms: number) => `${((ms / last.measure.ms) * 100).toFixed(0)}%`;
  const wallOf = (ts: TracedKubectl[]) => sum(ts.map((t) => t.wallMs));
  const coldMedian = median(last.cold.map((c) => c.ms));
  const coldDelta = coldMedian - lastOurs;
  const coldExtra = median(last.cold.map((c) => c.kube)) - median(last.timed.map((t) => t.kube));
  const slope = (f: (r: SizeResult) => number) =>
    results.length > 1 ? (f(last) - f(first)) / (last.n - first.n) : NaN;
  const oursSlope = slope((r) => median(r.timed.map((t) => t.ms)));
  const baseSlope = slope((r) => r.base.timedMs);
  const fixedMs = median(first.timed.map((t) => t.ms));
  const growingMs = lastOurs - fixedMs;

  const dominates: string[] = [];
  dominates.push(
    `At N = ${last.n} one rotation makes ${last.timed[0]!.kube} requests to the API server, ` +
      `${perObjectCount.toFixed(0)} of them per object (${perObjectList}): ` +
      "kubectl sends every item of a List as its own request, one after the other.",
  );
  dominates.push(
    `In the traced run (${fmtS(last.measure.ms)}; kubectl at -v=6, a little slower than the timed runs) ` +
      `the ${tr.length} kubectl processes take ${fmtS(kubectlTotal)} of wall time added up ` +
      "(processes of one step run at once, so shares can add up to more than 100%): " +
      `the ${applyTrace.length} \`apply --server-side\` ` +
      `${fmtS(wallOf(applyTrace))} (${share(wallOf(applyTrace))}; ` +
      `the server dry run alone ${fmtS(wallOf(dryTrace))}, ${share(wallOf(dryTrace))}), ` +
      `the ${getTrace.length} \`get\` reads of the Secrets and ServiceAccounts ` +
      `${fmtS(wallOf(getTrace))} (${share(wallOf(getTrace))}); ` +
      "node itself (start, GitLab, the pull check, building the manifests, spawning) " +
      `${outsideKubectl((ms) => `${fmtS(ms)} (${share(ms)})`)}. ` +
      `Of the ${fmtS(lastOurs)} median, about ${fmtS(fixedMs)} does not grow with N ` +
      `(the N = ${first.n} median: node start, GitLab, the pull check, the kubectl starts) ` +
      `and ${fmtS(growingMs)} does (${((growingMs / lastOurs) * 100).toFixed(0)}%): the per-object requests.`,
  );
  dominates.push(
    "The floor is the API server's per-object cost. " +
      "Inside the stand-in a server-side-apply PATCH of one Secret takes " +
      `${patch ? fmtMs(median(patch.v)) : "n/a"} ` +
      `(median; the dry run ${patchDry ? fmtMs(median(patchDry.v)) : "n/a"}); ` +
      `kubectl advances one object every ${fmtMs(patchStep)} of its apply ` +
      "(the gap between consecutive PATCH responses: round trip over TLS on loopback plus kubectl's own work). " +
      `The ${perObjectCount.toFixed(0)} per-object requests of a rotation add up to ${fmtS(perObjectServer)} ` +
      `inside the stand-in and about ${fmtS(perObjectSteps)} of kubectl time; ` +
      `the stand-in uses ${fmtMs(cpuPerReq)} of CPU per request ` +
      "(this process's CPU time during a run ÷ API requests). " +
      "No client can write N Secrets faster than N × the PATCH cost of its API server " +
      `(${fmtS(last.n * patchStep)} at N = ${last.n} here, per apply); per kubectl process; ` +
      "ours applies twice (server dry run + apply), each split over parallel kubectl processes, " +
      `and reads with one LIST per kind from N = ${LIST_FROM_NAMESPACES} on. ` +
      "A real kube-apiserver (admission, etcd write) has a higher per-PATCH cost than this in-memory stand-in, " +
      "which makes the per-object term dominate even more — " +
      "for the baseline too, which also pays three process starts per namespace.",
  );
  if (results.length > 1) {
    dominates.push(
      `Marginal cost per namespace: ours ${fmtMs(oursSlope)}, the baseline ${fmtMs(baseSlope)} ` +
        "(three kubectl processes per namespace, each with its own start, kubeconfig load, discovery-cache read " +
        "and TLS handshake, for one object).",
    );
  }
  dominates.push(
    "kubectl's discovery cache (`--cache-dir`, default `$HOME/.kube/cache`; HOME is the world's home): " +
      `with it removed before each run, a rotation at N = ${last.n} makes ${coldExtra.toFixed(0)} more API requests ` +
      `(discovery) and takes ${fmtMs(coldDelta)} ${coldDelta >= 0 ? "longer" : "less (noise)"} ` +
      `(median ${fmtS(coldMedian)} vs ${fmtS(lastOurs)}). ` +
      "The first kubectl of a cold run fills the cache and the others reuse it, " +
      "so a cold cache costs once per run, not per namespace; CI jobs with a fresh HOME pay it every run.",
  );
  const prof = last.profile?.profile;
  if (prof) {
    const busy = prof.totalMs - prof.idleMs;
    const top = prof.top
      .slice(0, 6)
      .map((t) => `${t.name} ${fmtMs(t.ms)}`)
      .join("; ");
    dominates.push(
      `CPU profile of our node process at N = ${last.n} (\`--cpu-prof\`, one extra run): ` +
        `${fmtS(prof.totalMs)} profiled, ${fmtS(prof.idleMs)} idle (waiting for kubectl, GitLab and the registry), ` +
        `${fmtMs(busy)} on CPU (GC ${fmtMs(prof.gcMs)}). Top self time: ${top}.`,
    );
  }
  return { breakdownRows, perReqRows, dominates };
}
