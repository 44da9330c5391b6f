// The gitlab-pull-secret image under test: built by image/build.sh from its test parts, moved
// through the real registry with skopeo, unpacked with umoci, and run the way a container
// runtime would run it (its Entrypoint, Env, User and WorkingDir from the config) with
// `unshare` + `chroot`, on a read-only root filesystem. Needs root; no container runtime.
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { skopeoScratch, writeAuthFile, type Registry } from "./registry.ts";

export const ROOT = new URL("../../", import.meta.url).pathname;
export const BUILD_SCRIPT = join(ROOT, "image", "build.sh");
/**
 * Within a run (and between local runs) the base root filesystem and the Node package are built or fetched once;
 * GPS_IMAGE_CACHE puts the cache elsewhere (.ci/run: outside its lone clone, so it outlives the run).
 */
export const IMAGE_CACHE = process.env.GPS_IMAGE_CACHE?.trim() || join(ROOT, "tmp", "image-cache");

export interface Exec {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function exec(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Exec> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 600_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 + 9 : null), stdout, stderr, ms: Date.now() - started });
    });
  });
}

const onPath = (bin: string): boolean => spawnSync("sh", ["-c", `command -v ${bin}`], { stdio: "ignore" }).status === 0;

/** What a test build cannot do without, as a list of reasons (empty: all there). */
export function imageBuildMissing(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root (unshare, chroot and mount)");
  for (const bin of [
    "umoci",
    "mmdebstrap",
    "unshare",
    "chroot",
    "mount",
    "mknod",
    "openssl",
    "skopeo",
    "docker-registry",
  ]) {
    if (!onPath(bin)) missing.push(bin);
  }
  const pins = readFileSync(join(ROOT, "image", "parts.env"), "utf8");
  const minor = /^KUBECTL_VERSION=v(\d+\.\d+)\./m.exec(pins)?.[1];
  const files = spawnSync("dpkg", ["-L", "kubectl"], { encoding: "utf8" }).stdout ?? "";
  if (!minor || !files.split("\n").some((f) => f.endsWith(`/bin/kubectl.${minor}`))) {
    missing.push(`the Debian kubectl package with kubectl.${minor ?? "?"}`);
  }
  return missing;
}

export interface BuildSummary {
  layout: string;
  tag: string;
  digest: string;
  compressedBytes: number;
  layers: number[];
  parts: string;
  node: string;
  kubectl: string;
  version: string;
}

export async function buildImage(output: string, extra: string[] = []): Promise<{ summary: BuildSummary; run: Exec }> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: "C.UTF-8" };
  if (process.env.TMPDIR) env.TMPDIR = process.env.TMPDIR;
  const run = await exec(
    "bash",
    [BUILD_SCRIPT, "--parts", "test", "--output", output, "--cache", IMAGE_CACHE, ...extra],
    {
      env,
      timeoutMs: 900_000,
    },
  );
  if (run.code !== 0) throw new Error(`image/build.sh failed (exit ${run.code}):\n${run.stderr.slice(-4000)}`);
  const last = run.stdout.trim().split("\n").pop() ?? "";
  return { summary: JSON.parse(last) as BuildSummary, run };
}

/** skopeo copy between `src` and `dest`, the registry side authenticated with `auth` through a 0600 authfile. */
export async function skopeoCopy(
  reg: Registry,
  src: string,
  dest: string,
  auth: { username: string; token: string },
): Promise<Exec> {
  const s = skopeoScratch();
  try {
    const authfile = join(s.dir, "auth.json");
    writeAuthFile(authfile, reg.host, auth.username, auth.token);
    return await exec(
      "skopeo",
      [
        "--policy",
        s.policy,
        "--tmpdir",
        join(s.dir, "tmp"),
        "copy",
        "--quiet",
        "--retry-times",
        "0",
        "--authfile",
        authfile,
        "--src-cert-dir",
        reg.certDir,
        "--dest-cert-dir",
        reg.certDir,
        src,
        dest,
      ],
      { env: s.env, timeoutMs: 600_000 },
    );
  } finally {
    s.cleanup();
  }
}

