// What every handler is given: the request's context (Ctx) and the cluster's
// shared state (Cluster), plus the one way to answer. Kept apart from the
// router so that handlers and the router can both import it without a cycle.
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import type { Authz, User } from "./authz.ts";
import type { Faults } from "./faults.ts";
import type { Holds } from "./holds.ts";
import type { Watches } from "./handlers/watch.ts";
import type { loadCaptures } from "./discovery.ts";
import { canonical, type ResDef } from "./resources.ts";
import type { ApiError } from "./status.ts";
import type { Store } from "./store.ts";

/** One request: what was asked, by whom, and where to answer. */
export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  user: User;
  body: Buffer;
}

/** The stand-in's state, shared by every request and by the test-facing handle. */
export interface Cluster {
  store: Store;
  authz: Authz;
  watches: Watches;
  faults: Faults;
  holds: Holds;
  captures: ReturnType<typeof loadCaptures>;
}

/** The headers kube-apiserver sends on every JSON answer (Audit-Id fresh each time). */
export function send(ctx: Ctx, code: number, body: any, headers: Record<string, string> = {}): void {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  ctx.res.writeHead(code, {
    "Cache-Control": "no-cache, private",
    "Content-Type": "application/json",
    "Audit-Id": randomUUID(),
    "Content-Length": String(buf.length),
    ...headers,
  });
  ctx.res.end(buf);
}

export function sendError(ctx: Ctx, err: ApiError): void {
  send(ctx, err.code, err.body(), err.headers);
}

/** An object as the API server writes it back: canonical field order, typed. */
export function output(ctx: Ctx, code: number, r: ResDef, obj: any): void {
  send(ctx, code, canonical(r, obj));
}
