// A forward proxy for tests: HTTP CONNECT on 127.0.0.1, as Squid and the
// corporate proxies in front of runners serve it. It records every tunnel
// (target, Proxy-Authorization as sent, its answer, and the first bytes the
// client sent through it, so the request lines of a plain-HTTP origin can be
// read), can require Basic credentials (407 with Proxy-Authenticate), deny
// targets (403 with an HTML page, as Squid's ACLs do), and map host names to
// 127.0.0.1 so a name only the proxy can resolve proves traffic went through it.
import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect, createServer as createTcpServer, type Socket } from "node:net";

export interface Tunnel {
  /** host:port as in the CONNECT request line. */
  target: string;
  proxyAuthorization: string | undefined;
  /** What the proxy answered: 200, 407, 403, 502. */
  status: number;
  /** The first bytes the client sent through the tunnel (up to 64 KiB). */
  sent: Buffer;
}

export interface ProxyStandIn {
  /** host:port of the proxy. */
  host: string;
  /** http://[user:password@]127.0.0.1:PORT, the user and password percent-encoded. */
  url(credentials?: { username: string; password: string }): string;
  tunnels: Tunnel[];
  /** Requests that were not CONNECT (absolute-form forwarding): answered 405 and recorded. */
  forwarded: Array<{ method: string; url: string }>;
  /** Answer 407 to any CONNECT without exactly these credentials; undefined: no authentication. */
  requireAuth(credentials: { username: string; password: string } | undefined): void;
  /** Answer 403 to CONNECTs whose target matches. */
  deny(target: RegExp | undefined): void;
  /** Host names the proxy resolves to 127.0.0.1 (names nothing else can resolve). */
  mapHost(name: string): void;
  /** "METHOD path" of every HTTP/1.1 request line sent through tunnels to `target` (plain-HTTP origins only). */
  requestLines(target: string): string[];
  reset(): void;
  close(): Promise<void>;
}

const CAPTURE = 64 * 1024;
const SQUID_403 =
  "<html><head><title>ERROR: The requested URL could not be retrieved</title></head><body><p>Access Denied.</p></body></html>";

export async function startProxyStandIn(): Promise<ProxyStandIn> {
  const tunnels: Tunnel[] = [];
  const forwarded: Array<{ method: string; url: string }> = [];
  const sockets = new Set<Socket>();
  const mapped = new Set<string>();
  let auth: string | undefined;
  let denied: RegExp | undefined;

  const answer = (
    client: Socket,
    status: number,
    reason: string,
    headers: Record<string, string> = {},
    body = "",
  ): void => {
    const lines = [
      `HTTP/1.1 ${status} ${reason}`,
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      `Content-Length: ${Buffer.byteLength(body)}`,
      "Connection: close",
    ];
    client.end(`${lines.join("\r\n")}\r\n\r\n${body}`);
  };

  function onConnect(req: IncomingMessage, client: Socket, head: Buffer): void {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    const target = req.url ?? "";
    const tunnel: Tunnel = {
      target,
      proxyAuthorization: req.headers["proxy-authorization"],
      status: 0,
      sent: Buffer.alloc(0),
    };
    tunnels.push(tunnel);
    if (auth !== undefined && tunnel.proxyAuthorization !== auth) {
      tunnel.status = 407;
      answer(client, 407, "Proxy Authentication Required", { "Proxy-Authenticate": 'Basic realm="test proxy"' });
      return;
    }
    if (denied?.test(target)) {
      tunnel.status = 403;
      answer(client, 403, "Forbidden", { "Content-Type": "text/html" }, SQUID_403);
      return;
    }
    const m = /^(.+):(\d+)$/.exec(target);
    if (!m) {
      tunnel.status = 400;
      answer(client, 400, "Bad Request");
      return;
    }
    const host = m[1]!.replace(/^\[(.*)\]$/, "$1");
    const upstream = connect(Number(m[2]), mapped.has(host) ? "127.0.0.1" : host);
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.once("error", () => {
      if (tunnel.status === 0) {
        tunnel.status = 502;
        answer(client, 502, "Bad Gateway");
      } else client.destroy();
    });
    upstream.once("connect", () => {
      tunnel.status = 200;
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      const record = (d: Buffer): void => {
        if (tunnel.sent.length < CAPTURE) tunnel.sent = Buffer.concat([tunnel.sent, d]).subarray(0, CAPTURE);
      };
      if (head.length) {
        record(head);
        upstream.write(head);
      }
      client.on("data", record);
      client.pipe(upstream);
      upstream.pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
  }

  const server: Server = createServer((req, res) => {
    forwarded.push({ method: req.method ?? "", url: req.url ?? "" });
    res.writeHead(405, { "content-type": "text/plain" }).end("CONNECT only\n");
  });
  server.on("connect", onConnect);
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const host = `127.0.0.1:${port}`;

  return {
    host,
    url: (c) =>
      c ? `http://${encodeURIComponent(c.username)}:${encodeURIComponent(c.password)}@${host}` : `http://${host}`,
    tunnels,
    forwarded,
    requireAuth(c) {
      auth = c ? `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}` : undefined;
    },
    deny(target) {
      denied = target;
    },
    mapHost(name) {
      mapped.add(name);
    },
    requestLines(target) {
      const lines: string[] = [];
      for (const t of tunnels) {
        if (t.target !== target) continue;
        // Not anchored to a line start: on a kept-alive connection a request follows the previous body directly.
        const re = /(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (\/\S*) HTTP\/1\.1\r\n/g;
        for (const m of t.sent.toString("latin1").matchAll(re)) lines.push(`${m[1]} ${m[2]!.split("?")[0]}`);
      }
      return lines;
    },
    reset() {
      tunnels.length = 0;
      forwarded.length = 0;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port nothing listens on: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