export interface OciImage {
  manifestDigest: string;
  manifest: { config: { digest: string }; layers: Array<{ digest: string; size: number; mediaType: string }> };
  config: {
    config: {
      User?: string;
      Env?: string[];
      Entrypoint?: string[];
      Cmd?: string[];
      WorkingDir?: string;
      Labels?: Record<string, string>;
    };
    history?: Array<{ created_by?: string; comment?: string; empty_layer?: boolean }>;
  };
  /** Raw bytes of the manifest and config blobs, for scanning. */
  raw: Buffer[];
  /** Uncompressed layer tars, for scanning. */
  layerTars(): Generator<{ digest: string; tar: Buffer }>;
}

/** Reads the image tagged `tag` from an OCI layout. */
export function readOci(layout: string, tag: string): OciImage {
  const blob = (digest: string): Buffer => readFileSync(join(layout, "blobs", ...digest.split(":")));
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  const desc = index.manifests.find((m: any) => m.annotations?.["org.opencontainers.image.ref.name"] === tag);
  if (!desc) throw new Error(`no ${tag} in ${layout}`);
  const manifestRaw = blob(desc.digest);
  const manifest = JSON.parse(manifestRaw.toString("utf8"));
  const configRaw = blob(manifest.config.digest);
  return {
    manifestDigest: desc.digest,
    manifest,
    config: JSON.parse(configRaw.toString("utf8")),
    raw: [manifestRaw, configRaw],
    *layerTars() {
      for (const l of manifest.layers) {
        const b = blob(l.digest);
        yield { digest: l.digest, tar: l.mediaType.endsWith("+gzip") ? gunzipSync(b) : b };
      }
    },
  };
}

export async function unpack(layout: string, tag: string, bundle: string): Promise<Exec> {
  return exec("umoci", ["unpack", "--image", `${layout}:${tag}`, bundle], { timeoutMs: 600_000 });
}

/**
 * What a runtime adds to a container and a test adds here, in the unpacked copy only:
 * /etc/hosts and /etc/resolv.conf (the stand-ins listen on 127.0.0.1; nothing is resolved).
 */
