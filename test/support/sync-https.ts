// Synchronous HTTPS for test helpers whose callers are synchronous (the
// World's getObject/listObjects mirror the stand-in's in-memory reads). One
// worker thread does the request; the caller blocks on Atomics.wait and takes
// the answer with receiveMessageOnPort. No child process, no curl.
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";

export interface SyncRequest {
  url: string;
  method: string;
  headers?: Record<string, string>;
  body?: string;
  /** PEM texts: the server's CA, the client certificate and key. */
  ca: string;
  cert: string;
  key: string;
}

export interface SyncResponse {
  status: number;
  body: string;
}

// Plain JS so the worker needs no TypeScript loader.
const WORKER = `
const { parentPort } = require("node:worker_threads");
const https = require("node:https");
const agent = new https.Agent({ keepAlive: true });
parentPort.on("message", ({ req, port, flag }) => {
  const done = (answer) => { port.postMessage(answer); Atomics.store(flag, 0, 1); Atomics.notify(flag, 0); };
  const u = new URL(req.url);
  const r = https.request({ hostname: u.hostname, port: u.port, path: u.pathname + u.search, method: req.method,
      headers: req.headers, ca: req.ca, cert: req.cert, key: req.key, agent, timeout: 30000 }, (res) => {
    const chunks = [];
    res.on("data", (c) => chunks.push(c));
    res.on("end", () => done({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8") }));
    res.on("error", (e) => done({ error: String(e) }));
  });
  r.on("timeout", () => r.destroy(new Error("timeout")));
  r.on("error", (e) => done({ error: String(e) }));
  r.end(req.body);
});
`;

let worker: Worker | undefined;

function theWorker(): Worker {
  if (!worker) {
    worker = new Worker(WORKER, { eval: true });
    // The worker must never keep a finished test process alive.
    worker.unref();
  }
  return worker;
}

/** Performs one HTTPS request and blocks until its answer. Throws on a transport error. */
export function requestSync(req: SyncRequest): SyncResponse {
  const { port1, port2 }: { port1: MessagePort; port2: MessagePort } = new MessageChannel();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  theWorker().postMessage({ req, port: port2, flag }, [port2]);
  const deadline = Date.now() + 60_000;
  while (Atomics.load(flag, 0) === 0) {
    if (Date.now() > deadline) throw new Error(`sync request timed out: ${req.method} ${req.url}`);
    Atomics.wait(flag, 0, 0, 1000);
  }
  const msg = receiveMessageOnPort(port1)?.message as (SyncResponse & { error?: string }) | undefined;
  port1.close();
  if (!msg) throw new Error(`sync request got no answer: ${req.method} ${req.url}`);
  if (msg.error) throw new Error(`${req.method} ${req.url}: ${msg.error}`);
  return msg;
}

/** Blocks the thread for `ms` (for synchronous polling loops that wait on a condition). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
