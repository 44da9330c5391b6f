// Facts about the machine for the report, and waiting for it to be quiet (--wait-quiet).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, release } from "node:os";
import { cpuSnapshot, foreignCores } from "./lib.ts";
import type { Machine } from "./measurements.ts";
import type { Session } from "./session.ts";

/** A shell command's output, or "n/a" when it fails. */
export function sh(cmd: string): string {
  try {
    return execFileSync("sh", ["-c", cmd], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "n/a";
  }
}

/** Clock ticks per second (for /proc/stat). */
export const clockTicks = (): number => Number(sh("getconf CLK_TCK")) || 100;

export function machine(realKubectl: string): Machine {
  const mem = /MemTotal:\s+(\d+) kB/.exec(readFileSync("/proc/meminfo", "utf8"));
  const kubectlVersion = sh("kubectl version --client 2>/dev/null | head -1");
  return {
    nproc: sh("nproc"),
    memory: mem ? `${(Number(mem[1]) / 1024 / 1024).toFixed(1)} GiB` : "n/a",
    cpu: cpus()[0]?.model ?? "n/a",
    kernel: `Linux ${release()}`,
    node: process.version,
    kubectl: `${kubectlVersion} (${realKubectl} -> ${sh(`readlink -f ${realKubectl}`)})`,
  };
}

/** With --wait-quiet S: wait (at most S seconds) until other processes keep less than 0.3 cores busy over 5 s. */
export async function waitQuiet(session: Session, phase: string): Promise<void> {
  if (!session.waitQuietS) return;
  const deadline = Date.now() + session.waitQuietS * 1000;
  for (;;) {
    const a = cpuSnapshot();
    await new Promise((r) => setTimeout(r, 5000));
    const busy = foreignCores(a, cpuSnapshot(), session.ticks);
    if (busy < 0.3) return;
    if (Date.now() > deadline) {
      session.notes.push(
        `--wait-quiet: gave up waiting before ${phase}; other processes kept ${busy.toFixed(2)} cores busy.`,
      );
      return;
    }
    session.progress(`waiting before ${phase}: other processes keep ${busy.toFixed(2)} cores busy`);
  }
}
