// Small helpers for the benchmark: processes, statistics, kubectl wrapper
// modes, -v=6 trace parsing, CPU profile summary, machine facts.
import { spawn } from "node:child_process";
import { chmodSync, existsSync, readFileSync, readdirSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

export interface Proc {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to the child's close, in ms. */
  ms: number;
}

/** Spawns a process (asynchronously: the stand-ins live in this process's event loop). */
export function runProc(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  opts: { stdin?: string; timeoutMs?: number } = {},
): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          stderr += `\n[bench] killed after ${opts.timeoutMs} ms`;
          child.kill("SIGKILL");
        }, opts.timeoutMs)
      : undefined;
    child.on("error", reject);
    child.on("close", (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - t0 });
    });
    child.stdin.end(opts.stdin ?? "");
  });
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

export const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** `1 run`, `5 runs`. */
export const runsOf = (n: number): string => `${n} ${n === 1 ? "run" : "runs"}`;

export function fmtS(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a";
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`;
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "n/a";
  return ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`;
}

export const fmtMB = (kB: number | undefined): string =>
  kB === undefined || !Number.isFinite(kB) ? "n/a" : `${(kB / 1024).toFixed(1)} MB`;

/** A markdown table. */
export function mdTable(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(" | ")} |`,
    `| ${head.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

/** The same table as aligned plain text, for the terminal. */
export function textTable(head: string[], rows: string[][]): string {
  const all = [head, ...rows];
  const w = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join("  ");
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n");
}

// ---------------------------------------------------------------------------
// The kubectl wrapper. Worlds are started with it as their kubectl
// (`startWorld({ kubectl: wrapper.path })`), so the world's spy execs it. "plain" is a symlink
// to the real kubectl (no cost); "measure" is a script that runs kubectl under
// /usr/bin/time (peak RSS) with -v=6 (method, URL, status, latency: never
// bodies) and records the span. Only untimed runs use "measure".
// ---------------------------------------------------------------------------

export interface KubectlWrapper {
  /** The wrapper itself, the kubectl a world's spy becomes. */
  path: string;
  plain(): void;
  measure(recordDir: string): void;
}

export function kubectlWrapper(dir: string, realKubectl: string): KubectlWrapper {
  const path = join(dir, "kubectl");
  const tmp = join(dir, ".kubectl.next");
  const swap = () => renameSync(tmp, path);
  return {
    path,
    plain() {
      symlinkSync(realKubectl, tmp);
      swap();
    },
    measure(recordDir) {
      const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
      writeFileSync(
        tmp,
        [
          "#!/bin/bash",
          `d=${q(recordDir)}`,
          'id="$$-$RANDOM"',
          "t0=$(date +%s%N)",
          `/usr/bin/time -f '%e %M' -o "$d/$id.time" ${q(realKubectl)} -v=6 "$@" 2>"$d/$id.log"`,
          "rc=$?",
          "t1=$(date +%s%N)",
          // Pass on everything but klog's info lines, so the tool still sees kubectl's errors.
          "grep -v '^I[0-9][0-9][0-9][0-9] ' \"$d/$id.log\" >&2",
          'printf \'%s\\n%s\\n%s\\n\' "$t0" "$t1" "$rc" > "$d/$id.span"',
          'printf \'%s\\0\' "$@" > "$d/$id.argv"',
          "exit $rc",
          "",
        ].join("\n"),
      );
      chmodSync(tmp, 0o755);
      swap();
    },
  };
}

export interface TracedRequest {
  method: string;
  url: string;
  status: number;
  /** kubectl's own latency figure (whole milliseconds: too coarse for loopback). */
  ms: number;
  /** klog timestamp of the line (logged when the response arrived), µs since midnight. */
  atUs: number;
}

export interface TracedKubectl {
  argv: string[];
  startNs: bigint;
  endNs: bigint;
  wallMs: number;
  exitCode: number;
  maxRssKB: number;
  requests: TracedRequest[];
}

const V6_LINE =
  /^[IWEF]\d{4} (\d{2}):(\d{2}):(\d{2})\.(\d{6})\s+\d+ round_trippers\.go:\d+\] (GET|POST|PUT|PATCH|DELETE|HEAD) (\S+) (\d{3})[^\n]*? in (\d+) milliseconds/gm;

export function parseV6(log: string): TracedRequest[] {
  const out: TracedRequest[] = [];
  for (const m of log.matchAll(V6_LINE)) {
    const atUs = ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1e6 + Number(m[4]);
    out.push({ method: m[5]!, url: m[6]!, status: Number(m[7]), ms: Number(m[8]), atUs });
  }
  return out;
}

/** Time from the first to the last response a kubectl logged, in ms. */
export function requestPhaseMs(t: { requests: TracedRequest[] }): number {
  if (t.requests.length < 2) return 0;
  const at = t.requests.map((r) => r.atUs);
  return (Math.max(...at) - Math.min(...at)) / 1000;
}

/** Gaps (ms) between consecutive responses of the same kind within one kubectl: its per-object step. */
export function stepsByKind(traces: Array<{ requests: TracedRequest[] }>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const t of traces) {
    const last = new Map<string, number>();
    for (const r of [...t.requests].sort((a, b) => a.atUs - b.atUs)) {
      const k = requestKind(r.method, r.url);
      const prev = last.get(k);
      if (prev !== undefined) {
        const list = out.get(k) ?? [];
        list.push((r.atUs - prev) / 1000);
        out.set(k, list);
      }
      last.set(k, r.atUs);
    }
  }
  return out;
}

