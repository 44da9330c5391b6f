// Prometheus' own tools for the tests, from Debian's `prometheus` package:
// promtool (check metrics: the text-format parser and the naming linter; test
// rules: alert rules evaluated on a series we write) and the server itself,
// which parses OpenMetrics when a target answers with its content type. Where
// they are not installed the tests that need them skip, unless CI=true.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "./world.ts";

function installed(tool: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
}

/** false, or why the test skips; under CI=true a missing tool is a failure instead. */
export function skipWithoutPrometheus(): string | false {
  if (installed("promtool") && installed("prometheus")) return false;
  if (process.env.CI === "true")
    throw new Error("promtool and prometheus are required here (CI=true): apt-get install -y prometheus");
  return "promtool/prometheus not installed (Debian package prometheus; CI=true makes this fail)";
}

/** `promtool check metrics`: parses the text format and lints the names; exit 0 and no output when both are happy. */
export async function promtoolCheckMetrics(text: string): Promise<{ code: number | null; output: string }> {
  const r = await run("promtool", ["check", "metrics"], { PATH: process.env.PATH ?? "" }, text);
  return { code: r.code, output: `${r.stdout}${r.stderr}`.trim() };
}

export async function promtoolTestRules(file: string): Promise<{ code: number | null; output: string }> {
  const r = await run("promtool", ["test", "rules", file], { PATH: process.env.PATH ?? "" });
  return { code: r.code, output: `${r.stdout}${r.stderr}`.trim() };
}

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((ok) => s.listen(0, "127.0.0.1", () => ok()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

/**
 * Serves `body` as `contentType` and lets a real Prometheus scrape it once.
 * Answers the target's health and last error as Prometheus saw them, and the
 * value of each series of `query` it stored.
 */
export async function scrapeWithPrometheus(
  body: string,
  contentType: string,
  query: string,
): Promise<{ health: string; lastError: string; series: Array<{ metric: Record<string, string>; value: string }> }> {
  const target = createHttpServer((_req, res) => {
    res.writeHead(200, { "Content-Type": contentType });
    res.end(body);
  });
  await new Promise<void>((ok) => target.listen(0, "127.0.0.1", () => ok()));
  const targetPort = (target.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), "gps-prometheus-"));
  const webPort = await freePort();
  writeFileSync(
    join(dir, "prometheus.yml"),
    `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: gps\n    static_configs:\n      - targets: ["127.0.0.1:${targetPort}"]\n`,
  );
  const child = spawn(
    "prometheus",
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${webPort}`,
    ],
    { stdio: "ignore" },
  );
  const api = async (path: string): Promise<any> => {
    const res = await fetch(`http://127.0.0.1:${webPort}${path}`);
    return (await res.json()) as any;
  };
  try {
    let health = "unknown";
    let lastError = "";
    const deadline = Date.now() + 30_000;
    // Polls the targets API until the first scrape has a verdict (no fixed sleep).
    while (health === "unknown") {
      if (Date.now() > deadline) throw new Error("Prometheus did not scrape the target within 30 s");
      try {
        const t = (await api("/api/v1/targets")).data.activeTargets[0];
        if (t) ({ health, lastError } = t);
      } catch {
        // not listening yet
      }
      // The poll interval of a condition wait, as world.ts waitFor.
      if (health === "unknown") await new Promise((r) => setTimeout(r, 100));
    }
    let series: Array<{ metric: Record<string, string>; value: string }> = [];
    if (health === "up") {
      const q = await api(`/api/v1/query?query=${encodeURIComponent(query)}`);
      series = q.data.result.map((s: any) => ({ metric: s.metric, value: s.value[1] }));
    }
    return { health, lastError, series };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await new Promise<void>((ok) => target.close(() => ok()));
    rmSync(dir, { recursive: true, force: true });
  }
}
