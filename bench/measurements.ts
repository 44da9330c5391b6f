// What a benchmark run measured: the records the scenarios produce and the report reads.
import type { Depth, Mode } from "./config.ts";
import type { ProfileSummary, TracedKubectl } from "./lib.ts";

/** One request inside the Kubernetes stand-in: from its arrival to its response finished. */
export interface ServerTiming {
  kind: string;
  t0: number;
  t1: number | undefined;
}

/** One rotation of ours. */
export interface OursRun {
  label: string;
  ms: number;
  kubectl: number;
  gitlab: number;
  gitlabCalls: string[];
  kube: number;
  rssKB: number;
  /** CPU time of our node process itself (not kubectl's). */
  cpuMs: number;
  /** CPU time of the benchmark's own process (the stand-ins) during the run. */
  benchCpuMs: number;
  /** Cores other processes kept busy during this run. */
  foreign: number;
  server: ServerTiming[];
  traces: TracedKubectl[];
  profile: ProfileSummary | undefined;
}

/** One pass of the baseline loop. */
export interface BaseRun {
  label: string;
  ms: number;
  foreign: number;
  kubectl: number;
  kube: number;
  traces: TracedKubectl[];
}

/** Everything measured at one N on one mode. */
export interface SizeResult {
  n: number;
  warmup: OursRun;
  timed: OursRun[];
  cold: OursRun[];
  measure: OursRun;
  profile: OursRun | undefined;
  base: { create: BaseRun; updates: BaseRun[]; rss: BaseRun; timedMs: number; timedWhat: string };
}

export interface StartOverhead {
  nodeMs: number;
  cliMs: number;
  deltaMs: number;
  /** Runs of each, of which these are the medians. */
  runs: number;
}

export interface SpyOverhead {
  directMs: number;
  spiedMs: number;
}

/** The CLI under test: dist/cli.js, or a fresh bundle of src/ when dist/ is stale. */
export interface ChosenCli {
  cli: string;
  what: string;
  /** Bundle sizes of the fresh build, when there is one. */
  fresh: { cli: number; index: number } | undefined;
}

export interface Machine {
  nproc: string;
  memory: string;
  cpu: string;
  kernel: string;
  node: string;
  kubectl: string;
}

/** A whole run, as the report reads it. */
export interface Measurements {
  backends: Mode[];
  judged: Mode;
  sizes: number[];
  depth: Depth;
  machine: Machine;
  cli: ChosenCli;
  /** Sizes of dist/cli.js and dist/index.js in bytes (NaN when missing). */
  dist: { cli: number; index: number };
  start: StartOverhead;
  spy: SpyOverhead;
  byBackend: Map<Mode, SizeResult[]>;
  /** Cores other processes kept busy, per phase. */
  load: Array<[string, number]>;
  violations: string[];
  notes: string[];
}