/** The kubectl processes a "measure" run recorded, in start order. */
export function readTraces(recordDir: string): TracedKubectl[] {
  const ids = readdirSync(recordDir)
    .filter((f) => f.endsWith(".span"))
    .map((f) => f.slice(0, -".span".length));
  const traces = ids.map((id) => {
    const [t0, t1, rc] = readFileSync(join(recordDir, `${id}.span`), "utf8")
      .trim()
      .split("\n");
    const timeLines = existsSync(join(recordDir, `${id}.time`))
      ? readFileSync(join(recordDir, `${id}.time`), "utf8")
          .trim()
          .split("\n")
      : [];
    const last = timeLines[timeLines.length - 1] ?? "";
    const rss = Number(last.split(" ")[1]);
    const startNs = BigInt(t0 ?? "0");
    const endNs = BigInt(t1 ?? "0");
    return {
      argv: readFileSync(join(recordDir, `${id}.argv`), "utf8")
        .split("\0")
        .filter((a) => a !== ""),
      startNs,
      endNs,
      wallMs: Number(endNs - startNs) / 1e6,
      exitCode: Number(rc),
      maxRssKB: Number.isFinite(rss) ? rss : NaN,
      requests: parseV6(readFileSync(join(recordDir, `${id}.log`), "utf8")),
    };
  });
  return traces.sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
}

/** kubectl argv without the connection flags, short enough for a table cell. */
export function kubectlLabel(argv: string[]): string {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--kubeconfig" || a === "--context") {
      i++;
      continue;
    }
    if (/^--(request-timeout|kubeconfig|context)=/.test(a) || /^-v=/.test(a)) continue;
    out.push(a.length > 40 ? `${a.slice(0, 37)}...` : a);
  }
  return out.join(" ");
}

/** A request's kind: method and path with the namespace and object name abstracted. */
export function requestKind(method: string, pathAndQuery: string): string {
  const [rawPath, query = ""] = pathAndQuery.split("?", 2) as [string, string?];
  let p = rawPath.replace(/^https?:\/\/[^/]+/, "");
  p = p.replace(/\/namespaces\/[^/]+(?=\/|$)/, "/namespaces/{ns}");
  p = p.replace(/\/(secrets|serviceaccounts|leases)\/[^/]+$/, "/$1/{name}");
  return `${method} ${p}${/(^|&)dryRun=All/.test(query) ? " (dry run)" : ""}`;
}

// ---------------------------------------------------------------------------
// CPU profile (.cpuprofile from node --cpu-prof): self time by function.
// ---------------------------------------------------------------------------

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  gcMs: number;
  programMs: number;
  top: Array<{ name: string; ms: number }>;
  byModule: Array<{ name: string; ms: number }>;
}

export function summarizeProfile(file: string, topN = 10): ProfileSummary {
  const p = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const mod = new Map<string, number>();
  let idle = 0;
  let gc = 0;
  let program = 0;
  p.samples.forEach((id, i) => {
    const us = p.timeDeltas[i] ?? 0;
    const n = byId.get(id);
    if (!n) return;
    const f = n.callFrame;
    if (f.functionName === "(idle)") idle += us;
    else if (f.functionName === "(garbage collector)") gc += us;
    else if (f.functionName === "(program)") program += us;
    const file = f.url ? f.url.replace(/^.*\//, "") : "";
    const name = `${f.functionName || "(anonymous)"}${file ? ` ${file}:${f.lineNumber + 1}` : ""}`;
    self.set(name, (self.get(name) ?? 0) + us);
    const m = f.url.startsWith("node:") ? "node: internals" : f.url ? file : f.functionName;
    mod.set(m, (mod.get(m) ?? 0) + us);
  });
  const sorted = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, topN)
      .map(([name, us]) => ({ name, ms: us / 1000 }));
  return {
    totalMs: (p.endTime - p.startTime) / 1000,
    idleMs: idle / 1000,
    gcMs: gc / 1000,
    programMs: program / 1000,
    top: sorted(self).filter((t) => !/^\((idle|program|garbage collector|root)\)$/.test(t.name)),
    byModule: sorted(mod),
  };
}

// ---------------------------------------------------------------------------
// Load from other processes: the machine's busy CPU time (/proc/stat) minus
// this process's own and its waited-for children's (/proc/self/stat utime,
// stime, cutime, cstime). Timings are only as good as the machine is quiet.
// ---------------------------------------------------------------------------

export interface CpuSnapshot {
  busyTicks: number;
  ownTicks: number;
  atMs: number;
}

export function cpuSnapshot(): CpuSnapshot {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
  const busyTicks = (cpu[0] ?? 0) + (cpu[1] ?? 0) + (cpu[2] ?? 0) + (cpu[5] ?? 0) + (cpu[6] ?? 0) + (cpu[7] ?? 0);
  const self = readFileSync("/proc/self/stat", "utf8");
  const f = self.slice(self.lastIndexOf(")") + 2).split(" ");
  // Fields after the command name start at field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17.
  const ownTicks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  return { busyTicks, ownTicks, atMs: Date.now() };
}

/** Average number of cores other processes kept busy between two snapshots. */
export function foreignCores(a: CpuSnapshot, b: CpuSnapshot, ticksPerSecond = 100): number {
  const seconds = (b.atMs - a.atMs) / 1000;
  if (seconds <= 0) return NaN;
  return Math.max(0, (b.busyTicks - a.busyTicks - (b.ownTicks - a.ownTicks)) / ticksPerSecond / seconds);
}
