import { startWorld, PROJECT, PAT } from "/work/main/test/support/world.ts";
import { runProc } from "/work/main/bench/lib.ts";
import { readFileSync, readdirSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
const N = Number(process.argv[2] ?? 10);
const cli = process.argv[3] ?? "/work/main/dist/cli.js";
const lines = readFileSync(cli, "utf8").split("\n");
const marks: Array<[number, string]> = [];
lines.forEach((l, i) => { const m = /^\/\/ ((node_modules\/(@[^/]+\/)?[^/]+)|src\/[^ ]+)/.exec(l); if (m) marks.push([i + 1, m[2] ?? m[1]!]); });
const pkgAt = (line: number) => { let lo = 0, hi = marks.length - 1, ans = "(banner)"; while (lo <= hi) { const mid = (lo + hi) >> 1; if (marks[mid]![0] <= line) { ans = marks[mid]![1]; lo = mid + 1; } else hi = mid - 1; } return ans; };
const world = await startWorld();
const ns = Array.from({ length: N }, (_, i) => `bench-${String(i).padStart(4, "0")}`);
for (const n of ns) world.kube.createNamespace(n);
const args = ["rotate", "--gitlab-url", world.gitlab.url, "--project", PROJECT.path, "--kubeconfig", world.kubeconfig, "--namespace", ns.join(","), "--service-account", "default", ...world.verifyFlags(), "--json"];
const env: Record<string, string> = { ...(process.env.GPS_SHARED_CTX ? { GPS_SHARED_CTX: "1" } : {}), PATH: `${world.dir}/bin:${process.env.PATH}`, HOME: world.home, TMPDIR: join(world.dir, "tool-tmp"), LANG: "C.UTF-8", GITLAB_TOKEN: PAT };
await runProc(process.execPath, [cli, ...args], env);
const self = new Map<string, number>(); const incl = new Map<string, number>(); const fn = new Map<string, number>();
const R = 5; let idle = 0, total = 0;
for (let r = 0; r < R; r++) {
  const dir = mkdtempSync(join(tmpdir(), "rp-"));
  const p = await runProc(process.execPath, ["--cpu-prof", "--cpu-prof-interval", "200", `--cpu-prof-dir=${dir}`, cli, ...args], env);
  if (p.code) throw new Error(p.stderr);
  const prof = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]!), "utf8"));
  const byId = new Map<number, any>(prof.nodes.map((n: any) => [n.id, n]));
  const parent = new Map<number, number>(); for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  prof.samples.forEach((id: number, i: number) => {
    const us = prof.timeDeltas[i] ?? 0; total += us;
    const f = byId.get(id)!.callFrame;
    if (f.functionName === "(idle)") { idle += us; return; }
    const k = f.url.endsWith("cli.js") ? pkgAt(f.lineNumber + 1) : f.url.startsWith("node:") ? f.url : f.functionName || f.url;
    self.set(k, (self.get(k) ?? 0) + us);
    const fk = `${f.functionName || "(anon)"} ${f.url.replace(/^.*\//, "")}:${f.lineNumber + 1}`;
    fn.set(fk, (fn.get(fk) ?? 0) + us);
    let cur: number | undefined = id; let owner = "(no bundle frame)";
    while (cur !== undefined) { const cf = byId.get(cur)!.callFrame; if (cf.url.endsWith("cli.js")) { owner = pkgAt(cf.lineNumber + 1); break; } cur = parent.get(cur); }
    incl.set(owner, (incl.get(owner) ?? 0) + us);
  });
}
const show = (m: Map<string, number>, n = 16) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${(v / 1000 / R).toFixed(1).padStart(7)} ms  ${k}`).join("\n");
console.log(`per run: profiled ${(total / 1000 / R).toFixed(0)} ms, idle ${(idle / 1000 / R).toFixed(0)} ms`);
console.log(`-- self by script --\n${show(self)}\n-- innermost bundle frame (inclusive-ish) --\n${show(incl)}\n-- top functions --\n${show(fn, 25)}`);
await world.close();
