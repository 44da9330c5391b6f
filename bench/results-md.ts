// The text of bench/RESULTS.md: a pure function of the report, the measurements and how the run
// was started.
import { CALIBRATED } from "../test/support/kube/latency.ts";
import {
  BASELINE_SECRET,
  baselineUpdates,
  coldRuns,
  COUNTS_FIXED_FROM,
  LIMITS,
  modeName,
  oursRuns,
  type Mode,
} from "./config.ts";
import { BREAKDOWN_HEAD, PER_REQUEST_HEAD } from "./findings.ts";
import { fmtMs, fmtS, mdTable } from "./lib.ts";
import type { Measurements } from "./measurements.ts";
import { oursMedian, targetRows, type Report } from "./report.ts";

export interface RunInfo {
  /** How the run was started (commandLine in args.ts). */
  command: string;
  writtenAt: Date;
  /** Time the run took so far. */
  elapsedMs: number;
}

const KiB = (bytes: number) => (bytes / 1024).toFixed(0);

/** What kubectl talks to in a mode, as the side-by-side section says it. */
function modeText(b: Mode): string {
  if (b === "real") return "a real kube-apiserver (etcd on local disk, started from GPS_KUBE_ASSETS)";
  if (b === "calibrated")
    return (
      "the in-process Kubernetes API stand-in with its latency model " +
      `(calibrated: ${CALIBRATED.serviceMs} ms of service per request, ${CALIBRATED.slots} at once, ` +
      "which puts a sequential request through kubectl near the 1.9 ms of a real v1.25 server)"
    );
  return "the fast in-process Kubernetes API stand-in (no latency model)";
}

function machineSection(r: Report, m: Measurements): string[] {
  const fresh = m.cli.fresh;
  const bundles =
    `dist/cli.js ${KiB(m.dist.cli)} KiB, dist/index.js ${KiB(m.dist.index)} KiB` +
    (fresh ? `; fresh build of src/: cli.js ${KiB(fresh.cli)} KiB, index.js ${KiB(fresh.index)} KiB` : "");
  return [
    "## Machine",
    "",
    mdTable(
      ["", ""],
      [
        ["`nproc`", m.machine.nproc],
        ["memory", m.machine.memory],
        ["CPU", m.machine.cpu],
        ["kernel", m.machine.kernel],
        ["Node", m.machine.node],
        ["kubectl", m.machine.kubectl],
        ["measured CLI", m.cli.what],
        ["load from other processes (average busy cores)", r.loadTxt],
        ["bundle sizes", bundles],
      ],
    ),
  ];
}

function targetsSection(r: Report, m: Measurements): string[] {
  const violations = m.violations.length ? m.violations.map((v) => `\n- ${v}`).join("") : "none.";
  const sections =
    `The sections below describe the runs on the ${modeName(m.judged)}` +
    (m.judged === "real"
      ? ", except the server-side latency per request, which only the stand-in can time from inside"
      : "") +
    ".";
  return [
    `## Targets (judged on the ${modeName(m.judged)})`,
    "",
    mdTable(["target", "measured", ""], targetRows(r)),
    "",
    `Counts are asserted: the benchmark exits 1 when any rotation uses more than ${LIMITS.kubectl} kubectl ` +
      `processes or ${LIMITS.gitlab} GitLab requests, when either count grows with N from N = ${COUNTS_FIXED_FROM} ` +
      "on, or when a rotation was not real (see below). Violations in this run: " +
      violations,
    "",
    sections,
  ];
}

function timeSection(r: Report): string[] {
  const last = r.results[r.results.length - 1]!;
  return [
    `## Where the time goes at N = ${last.n}`,
    "",
    ...r.dominates.map((d) => `- ${d}`),
    "",
    "The traced rotation, kubectl by kubectl (kubectl under `/usr/bin/time` with `-v=6`: method, URL, status, " +
      "latency; never `-v=8`, which logs Secret data):",
    "",
    mdTable(BREAKDOWN_HEAD, r.breakdownRows),
    "",
    "API requests by kind, per timed rotation (server side: from request arrival to response finished inside " +
      "the stand-in, over all timed runs; kubectl's step: median gap between consecutive responses of that kind " +
      "within one kubectl in the traced run, from klog's µs timestamps):",
    "",
    mdTable(PER_REQUEST_HEAD, r.perReqRows),
  ];
}

