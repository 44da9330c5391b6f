import { runProc, median } from "/work/main/bench/lib.ts";
const env = { PATH: process.env.PATH!, HOME: "/tmp" };
const c: Record<string, string[]> = { node: ["-e", "0"], base: ["/tmp/gpsb/scr/out-base/cli.js", "--version"], lazy: ["/tmp/gpsb/scr/out-lazy/cli.js", "--version"] };
const r: Record<string, number[]> = { node: [], base: [], lazy: [] };
for (let i = 0; i < 30; i++) for (const k of Object.keys(c)) r[k]!.push((await runProc(process.execPath, c[k]!, env)).ms);
for (const k of Object.keys(c)) console.log(k, median(r[k]!).toFixed(1), "ms", k === "node" ? "" : `(+${(median(r[k]!) - median(r.node!)).toFixed(1)})`);
