// One HTTP exchange of the registry check: the body read within the timeout
// and capped (a server cannot make us buffer more), redirects never followed
// (they would carry the credentials elsewhere).
import type { Dispatcher } from "undici";
import { dispatcherOf, loadUndici, type LazyDispatcher } from "./undici.js";
import type { Answer } from "./registry-hints.js";

/** Enough for any error body or token response; a server cannot make us buffer more. */
const BODY_CAP = 256 * 1024;

export interface FlowOptions {
  dispatcher: Dispatcher | LazyDispatcher | undefined;
  timeoutMs: number;
}

/** Sends one request and reads its answer; throws what fetch throws when there is none. */
export async function exchange(
  opts: FlowOptions,
  method: "GET" | "HEAD",
  url: URL,
  headers: Record<string, string>,
): Promise<Answer> {
  // undici is loaded on the first request, not at start-up (adapters/undici.ts).
  const { fetch } = await loadUndici();
  const dispatcher = await dispatcherOf(opts.dispatcher);
  const res = await fetch(url, {
    method,
    headers,
    redirect: "manual",
    signal: AbortSignal.timeout(opts.timeoutMs),
    ...(dispatcher ? { dispatcher } : {}),
  });
  return { status: res.status, headers: res.headers, body: await readCapped(res.body) };
}

async function readCapped(body: ReadableStream<Uint8Array> | null): Promise<string> {
  if (!body) return "";
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < BODY_CAP) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).toString("utf8");
}
