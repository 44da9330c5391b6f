// Start-up and connection costs: undici is loaded only when a request needs
// it, and one TLS secure context per CA bundle serves every connection.
import assert from "node:assert/strict";
import { readFileSync, mkdtempSync } from "node:fs";
import { execFile } from "node:child_process";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { dispatcher, secureContextFor } from "../../src/adapters/tls.js";
import { dispatcherOf, LazyDispatcher } from "../../src/adapters/undici.js";
import { issueServerCert, makeCA, type Pem } from "../support/certs.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

test("the CLI bundle evaluates undici only inside a dynamic import (not at start-up)", () => {
  const cli = readFileSync(join(ROOT, "dist", "cli.js"), "utf8");
  const calls = cli.split("\n").filter((l) => l.includes("require_undici()"));
  assert.ok(calls.length > 0, "undici is in the bundle");
  for (const line of calls)
    assert.match(line, /Promise\.resolve\(\)\.then\(\(\) => __toESM\(require_undici\(\)/, line.trim());
});

/** An HTTPS server on loopback answering "ok", with a certificate `ca` signs. */
async function serveOk(dir: string, ca: Pem, name: string) {
  const cert = issueServerCert(dir, ca, name);
  const server = https.createServer({ key: cert.key, cert: cert.cert }, (_req, res) => res.end("ok"));
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    server,
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    async close() {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    },
  };
}

test("one secure context per CA bundle; the dispatcher is built on first use and trusts the CA on every connection", async () => {
  const dir = mkdtempSync(join(tmpdir(), "gps-tls-"));
  const ca = makeCA(dir, "ca");
  const other = makeCA(dir, "other");
  assert.equal(secureContextFor(ca.cert), secureContextFor(ca.cert));
  assert.notEqual(secureContextFor(ca.cert), secureContextFor(other.cert));

  const { server, url, close } = await serveOk(dir, ca, "server");
  const sockets = new Set<unknown>();
  server.on("secureConnection", (s) => sockets.add(s));
  try {
    const d = dispatcher(ca.cert);
    assert.ok(d instanceof LazyDispatcher);
    const agent = (await dispatcherOf(d))!;
    assert.equal(await dispatcherOf(d), agent, "built once");
    const { fetch } = await import("undici");
    for (let i = 0; i < 3; i++) {
      // A new connection each time: the context is shared, not the socket.
      const res = await fetch(url, { dispatcher: agent, headers: { connection: "close" } });
      assert.equal(await res.text(), "ok");
    }
    assert.equal(sockets.size, 3);
    const wrong = (await dispatcherOf(dispatcher(other.cert)))!;
    await assert.rejects(fetch(url, { dispatcher: wrong }), /fetch failed/);
    assert.equal(dispatcher(undefined), undefined, "system roots: undici's default dispatcher");
    await agent.close();
    await wrong.close();
  } finally {
    await close();
  }
});

test("the extra CA is added to Node's root store, not put in its place", async () => {
  // NODE_EXTRA_CA_CERTS is read into the root store when Node starts, so a child stands for "the system roots":
  // a server signed by the root-store CA and one signed by --ca-file's CA must both be trusted, and a third not.
  const dir = mkdtempSync(join(tmpdir(), "gps-tls-"));
  const rootStoreCa = makeCA(dir, "root-store");
  const extraCa = makeCA(dir, "extra");
  const strangerCa = makeCA(dir, "stranger");
  const servers = await Promise.all([rootStoreCa, extraCa, strangerCa].map((ca, i) => serveOk(dir, ca, `server-${i}`)));
  const urls = servers.map((s) => s.url);
  const child = `
    import https from "node:https";
    import { readFileSync } from "node:fs";
    import { secureContextFor } from ${JSON.stringify(join(ROOT, "src/adapters/tls.ts"))};
    const secureContext = secureContextFor(readFileSync(${JSON.stringify(extraCa.certPath)}, "utf8"));
    const get = (url) => new Promise((ok) =>
      https.get(url, { secureContext, agent: false }, (res) => res.resume().on("end", () => ok("trusted")))
        .on("error", (e) => ok(e.code)));
    console.log(JSON.stringify(await Promise.all(${JSON.stringify(urls)}.map(get))));
  `;
  try {
    const out = await new Promise<string>((ok, fail) => {
      execFile(
        process.execPath,
        ["--import", "tsx", "--input-type=module", "-e", child],
        { cwd: ROOT, env: { ...process.env, NODE_EXTRA_CA_CERTS: rootStoreCa.certPath } },
        (err, stdout, stderr) => (err ? fail(new Error(`${err.message}\n${stderr}`)) : ok(stdout)),
      );
    });
    assert.deepEqual(JSON.parse(out), ["trusted", "trusted", "UNABLE_TO_VERIFY_LEAF_SIGNATURE"]);
  } finally {
    for (const s of servers) await s.close();
  }
});
