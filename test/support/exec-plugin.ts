// Stand-ins for kubectl credential plugins (client.authentication.k8s.io/v1
// exec: aws eks get-token, gke-gcloud-auth-plugin, kubelogin). Each is a small
// sh script that records its argv, environment and stdin into the world's
// recordsDir (which the leak scan reads), then, like the real plugins, refuses
// unless its cloud's variables are present, and prints an ExecCredential with
// the API server's bearer token (the stand-in's, or a real server's static token).
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { World } from "./world.ts";

const API_VERSION = "client.authentication.k8s.io/v1";

export interface PluginSpec {
  /** File name of the plugin (its command), e.g. "aws". */
  name: string;
  /** Variables that must be set and non-empty. */
  requires: readonly string[];
  /** Variables that must name a readable file (web identity token files, credential files). */
  requireFiles?: readonly string[];
  /** Exact arguments the plugin insists on, as the kubeconfig gives them. */
  args?: readonly string[];
  /** Fail anyway, printing this on stderr (after recording), as a plugin whose cloud refuses does. */
  failWith?: string;
  /** The bearer token to hand out instead of the API server's (one it does not accept: a stale cached token). */
  token?: string;
}

export interface ExecUser {
  command: string;
  args?: readonly string[];
  env?: ReadonlyArray<{ name: string; value: string }>;
  interactiveMode: "Never" | "IfAvailable" | "Always";
  provideClusterInfo?: boolean;
}

export interface PluginCall {
  argv: string[];
  env: Record<string, string>;
  stdin: string;
}

function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Writes the plugin into `<world.dir>/plugins`; returns its path. */
export function writePlugin(world: World, spec: PluginSpec): string {
  const dir = join(world.dir, "plugins");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, spec.name);
  const token = spec.token ?? world.kube.tokenFor();
  const credential = JSON.stringify({ apiVersion: API_VERSION, kind: "ExecCredential", status: { token } });
  const lines = [
    "#!/bin/sh",
    `rec=${sq(join(world.recordsDir, spec.name))}-$$`,
    `printf '%s\\0' "$@" > "$rec.argv"`,
    `env -0 > "$rec.env"`,
    // kubectl gives a non-interactive plugin no stdin (/dev/null): this returns at once.
    `cat > "$rec.stdin"`,
    `fail() { echo "${spec.name}: $1" >&2; exit 1; }`,
    ...spec.requires.map((v) => `[ -n "\${${v}:-}" ] || fail ${sq(`${v} is not set`)}`),
    ...(spec.requireFiles ?? []).map(
      (v) => `[ -r "\${${v}:-/nonexistent}" ] || fail ${sq(`${v} does not name a readable file`)}`,
    ),
    ...(spec.args ? [`[ "$*" = ${sq(spec.args.join(" "))} ] || fail "unexpected arguments: $*"`] : []),
    ...(spec.failWith ? [`echo ${sq(spec.failWith)} >&2`, "exit 1"] : []),
    `printf '%s\\n' ${sq(credential)}`,
    "",
  ];
  writeFileSync(path, lines.join("\n"), { mode: 0o700 });
  chmodSync(path, 0o700);
  return path;
}

/** A kubeconfig for the world's API server whose user is the exec plugin; context "cloud". */
export function writeExecKubeconfig(world: World, name: string, exec: ExecUser): string {
  const user = {
    exec: {
      apiVersion: API_VERSION,
      command: exec.command,
      ...(exec.args ? { args: exec.args } : {}),
      ...(exec.env ? { env: exec.env } : {}),
      interactiveMode: exec.interactiveMode,
      ...(exec.provideClusterInfo ? { provideClusterInfo: true } : {}),
    },
  };
  // JSON is YAML: kubectl reads it as a kubeconfig.
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "cloud", cluster: { server: world.kube.url, "certificate-authority": world.kube.caPath } }],
    users: [{ name: "ci", user }],
    contexts: [{ name: "cloud", context: { cluster: "cloud", user: "ci" } }],
    "current-context": "cloud",
  };
  const path = join(world.dir, "plugins", `kubeconfig-${name}`);
  mkdirSync(join(world.dir, "plugins"), { recursive: true });
  writeFileSync(path, JSON.stringify(config, null, 2), { mode: 0o600 });
  return path;
}

/** Every call of the named plugin so far. */
export function pluginCalls(world: World, name: string): PluginCall[] {
  // <name>-<pid>.argv: "aws" must not also match "aws-expired".
  const own = (f: string): boolean => f.startsWith(`${name}-`) && /^\d+\.argv$/.test(f.slice(name.length + 1));
  return readdirSync(world.recordsDir)
    .filter(own)
    .map((f) => {
      const base = join(world.recordsDir, f.slice(0, -".argv".length));
      const env: Record<string, string> = {};
      for (const entry of readFileSync(`${base}.env`, "utf8").split("\0")) {
        const eq = entry.indexOf("=");
        if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
      }
      return {
        // printf '%s\0' with no arguments still prints one empty one.
        argv: readFileSync(`${base}.argv`, "utf8")
          .split("\0")
          .filter((a) => a !== ""),
        env,
        stdin: readFileSync(`${base}.stdin`, "utf8"),
      };
    });
}

/** Runs a program with exactly `env` (no inheritance), e.g. a plugin or plain kubectl for comparison. */
export function runWith(
  cmd: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
