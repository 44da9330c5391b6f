// A REAL container registry for tests: Debian's `docker-registry` (distribution 2.8)
// over HTTPS on 127.0.0.1, filesystem storage in a temp dir, token auth against the
// GitLab stand-in exactly as GitLab configures its own registry. Plus helpers that
// drive skopeo (seed an image, inspect with a docker config) without ever putting
// credentials on argv.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  accessSync,
  closeSync,
  constants,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { request as httpsRequest } from "node:https";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import { gzipSync } from "node:zlib";
import { issueServerCert, makeCA, type Pem } from "./certs.ts";
import type { GitLabStandIn } from "./gitlab-standin.ts";

export interface Registry {
  /** "127.0.0.1:PORT", the registry host as GitLab's container_registry_image_prefix shows it. */
  host: string;
  /** PEM of the CA that signed the registry's server certificate. */
  caPath: string;
  /** A directory holding only ca.crt, for skopeo --cert-dir / --src-cert-dir / --dest-cert-dir. */
  certDir: string;
  /** The registry's stdout+stderr. */
  logPath: string;
  close(): Promise<void>;
}

export interface RunResult {
  ok: boolean;
  code: number | null;
  stdout: string;
  stderr: string;
}

const REGISTRY_BIN = "docker-registry";
const SKOPEO_BIN = "skopeo";
const READY_DEADLINE_MS = 15_000;

function onPath(bin: string): boolean {
  for (const d of (process.env.PATH ?? "").split(delimiter)) {
    if (!d) continue;
    try {
      accessSync(join(d, bin), constants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

/** docker-registry and skopeo are on PATH. */
export const haveRegistryTools = (): boolean => onPath(REGISTRY_BIN) && onPath(SKOPEO_BIN);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = a && typeof a !== "string" ? a.port : 0;
      s.close(() => (port ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}

/** A minimal, hermetic environment for child processes: no secrets, no REGISTRY_* overrides. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8" };
  if (process.env.TMPDIR) env.TMPDIR = process.env.TMPDIR;
  return { ...env, ...extra };
}

function probeV2(port: number, ca: string): Promise<number> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      { host: "127.0.0.1", port, path: "/v2/", method: "GET", ca, timeout: 2000, agent: false },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", () => resolve(0));
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(0));
    req.end();
  });
}

function tail(path: string, lines = 30): string {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

function registryConfig(o: { port: number; root: string; cert: Pem; gitlab: GitLabStandIn }): string {
  const q = (s: string): string => JSON.stringify(s); // JSON strings are valid YAML scalars
  return [
    "version: 0.1",
    "log:",
    "  level: info",
    "  formatter: text",
    "  accesslog:",
    "    disabled: false",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${q(o.root)}`,
    "  delete:",
    "    enabled: true",
    "  maintenance:",
    "    uploadpurging:",
    "      enabled: false",
    "http:",
    `  addr: ${q(`127.0.0.1:${o.port}`)}`,
    `  secret: ${q(randomBytes(16).toString("hex"))}`,
    "  headers:",
    "    X-Content-Type-Options: [nosniff]",
    "  tls:",
    `    certificate: ${q(o.cert.certPath)}`,
    `    key: ${q(o.cert.keyPath)}`,
    "auth:",
    "  token:",
    `    realm: ${q(o.gitlab.jwt.realm)}`,
    `    service: ${q(o.gitlab.jwt.service)}`,
    `    issuer: ${q(o.gitlab.jwt.issuer)}`,
    `    rootcertbundle: ${q(o.gitlab.jwt.signingCertPath)}`,
    "",
  ].join("\n");
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/**
 * Start distribution 2.8 on a free 127.0.0.1 port. `dir` receives the config, the
 * TLS material, the storage and `registry.log`. Point the GitLab stand-in at it
 * with `gitlab.setRegistry({ host: reg.host })` (done here).
 */
export async function startRegistry(opts: { gitlab: GitLabStandIn; dir: string; ca?: Pem }): Promise<Registry> {
  const { gitlab, dir } = opts;
  mkdirSync(dir, { recursive: true });
  const tlsDir = join(dir, "tls");
  const ca = opts.ca ?? makeCA(tlsDir, "registry-ca");
  const cert = issueServerCert(tlsDir, ca, "registry");
  const certDir = join(dir, "certs.d");
  mkdirSync(certDir, { recursive: true });
  copyFileSync(ca.certPath, join(certDir, "ca.crt"));
  const root = join(dir, "storage");
  mkdirSync(root, { recursive: true });
  const logPath = join(dir, "registry.log");

  let lastError = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const configPath = join(dir, "config.yml");
    writeFileSync(configPath, registryConfig({ port, root, cert, gitlab }));
    const logFd = openSync(logPath, "a");
    const child = spawn(REGISTRY_BIN, ["serve", configPath], {
      cwd: dir,
      env: childEnv(),
      stdio: ["ignore", logFd, logFd],
    });
    closeSync(logFd);
    let spawnError: Error | undefined;
    child.once("error", (e) => (spawnError = e));

    const deadline = Date.now() + READY_DEADLINE_MS;
    let status = 0;
    while (Date.now() < deadline && child.exitCode === null && child.signalCode === null && !spawnError) {
      status = await probeV2(port, ca.cert);
      if (status === 401) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    if (status === 401) {
      const host = `127.0.0.1:${port}`;
      gitlab.setRegistry({ host });
      let closed = false;
      return {
        host,
        caPath: ca.certPath,
        certDir,
        logPath,
        async close() {
          if (closed) return;
          closed = true;
          if (child.exitCode === null && child.signalCode === null) {
            child.kill("SIGTERM");
            if (!(await waitExit(child, 5000))) {
              child.kill("SIGKILL");
              await waitExit(child, 5000);
            }
          }
        },
      };
    }
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await waitExit(child, 5000);
    }
    lastError = spawnError ? String(spawnError) : `status ${status}; log:\n${tail(logPath)}`;
    if (!/address already in use/.test(lastError)) break;
  }
  throw new Error(`docker-registry did not become ready: ${lastError}`);
}

// ---- skopeo helpers ----------------------------------------------------------------------------

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ ok: false, code: null, stdout, stderr: stderr + String(e) });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, code, stdout, stderr });
    });
  });
}

