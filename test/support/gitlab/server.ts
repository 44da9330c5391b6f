// The GitLab stand-in's entry: makes the registry JWT signing cert, starts
// the HTTP server on 127.0.0.1 (random port) that hands each request to
// router.ts, and returns the handle tests drive (api.ts). The handle's setup
// methods write the store directly; nothing here answers a request.
import { createServer, type ServerResponse } from "node:http";
import { createPrivateKey } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libtrustKeyId, makeSigningCert } from "../certs.ts";
import type { AccessTokenState, GitLabStandIn, RecordedRequest } from "./api.ts";
import { ROLE_LEVEL } from "./auth.ts";
import { Faults } from "./faults.ts";
import { onRequest } from "./router.ts";
import { type Pat, Store } from "./store.ts";

export async function startGitLabStandIn(opts: { dir?: string; now?: () => Date } = {}): Promise<GitLabStandIn> {
  const now = opts.now ?? ((): Date => new Date());
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), "gitlab-standin-"));
  const signing = makeSigningCert(dir, "gitlab-jwt-signing");
  const kid = libtrustKeyId(signing.cert);
  const s = new Store(now, { key: createPrivateKey(signing.key), kid });
  const faults = new Faults();
  const requests: RecordedRequest[] = [];
  /** Requests a `timeout` fault left unanswered, destroyed on close. */
  const pending = new Set<ServerResponse>();
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    onRequest(s, faults, requests, pending, req, res).catch(() => req.socket.destroy());
  });
  server.on("connection", (sock: Socket) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  if (!addr || typeof addr === "string") throw new Error("gitlab stand-in: no address");
  s.baseUrl = `http://127.0.0.1:${addr.port}`;

  const tokenState = (p: Pat): AccessTokenState => ({
    id: p.id,
    username: p.username,
    scopes: [...p.scopes],
    expiresAt: p.expiresAt,
    revoked: p.revoked,
    active: !p.revoked && !s.patExpired(p),
    family: p.family,
  });

  const standIn: GitLabStandIn = {
    url: s.baseUrl,
    addUser(u) {
      s.addUser(u);
    },
    addPersonalAccessToken(username, token, scopes, o = {}) {
      if (!s.users.has(username)) throw new Error(`gitlab stand-in: unknown user ${username}`);
      if (o.expiresAt != null && !/^\d{4}-\d{2}-\d{2}$/.test(o.expiresAt))
        throw new Error(`gitlab stand-in: expiresAt ${o.expiresAt} is not YYYY-MM-DD`);
      s.addPat(username, token, scopes, o);
    },
    addResourceAccessToken(owner, token, scopes, o = {}) {
      const list = owner.kind === "project" ? s.projects : s.groups;
      const res = list.find((x) => x.id === owner.id);
      if (!res) throw new Error(`gitlab stand-in: no ${owner.kind} ${owner.id}`);
      const role = o.role ?? "maintainer";
      const username = `${owner.kind}_${owner.id}_bot_${s.users.size + 1}`;
      s.addUser({ username });
      res.members[username] = role;
      s.addPat(username, token, scopes, {
        ...o,
        resource: { kind: owner.kind, id: owner.id, accessLevel: ROLE_LEVEL[role] },
      });
    },
    accessToken(secret) {
      const p = s.pats.get(secret);
      return p ? tokenState(p) : undefined;
    },
    accessTokensOf(username) {
      return [...s.pats.values()].filter((p) => p.username === username).map(tokenState);
    },
    addVariable(owner, v) {
      s.variables.push({
        owner: { ...owner },
        key: v.key,
        value: v.value,
        variableType: v.variableType ?? "env_var",
        protected: v.protected ?? false,
        masked: v.masked ?? false,
        raw: v.raw ?? false,
        hidden: v.hidden ?? false,
        environmentScope: v.environmentScope ?? "*",
        description: v.description ?? null,
      });
    },
    variables(owner, key) {
      return s.variables
        .filter((v) => v.owner.kind === owner.kind && v.owner.id === owner.id && v.key === key)
        .map((v) => ({
          key: v.key,
          value: v.value,
          variableType: v.variableType,
          protected: v.protected,
          masked: v.masked,
          raw: v.raw,
          hidden: v.hidden,
          environmentScope: v.environmentScope,
          description: v.description,
        }));
    },
    setPatSelf(mode) {
      s.patSelf = mode;
    },
    addProject(p) {
      s.projects.push({
        id: p.id,
        path: p.path,
        registryEnabled: p.registryEnabled ?? true,
        members: { ...(p.members ?? {}) },
      });
    },
    addGroup(g) {
      s.groups.push({ id: g.id, path: g.path, members: { ...(g.members ?? {}) } });
    },
    setRegistry(r) {
      s.registry = r ? { host: r.host } : null;
    },
    tokens: s.tokens,
    isLive(id) {
      const t = s.tokens.find((x) => x.id === id);
      return t !== undefined && s.active(t);
    },
    revokeToken(id) {
      const t = s.tokens.find((x) => x.id === id);
      if (!t) throw new Error(`gitlab stand-in: no deploy token ${id}`);
      t.revoked = true;
    },
    requests,
    resetRequests() {
      requests.length = 0;
    },
    fault(f) {
      faults.add(f);
    },
    clearFaults() {
      faults.clear();
    },
    jwt: {
      realm: `${s.baseUrl}/jwt/auth`,
      service: "container_registry",
      issuer: "gitlab-issuer",
      signingCertPath: signing.certPath,
      kid,
    },
    async close() {
      for (const r of pending) r.destroy();
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return standIn;
}
