import { startWorld, PROJECT, PAT } from "/work/main/test/support/world.ts";
import { runProc, median } from "/work/main/bench/lib.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
const N = Number(process.argv[2] ?? 10);
const R = Number(process.argv[3] ?? 7);
const variants: Array<[string, string, Record<string, string>]> = [
  ["base", "/tmp/gpsb/scr/out-base/cli.js", {}],
  ["lazy", "/tmp/gpsb/scr/out-lazy/cli.js", {}],
  ["lazy+ctx", "/tmp/gpsb/scr/out-lazy/cli.js", { GPS_SHARED_CTX: "1" }],
];
const world = await startWorld();
const ns = Array.from({ length: N }, (_, i) => `bench-${String(i).padStart(4, "0")}`);
for (const n of ns) world.kube.createNamespace(n);
const args = ["rotate", "--gitlab-url", world.gitlab.url, "--project", PROJECT.path, "--kubeconfig", world.kubeconfig, "--namespace", ns.join(","), "--service-account", "default", ...world.verifyFlags(), "--json"];
const res = new Map<string, { ms: number[]; cpu: number[]; rss: number[] }>();
let k = 0;
for (let r = -1; r < R; r++) for (const [name, cli, extra] of variants) {
  const f = `/tmp/gpsb/v-${k++}.json`;
  const p = await runProc(process.execPath, [cli, ...args], { PATH: `${world.dir}/bin:${process.env.PATH}`, HOME: world.home, TMPDIR: join(world.dir, "tool-tmp"), LANG: "C.UTF-8", GITLAB_TOKEN: PAT, NODE_OPTIONS: "--import=/work/main/bench/rss-probe.mjs", GPS_BENCH_RSS_OUT: f, ...extra });
  if (p.code !== 0) { console.log(name, p.stderr); process.exit(1); }
  if (r < 0) continue;
  const j = JSON.parse(readFileSync(f, "utf8"));
  const e = res.get(name) ?? { ms: [], cpu: [], rss: [] }; res.set(name, e);
  e.ms.push(p.ms); e.cpu.push(j.cpuMs); e.rss.push(j.vmHWMkB / 1024);
}
for (const [name, e] of res) console.log(`${name.padEnd(9)} wall ${median(e.ms).toFixed(0)} ms  node CPU ${median(e.cpu).toFixed(0)} ms  RSS ${median(e.rss).toFixed(1)} MB`);
await world.close();
