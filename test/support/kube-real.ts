// A real Kubernetes control plane for the end-to-end tests, in the way
// controller-runtime's envtest does it: real etcd, kube-apiserver and
// kube-controller-manager binaries from an assets folder named by
// GPS_KUBE_ASSETS, on loopback ports, with a PKI made by openssl.
//
// It answers the same test-facing interface as the stand-in (KubeStandIn), so a
// test can run on either backend: kubeconfigs per user (admin in
// system:masters; other users get client certificates and real RBAC objects
// from their PolicyRules), direct state access through an admin client the
// audit log ignores, and `requests` read back from the API server's audit log.
// The admin can also authenticate with a bearer token (a static token file), so
// a credential plugin can hand kubectl a token as EKS, GKE and AKS plugins do.
// Faults only the stand-in can inject (deny, fault) throw here: tests that need
// them stay stand-in only.
//
// The processes are stopped by PID, always: close(), a process exit hook, the
// usual termination signals, and a watchdog shell that outlives a SIGKILLed
// test process by at most a second.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  accessSync,
  closeSync,
  constants,
  createReadStream,
  existsSync,
  fstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  createWriteStream,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { issueClientCert, issueServerCert, loadPem, makeCA, type Pem } from "./certs.ts";
import type { DenyRule, Fault, Hold, KubeResource, KubeStandIn, PolicyRule, RecordedRequest } from "./kube/index.ts";
import { requestSync, sleepSync } from "./sync-https.ts";

/** The assets folder (kube-apiserver, optionally kube-controller-manager and etcd, plain or .gz), when the environment names one. */
export function kubeAssetsDir(): string | undefined {
  const dir = process.env.GPS_KUBE_ASSETS;
  return dir && dir.trim() !== "" ? dir : undefined;
}

export interface RealKube extends KubeStandIn {
  /** As admin, outside the audit log: for objects the stand-in interface has no verb for (quotas, RBAC). */
  api(method: string, path: string, body?: unknown, contentType?: string): { status: number; body: any };
  /**
   * Back to a clean slate for the next world on this control plane: every
   * namespace not in `keep` is deleted, and in `keep` every Secret, Lease,
   * ResourceQuota and non-default ServiceAccount; default ServiceAccounts lose
   * their imagePullSecrets; test users' RBAC goes.
   */
  reset(keep: readonly string[]): void;
  /** Server version reported by /version, e.g. v1.29.14. */
  version: string;
  pids(): number[];
}

const HOLD = "gps-test-hold";
const HOLD_FINALIZER = "gitlab-pull-secret.test/hold";

// ---------------------------------------------------------------------------
// Binaries
// ---------------------------------------------------------------------------

interface Binaries {
  apiserver: string;
  controllerManager?: string;
  etcd: string;
}

function expectedSums(assets: string): Map<string, string> {
  const sums = new Map<string, string>();
  const file = join(assets, "SHA256SUMS");
  if (!existsSync(file)) return sums;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^([0-9a-f]{64})\s+\*?(\S+)$/.exec(line.trim());
    if (m) sums.set(m[2]!, m[1]!);
  }
  return sums;
}

