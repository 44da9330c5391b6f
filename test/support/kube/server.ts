// A local Kubernetes API server stand-in for tests that run the REAL kubectl.
//
// HTTPS on 127.0.0.1 (random port), bearer-token users, RBAC-like rules, and the
// four resources gitlab-pull-secret touches: namespaces, secrets, serviceaccounts
// (core/v1) and leases (coordination.k8s.io/v1). Discovery and OpenAPI documents
// are served from test/fixtures/kube/discovery exactly as a kube-apiserver v1.25.9
// served them; error bodies follow test/fixtures/kube/responses byte for byte in shape.
//
// Where the captures are silent the behaviour follows kube-apiserver's source
// (k8s.io/apiserver endpoints/handlers, pkg/apis/core/validation, evanphx/json-patch,
// structured-merge-diff); the comments name the place. It is a model, not a
// re-implementation: server-side apply tracks ownership per label/annotation/data
// key and per top-level field (lists are atomic), which is what the tool relies on.
//
// Facts worth knowing when you drive it with kubectl:
// - `kubectl apply -f` of a `v1 List` validates the items client side against
//   /openapi/v2, which kubectl only accepts as protobuf
//   (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`); a JSON body fails
//   with "proto: cannot parse invalid wire-format data". This server therefore
//   encodes openapi-v2.json's definitions into gnostic's OpenAPIv2 protobuf once per
//   process. Single objects are checked against /openapi/v3 (JSON) instead.
// - The Google Cloud SDK kubectl "dispatcher" GETs /version first (user agent
//   kubectl-dispatcher/...) to pick a kubectl binary; it shows up in `requests`.
// - Request bodies are never logged or recorded.
//
// This file is the entry: it builds the cluster (store.ts, authz.ts, faults.ts, holds.ts,
// handlers/watch.ts), starts the HTTPS server that hands each request to
// router.ts, and returns the handle tests drive (api.ts), whose direct state
// access bypasses HTTP and RBAC but goes through the same store.

import https from "node:https";
import type { Socket } from "node:net";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { issueServerCert, makeCA } from "../certs.ts";
import type { DenyRule, Fault, Hold, KubeResource, KubeStandIn, PolicyRule, RecordedRequest } from "./api.ts";
import { ADMIN, Authz } from "./authz.ts";
import type { Cluster } from "./context.ts";
import { loadCaptures } from "./discovery.ts";
import { Faults } from "./faults.ts";
import { Holds } from "./holds.ts";
import { applyDefaults, normalize } from "./handlers/request.ts";
import { Watches } from "./handlers/watch.ts";
import { clone, nowRFC3339 } from "./json.ts";
import { latencyFromEnv, ServiceSlots, type LatencyModel } from "./latency.ts";
import { RESOURCES, canonical } from "./resources.ts";
import { handleRequest } from "./router.ts";
import { Store, namespaceDefaults, stampNew } from "./store.ts";