/** Private scratch dir with hermetic containers config (policy, empty registries.conf). */
export function skopeoScratch(): { dir: string; env: NodeJS.ProcessEnv; policy: string; cleanup: () => void } {
  const dir = mkdtempSync(join(process.env.TMPDIR ?? "/tmp", "skopeo-"));
  const policy = join(dir, "policy.json");
  writeFileSync(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
  const regConf = join(dir, "registries.conf");
  writeFileSync(regConf, "");
  mkdirSync(join(dir, "tmp"));
  const env = childEnv({
    HOME: dir,
    XDG_RUNTIME_DIR: dir,
    XDG_CONFIG_HOME: join(dir, "config"),
    CONTAINERS_REGISTRIES_CONF: regConf,
    TMPDIR: join(dir, "tmp"),
  });
  return { dir, env, policy, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Write a docker config with one `auths` entry, mode 0600. */
export function writeAuthFile(path: string, host: string, username: string, secret: string): void {
  const auth = Buffer.from(`${username}:${secret}`).toString("base64");
  writeFileSync(path, JSON.stringify({ auths: { [host]: { auth } } }), { mode: 0o600 });
}

// Minimal ustar writer: one regular file.
function tarOneFile(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512, 0);
  const put = (s: string, off: number, len: number): void => {
    header.write(s.slice(0, len), off, "ascii");
  };
  const octal = (n: number, len: number): string => `${n.toString(8).padStart(len - 1, "0")}\0`;
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(content.length, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  put("        ", 148, 8); // checksum placeholder
  put("0", 156, 1);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  put("root", 265, 32);
  put("root", 297, 32);
  let sum = 0;
  for (const b of header) sum += b;
  put(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8);
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512, 0);
  return Buffer.concat([header, content, pad, Buffer.alloc(1024, 0)]);
}

const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

/** Build a one-layer OCI image layout in `dir` tagged `tag`. */
export function buildOciLayout(dir: string, tag: string, marker = "hello"): { manifestDigest: string } {
  const blobs = join(dir, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  const putBlob = (b: Buffer): string => {
    const hex = sha256(b);
    writeFileSync(join(blobs, hex), b);
    return `sha256:${hex}`;
  };
  const tar = tarOneFile("hello.txt", Buffer.from(`${marker}\n`));
  const layer = gzipSync(tar);
  const layerDigest = putBlob(layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: {},
      rootfs: { type: "layers", diff_ids: [`sha256:${sha256(tar)}`] },
      history: [{ created_by: "gitlab-pull-secret test seed" }],
    }),
  );
  const configDigest = putBlob(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layerDigest, size: layer.length }],
    }),
  );
  const manifestDigest = putBlob(manifest);
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: manifestDigest,
          size: manifest.length,
          annotations: { "org.opencontainers.image.ref.name": tag },
        },
      ],
    }),
  );
  return { manifestDigest };
}

/**
 * Push a tiny OCI image to `reg` as `repo:tag` with skopeo. `pushAuth` is e.g. an admin
 * user and its `api` PAT. The credentials go through a 0600 authfile that is deleted after.
 */
export async function seedImage(
  reg: Registry,
  repo: string,
  tag: string,
  pushAuth: { username: string; token: string },
): Promise<void> {
  const s = skopeoScratch();
  try {
    const layout = join(s.dir, "layout");
    buildOciLayout(layout, tag, `${repo}:${tag}`);
    const authfile = join(s.dir, "auth.json");
    writeAuthFile(authfile, reg.host, pushAuth.username, pushAuth.token);
    const r = await run(
      SKOPEO_BIN,
      [
        "--policy",
        s.policy,
        "--tmpdir",
        join(s.dir, "tmp"),
        "copy",
        "--quiet",
        "--retry-times",
        "0",
        "--dest-authfile",
        authfile,
        "--dest-cert-dir",
        reg.certDir,
        `oci:${layout}:${tag}`,
        `docker://${reg.host}/${repo}:${tag}`,
      ],
      s.env,
    );
    rmSync(authfile, { force: true });
    if (!r.ok) throw new Error(`skopeo copy to ${reg.host}/${repo}:${tag} failed (exit ${r.code}): ${r.stderr.trim()}`);
  } finally {
    s.cleanup();
  }
}

/** `skopeo inspect` of `host/image` using only the docker config in `authfile`. */
export async function skopeoInspect(reg: Registry, image: string, authfile: string): Promise<RunResult> {
  const s = skopeoScratch();
  try {
    return await run(
      SKOPEO_BIN,
      [
        "--policy",
        s.policy,
        "--tmpdir",
        join(s.dir, "tmp"),
        "inspect",
        "--retry-times",
        "0",
        "--authfile",
        authfile,
        "--cert-dir",
        reg.certDir,
        `docker://${reg.host}/${image}`,
      ],
      s.env,
    );
  } finally {
    s.cleanup();
  }
}
