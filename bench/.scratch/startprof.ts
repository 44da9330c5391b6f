// Attribute --version CPU time to bundled packages via esbuild's "// path" markers.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
const cli = process.argv[2] ?? "/work/main/dist/cli.js";
const extra = process.argv.slice(3);
const lines = readFileSync(cli, "utf8").split("\n");
const marks: Array<[number, string]> = [];
lines.forEach((l, i) => { const m = /^\/\/ ((node_modules\/(@[^/]+\/)?[^/]+)|src\/[^ ]+)/.exec(l); if (m) marks.push([i + 1, m[2] ?? m[1]!]); });
const pkgAt = (line: number) => { let lo = 0, hi = marks.length - 1, ans = "(banner)"; while (lo <= hi) { const mid = (lo + hi) >> 1; if (marks[mid]![0] <= line) { ans = marks[mid]![1]; lo = mid + 1; } else hi = mid - 1; } return ans; };
const tot = new Map<string, number>(); const incl = new Map<string, number>();
let total = 0;
for (let r = 0; r < 10; r++) {
  const dir = mkdtempSync(join(tmpdir(), "sp-"));
  execFileSync(process.execPath, ["--cpu-prof", "--cpu-prof-interval", "100", `--cpu-prof-dir=${dir}`, cli, ...(extra.length ? extra : ["--version"])], { stdio: "ignore" });
  const p = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]!), "utf8"));
  const byId = new Map<number, any>(p.nodes.map((n: any) => [n.id, n]));
  const parent = new Map<number, number>(); for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  p.samples.forEach((id: number, i: number) => {
    const us = p.timeDeltas[i] ?? 0; total += us;
    const n = byId.get(id)!; const f = n.callFrame;
    const k = f.url.endsWith("cli.js") ? pkgAt(f.lineNumber + 1) : f.url.startsWith("node:") ? "node:" + f.url.slice(5).split("/")[0] : f.functionName || f.url;
    tot.set(k, (tot.get(k) ?? 0) + us);
    // inclusive: attribute to the nearest bundled package frame on the stack (module evaluation)
    let cur: number | undefined = id; let owner = "(no bundle frame)";
    while (cur !== undefined) { const cf = byId.get(cur)!.callFrame; if (cf.url.endsWith("cli.js")) { owner = pkgAt(cf.lineNumber + 1); break; } cur = parent.get(cur); }
    incl.set(owner, (incl.get(owner) ?? 0) + us);
  });
}
const show = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, 18).map(([k, v]) => `${(v / 10000).toFixed(1).padStart(7)} ms  ${k}`).join("\n");
console.log(`avg profiled ${(total / 10000).toFixed(1)} ms per run\n-- self by package --\n${show(tot)}\n-- innermost bundle frame --\n${show(incl)}`);
