// The benchmark's command line (`npm run bench -- [options]`) as typed settings. Pure: what the
// machine offers (a real API server or not) and where RESULTS.md goes by default are passed in.
import { resolve } from "node:path";
import { MODES, type Depth, type Mode } from "./config.ts";

export interface Settings {
  /**
   * full; quick (--quick: N = 1, 10, 100 and fewer baseline passes; prints the tables only); smoke (--smoke: one
   * run of each kind at N = 1 unless --sizes says otherwise, for CI: the counts asserted, the timings printed).
   */
  depth: Depth;
  /** Also exit 1 when a timing target is missed. */
  strict: boolean;
  /** The API servers kubectl talks to, one mode after the other. */
  backends: Mode[];
  /** Where the targets are judged: the real server when it runs, else the calibrated stand-in, else the fast one. */
  judged: Mode;
  /** Before each phase, wait up to this many seconds for other processes to leave the cores alone (0: don't). */
  waitQuietS: number;
  /** The sizes N, ascending. */
  sizes: number[];
  /** Where RESULTS.md is written; undefined: the tables are only printed. */
  out: string | undefined;
}

/** Bad input on the command line: main prints `bench: <message>` and exits 2. */
export class UsageError extends Error {}

export const USAGE =
  "usage: npm run bench [-- --quick | --smoke] [--sizes 1,10,100] [--out FILE] [--strict] [--wait-quiet SECONDS] " +
  "[--backend standin,calibrated,real|both]";

const FLAGS = new Set(["--quick", "--smoke", "--strict"]);
const VALUED = new Set(["--sizes", "--out", "--wait-quiet", "--backend"]);

/** The options as given: flags map to true, the others to their value (`--name value` or `--name=value`). */
function scan(argv: readonly string[]): Map<string, string | true> {
  const given = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) throw new UsageError(`unexpected argument ${a}`);
    const eq = a.indexOf("=");
    const name = eq < 0 ? a : a.slice(0, eq);
    if (!FLAGS.has(name) && !VALUED.has(name)) throw new UsageError(`unknown option ${a}\n${USAGE}`);
    if (given.has(name)) throw new UsageError(`${name} is given twice`);
    if (FLAGS.has(name)) {
      if (eq >= 0) throw new UsageError(`${name} takes no value`);
      given.set(name, true);
      continue;
    }
    const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined || value === "" || value.startsWith("--")) throw new UsageError(`${name} needs a value`);
    given.set(name, value);
  }
  return given;
}

function parseBackends(value: string, realAvailable: boolean): Mode[] {
  if (value === "both") return realAvailable ? ["standin", "calibrated", "real"] : ["standin", "calibrated"];
  const list = value.split(",").map((x) => x.trim());
  if (!list.every((x): x is Mode => (MODES as readonly string[]).includes(x)))
    throw new UsageError("--backend takes standin, calibrated, real (a comma list) or both");
  if (new Set(list).size !== list.length) throw new UsageError(`--backend names a mode twice: ${value}`);
  if (list.includes("real") && !realAvailable)
    throw new UsageError("--backend real needs GPS_KUBE_ASSETS (kube-apiserver and etcd binaries; see README)");
  return list;
}

function parseSizes(value: string): number[] {
  const sizes = value.split(",").map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 5000))
    throw new UsageError("--sizes takes a comma list of integers between 1 and 5000");
  return sizes.sort((a, b) => a - b);
}

function parseWaitQuiet(value: string): number {
  const s = Number(value);
  if (!Number.isFinite(s) || s < 0) throw new UsageError("--wait-quiet takes a number of seconds (0 or more)");
  return s;
}

/** The settings of `argv` (the arguments after `npm run bench --`); throws UsageError on bad input. */
export function parseArgs(argv: readonly string[], opts: { realAvailable: boolean; defaultOut: string }): Settings {
  const given = scan(argv);
  const value = (name: string) => given.get(name) as string | undefined;
  const quick = given.has("--quick");
  const smoke = given.has("--smoke");
  if (quick && smoke) throw new UsageError("--quick and --smoke exclude each other");
  const backends = parseBackends(value("--backend") ?? "both", opts.realAvailable);
  const sizes = value("--sizes");
  const out = value("--out");
  return {
    depth: smoke ? "smoke" : quick ? "quick" : "full",
    strict: given.has("--strict"),
    backends,
    judged: backends.includes("real") ? "real" : backends.includes("calibrated") ? "calibrated" : "standin",
    waitQuietS: parseWaitQuiet(value("--wait-quiet") ?? "0"),
    sizes: parseSizes(sizes ?? (smoke ? "1" : quick ? "1,10,100" : "1,10,100,1000")),
    // A run of other sizes, a quick or a smoke one prints its tables only, unless --out says where to write them.
    out: out ? resolve(out) : quick || smoke || sizes ? undefined : opts.defaultOut,
  };
}

/** How the run was started, as RESULTS.md quotes it. */
export function commandLine(argv: readonly string[], lifecycleEvent: string | undefined): string {
  return lifecycleEvent === "bench"
    ? `npm run bench${argv.length ? ` -- ${argv.join(" ")}` : ""}`
    : `node --import tsx bench/bench.ts ${argv.join(" ")}`.trim();
}