function sha256File(path: string): string {
  const h = createHash("sha256");
  const fd = openSync(path, "r");
  const buf = Buffer.allocUnsafe(1 << 20);
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * A binary from the assets folder: as it is, or unpacked from `<name>.gz` into
 * a cache shared by the test processes (verified against SHA256SUMS when the
 * folder has one; the sum is remembered next to the unpacked copy).
 */
async function assetBinary(assets: string, name: string, sums: Map<string, string>): Promise<string | undefined> {
  const want = sums.get(name);
  const plain = join(assets, name);
  if (executable(plain)) {
    if (want && sha256File(plain) !== want)
      throw new Error(`${plain}: SHA-256 does not match ${join(assets, "SHA256SUMS")}`);
    return plain;
  }
  const gz = join(assets, `${name}.gz`);
  if (!existsSync(gz)) return undefined;
  const st = statSync(gz);
  const cache = join(
    tmpdir(),
    `gps-kube-assets-${process.getuid?.() ?? 0}`,
    want ?? `${st.size}-${Math.floor(st.mtimeMs)}`,
  );
  mkdirSync(cache, { recursive: true });
  const out = join(cache, name);
  const marker = `${out}.verified`;
  if (executable(out) && existsSync(marker) && readFileSync(marker, "utf8") === `${statSync(out).size}`) return out;
  const partial = `${out}.${process.pid}.part`;
  await pipeline(createReadStream(gz), createGunzip(), createWriteStream(partial, { mode: 0o755 }));
  if (want) {
    const got = sha256File(partial);
    if (got !== want) {
      rmSync(partial, { force: true });
      throw new Error(`${gz} unpacks to SHA-256 ${got}, but SHA256SUMS says ${want}`);
    }
  }
  // rename is atomic: test processes unpacking at once each install a whole, verified file.
  renameSync(partial, out);
  writeFileSync(marker, `${statSync(out).size}`);
  return out;
}

function onPath(name: string): string | undefined {
  for (const d of (process.env.PATH ?? "").split(delimiter)) if (d && executable(join(d, name))) return join(d, name);
  return undefined;
}

let binariesCache: Promise<Binaries> | undefined;

export function kubeBinaries(assets = kubeAssetsDir()): Promise<Binaries> {
  if (!assets) return Promise.reject(new Error("GPS_KUBE_ASSETS is not set"));
  binariesCache ??= (async () => {
    const sums = expectedSums(assets);
    const apiserver = await assetBinary(assets, "kube-apiserver", sums);
    if (!apiserver) throw new Error(`${assets}: no kube-apiserver or kube-apiserver.gz`);
    const controllerManager = await assetBinary(assets, "kube-controller-manager", sums);
    const etcd = (await assetBinary(assets, "etcd", sums)) ?? onPath("etcd");
    if (!etcd) throw new Error(`no etcd in ${assets} or on PATH (Debian: apt-get install -y etcd-server)`);
    return { apiserver, controllerManager, etcd };
  })();
  return binariesCache;
}

// ---------------------------------------------------------------------------
// Processes: stopped by PID, always
// ---------------------------------------------------------------------------

const running = new Set<number>();

function killAll(): void {
  for (const pid of running) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      /* already gone */
    }
  }
  running.clear();
}

let hooksInstalled = false;
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", killAll);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      killAll();
      process.kill(process.pid, sig);
    });
  }
}

/** A detached shell that stops `pids` once `owner` (this process, or a pool's suite runner) is gone, however it died. */
function watchdog(pids: number[], dir: string, owner: number): void {
  const script = `while kill -0 ${owner} 2>/dev/null; do sleep 1; done; kill ${pids.join(" ")} 2>/dev/null; sleep 2; rm -rf '${dir}'`;
  const w = spawn("sh", ["-c", script], { detached: true, stdio: "ignore" });
  w.unref();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** `pooled`: the process outlives this one (a pool's control plane), in a process group of its own. */
function startProcess(bin: string, args: string[], logFile: string, pooled = false): ChildProcess {
  const fd = openSync(logFile, "a");
  const child = spawn(bin, args, { stdio: ["ignore", fd, fd], detached: pooled });
  closeSync(fd);
  if (pooled) {
    child.unref();
    return child;
  }
  if (child.pid) running.add(child.pid);
  child.on("exit", () => child.pid && running.delete(child.pid));
  return child;
}

async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

// ---------------------------------------------------------------------------
// The control plane
// ---------------------------------------------------------------------------

const ADMIN = "admin";
/** The tests' own client: in system:masters, left out of the audit log (the stand-in does not record direct state access either). */
const HARNESS = "gps:test-harness";
const USER_LABEL = "gitlab-pull-secret.test/user";

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted"]
rules:
  - level: None
    users: ["${HARNESS}", "system:apiserver", "system:kube-controller-manager"]
  - level: None
    userGroups: ["system:serviceaccounts", "system:nodes"]
  - level: Metadata
`;

const RESOURCES: Record<KubeResource, { prefix: string; kind: string; apiVersion: string; namespaced: boolean }> = {
  namespaces: { prefix: "/api/v1", kind: "Namespace", apiVersion: "v1", namespaced: false },
  secrets: { prefix: "/api/v1", kind: "Secret", apiVersion: "v1", namespaced: true },
  serviceaccounts: { prefix: "/api/v1", kind: "ServiceAccount", apiVersion: "v1", namespaced: true },
  leases: {
    prefix: "/apis/coordination.k8s.io/v1",
    kind: "Lease",
    apiVersion: "coordination.k8s.io/v1",
    namespaced: true,
  },
  events: { prefix: "/apis/events.k8s.io/v1", kind: "Event", apiVersion: "events.k8s.io/v1", namespaced: true },
};

function objectPath(r: KubeResource, namespace: string | undefined, name?: string): string {
  const d = RESOURCES[r];
  const base =
    d.namespaced && namespace !== undefined ? `${d.prefix}/namespaces/${namespace}/${r}` : `${d.prefix}/${r}`;
  return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
}

const VERB_METHOD: Record<string, string> = {
  get: "GET",
  list: "GET",
  watch: "GET",
  create: "POST",
  update: "PUT",
  patch: "PATCH",
  delete: "DELETE",
  deletecollection: "DELETE",
};

export interface ControlPlaneOptions {
  dir?: string;
  /**
   * etcd's data on disk (the default puts it in /dev/shm when there is one):
   * tests want speed, the benchmark wants a real server's costs.
   */
  etcdOnDisk?: boolean;
}

/** What a process needs to use a running control plane; in a pool, its `state.json`. */
interface PlaneState {
  /** The PKI (pki/: the CA, the harness' and admin's certificates), the audit log and the logs. */
  dir: string;
  url: string;
  version: string;
  adminToken: string;
  /** etcd, kube-apiserver and kube-controller-manager. */
  pids: number[];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function kubeconfigText(url: string, ca: Pem, who: Pem, name: string, context: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: ${context}`,
    "  cluster:",
    `    server: ${url}`,
    `    certificate-authority-data: ${Buffer.from(ca.cert).toString("base64")}`,
    "users:",
    `- name: ${JSON.stringify(name)}`,
    "  user:",
    `    client-certificate-data: ${Buffer.from(who.cert).toString("base64")}`,
    `    client-key-data: ${Buffer.from(who.key).toString("base64")}`,
    "contexts:",
    `- name: ${context}`,
    "  context:",
    `    cluster: ${context}`,
    `    user: ${JSON.stringify(name)}`,
    "    namespace: default",
    `current-context: ${context}`,
    "preferences: {}",
    "",
  ].join("\n");
}

