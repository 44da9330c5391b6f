// From an HTTP request to a handler, and every failure to a Status body. The
// pipeline runs in kube-apiserver's order: authentication (401), an injected
// fault, the body (413 past 3 MiB), then the path: health and discovery, the
// SelfSubjectAccessReview, core/v1 Events, and finally the four resources,
// whose URL gives resource, namespace and name and whose method picks the verb.
// Unknown paths get the generic 404 body and a verb a resource lacks gets 405.
import type { IncomingMessage, ServerResponse } from "node:http";
import { ADMIN, ANONYMOUS, SSAR_PATH, refuseAnonymous } from "./authz.ts";
import type { RecordedRequest } from "./api.ts";
import { type Cluster, type Ctx, send, sendError } from "./context.ts";
import { type StaticDoc, openapiV2Proto } from "./discovery.ts";
import { faultError } from "./faults.ts";
import { doCoreEvents, doGet, doList } from "./handlers/read.ts";
import { doPatch } from "./handlers/patch.ts";
import { doCreate, doDelete, doUpdate } from "./handlers/write.ts";
import { RESOURCES, type ResDef } from "./resources.ts";
import { ApiError, genericServerResponse } from "./status.ts";

const MAX_BODY = 3 * 1024 * 1024;
/** The API groups served, by URL prefix. */
const GROUP_PREFIXES: Array<[prefix: string, group: string]> = [
  ["/api/v1", ""],
  ["/apis/coordination.k8s.io/v1", "coordination.k8s.io"],
  ["/apis/events.k8s.io/v1", "events.k8s.io"],
];

/**
 * One request through the pipeline; `rec` is already in the request log and
 * gets the user here. `serve` waits for a latency slot when a model is set.
 */
export async function handleRequest(
  k: Cluster,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  rec: RecordedRequest,
  serve: () => Promise<void> | undefined,
): Promise<void> {
  const ctx: Ctx = { req, res, url, user: k.authz.user(ADMIN)!, body: Buffer.alloc(0) };
  try {
    const user = k.authz.authenticate(req);
    if (!user) {
      req.resume();
      throw new ApiError(401, "Unauthorized", "Unauthorized");
    }
    ctx.user = user;
    rec.user = user.name;
    const f = k.faults.take(rec.method, url.pathname, url.search.replace(/^\?/, ""));
    if (f) {
      req.resume();
      if (f.status === 0) {
        req.socket.destroy();
        return;
      }
      throw faultError(f);
    }
    await k.holds.pass(rec.method, url.pathname, url.search.replace(/^\?/, ""));
    ctx.body = await readBody(req);
    await serve();
    route(k, ctx);
  } catch (e) {
    if (res.headersSent) {
      res.end();
      return;
    }
    if (e instanceof ApiError) sendError(ctx, e);
    else sendError(ctx, new ApiError(500, "InternalError", `Internal error occurred: ${(e as Error).message}`));
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let len = 0;
  for await (const c of req) {
    const b = c as Buffer;
    len += b.length;
    if (len > MAX_BODY) throw new ApiError(413, "RequestEntityTooLarge", `the request body exceeds ${MAX_BODY} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks, len);
}

function route(k: Cluster, ctx: Ctx): void {
  const path = ctx.url.pathname.replace(/\/+$/, "") || "/";
  if (ctx.user.name === ANONYMOUS) refuseAnonymous(ctx, path);
  if (serveDiscovery(k, ctx, path)) return;
  if (path === "/healthz" || path === "/livez" || path === "/readyz")
    return send(ctx, 200, Buffer.from("ok"), { "Content-Type": "text/plain; charset=utf-8" });
  if (path === SSAR_PATH && ctx.req.method === "POST") return k.authz.selfSubjectAccessReview(ctx);

  const served = GROUP_PREFIXES.find(([prefix]) =>
    prefix === "/api/v1" ? path.startsWith("/api/v1/") || path === "/api/v1" : path.startsWith(`${prefix}/`),
  );
  if (!served) throw genericServerResponse(404, "");
  const [prefix, group] = served;
  const rest = path.slice(prefix.length).split("/").filter(Boolean).map(decodeURIComponent);
  if (group === "" && (rest[0] === "events" || (rest[0] === "namespaces" && rest[2] === "events")))
    return doCoreEvents(k, ctx, rest);

  const res = (name: string | undefined): ResDef => {
    const r = (RESOURCES as Record<string, ResDef | undefined>)[name ?? ""];
    if (!r || r.group !== group) throw genericServerResponse(404, "");
    return r;
  };
  const m = ctx.req.method ?? "GET";
  const method = m === "HEAD" ? "GET" : m;
  let r: ResDef;
  let ns = "";
  let name = "";
  if (rest[0] === "namespaces" && rest.length >= 3) {
    ns = rest[1]!;
    r = res(rest[2]);
    if (!r.namespaced || rest.length > 4) throw genericServerResponse(404, "");
    name = rest[3] ?? "";
  } else if (rest.length === 1 || rest.length === 2) {
    r = res(rest[0]);
    name = rest[1] ?? "";
    if (r.namespaced && name) throw genericServerResponse(404, "");
  } else throw genericServerResponse(404, "");

  if (!name) {
    if (method === "GET") return doList(k, ctx, r, r.namespaced ? ns || undefined : undefined);
    if (method === "POST") return doCreate(k, ctx, r, ns);
    throw new ApiError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`, {
      kind: r.name,
    });
  }
  switch (method) {
    case "GET":
      return doGet(k, ctx, r, ns, name);
    case "PUT":
      return doUpdate(k, ctx, r, ns, name);
    case "PATCH":
      return doPatch(k, ctx, r, ns, name);
    case "DELETE":
      return doDelete(k, ctx, r, ns, name);
    default:
      throw new ApiError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`, {
        kind: r.name,
        name,
      });
  }
}

/** The captured discovery and OpenAPI documents (v2 as protobuf when asked), with their ETags. */
function serveDiscovery(k: Cluster, ctx: Ctx, path: string): boolean {
  let doc: StaticDoc | undefined;
  let type = "application/json";
  if (path === "/openapi/v2") {
    const accept = String(ctx.req.headers.accept ?? "");
    if (accept.includes("protobuf")) {
      doc = openapiV2Proto(k.captures);
      type = "application/octet-stream";
    } else doc = k.captures.openapiV2Json;
  } else doc = k.captures.docs.get(path);
  if (!doc) return false;
  if (ctx.req.method !== "GET" && ctx.req.method !== "HEAD") {
    send(ctx, 405, genericServerResponse(405, "").body());
    return true;
  }
  const headers: Record<string, string> = {};
  if (path.startsWith("/openapi/")) {
    headers.ETag = doc.etag;
    headers.Vary = "Accept";
    if (ctx.req.headers["if-none-match"] === doc.etag) {
      ctx.res.writeHead(304, { ETag: doc.etag, "Cache-Control": "no-cache, private" });
      ctx.res.end();
      return true;
    }
    if (ctx.url.searchParams.has("hash")) headers["Cache-Control"] = "public, immutable";
  }
  send(ctx, 200, doc.body, { "Content-Type": type, ...headers });
  return true;
}
