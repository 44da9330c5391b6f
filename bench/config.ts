// What the benchmark runs and the limits it asserts: shared by the scenarios and the report.
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * Which API server kubectl talks to: the fast stand-in ("standin"), the
 * stand-in with its latency model calibrated to a real server's per-request
 * cost ("calibrated", CALIBRATED in test/support/kube/latency.ts), a real
 * kube-apiserver (GPS_KUBE_ASSETS, see README). Targets are judged on the real
 * server when it ran, else on the calibrated stand-in.
 */
export type Mode = "standin" | "calibrated" | "real";
export const MODES = ["standin", "calibrated", "real"] as const;

export const modeName = (m: Mode): string =>
  m === "real" ? "real API server" : m === "calibrated" ? "calibrated stand-in" : "fast stand-in";

/**
 * How many of each run: a full or --quick run measures; a --smoke run (CI's) proves the counts with one run of
 * each kind, and its timings are only printed.
 */
export type Depth = "full" | "quick" | "smoke";

/** Timed rotations of ours at N (after one warm-up rotation). */
export const oursRuns = (n: number, depth: Depth = "full"): number => (depth === "smoke" ? 1 : n >= 1000 ? 3 : 5);
/** Rotations of ours with kubectl's discovery cache removed first. */
export const coldRuns = (n: number, depth: Depth = "full"): number => (depth === "smoke" ? 1 : n >= 1000 ? 2 : 3);
/** Timed update passes of the baseline after its create pass (0: the create pass is the timed one). */
export const baselineUpdates = (n: number, depth: Depth = "full"): number =>
  depth === "smoke" ? 1 : n >= 1000 ? 0 : n >= 100 ? (depth === "quick" ? 0 : 3) : depth === "quick" ? 3 : 5;
/** Runs of `node cli.js --version` and of `node -e 0` for the start overhead. */
export const startRuns = (depth: Depth = "full"): number => (depth === "smoke" ? 5 : 25);

// GitLab: the project, the API token's own details (its expiry), the listing, the create, /jwt/auth, the revoke.
// kubectl at N >= 100: the Lease (read, then claim), the cluster-wide list of managed Secrets (when a token
// could die), two LISTs, the dry run and the apply in two processes each, the release; one more on a run that
// adds the Secret to ServiceAccounts; and the local kubeconfig check before GitLab is called
// (`kubectl config view`, no request).
export const LIMITS = { kubectl: 12, gitlab: 6, startMs: 100, rssMB: 150, ratio: 40 } as const;
/**
 * From this N on a rotation's kubectl count must not change (below it, small Lists are read by GETs and
 * applied by one process).
 */
export const COUNTS_FIXED_FROM = 100;

/** The Secret ours writes and the one the baseline writes. */
export const SECRET = "gitlab-pull-secret";
export const BASELINE_SECRET = "regcred";

export const ROOT = new URL("../", import.meta.url).pathname;
export const BASELINE_SH = join(ROOT, "bench", "baseline.sh");
export const PROBE = pathToFileURL(join(ROOT, "bench", "rss-probe.mjs")).href;
export const DIST_CLI = join(ROOT, "dist", "cli.js");
export const DIST_INDEX = join(ROOT, "dist", "index.js");
/** Where a full run writes its results. */
export const RESULTS_MD = join(ROOT, "bench", "RESULTS.md");