type Call = (method: string, path: string, body?: unknown, contentType?: string) => { status: number; body: any };

/** Requests as the harness user (system:masters, left out of the audit log). */
function harnessCall(url: () => string, ca: Pem, harness: Pem): Call {
  return (method, path, body, contentType = "application/json") => {
    const r = requestSync({
      url: `${url()}${path}`,
      method,
      headers: { Accept: "application/json", ...(body !== undefined ? { "Content-Type": contentType } : {}) },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
      ca: ca.cert,
      cert: harness.cert,
      key: harness.key,
    });
    let parsed: any = r.body;
    try {
      parsed = r.body ? JSON.parse(r.body) : undefined;
    } catch {
      /* not JSON (readyz) */
    }
    return { status: r.status, body: parsed };
  };
}

function must(what: string, r: { status: number; body: any }, ok: number[] = [200, 201]): any {
  if (!ok.includes(r.status))
    throw new Error(`real API server: ${what}: ${r.status} ${r.body?.message ?? JSON.stringify(r.body)}`);
  return r.body;
}

interface BootOptions extends ControlPlaneOptions {
  dir: string;
  /**
   * A pool's control plane (GPS_KUBE_POOL): it outlives the test process that
   * starts it. Its processes are not this process' to stop: their PIDs go to
   * `<dir>/pids` for the suite runner, and the watchdog follows the runner.
   */
  pooled?: { owner: number };
}

