// From an HTTP request to a handler. /api/v4 routes are declared by the
// handler families (handlers/*.ts) as method + path pattern; the router finds
// the path (404 route not found, 405 when only the method is wrong), runs
// API::APIGuard's authentication and scope check, then the handler. /jwt/auth
// is the registry's token endpoint, outside the API. Faults are applied here,
// around all of it, and the answer is written (or lost) at the end.
//
// To add a handler family: a module exporting `routes: Route[]`, listed in ROUTES.
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import type { RecordedRequest } from "./api.ts";
import { apiCaller, type Caller, scopeRefusal } from "./auth.ts";
import { type Faults, faultResponse } from "./faults.ts";
import { routes as accessTokens } from "./handlers/access-tokens.ts";
import { routes as deployTokens } from "./handlers/deploy-tokens.ts";
import { handleJwt } from "./handlers/jwt.ts";
import { routes as members } from "./handlers/members.ts";
import { routes as projects } from "./handlers/projects.ts";
import { routes as users } from "./handlers/users.ts";
import { routes as rotation } from "./handlers/rotation.ts";
import { routes as variables } from "./handlers/variables.ts";
import {
  type Ctx,
  type PageOf,
  type Params,
  type Resp,
  empty,
  json,
  parseParams,
  readBody,
  tokenExpired,
  tokenRevoked,
  unauthorized,
} from "./http.ts";
import type { Store, User } from "./store.ts";
import { matchRoute } from "../route-match.ts";

/** What a route's handler gets. */
export interface ApiCall {
  s: Store;
  /** HEAD is answered as GET. */
  method: string;
  /** The `:name` segments of the route's path, as sent (still percent-encoded). */
  path: Record<string, string>;
  params: Params;
  /** The access token's owner and scopes; undefined when anonymous. */
  caller: Caller | undefined;
  user: User | undefined;
  /** For paginate(): the path and query a list's links repeat. */
  page: PageOf;
}

export interface Route {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Below /api/v4/, segments separated by `/`; `:name` matches one non-empty segment. */
  path: string;
  /** A route only some GitLab versions have; when false the path is GitLab's catch-all 404. */
  exists?: (s: Store) => boolean;
  /** The route takes a token of any scope (API::APIGuard's allow_access_with_scope for all). */
  anyScope?: (s: Store, path: Record<string, string>) => boolean;
  /** Scopes besides `api` that pass API::APIGuard for this route (`self_rotate` on the self-rotation routes). */
  alsoScopes?: string[];
  /** A rotate endpoint: a revoked token presented here revokes its whole family (reuse detection). */
  rotation?: boolean;
  handle: (call: ApiCall) => Resp;
}

const ROUTES: Route[] = [
  ...users,
  ...accessTokens,
  ...rotation,
  ...projects,
  ...members,
  ...deployTokens,
  ...variables,
];

function handleApi(
  s: Store,
  method: string,
  segs: string[],
  params: Params,
  req: IncomingMessage,
  ctx: Ctx,
  page: PageOf,
): Resp {
  const found = ROUTES.flatMap((route) => {
    if (route.exists && !route.exists(s)) return [];
    const path = matchRoute(route.path, segs);
    return path ? [{ route, path }] : [];
  });
  if (found.length === 0) return json(404, { error: "404 Not Found" });
  const m = method === "HEAD" ? "GET" : method;
  const hit = found.find((x) => x.route.method === m);
  if (!hit) return json(405, { error: "405 Not Allowed" });

  // Authentication: an invalid credential is always 401; scopes are checked here, before the route.
  const caller = apiCaller(s, req);
  if (caller === "invalid") return unauthorized();
  if (caller === "expired") return tokenExpired();
  if (caller && "revoked" in caller) {
    if (hit.route.rotation) s.revokeFamily(caller.revoked.family);
    return tokenRevoked();
  }
  if (caller) {
    ctx.auth = caller.user.username;
    const refusal = scopeRefusal(caller, m, hit.route.anyScope?.(s, hit.path) ?? false, hit.route.alsoScopes);
    if (refusal) return refusal;
  }
  return hit.route.handle({ s, method: m, path: hit.path, params, caller, user: caller?.user, page });
}

/** One request: recorded, faults applied, routed, answered. */
export async function onRequest(
  s: Store,
  faults: Faults,
  requests: RecordedRequest[],
  pending: Set<ServerResponse>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = (req.method ?? "GET").toUpperCase();
  const rawUrl = req.url ?? "/";
  const qi = rawUrl.indexOf("?");
  const path = qi < 0 ? rawUrl : rawUrl.slice(0, qi);
  const queryString = qi < 0 ? "" : rawUrl.slice(qi + 1);
  const rec: RecordedRequest = { method, path, query: queryString, status: 0 };
  requests.push(rec);

  const f = faults.take(method, path);
  if (f) {
    rec.fault = f.kind;
    if (f.kind === "drop") {
      req.socket.destroy();
      return;
    }
    if (f.kind === "timeout") {
      pending.add(res);
      res.on("close", () => pending.delete(res));
      return;
    }
    if (f.kind === "hold") await f.until;
  }

  const ctx: Ctx = {};
  let resp: Resp;
  try {
    const body = await readBody(req);
    const query = new URLSearchParams(queryString);
    if (f && f.kind === "status") {
      resp = faultResponse(f, s.now);
    } else if (path === "/jwt/auth") {
      resp = method === "GET" || method === "HEAD" ? handleJwt(s, req, query, ctx) : empty(404);
    } else if (path === "/api/v4" || path.startsWith("/api/v4/")) {
      const segs = path.slice("/api/v4/".length).split("/");
      const params = parseParams(query, body, req.headers["content-type"]);
      resp =
        params === null
          ? json(400, { error: "The request body is not valid JSON" })
          : handleApi(s, method, segs, params, req, ctx, { baseUrl: s.baseUrl, path, query, params });
    } else {
      resp = { status: 404, headers: { "content-type": "text/plain" }, body: "Not Found" };
    }
  } catch {
    resp = json(500, { message: "500 Internal Server Error" });
  }
  rec.status = resp.status;
  if (ctx.auth !== undefined) rec.auth = ctx.auth;

  if (f && f.kind === "lostResponse") {
    req.socket.destroy();
    return;
  }
  const headers: Record<string, string> = {
    "x-request-id": randomUUID().replace(/-/g, "").slice(0, 26),
    ...resp.headers,
  };
  if (resp.status !== 204) headers["content-length"] = String(Buffer.byteLength(resp.body));
  res.writeHead(resp.status, headers);
  res.end(method === "HEAD" || resp.status === 204 ? undefined : resp.body);
}
