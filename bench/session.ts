// The state one benchmark run shares across its phases: scratch space, the kubectl wrapper, the
// violations and notes it collects, and its progress lines on stderr.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kubectlWrapper, type KubectlWrapper } from "./lib.ts";
import type { Depth } from "./config.ts";

export interface Session {
  /** Scratch space of this run; main removes it at the end. */
  tmp: string;
  /** The kubectl that was first on PATH, which the wrapper runs. */
  realKubectl: string;
  wrapper: KubectlWrapper;
  /** Clock ticks per second, for /proc/stat. */
  ticks: number;
  depth: Depth;
  /** With --wait-quiet: how long to wait for a quiet machine before each phase (s). */
  waitQuietS: number;
  /** What makes the run fail: a rotation that was not real, a count over its limit or growing with N. */
  violations: string[];
  /** Remarks for RESULTS.md's method section. */
  notes: string[];
  progress(s: string): void;
  /** A scratch name unique across every world of the run: one mode's must not meet another's. */
  nextId(n: number): string;
}

/**
 * Creates the scratch space and the kubectl wrapper around the kubectl first on PATH. Worlds are started with the
 * wrapper as their kubectl (`startWorld({ kubectl: wrapper.path })`), and ours and the baseline reach it through
 * the world's spy: without it the spy would become the binary the dispatcher picks, past the wrapper, and the
 * traced runs would record no kubectl at all.
 */
export function openSession(opts: { depth: Depth; waitQuietS: number; ticks: number; t0: number }): Session {
  const tmp = mkdtempSync(join(tmpdir(), "gps-bench-"));
  const realKubectl = execFileSync("sh", ["-c", "command -v kubectl"], { encoding: "utf8" }).trim();
  if (!realKubectl) throw new Error("kubectl is not on PATH");
  const wrapDir = join(tmp, "wrap");
  mkdirSync(wrapDir);
  const wrapper = kubectlWrapper(wrapDir, realKubectl);
  wrapper.plain();
  let seq = 0;
  return {
    tmp,
    realKubectl,
    wrapper,
    ticks: opts.ticks,
    depth: opts.depth,
    waitQuietS: opts.waitQuietS,
    violations: [],
    notes: [],
    progress: (s) => process.stderr.write(`[bench ${((Date.now() - opts.t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`),
    nextId: (n) => `${n}-${seq++}`,
  };
}