/** Makes the PKI and starts etcd, kube-apiserver and kube-controller-manager; `stop` stops them. */
async function bootPlane(opts: BootOptions): Promise<{ state: PlaneState; stop: () => Promise<void> }> {
  const bins = await kubeBinaries();
  if (!opts.pooled) installExitHooks();
  const { dir } = opts;
  mkdirSync(dir, { recursive: true });
  const pki = join(dir, "pki");
  const ca = makeCA(pki, "kube-ca");
  const serving = issueServerCert(pki, ca, "kube-apiserver");
  const harness = issueClientCert(pki, ca, "harness", HARNESS, ["system:masters"]);
  const cmCert = issueClientCert(pki, ca, "controller-manager", "system:kube-controller-manager");
  execFileSync("openssl", ["genrsa", "-out", "sa.key", "2048"], { cwd: pki, stdio: "ignore" });
  execFileSync("openssl", ["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"], { cwd: pki, stdio: "ignore" });
  issueClientCert(pki, ca, "user-admin", ADMIN, ["system:masters"]);
  // Credential plugins return bearer tokens; a static token file is the one token authenticator fixed at start-up.
  const adminToken = randomBytes(24).toString("base64url");
  writeFileSync(join(pki, "tokens.csv"), `${adminToken},${ADMIN},${ADMIN},"system:masters"\n`, { mode: 0o600 });
  writeFileSync(join(dir, "audit-policy.yaml"), AUDIT_POLICY);
  const auditLog = join(dir, "audit.log");
  const shm = "/dev/shm";
  const etcdData = !opts.etcdOnDisk && existsSync(shm) ? mkdtempSync(join(shm, "gps-etcd-")) : join(dir, "etcd");
  // For the suite runner, which removes it with the pool.
  if (opts.pooled) writeFileSync(join(dir, "etcd-data"), etcdData);
  const spawned = (bin: string, args: string[], log: string): ChildProcess => {
    const child = startProcess(bin, args, log, !!opts.pooled);
    if (opts.pooled && child.pid) writeFileSync(join(dir, "pids"), `${child.pid}\n`, { flag: "a" });
    return child;
  };

  let etcd: ChildProcess | undefined;
  let apiserver: ChildProcess | undefined;
  let cm: ChildProcess | undefined;
  let url = "";
  const call = harnessCall(() => url, ca, harness);

  async function boot(): Promise<void> {
    const [etcdClient, etcdPeer, securePort] = [await freePort(), await freePort(), await freePort()];
    etcd = spawned(
      bins.etcd,
      [
        "--name",
        "gps",
        "--data-dir",
        etcdData,
        "--listen-client-urls",
        `http://127.0.0.1:${etcdClient}`,
        "--advertise-client-urls",
        `http://127.0.0.1:${etcdClient}`,
        "--listen-peer-urls",
        `http://127.0.0.1:${etcdPeer}`,
        "--initial-advertise-peer-urls",
        `http://127.0.0.1:${etcdPeer}`,
        "--initial-cluster",
        `gps=http://127.0.0.1:${etcdPeer}`,
        "--initial-cluster-state",
        "new",
        "--logger",
        "zap",
        "--log-level",
        "warn",
      ],
      join(dir, "etcd.log"),
    );
    apiserver = spawned(
      bins.apiserver,
      [
        "--etcd-servers",
        `http://127.0.0.1:${etcdClient}`,
        "--bind-address",
        "127.0.0.1",
        "--advertise-address",
        "127.0.0.1",
        "--secure-port",
        String(securePort),
        "--endpoint-reconciler-type",
        "none",
        "--tls-cert-file",
        serving.certPath,
        "--tls-private-key-file",
        serving.keyPath,
        "--client-ca-file",
        ca.certPath,
        "--token-auth-file",
        join(pki, "tokens.csv"),
        "--authorization-mode",
        "Node,RBAC",
        "--service-cluster-ip-range",
        "10.96.0.0/16",
        "--service-account-issuer",
        "https://kubernetes.default.svc.cluster.local",
        "--service-account-key-file",
        join(pki, "sa.pub"),
        "--service-account-signing-key-file",
        join(pki, "sa.key"),
        "--audit-policy-file",
        join(dir, "audit-policy.yaml"),
        "--audit-log-path",
        auditLog,
        "--audit-log-mode",
        "blocking",
        "--profiling=false",
      ],
      join(dir, "kube-apiserver.log"),
    );
    url = `https://127.0.0.1:${securePort}`;
    const deadline = Date.now() + 120_000;
    for (;;) {
      for (const [name, p] of [
        ["etcd", etcd],
        ["kube-apiserver", apiserver],
      ] as const) {
        if (p.exitCode !== null || p.signalCode !== null) {
          throw new Error(`${name} exited (${p.exitCode ?? p.signalCode}):\n${tail(join(dir, `${name}.log`))}`);
        }
      }
      try {
        if (call("GET", "/readyz").status === 200) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline)
        throw new Error(`kube-apiserver not ready after 120 s:\n${tail(join(dir, "kube-apiserver.log"))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    if (bins.controllerManager) {
      const kc = join(dir, "cm.kubeconfig");
      writeFileSync(kc, kubeconfigText(url, ca, cmCert, "system:kube-controller-manager", "cm"), { mode: 0o600 });
      cm = spawned(
        bins.controllerManager,
        [
          "--kubeconfig",
          kc,
          "--authentication-kubeconfig",
          kc,
          "--authorization-kubeconfig",
          kc,
          "--bind-address",
          "127.0.0.1",
          "--secure-port",
          "0",
          "--leader-elect=false",
          "--use-service-account-credentials=true",
          // What the tests rely on: default ServiceAccounts, namespace deletion, quota usage (and the collector namespace deletion uses).
          "--controllers",
          "serviceaccount,namespace,resourcequota,garbagecollector",
          "--service-account-private-key-file",
          join(pki, "sa.key"),
          "--root-ca-file",
          ca.certPath,
          "--cluster-signing-cert-file",
          ca.certPath,
          "--cluster-signing-key-file",
          ca.keyPath,
          "--service-cluster-ip-range",
          "10.96.0.0/16",
        ],
        join(dir, "kube-controller-manager.log"),
      );
      for (;;) {
        if (cm.exitCode !== null)
          throw new Error(`kube-controller-manager exited:\n${tail(join(dir, "kube-controller-manager.log"))}`);
        if (call("GET", objectPath("serviceaccounts", "default", "default")).status === 200) break;
        if (Date.now() > deadline)
          throw new Error(
            `no default/default ServiceAccount after 120 s:\n${tail(join(dir, "kube-controller-manager.log"))}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  const stopAll = async (): Promise<void> => {
    await stopProcess(cm);
    await stopProcess(apiserver);
    await stopProcess(etcd);
  };

  // Ports are chosen free, then bound by another process: another test run may take one in between.
  for (let attempt = 1; ; attempt++) {
    try {
      await boot();
      break;
    } catch (e) {
      await stopAll();
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        if (etcdData.startsWith(shm)) rmSync(etcdData, { recursive: true, force: true });
        throw e;
      }
      rmSync(etcdData, { recursive: true, force: true });
      mkdirSync(etcdData, { recursive: true });
      rmSync(auditLog, { force: true });
    }
  }
  watchdog(
    [cm, apiserver, etcd].flatMap((p) => (p?.pid ? [p.pid] : [])),
    etcdData.startsWith(shm) ? etcdData : dir,
    opts.pooled?.owner ?? process.pid,
  );
  const version = must("version", call("GET", "/version")).gitVersion as string;
  return {
    state: { dir, url, version, adminToken, pids: [cm, apiserver, etcd].flatMap((p) => (p?.pid ? [p.pid] : [])) },
    async stop() {
      await stopAll();
      rmSync(dir, { recursive: true, force: true });
      if (etcdData.startsWith(shm)) rmSync(etcdData, { recursive: true, force: true });
    },
  };
}

/** The test-facing interface to a running control plane; `close` is what closing it means (stop it, or give it back). */
function attachPlane(state: PlaneState, close: () => Promise<void>): RealKube {
  const { dir, url, version, adminToken } = state;
  const pki = join(dir, "pki");
  const ca = loadPem(pki, "kube-ca");
  const call = harnessCall(() => url, ca, loadPem(pki, "harness"));
  const users = new Map<string, Pem>([[ADMIN, loadPem(pki, "user-admin")]]);
  const auditLog = join(dir, "audit.log");

  // ----- the audit log as the stand-in's request log -----
  let auditOffset = 0;
  const readRequests = (): RecordedRequest[] => {
    if (!existsSync(auditLog)) return [];
    // Read only what came after the offset: in a pool the log holds every earlier test file's requests too.
    const fd = openSync(auditLog, "r");
    let text: string;
    try {
      const buf = Buffer.alloc(Math.max(0, fstatSync(fd).size - auditOffset));
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, auditOffset + got);
        if (n === 0) break;
        got += n;
      }
      text = buf.subarray(0, got).toString("utf8");
    } finally {
      closeSync(fd);
    }
    const out: RecordedRequest[] = [];
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      const ev = JSON.parse(line);
      if (ev.stage !== "ResponseComplete" && ev.stage !== "Panic") continue;
      const [path, query = ""] = String(ev.requestURI).split("?", 2) as [string, string?];
      out.push({
        method: VERB_METHOD[ev.verb] ?? String(ev.verb).toUpperCase(),
        path,
        query,
        user: ev.user?.username ?? "",
        status: ev.responseStatus?.code ?? 0,
      });
    }
    return out;
  };

  // ----- users and their RBAC -----
  const rbac = (kind: string, namespace?: string): string =>
    `/apis/rbac.authorization.k8s.io/v1${namespace ? `/namespaces/${namespace}` : ""}/${kind}`;
  const removeUserRbac = (user?: string): void => {
    const sel = `labelSelector=${encodeURIComponent(user === undefined ? USER_LABEL : `${USER_LABEL}=${user}`)}`;
    for (const kind of ["rolebindings", "roles", "clusterrolebindings", "clusterroles"]) {
      const list = must(`list ${kind}`, call("GET", `${rbac(kind)}?${sel}`));
      for (const o of list.items ?? []) call("DELETE", `${rbac(kind, o.metadata.namespace)}/${o.metadata.name}`);
    }
  };
  const rbacName = (user: string): string => `gps-test-${createHash("sha256").update(user).digest("hex").slice(0, 12)}`;

  function createNamespace(name: string, labels?: Record<string, string>): void {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const cur = call("GET", objectPath("namespaces", undefined, name));
      if (cur.status === 200 && cur.body.status?.phase !== "Terminating") return;
      if (cur.status === 404) {
        const r = call("POST", objectPath("namespaces", undefined), {
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name, labels },
        });
        if (r.status === 201) break;
        if (r.status !== 409) must(`create namespace ${name}`, r);
      }
      // A namespace of an earlier world is still being emptied by the namespace controller.
      if (Date.now() > deadline) throw new Error(`namespace ${name} is still terminating after 120 s`);
      sleepSync(100);
    }
    // The ServiceAccount controller adds it within moments; the stand-in has it at once, so do the same.
    must(
      `default ServiceAccount in ${name}`,
      call("POST", objectPath("serviceaccounts", name), {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "default", namespace: name },
      }),
      [201, 409],
    );
  }

  const withKind = (r: KubeResource, o: any): any => ({
    apiVersion: RESOURCES[r].apiVersion,
    kind: RESOURCES[r].kind,
    ...o,
  });

  const kube: RealKube = {
    get url() {
      return url;
    },
    caPath: ca.certPath,
    version,
    get requests(): RecordedRequest[] {
      return readRequests();
    },
    resetRequests(): void {
      auditOffset = existsSync(auditLog) ? statSync(auditLog).size : 0;
    },
    writeKubeconfig(targetDir: string, user = ADMIN): string {
      const who = users.get(user);
      if (!who) throw new Error(`real API server: unknown user ${user}`);
      mkdirSync(targetDir, { recursive: true });
      const file = join(targetDir, `kubeconfig-${user}`);
      writeFileSync(file, kubeconfigText(url, ca, who, user, "real"), { mode: 0o600 });
      return file;
    },
    tokenFor(user = ADMIN): string {
      if (user !== ADMIN)
        throw new Error(
          `real API server: only ${ADMIN} has a bearer token (the token file is read at start-up); ${user} has a client certificate`,
        );
      return adminToken;
    },
    addUser(name: string, rules: PolicyRule[] = []): void {
      if (name === ADMIN) throw new Error("real API server: admin is built in");
      if (!users.has(name)) users.set(name, issueClientCert(pki, ca, `user-${rbacName(name)}`, name));
      removeUserRbac(name);
      const roleName = rbacName(name);
      const labels = { [USER_LABEL]: name.replace(/[^A-Za-z0-9_.-]/g, "_") };
      const toRbac = (r: PolicyRule) => ({
        apiGroups: r.apiGroups,
        resources: r.resources,
        verbs: r.verbs,
        ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}),
      });
      const subjects = [{ kind: "User", apiGroup: "rbac.authorization.k8s.io", name }];
      const clusterRules = rules.filter((r) => r.namespaces === undefined);
      if (clusterRules.length) {
        must(
          "ClusterRole",
          call("POST", rbac("clusterroles"), { metadata: { name: roleName, labels }, rules: clusterRules.map(toRbac) }),
        );
        must(
          "ClusterRoleBinding",
          call("POST", rbac("clusterrolebindings"), {
            metadata: { name: roleName, labels },
            subjects,
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: roleName },
          }),
        );
      }
      const byNs = new Map<string, PolicyRule[]>();
      for (const r of rules) for (const ns of r.namespaces ?? []) byNs.set(ns, [...(byNs.get(ns) ?? []), r]);
      for (const [ns, nsRules] of byNs) {
        must(
          `Role in ${ns}`,
          call("POST", rbac("roles", ns), { metadata: { name: roleName, labels }, rules: nsRules.map(toRbac) }),
        );
        must(
          `RoleBinding in ${ns}`,
          call("POST", rbac("rolebindings", ns), {
            metadata: { name: roleName, labels },
            subjects,
            roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: roleName },
          }),
        );
      }
      // The authorizer reads RBAC from an informer: wait until it answers as the new rules say.
      const probe = rules.find((r) => !r.verbs.includes("*") && !r.resources.includes("*") && !r.resourceNames);
      if (probe) {
        const ns = probe.namespaces?.[0];
        const deadline = Date.now() + 10_000;
        for (;;) {
          const review = must(
            "SubjectAccessReview",
            call("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", {
              apiVersion: "authorization.k8s.io/v1",
              kind: "SubjectAccessReview",
              spec: {
                user: name,
                resourceAttributes: {
                  group: probe.apiGroups[0] ?? "",
                  resource: probe.resources[0],
                  verb: probe.verbs[0],
                  ...(ns ? { namespace: ns } : {}),
                },
              },
            }),
          );
          if (review.status?.allowed) break;
          if (Date.now() > deadline) throw new Error(`real API server: RBAC for ${name} not in effect after 10 s`);
          sleepSync(20);
        }
      }
    },
    deny(_rule: DenyRule): void {
      throw new Error("deny() is a stand-in fault; on a real server give a user fewer rights (addUser)");
    },
    clearDenials(): void {},
    fault(_f: Fault): void {
      throw new Error("fault() is a stand-in fault; this test must run on the stand-in only");
    },
    hold(_h: Hold): void {
      throw new Error("hold() is a stand-in fault; this test must run on the stand-in only");
    },
    clearFaults(): void {},
    createNamespace,
    getObject(resource, namespace, name) {
      const r = call("GET", objectPath(resource, namespace, name));
      if (r.status === 404) return undefined;
      return withKind(resource, must(`get ${resource} ${namespace ?? ""}/${name}`, r));
    },
    putObject(resource, obj) {
      if (resource === "namespaces") {
        createNamespace(obj.metadata.name, obj.metadata.labels);
        return kube.getObject("namespaces", undefined, obj.metadata.name);
      }
      const ns = obj.metadata.namespace;
      const body = withKind(resource, structuredClone(obj));
      delete body.metadata.managedFields;
      // Like the stand-in: replace whatever is there, however stale the caller's copy.
      for (let attempt = 0; attempt < 5; attempt++) {
        const cur = call("GET", objectPath(resource, ns, obj.metadata.name));
        if (cur.status === 404) {
          delete body.metadata.resourceVersion;
          delete body.metadata.uid;
          delete body.metadata.creationTimestamp;
          const r = call("POST", `${objectPath(resource, ns)}?fieldManager=gps-test-harness`, body);
          if (r.status !== 409) return withKind(resource, must(`create ${resource} ${ns}/${obj.metadata.name}`, r));
          continue;
        }
        body.metadata.resourceVersion = must("get", cur).metadata.resourceVersion;
        body.metadata.uid = cur.body.metadata.uid;
        const r = call("PUT", `${objectPath(resource, ns, obj.metadata.name)}?fieldManager=gps-test-harness`, body);
        if (r.status !== 409) return withKind(resource, must(`replace ${resource} ${ns}/${obj.metadata.name}`, r));
      }
      throw new Error(`real API server: could not replace ${resource} ${ns}/${obj.metadata.name}`);
    },
    deleteObject(resource, namespace, name) {
      const r = call("DELETE", objectPath(resource, namespace, name));
      if (r.status === 404) return false;
      must(`delete ${resource} ${namespace ?? ""}/${name}`, r, [200, 202]);
      return true;
    },
    listObjects(resource, namespace) {
      const list = must(`list ${resource}`, call("GET", objectPath(resource, namespace)));
      return (list.items ?? []).map((o: any) => withKind(resource, o));
    },
    api: call,
    terminateNamespace(name) {
      // A finalizer on an object inside keeps the namespace Terminating until reset() lets it go:
      // the namespace controller empties everything else, as it would on a real cluster.
      must(
        `hold ${name}`,
        call("POST", `/api/v1/namespaces/${name}/configmaps`, {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: HOLD, namespace: name, finalizers: [HOLD_FINALIZER] },
        }),
        [201, 409],
      );
      must(`delete namespace ${name}`, call("DELETE", objectPath("namespaces", undefined, name)), [200, 202]);
      const deadline = Date.now() + 60_000;
      while (call("GET", objectPath("namespaces", undefined, name)).body?.status?.phase !== "Terminating") {
        if (Date.now() > deadline) throw new Error(`namespace ${name} did not turn Terminating within 60 s`);
        sleepSync(50);
      }
    },
    reset(keep) {
      const system = new Set(["kube-system", "kube-public", "kube-node-lease"]);
      const namespaces = kube.listObjects("namespaces").filter((ns) => !system.has(ns.metadata.name));
      // Held Terminating namespaces (by this process or, in a pool, by an earlier test file) are let go.
      for (const ns of namespaces) {
        if (ns.status?.phase !== "Terminating") continue;
        call(
          "PATCH",
          `/api/v1/namespaces/${ns.metadata.name}/configmaps/${HOLD}`,
          { metadata: { finalizers: null } },
          "application/merge-patch+json",
        );
      }
      for (const ns of namespaces) {
        const name = ns.metadata.name as string;
        // Emptied now, not when the namespace controller gets to it: an earlier world's Secret in a
        // Terminating namespace would still answer the next world's cluster-wide list (its GitLab
        // stand-in gives out the same token ids again).
        for (const kind of ["secrets", "leases", "events"] as const) call("DELETE", objectPath(kind, name));
        if (name === "default" || keep.includes(name) || ns.status?.phase === "Terminating") continue;
        call("DELETE", objectPath("namespaces", undefined, name));
      }
      for (const ns of keep) {
        call("DELETE", `/api/v1/namespaces/${ns}/resourcequotas`);
        for (const sa of kube.listObjects("serviceaccounts", ns)) {
          if (sa.metadata.name !== "default") kube.deleteObject("serviceaccounts", ns, sa.metadata.name);
          else if (sa.imagePullSecrets) kube.putObject("serviceaccounts", { ...sa, imagePullSecrets: undefined });
        }
      }
      removeUserRbac();
      kube.resetRequests();
    },
    pids: () => state.pids.filter(alive),
    close,
  };
  return kube;
}

