// `npm test`'s test step: the test files (scripts/test-files.mjs runs them, a few at a time, in the
// order below, longest first; `node --test` would sort them by name), with one real Kubernetes control
// plane for the whole suite instead of one per test file. Node 20's test runner has no global setup, so
// this wraps it: with GPS_KUBE_ASSETS it names a pool folder (GPS_KUBE_POOL) that the test files lease
// control planes from (test/support/kube-real.ts starts the first one when a file first needs it), and
// stops every plane in it when the run ends, however it ends. Without GPS_KUBE_ASSETS it only runs the
// tests. A table of the slowest files goes to stderr at the end (scripts/test-durations.mjs).
// `--beside=` names npm scripts (the typecheck and the linters) to run beside the tests (below).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const here = new URL(".", import.meta.url).pathname;
const env = { ...process.env };
let pool;
if ((process.env.GPS_KUBE_ASSETS ?? "").trim() !== "") {
  pool = mkdtempSync(join(tmpdir(), "gps-kube-pool-"));
  env.GPS_KUBE_POOL = pool;
  env.GPS_KUBE_POOL_OWNER = String(process.pid);
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === "EPERM";
  }
};

/** Stops every control plane of the pool by the PIDs it recorded, then removes the pool (and etcd's data). */
async function stopPool() {
  if (!pool || !existsSync(pool)) return;
  const pids = [];
  const dirs = [pool];
  const planes = readdirSync(pool);
  for (const plane of planes) {
    const read = (f) => (existsSync(join(pool, plane, f)) ? readFileSync(join(pool, plane, f), "utf8") : "");
    pids.push(...read("pids").split("\n").filter(Boolean).map(Number));
    if (read("etcd-data").trim()) dirs.push(read("etcd-data").trim());
  }
  // kube-controller-manager and kube-apiserver before etcd, as a plane stops itself.
  for (const pid of pids.reverse()) if (alive(pid)) process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  if (planes.length) process.stderr.write(`npm test: stopped the suite's ${planes.length} control plane(s)\n`);
}

// The order the files start in. With a few at a time, the suite ends when its last long file does: the
// longest files start first, the rest after them in the order given, the short ones last, where they fill the gaps.
// A scheduling hint from the table of seconds per file (a CI run's, under load); a file not named here runs in
// its place among the others.
const LONGEST_FIRST = [
  "test/e2e/faults.test.ts",
  "test/e2e/ownership.test.ts",
  "test/unit.test.ts",
  "test/e2e/commands.test.ts",
  "test/e2e/serviceaccounts.test.ts",
  "test/e2e/missing-namespace.test.ts",
  "test/e2e/signals.test.ts",
  "test/e2e/apitoken.test.ts",
  "test/e2e/registries.test.ts",
  "test/e2e/refusals.test.ts",
  "test/e2e/rotate-api-token.test.ts",
  "test/e2e/ownership-property.test.ts",
  "test/e2e/fill.test.ts",
  "test/e2e/image.test.ts",
  "test/e2e/first-hour.test.ts",
  "test/e2e/credential-plugins.test.ts",
  "test/e2e/lease.test.ts",
  "test/e2e/proxy.test.ts",
  "test/e2e/component.test.ts",
  "test/e2e/rotate.test.ts",
  "test/e2e/large-fleet.test.ts",
  "test/e2e/bad-input.test.ts",
  "test/e2e/refusal-namespaces.test.ts",
  "test/e2e/component-runner.test.ts",
  "test/e2e/plan-create-namespace.test.ts",
  "test/e2e/status-targets.test.ts",
  "test/e2e/rotate-api-token-github.test.ts",
  "test/e2e/installed.test.ts",
  "test/e2e/fleet.test.ts",
  "test/e2e/action-runner.test.ts",
  "test/e2e/variables.test.ts",
  "test/e2e/gitlab-client.test.ts",
  "test/e2e/verify.test.ts",
];
const rank = (arg) => {
  const hinted = LONGEST_FIRST.findIndex((f) => arg.endsWith(f));
  if (hinted >= 0) return hinted;
  return arg.includes("test/e2e/") ? LONGEST_FIRST.length : LONGEST_FIRST.length + 1;
};
const isFile = (a) => !a.startsWith("-") && /\.[cm]?[jt]s$/.test(a);
const BESIDE = "--beside=";
const args = process.argv.slice(2).filter((a) => !a.startsWith(BESIDE));
const beside = process.argv
  .slice(2)
  .filter((a) => a.startsWith(BESIDE))
  .flatMap((a) => a.slice(BESIDE.length).split(","))
  .filter(Boolean);
const options = args.filter((a) => !isFile(a));
// Array.prototype.sort is stable: within a rank, files keep the order they were given in.
const files = args.filter(isFile).sort((a, b) => rank(a) - rank(b));

const child = spawn(process.execPath, ["--import", "tsx", join(here, "test-files.mjs"), ...options, ...files], {
  env,
  stdio: "inherit",
});

// `--beside=typecheck,lint:deps,lint`: npm scripts that run one after the other beside the tests instead of before
// them. Alone they kept one core of two busy for half a minute while the other idled; beside the tests they fill the
// gaps the test files leave. Their output is held and printed when they end, and a failure fails the run.
const checks = beside.length === 0 ? undefined : runChecks(beside);
function runChecks(scripts) {
  const out = [];
  const sh = spawn("sh", ["-c", scripts.map((s) => `npm run -s ${s}`).join(" && ")], {
    env: process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  sh.stdout.on("data", (d) => out.push(d));
  sh.stderr.on("data", (d) => out.push(d));
  return new Promise((resolve) => {
    sh.on("error", (e) => {
      process.stderr.write(`npm test: ${scripts.join(", ")} could not start: ${e.message}\n`);
      resolve({ code: 1 });
    });
    sh.on("close", (code) => {
      const text = Buffer.concat(out).toString();
      process.stderr.write(
        `npm test: ${scripts.join(", ")} ${code === 0 ? "passed" : `FAILED (exit ${code})`}\n${text}`,
      );
      resolve({ code: code ?? 1 });
    });
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => sh.kill(sig));
  });
}

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
const code = await new Promise((resolve) => {
  child.on("error", (e) => {
    process.stderr.write(`npm test: ${e.message}\n`);
    resolve(1);
  });
  child.on("exit", (c, signal) => resolve(c ?? (signal ? 128 : 1)));
});
await stopPool();
const checked = checks ? (await checks).code : 0;
process.exit(code || checked);