export function prepareRootfs(rootfs: string): void {
  writeFileSync(join(rootfs, "etc", "hosts"), "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
  writeFileSync(join(rootfs, "etc", "resolv.conf"), "# no name server: everything here is on 127.0.0.1\n");
}

export interface Mount {
  /** A host directory. */
  host: string;
  /** Where it appears inside; the mount point is made in the unpacked copy, as runtimes do. */
  at: string;
  readonly?: boolean;
}

/**
 * Runs the image's Entrypoint with `args`, as a runtime would: its Env (plus `env`), its User
 * and WorkingDir, the root filesystem mounted read-only, a fresh /dev with the usual nodes,
 * /proc, and `mounts`. The host network is shared: the stand-ins are on the loopback.
 * Secrets reach the process in its environment or mounted files only, never on a command line.
 */
export async function runImage(
  image: OciImage,
  rootfs: string,
  args: string[],
  opts: { env?: Record<string, string>; mounts: Mount[] },
): Promise<Exec> {
  const c = image.config.config;
  const [uid, gid] = (c.User ?? "0:0").split(":");
  const env: Record<string, string> = {};
  for (const kv of c.Env ?? []) {
    const i = kv.indexOf("=");
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  Object.assign(env, opts.env);
  // Mount points resolved inside the root (var/run -> /run is absolute: followed on the host it
  // would leave the image), then made in the unpacked copy.
  const targets = opts.mounts.map((m) => {
    const at = resolveIn(rootfs, m.at);
    mkdirSync(join(rootfs, at), { recursive: true });
    return at;
  });
  // Host tools by absolute path: PATH is the image's, for the entrypoint.
  const q = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;
  const script = [
    "set -eu",
    'r="$1"; user="$2"; wd="$3"; shift 3',
    "/usr/bin/mount --make-rprivate /",
    '/usr/bin/mount --bind "$r" "$r"',
    '/usr/bin/mount -t proc proc "$r/proc"',
    '/usr/bin/mount -t tmpfs -o mode=0755,nosuid tmpfs "$r/dev"',
    ...DEVICES.map(([name, major, minor]) => `/usr/bin/mknod -m 0666 "$r/dev/${name}" c ${major} ${minor}`),
    ...opts.mounts.flatMap((m, i) => [
      `/usr/bin/mount --bind ${q(m.host)} "$r"${q(targets[i]!)}`,
      ...(m.readonly ? [`/usr/bin/mount -o remount,bind,ro "$r"${q(targets[i]!)}`] : []),
    ]),
    '/usr/bin/mount -o remount,bind,ro "$r"',
    'exec /usr/sbin/chroot --userspec="$user" "$r" /usr/bin/env --chdir="$wd" "$@"',
  ].join("\n");
  return exec(
    "/usr/bin/unshare",
    [
      "--mount",
      "--pid",
      "--fork",
      "--kill-child",
      "/bin/sh",
      "-c",
      script,
      "sh",
      rootfs,
      `${uid}:${gid ?? uid}`,
      c.WorkingDir || "/",
      ...(c.Entrypoint ?? []),
      ...(c.Cmd && args.length === 0 ? c.Cmd : []),
      ...args,
    ],
    { env, timeoutMs: 300_000 },
  );
}

/** `path` as seen inside `rootfs`, every symbolic link on the way followed within it. */
export function resolveIn(rootfs: string, path: string): string {
  const todo = path.split("/").filter((p) => p && p !== ".");
  let cur: string[] = [];
  let hops = 0;
  while (todo.length > 0) {
    const part = todo.shift()!;
    if (part === "..") {
      cur = cur.slice(0, -1);
      continue;
    }
    const next = [...cur, part];
    let link: string | undefined;
    try {
      if (lstatSync(join(rootfs, ...next)).isSymbolicLink()) link = readlinkSync(join(rootfs, ...next));
    } catch {
      // Not there: it will be made, and nothing below it can be a link.
    }
    if (link === undefined) {
      cur = next;
      continue;
    }
    if (++hops > 40) throw new Error(`too many symbolic links in ${path}`);
    if (link.startsWith("/")) cur = [];
    todo.unshift(...link.split("/").filter((p) => p && p !== "."));
  }
  return `/${cur.join("/")}`;
}

/** The device nodes a runtime creates in a container's /dev. */
const DEVICES: Array<[string, number, number]> = [
  ["null", 1, 3],
  ["zero", 1, 5],
  ["full", 1, 7],
  ["random", 1, 8],
  ["urandom", 1, 9],
  ["tty", 5, 0],
];

/** Every file under `dir` with its text, for the leak scan. */
export function filesUnder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out[p] = readFileSync(p, "utf8");
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/**
 * A host directory with `files`, owned by the image's user as a Pod's volume with fsGroup is,
 * files mode 0440: what the image's user must read (kubeconfig, CA, token).
 */
export function volume(path: string, user: string | undefined, files: Record<string, string>): string {
  mkdirSync(path, { recursive: true });
  const [uid, gid] = (user ?? "0:0").split(":").map(Number);
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(path, name), text, { mode: 0o440 });
    chownSync(join(path, name), 0, gid ?? uid!);
  }
  chownSync(path, 0, gid ?? uid!);
  chmodSync(path, 0o750);
  return path;
}

/** A host directory anyone can write, like an emptyDir at /tmp. */
export function scratch(path: string): string {
  mkdirSync(path, { recursive: true });
  chmodSync(path, 0o1777);
  return path;
}
