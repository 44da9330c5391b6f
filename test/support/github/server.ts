// The GitHub REST API stand-in for the github: store of rotate-api-token:
// HTTPS on 127.0.0.1 (random port) with a certificate of the test PKI, the
// Actions secrets endpoints of repositories and environments (handlers/),
// GitHub's error bodies, and the handle tests drive (api.ts).
import https from "node:https";
import type { Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { issueServerCert, makeCA } from "../certs.ts";
import type { GitHubStandIn, RecordedRequest } from "./api.ts";
import { onRequest } from "./router.ts";
import { Store, type Repo, type Vault } from "./store.ts";

export type { GitHubStandIn, TokenGrant } from "./api.ts";

export async function startGitHubStandIn(opts: { dir?: string; now?: () => Date } = {}): Promise<GitHubStandIn> {
  await Store.ready();
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "github-standin-"));
  const ca = makeCA(join(dir, "pki"), "github-ca");
  const cert = issueServerCert(join(dir, "pki"), ca, "github-api");
  const s = new Store(opts.now ?? (() => new Date()));
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();

  const server = https.createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    onRequest(s, requests, req, res).catch(() => req.socket.destroy());
  });
  server.on("secureConnection", (sock: Socket) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  if (!addr || typeof addr === "string") throw new Error("github stand-in: no address");

  const repoOf = (fullName: string): Repo => {
    const repo = s.repo(fullName);
    if (!repo) throw new Error(`github stand-in: no repository ${fullName}`);
    return repo;
  };
  const vaultOf = (fullName: string, environment?: string): Vault => {
    const repo = repoOf(fullName);
    if (environment === undefined) return repo.vault;
    const vault = s.environment(repo, environment);
    if (!vault) throw new Error(`github stand-in: no environment ${environment} in ${fullName}`);
    return vault;
  };

  return {
    url: `https://127.0.0.1:${addr.port}`,
    caPath: ca.certPath,
    addRepo(fullName, environments = []) {
      const vault = (): Vault => ({ keys: s.newKeys(), secrets: new Map() });
      s.repos.set(fullName.toLowerCase(), {
        fullName,
        vault: vault(),
        environments: new Map(environments.map((e) => [e.toLowerCase(), vault()])),
      });
    },
    addToken(token, grant) {
      s.tokens.set(token, { ...grant, repos: [...grant.repos] });
    },
    setGrant(token, grant) {
      const g = s.tokens.get(token);
      if (!g) throw new Error("github stand-in: unknown token");
      Object.assign(g, grant);
    },
    putSecret(fullName, name, value, environment) {
      s.put(vaultOf(fullName, environment), name, value);
    },
    secret(fullName, name, environment) {
      const found = vaultOf(fullName, environment).secrets.get(name.toUpperCase());
      return found ? { ...found } : undefined;
    },
    publicKey(fullName, environment) {
      const { keys } = vaultOf(fullName, environment);
      return { keyId: keys.keyId, key: Buffer.from(keys.publicKey).toString("base64") };
    },
    requests,
    resetRequests() {
      requests.length = 0;
    },
    async close() {
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
