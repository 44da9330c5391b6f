// Preloaded into the measured CLI process (NODE_OPTIONS=--import <this file>):
// at exit, records the peak resident set of THIS node process (VmHWM from
// /proc/self/status, kubectl children not included) and its own CPU time
// (getrusage RUSAGE_SELF: children not included) into $GPS_BENCH_RSS_OUT.
// It reads no secret and changes nothing else.
import { readFileSync, writeFileSync } from "node:fs";

const out = process.env.GPS_BENCH_RSS_OUT;
if (out) {
  process.on("exit", () => {
    const status = readFileSync("/proc/self/status", "utf8");
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status);
    const u = process.resourceUsage();
    writeFileSync(
      out,
      JSON.stringify({
        vmHWMkB: hwm ? Number(hwm[1]) : null,
        maxRSSkB: u.maxRSS,
        cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000,
      }),
    );
  });
}