/** A control plane of its own: started now, stopped by `close()`. */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<RealKube> {
  const { state, stop } = await bootPlane({ ...opts, dir: opts.dir ?? mkdtempSync(join(tmpdir(), "gps-kube-real-")) });
  return attachPlane(state, stop);
}

// ---------------------------------------------------------------------------
// One control plane per suite: the pool
// ---------------------------------------------------------------------------
//
// node --test runs each test file in a process of its own, and Node 20's runner
// has no global setup. So the suite runner (scripts/test.mjs) names a pool
// folder in GPS_KUBE_POOL and itself in GPS_KUBE_POOL_OWNER, and the test files
// share the control planes in it: a file leases a free one (`<plane>/lease`,
// created exclusively, holding the file's PID), or starts one into the pool
// when none is free, and gives it back when it is done. A plane serves one
// file at a time, so the audit log, the namespaces and the cluster-wide lists a
// file sees are its own; reset() gives it a clean slate. With the test files
// one at a time that is one control plane for the whole suite (two while
// fleet.test.ts holds its second cluster); side by side, one per file running.
// A plane whose holder died without giving it back is left alone. The runner
// stops every plane by the PIDs in `<plane>/pids` when the suite ends, and
// each plane's watchdog follows the runner.

function poolDir(): string | undefined {
  const dir = process.env.GPS_KUBE_POOL;
  return dir && dir.trim() !== "" ? dir : undefined;
}

