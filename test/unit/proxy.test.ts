// The proxy variables: how they are read and checked, which forms of the
// credentials are secrets, and how requests are routed (proxy or direct, by
// NO_PROXY) through the dispatcher the tool uses, against a CONNECT proxy
// stand-in and real origins on loopback. Refusals arrive as ProxyRefusal with
// the proxy's host and never its credentials.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { rootCertificates } from "node:tls";
import * as undici from "undici";
import { fetch, type Dispatcher } from "undici";
import { UsageError } from "../../src/model/errors.js";
import { describeProxyRefusal, proxyDispatcher, proxyRefusalOf } from "../../src/adapters/proxy.js";
import { issueServerCert, makeCA } from "../support/certs.ts";
import { closedPort, startProxyStandIn, type ProxyStandIn } from "../support/proxy-standin.ts";
import {
  normalizeNoProxy,
  proxySecretForms,
  readProxySettings,
  type ProxySettings,
} from "../../src/config/proxy-settings.js";

const USER = "corp\\svc-runner";
const PASSWORD = "Pr0xy:p@ss w/rd%";
const ENCODED = encodeURIComponent(PASSWORD);

function usage(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof UsageError, String(err));
    return err;
  }
  assert.fail("no UsageError");
}

describe("readProxySettings", () => {
  test("no proxy variable: undefined, NO_PROXY alone changes nothing", () => {
    assert.equal(readProxySettings({}), undefined);
    assert.equal(readProxySettings({ NO_PROXY: "example.com", HTTPS_PROXY: "  " }), undefined);
  });

  test("lower case wins over upper case, as curl and undici read them; empty values do not count", () => {
    const s = readProxySettings({
      https_proxy: "http://lower:3128",
      HTTPS_PROXY: "http://upper:3128",
      HTTP_PROXY: "http://plain:8080",
      http_proxy: "",
    })!;
    assert.equal(s.https?.host, "lower:3128");
    assert.equal(s.https?.variable, "https_proxy");
    assert.equal(s.http?.host, "plain:8080");
    assert.equal(s.http?.variable, "HTTP_PROXY");
  });

  test("a query or a fragment is refused without showing it (it may hold a token); credentials are a proxy's own", () => {
    for (const [value, part] of [
      ["http://proxy.corp:3128/?token=glpat-secret-in-query", "a query"],
      ["http://proxy.corp:3128/#glpat-secret-in-fragment", "a fragment"],
    ]) {
      const err = usage(() => readProxySettings({ HTTPS_PROXY: value! }));
      assert.match(
        err.message,
        new RegExp(`HTTPS_PROXY: invalid value "http://proxy.corp:3128"; expected .*without ${part}`),
      );
      assert.doesNotMatch(err.message, /glpat-secret/);
    }
    assert.equal(
      readProxySettings({ HTTPS_PROXY: `http://u:${ENCODED}@proxy.corp:3128` })!.https?.host,
      "proxy.corp:3128",
    );
  });

  test("a bare host:port is an http:// proxy", () => {
    const s = readProxySettings({ HTTPS_PROXY: "proxy.corp:3128" })!;
    assert.equal(s.https?.url.reveal(), "http://proxy.corp:3128/");
    assert.equal(s.http, undefined);
  });

  test("credentials: every text form is a secret, the URL itself is never printable", () => {
    const s = readProxySettings({ HTTPS_PROXY: `http://${encodeURIComponent(USER)}:${ENCODED}@proxy.corp:3128` })!;
    const basic = Buffer.from(`${USER}:${PASSWORD}`).toString("base64");
    const forms = proxySecretForms(s);
    for (const f of [PASSWORD, ENCODED, `${USER}:${PASSWORD}`, basic, basic.replace(/=+$/, "")])
      assert.ok(forms.includes(f), `missing form ${f.slice(0, 4)}`);
    assert.equal(String(s.https?.url), "[redacted]");
    assert.equal(JSON.stringify(s).includes(ENCODED), false);
    assert.equal(s.https?.host, "proxy.corp:3128");
  });

  test("bad proxy URLs are usage errors naming the variable, never showing credentials", () => {
    const cases: Array<[Record<string, string>, string, RegExp]> = [
      [{ HTTPS_PROXY: "socks5://user:hunter22@proxy:1080" }, "HTTPS_PROXY", /socks5:\/\/\*\*\*@proxy:1080/],
      [{ https_proxy: "http://user:hunter22@[bad" }, "https_proxy", /a proxy URL such as/],
      [{ HTTP_PROXY: "http://user:hunter22%zz@proxy:3128" }, "HTTP_PROXY", /percent-encoded/],
      [{ HTTP_PROXY: "http://useronly@proxy:3128" }, "HTTP_PROXY", /a user needs a password/],
      [{ HTTP_PROXY: "ftp://proxy:21" }, "HTTP_PROXY", /http:\/\/ or https:\/\//],
    ];
    for (const [env, name, message] of cases) {
      const err = usage(() => readProxySettings(env));
      assert.equal(err.option, name);
      assert.match(err.message, message);
      assert.doesNotMatch(err.message, /hunter22/);
      assert.equal(err.exitCode, 2);
    }
  });

  test("NO_PROXY: bare IPv6 literals bracketed and compressed, separators and spaces tidied", () => {
    assert.equal(
      normalizeNoProxy(" ::1, 0:0:0:0:0:0:0:1 .example.com,host:8443,[::1]:5005 "),
      "[::1],[::1],.example.com,host:8443,[::1]:5005",
    );
    assert.equal(normalizeNoProxy(" * "), "*");
    assert.equal(readProxySettings({ HTTPS_PROXY: "proxy:1", no_proxy: "a", NO_PROXY: "b" })!.noProxy, "a");
  });
});

describe("routing through the dispatcher", () => {
  let dir: string;
  let proxy: ProxyStandIn;
  let plain: Server;
  let plain6: Server;
  let tls: Server;
  let plainPort: number;
  let plain6Port: number;
  let tlsPort: number;
  let ca: string[];
  const open: Dispatcher[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "gps-proxy-unit-"));
    const authority = makeCA(dir, "ca");
    const cert = issueServerCert(dir, authority, "origin");
    ca = [...rootCertificates, authority.cert];
    const hello =
      (name: string) => (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) =>
        res.end(`${name} ${req.url}`);
    plain = createHttpServer(hello("plain"));
    plain6 = createHttpServer(hello("plain6"));
    tls = createHttpsServer({ cert: cert.cert, key: cert.key }, hello("tls"));
    await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
    await new Promise<void>((r) => plain6.listen(0, "::1", r));
    await new Promise<void>((r) => tls.listen(0, "127.0.0.1", r));
    plainPort = (plain.address() as AddressInfo).port;
    plain6Port = (plain6.address() as AddressInfo).port;
    tlsPort = (tls.address() as AddressInfo).port;
    proxy = await startProxyStandIn();
    proxy.mapHost("gitlab.example.test");
  });
  after(async () => {
    await Promise.all(open.map((d) => d.close()));
    await proxy.close();
    for (const s of [plain, plain6, tls]) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    proxy.reset();
    proxy.requireAuth(undefined);
    proxy.deny(undefined);
  });

  function settings(env: Record<string, string>): ProxySettings {
    return readProxySettings(env)!;
  }
  async function get(url: string, s: ProxySettings, withCa = true): Promise<string> {
    const d = proxyDispatcher(undici, s, withCa ? { ca } : undefined);
    open.push(d);
    const res = await fetch(url, { dispatcher: d });
    return res.text();
  }
  async function failure(url: string, s: ProxySettings, withCa = true): Promise<unknown> {
    try {
      await get(url, s, withCa);
    } catch (err) {
      return err;
    }
    assert.fail(`${url} did not fail`);
  }
  const targets = (): string[] => proxy.tunnels.map((t) => t.target);

  test("https origin with HTTPS_PROXY: one tunnel, and --ca-file's CA verifies the origin through it", async () => {
    assert.equal(await get(`https://127.0.0.1:${tlsPort}/a`, settings({ HTTPS_PROXY: proxy.url() })), "tls /a");
    assert.deepEqual(targets(), [`127.0.0.1:${tlsPort}`]);
    const err = await failure(`https://127.0.0.1:${tlsPort}/a`, settings({ HTTPS_PROXY: proxy.url() }), false);
    assert.equal(proxyRefusalOf(err), undefined, "an untrusted origin is the origin's failure, not the proxy's");
    assert.match(
      String((err as { cause?: { code?: string } }).cause?.code),
      /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/,
    );
  });

  test("http origin: HTTP_PROXY, not HTTPS_PROXY; an https origin falls back to HTTP_PROXY (undici's rule)", async () => {
    assert.equal(await get(`http://127.0.0.1:${plainPort}/b`, settings({ HTTPS_PROXY: proxy.url() })), "plain /b");
    assert.deepEqual(targets(), [], "HTTPS_PROXY does not carry http:// requests");
    assert.equal(await get(`http://127.0.0.1:${plainPort}/b`, settings({ HTTP_PROXY: proxy.url() })), "plain /b");
    assert.equal(await get(`https://127.0.0.1:${tlsPort}/c`, settings({ HTTP_PROXY: proxy.url() })), "tls /c");
    assert.deepEqual(targets(), [`127.0.0.1:${plainPort}`, `127.0.0.1:${tlsPort}`]);
    assert.deepEqual(proxy.forwarded, [], "everything tunnels with CONNECT");
  });

  test("credentials in the URL arrive as Proxy-Authorization, decoded", async () => {
    const credentials = { username: USER, password: PASSWORD };
    proxy.requireAuth(credentials);
    assert.equal(
      await get(`https://127.0.0.1:${tlsPort}/d`, settings({ HTTPS_PROXY: proxy.url(credentials) })),
      "tls /d",
    );
    assert.equal(
      proxy.tunnels[0]?.proxyAuthorization,
      `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`,
    );
  });

  const bypass: Array<[string, string, boolean]> = [
    ["no NO_PROXY", "", true],
    ["the host", "gitlab.example.test", false],
    ["a parent domain", "example.test", false],
    ["a .domain suffix", ".example.test", false],
    ["a *.domain suffix", "*.example.test", false],
    ["another domain", "example.com,other.test", true],
    ["host:port, the same port", "gitlab.example.test:PORT", false],
    ["host:port, another port", "gitlab.example.test:1", true],
    ["*", "*", false],
  ];
  for (const [what, noProxy, proxied] of bypass) {
    test(`NO_PROXY ${what}: ${proxied ? "through the proxy" : "direct"}`, async () => {
      const s = settings({ HTTP_PROXY: proxy.url(), NO_PROXY: noProxy.replace("PORT", String(plainPort)) });
      const url = `http://gitlab.example.test:${plainPort}/e`;
      if (proxied) {
        // Only the proxy knows the name, so an answer proves the request went through it.
        assert.equal(await get(url, s), "plain /e");
        assert.deepEqual(targets(), [`gitlab.example.test:${plainPort}`]);
      } else {
        const err = await failure(url, s);
        assert.equal(proxyRefusalOf(err), undefined);
        assert.equal(
          (err as { cause?: { code?: string } }).cause?.code,
          "ENOTFOUND",
          "resolved here: the proxy was bypassed",
        );
        assert.deepEqual(targets(), []);
      }
    });
  }

  test("NO_PROXY IP literals: 127.0.0.1, and a bare ::1 (undici alone would read it as host ':' port 1)", async () => {
    assert.equal(
      await get(`http://127.0.0.1:${plainPort}/f`, settings({ HTTP_PROXY: proxy.url(), NO_PROXY: "127.0.0.1" })),
      "plain /f",
    );
    assert.equal(
      await get(`http://[::1]:${plain6Port}/f`, settings({ HTTP_PROXY: proxy.url(), NO_PROXY: "::1" })),
      "plain6 /f",
    );
    assert.deepEqual(targets(), []);
    assert.equal(
      await get(`http://[::1]:${plain6Port}/g`, settings({ HTTP_PROXY: proxy.url(), NO_PROXY: "127.0.0.1" })),
      "plain6 /g",
    );
    assert.deepEqual(targets(), [`[::1]:${plain6Port}`], "loopback is not bypassed unless listed");
  });

  test("refusals are ProxyRefusals naming the proxy, never its credentials", async () => {
    const credentials = { username: USER, password: PASSWORD };
    const url = `https://127.0.0.1:${tlsPort}/h`;
    const refusal = async (env: Record<string, string>) => {
      const r = proxyRefusalOf(await failure(url, settings(env)));
      assert.ok(r, "a ProxyRefusal");
      const { detail, hint } = describeProxyRefusal(r);
      for (const text of [detail, hint, r.message]) {
        assert.ok(!text.includes(PASSWORD) && !text.includes(ENCODED) && !text.includes(USER), text);
      }
      return { r, text: `${detail}. ${hint}` };
    };

    proxy.requireAuth(credentials);
    let { r, text } = await refusal({ HTTPS_PROXY: proxy.url() });
    assert.equal(r.status, 407);
    assert.equal(r.sentCredentials, false);
    assert.match(
      text,
      new RegExp(
        `the proxy ${proxy.host} refused the tunnel to 127\\.0\\.0\\.1:${tlsPort} \\(HTTP 407 Proxy Authentication Required\\)\\. The proxy requires credentials: put them in HTTPS_PROXY`,
      ),
    );

    ({ r, text } = await refusal({ HTTPS_PROXY: proxy.url({ username: USER, password: "wrong-password" }) }));
    assert.equal(r.sentCredentials, true);
    assert.match(text, /rejected the credentials in HTTPS_PROXY/);

    proxy.requireAuth(undefined);
    proxy.deny(/./);
    ({ r, text } = await refusal({ https_proxy: proxy.url(credentials), HTTP_PROXY: proxy.url(credentials) }));
    assert.equal(r.status, 403);
    assert.equal(r.code, "PROXY_403");
    assert.match(text, /HTTP 403 Forbidden\)\. The proxy does not allow connections to .*add it to NO_PROXY/);

    proxy.deny(undefined);
    const gone = await closedPort();
    const nowhere = proxy.url().replace(/:\d+$/, `:${gone}`);
    ({ r, text } = await refusal({ https_proxy: nowhere, HTTP_PROXY: nowhere }));
    assert.equal(r.status, undefined);
    assert.equal(r.code, "ECONNREFUSED");
    assert.match(
      text,
      new RegExp(
        `cannot connect to the proxy 127\\.0\\.0\\.1:${gone} \\(ECONNREFUSED\\).*Check the proxy's host and port in https_proxy / HTTP_PROXY`,
      ),
    );
  });

  test("a proxy that cannot reach the origin: 502, told apart from a refusal", async () => {
    const gone = await closedPort();
    const r = proxyRefusalOf(await failure(`https://127.0.0.1:${gone}/i`, settings({ HTTPS_PROXY: proxy.url() })));
    assert.equal(r?.status, 502);
    assert.match(
      describeProxyRefusal(r!).detail,
      new RegExp(`could not open a tunnel to 127\\.0\\.0\\.1:${gone} \\(HTTP 502 Bad Gateway\\)`),
    );
  });
});