function methodSection(r: Report, m: Measurements): string[] {
  const { results } = r;
  const { spy, depth } = m;
  const oursArgv = [
    "rotate",
    "--gitlab-url $GITLAB",
    "--project grp/app",
    "--kubeconfig $KUBECONFIG",
    "--namespace bench-0000,…",
    "--service-account default",
    "--ca-file $REGISTRY_CA",
    "--json",
  ].join(" ");
  const at1000 = results.find((x) => x.n >= 1000);
  const updVsCreate = results
    .filter((x) => x.base.updates.length)
    .map((x) => `${(x.base.timedMs / x.base.create.ms).toFixed(2)}× at N = ${x.n}`);
  const spyMs = spy.spiedMs - spy.directMs;
  return [
    "## Method",
    "",
    "- Each N gets a fresh world from `test/support/world.ts`: the GitLab stand-in, the Kubernetes API stand-in " +
      "(HTTPS on 127.0.0.1, served from this benchmark's node process) driven by the real kubectl, " +
      "and Debian's `docker-registry` for the pull check; N namespaces `bench-0000…` are created directly " +
      "in the stand-in, each with its `default` ServiceAccount.",
    `- Ours: \`node cli.js ${oursArgv}\`, GITLAB_TOKEN in the environment, ` +
      "HOME the world's home (kubectl's cache dir). One warm-up rotation first " +
      "(it creates the Secrets on a cold kubectl cache and adds them to the ServiceAccounts: " +
      `the "first run" counts); the timed runs (${oursRuns(1)} for N ≤ 100, ${oursRuns(1000)} for N = 1000, ` +
      "median reported) are rotations that UPDATE the Secrets with a warm cache. " +
      `Then ${coldRuns(1)} (N = 1000: ${coldRuns(1000)}) rotations with \`$HOME/.kube/cache\` removed first, ` +
      "one traced rotation and, at the largest N, one profiled rotation — none of those is in the warm median.",
    "- Every rotation is checked to be real: exit 0, a new token id, the previous token revoked in GitLab " +
      "and reported revoked, exactly one live deploy token, every Secret annotated with the new token id, " +
      "every default ServiceAccount listing the Secret. " +
      "The pull check runs against the real registry (`/jwt/auth` is in the GitLab count).",
    "- Wall time: from spawning `node cli.js` to its exit, measured in the benchmark process. " +
      "node CPU: user + system time of our node process alone (getrusage RUSAGE_SELF at exit, " +
      "via the same probe as the RSS), which is insensitive to other load on the machine.",
    "- kubectl processes: records of the tests' kubectl spy (every kubectl the run spawned). " +
      "The Google Cloud SDK kubectl here is a dispatcher that runs the matching kubectl in-process " +
      "(checked with strace: no further exec), so one spawn is one process.",
    "- GitLab requests and API server requests: the stand-ins' request logs, reset before each run.",
    "- Peak RSS of our node process: `VmHWM` from `/proc/self/status`, read in a `process.on('exit')` hook " +
      "preloaded with `NODE_OPTIONS=--import bench/rss-probe.mjs` " +
      "(the node process only; kubectl's memory is not in it). " +
      "kubectl's peak RSS: `/usr/bin/time -f %M` around each kubectl in the traced run " +
      "(the largest kubectl of the run).",
    "- Baseline: `bench/baseline.sh` under bash, with the same kubeconfig, HOME (warm discovery cache) " +
      `and kubectl spy, Secret \`${BASELINE_SECRET}\`, a fake token on argv. Per namespace: ` +
      "`kubectl create secret docker-registry … --dry-run=client -o yaml | kubectl apply -f -` and " +
      '`kubectl patch serviceaccount default -p \'{"imagePullSecrets":[{"name":"regcred"}]}\'` ' +
      "(strategic merge; the list is atomic, so this replaces it). " +
      "It does less than ours: no token mint, no pull check, no lock, no server dry run, no revoke. " +
      "Its create pass runs first (creates the Secrets); " +
      `update passes follow (${baselineUpdates(1, depth)} for N ≤ 10, ${baselineUpdates(100, depth)} ` +
      `for N = 100, ${baselineUpdates(1000, depth)} for N = 1000). ` +
      (at1000
        ? "At N = 1000 the baseline is measured in full (no subset, no extrapolation) as one create pass " +
          `(${fmtS(at1000.base.create.ms)} here). `
        : "") +
      (updVsCreate.length
        ? `Where both were measured, an update pass took ${updVsCreate.join(", ")} of the create pass ` +
          "(client-side apply of an existing Secret adds a 3-way merge), " +
          "so comparing ours (updates) with the baseline's create pass at N = 1000 favours the baseline."
        : ""),
    "- The spy (a `sh` that writes argv and env, then execs kubectl) is in front of every kubectl of both sides; " +
      `it costs ${fmtMs(spyMs)} per kubectl (\`kubectl version --client\`: ${fmtMs(spy.directMs)} direct, ` +
      `${fmtMs(spy.spiedMs)} through the spy), i.e. about ${fmtS(3 * 1000 * spyMs)} of the baseline at N = 1000.`,
    `- CLI start: \`node cli.js --version\` vs \`node -e 0\`, interleaved, ${m.start.runs} runs each, medians. ` +
      "The bundle is ESM, so `--version` loads and evaluates the whole bundle before answering.",
    "- The API server stand-in shares the two cores with kubectl and the CLI " +
      "(as does a kind/minikube cluster on a CI runner); so does the baseline.",
    "- other load: cores that processes outside this benchmark kept busy during a run " +
      "(/proc/stat busy time minus this process's own and its waited-for children's); " +
      "above ~0.3 the wall times of that run are inflated.",
    ...r.notes.map((n) => `- ${n}`),
  ];
}

/** The whole of RESULTS.md. */
export function resultsMarkdown(r: Report, m: Measurements, run: RunInfo): string {
  const ratioTxt = r.results.map((x) => `N=${x.n}: ${(x.base.timedMs / oursMedian(x)).toFixed(1)}×`).join(", ");
  return [
    "# gitlab-pull-secret benchmark results",
    "",
    `Written by \`${run.command}\` on ${run.writtenAt.toISOString()} (${(run.elapsedMs / 60000).toFixed(1)} min). ` +
      "Re-run it to refresh this file; see bench/README.md.",
    "",
    ...machineSection(r, m),
    "",
    "## Both modes side by side",
    "",
    `kubectl talks to ${m.backends.map(modeText).join(", then to ")}; ` +
      "the same CLI, GitLab stand-in, registry, namespaces and checks. " +
      "Ours: median of the timed rotations; baseline: as in the method below.",
    "",
    mdTable(r.modes.head, r.modes.rows),
    "",
    ...targetsSection(r, m),
    "",
    "## Ours: `rotate --service-account default`",
    "",
    mdTable(r.ours.head, r.ours.rows),
    "",
    "## Baseline and ratio",
    "",
    mdTable(r.base.head, r.base.rows),
    "",
    `Ratio baseline/ours: ${ratioTxt}.`,
    "",
    ...timeSection(r),
    "",
    ...methodSection(r, m),
    "",
  ].join("\n");
}
