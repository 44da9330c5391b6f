import { startWorld, PROJECT } from "/work/main/test/support/world.ts";
import { spawn } from "node:child_process";
const N = Number(process.argv[2] ?? 100);
const world = await startWorld();
const ns = Array.from({ length: N }, (_, i) => `bench-${String(i).padStart(4, "0")}`);
for (const n of ns) world.kube.createNamespace(n);
const args = ["rotate", "--gitlab-url", world.gitlab.url, "--project", PROJECT.path, "--kubeconfig", world.kubeconfig, "--namespace", ns.join(","), "--service-account", "default", ...world.verifyFlags(), "--json"];
for (let i = 0; i < 3; i++) {
  world.kube.resetRequests(); world.gitlab.resetRequests();
  const before = world.kubectlCalls().length;
  const t = performance.now();
  const r = await world.runCli(args);
  const dt = performance.now() - t;
  console.log(i, r.code, dt.toFixed(0), "kubectl", world.kubectlCalls().length - before, "kube", world.kube.requests.length, "gitlab", world.gitlab.requests.length, r.code ? r.stderr : "");
  if (i == 2) { const m = new Map<string, number>(); for (const q of world.kube.requests) { const k = q.method + " " + q.path.replace(/bench-\d+/, "NS").replace(/\/(secrets|serviceaccounts)\/[^/]+$/, "/$1/X"); m.set(k, (m.get(k) ?? 0) + 1); } console.log(m); console.log(world.gitlab.requests.map(q => q.method + " " + q.path)); }
}
if (process.env.NOBASE) { await world.close(); process.exit(0); }
// one baseline iteration timing
const t = performance.now();
await new Promise((ok) => spawn("bash", ["-c", `kubectl --kubeconfig ${world.kubeconfig} create secret docker-registry x -n bench-0000 --docker-server=r --docker-username=u --docker-password=fake --dry-run=client -o yaml | kubectl --kubeconfig ${world.kubeconfig} apply -f - && kubectl --kubeconfig ${world.kubeconfig} patch serviceaccount default -n bench-0000 -p '{"imagePullSecrets":[{"name":"x"}]}'`], { env: { ...process.env, HOME: world.home }, stdio: "inherit" }).on("close", ok));
console.log("baseline 1 ns", (performance.now() - t).toFixed(0));
await world.close();