export async function startKubeStandIn(opts: { dir?: string; latency?: LatencyModel } = {}): Promise<KubeStandIn> {
  const latency = opts.latency ?? latencyFromEnv();
  const slots = latency && latency.serviceMs > 0 ? new ServiceSlots(latency.serviceMs, latency.slots ?? 2) : undefined;
  const serve = (): Promise<void> | undefined => slots?.serve();
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "kube-standin-"));
  mkdirSync(dir, { recursive: true });
  const ca = makeCA(join(dir, "pki"), "kube-ca");
  const cert = issueServerCert(join(dir, "pki"), ca, "kube-apiserver");

  const store = new Store();
  const k: Cluster = {
    store,
    authz: new Authz(store),
    watches: new Watches(),
    faults: new Faults(),
    holds: new Holds(),
    captures: loadCaptures(),
  };
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();

  const server = https.createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    const url = new URL(req.url ?? "/", "https://127.0.0.1");
    const rec: RecordedRequest = {
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.search.replace(/^\?/, ""),
      user: "",
      status: 0,
    };
    const ct = req.headers["content-type"];
    if (ct) rec.contentType = String(ct);
    requests.push(rec);
    res.on("finish", () => {
      rec.status = res.statusCode;
    });
    res.on("close", () => {
      if (!rec.status) rec.status = res.headersSent ? res.statusCode : 0;
    });
    void handleRequest(k, req, res, url, rec, serve);
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => ok());
  });
  const addr = server.address();
  if (!addr || typeof addr === "string") throw new Error("kube-standin: no address");
  const url = `https://127.0.0.1:${addr.port}`;
  const caB64 = Buffer.from(ca.cert).toString("base64");

  const tokenOf = (user: string): string => {
    const u = k.authz.user(user);
    if (!u) throw new Error(`kube-standin: unknown user ${user}`);
    return u.token;
  };

  const api: KubeStandIn = {
    url,
    caPath: ca.certPath,
    requests,
    writeKubeconfig(targetDir: string, user = ADMIN): string {
      const token = tokenOf(user);
      mkdirSync(targetDir, { recursive: true });
      const file = join(targetDir, `kubeconfig-${user}`);
      writeFileSync(file, kubeconfig(url, caB64, user, token), { mode: 0o600 });
      return file;
    },
    tokenFor(user = ADMIN): string {
      return tokenOf(user);
    },
    addUser(name: string, rules: PolicyRule[] = []): void {
      k.authz.addUser(name, rules);
    },
    deny(rule: DenyRule): void {
      k.authz.deny(rule);
    },
    clearDenials(): void {
      k.authz.clearDenials();
    },
    createNamespace(name: string, labels?: Record<string, string>): void {
      store.createNamespace(name, labels);
    },
    getObject(resource: KubeResource, namespace: string | undefined, name: string): any {
      const o = store.get(RESOURCES[resource], namespace, name);
      return o ? canonical(RESOURCES[resource], o) : undefined;
    },
    putObject(resource: KubeResource, obj: any): any {
      const r = RESOURCES[resource];
      const o = clone(obj);
      normalize(r, o);
      applyDefaults(r, o);
      if (!o.metadata.name) throw new Error("kube-standin: putObject needs metadata.name");
      if (r.namespaced && !o.metadata.namespace) throw new Error("kube-standin: putObject needs metadata.namespace");
      const cur = store.get(r, o.metadata.namespace, o.metadata.name);
      if (cur) {
        o.metadata.uid = cur.metadata.uid;
        o.metadata.creationTimestamp = cur.metadata.creationTimestamp;
      } else {
        if (r.name === "namespaces") namespaceDefaults(o);
        stampNew(o);
      }
      o.metadata.resourceVersion = store.nextRV();
      const saved = store.put(r, o);
      k.watches.notify(r, cur ? "MODIFIED" : "ADDED", saved);
      if (r.name === "namespaces") store.ensureDefaultServiceAccount(o.metadata.name);
      return canonical(r, saved);
    },
    deleteObject(resource: KubeResource, namespace: string | undefined, name: string): boolean {
      if (resource === "namespaces") store.purgeNamespace(name);
      return store.delete(resource, namespace, name);
    },
    terminateNamespace(name: string): void {
      const r = RESOURCES.namespaces;
      const cur = store.get(r, undefined, name);
      if (!cur) throw new Error(`kube-standin: no namespace ${name}`);
      // The namespace controller has deleted what it could; a finalizer it waits on keeps the namespace.
      store.purgeNamespace(name);
      const next = clone(cur);
      next.metadata.deletionTimestamp = nowRFC3339();
      next.spec = { finalizers: ["kubernetes"] };
      next.status = { phase: "Terminating" };
      next.metadata.resourceVersion = store.nextRV();
      k.watches.notify(r, "MODIFIED", store.put(r, next));
    },
    listObjects(resource: KubeResource, namespace?: string): any[] {
      return store.list(resource, namespace);
    },
    resetRequests(): void {
      requests.length = 0;
    },
    fault(f: Fault): void {
      k.faults.add(f);
    },
    hold(h: Hold): void {
      k.holds.add(h);
    },
    clearFaults(): void {
      k.faults.clear();
      k.holds.clear();
    },
    async close(): Promise<void> {
      k.watches.close();
      await new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections?.();
        for (const s of sockets) s.destroy();
      });
    },
  };
  return api;
}

/** A kubeconfig for one user: bearer token, the CA embedded, context "standin" in namespace default. */
function kubeconfig(server: string, caB64: string, user: string, token: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: standin",
    "  cluster:",
    `    server: ${server}`,
    `    certificate-authority-data: ${caB64}`,
    "users:",
    `- name: ${JSON.stringify(user)}`,
    "  user:",
    `    token: ${JSON.stringify(token)}`,
    "contexts:",
    "- name: standin",
    "  context:",
    "    cluster: standin",
    `    user: ${JSON.stringify(user)}`,
    "    namespace: default",
    "current-context: standin",
    "preferences: {}",
    "",
  ].join("\n");
}