const leases = new Set<string>();

function releaseLease(plane: string): void {
  if (!leases.delete(plane)) return;
  const lease = join(plane, "lease");
  try {
    if (readFileSync(lease, "utf8") === String(process.pid)) unlinkSync(lease);
  } catch {
    /* the runner cleaned up already */
  }
}

let leaseHooksInstalled = false;
function installLeaseHooks(): void {
  if (leaseHooksInstalled) return;
  leaseHooksInstalled = true;
  // A file that ends without giving its planes back (a failed before hook, a timeout) gives them back here.
  process.on("exit", () => [...leases].forEach(releaseLease));
}

function tryLease(plane: string): boolean {
  try {
    writeFileSync(join(plane, "lease"), String(process.pid), { flag: "wx" });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
  leases.add(plane);
  return true;
}

/** A control plane of the pool for this process alone until `close()` gives it back; as the last holder left it (reset() it). */
async function leaseControlPlane(pool: string): Promise<RealKube> {
  installLeaseHooks();
  mkdirSync(pool, { recursive: true });
  for (const entry of readdirSync(pool).sort()) {
    const plane = join(pool, entry);
    const stateFile = join(plane, "state.json");
    if (!existsSync(stateFile) || !tryLease(plane)) continue;
    const state = JSON.parse(readFileSync(stateFile, "utf8")) as PlaneState;
    if (!state.pids.every(alive)) {
      // Stopped under us (the runner is ending, or a process died): not one to hand out.
      releaseLease(plane);
      continue;
    }
    return attachPlane(state, async () => releaseLease(plane));
  }
  const plane = mkdtempSync(join(pool, "plane-"));
  tryLease(plane);
  const owner = Number(process.env.GPS_KUBE_POOL_OWNER);
  const { state } = await bootPlane({ dir: plane, pooled: { owner: owner > 0 ? owner : process.pid } });
  // Written whole, then renamed: another file sees no plane or a ready one.
  writeFileSync(join(plane, "state.json.part"), JSON.stringify(state));
  renameSync(join(plane, "state.json.part"), join(plane, "state.json"));
  return attachPlane(state, async () => releaseLease(plane));
}

/**
 * A cluster for this test file alone, stopped or given back by `close()`: from
 * the suite's pool when there is one (reset() it first), else started for it
 * (`dir`: where).
 */
export async function ownControlPlane(opts: ControlPlaneOptions = {}): Promise<RealKube> {
  const pool = poolDir();
  if (!pool || opts.etcdOnDisk) return startControlPlane(opts);
  return leaseControlPlane(pool);
}

let shared: Promise<RealKube> | undefined;

/**
 * The control plane this test file shares between its worlds: leased from the
 * suite's pool (GPS_KUBE_POOL), or started on first use (with `opts`) and
 * stopped when the file ends. The benchmark's etcd on disk is always its own.
 */
export function sharedControlPlane(opts: ControlPlaneOptions = {}): Promise<RealKube> {
  shared ??= ownControlPlane(opts);
  return shared;
}

/** Stops the shared control plane, or gives it back to the pool (a test file's `after`); the exit hooks do it otherwise. */
export async function stopSharedControlPlane(): Promise<void> {
  const s = shared;
  shared = undefined;
  if (s) await (await s).close();
}
