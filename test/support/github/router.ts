// From a request to a handler: record it, authenticate (401 before any
// route, as GitHub does), find the route (404 for an unknown path), parse
// the JSON body, write GitHub's answer.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RecordedRequest } from "./api.ts";
import { caller } from "./auth.ts";
import { routes } from "./handlers/secrets.ts";
import { badCredentials, error, type Resp } from "./http.ts";
import type { Store } from "./store.ts";
import { matchRoute } from "../route-match.ts";

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function answer(s: Store, req: IncomingMessage, path: string, text: string): Resp {
  const who = caller(s, req);
  if (who === "invalid") return badCredentials();
  if (who === "anonymous") return error(401, "Requires authentication");
  const segs = path.replace(/^\//, "").split("/");
  const method = req.method ?? "GET";
  // "public-key" is no secret's name: its own routes answer it.
  const hit = routes
    .filter((r) => r.method === method)
    .map((r) => ({ r, m: matchRoute(r.path, segs, decodeURIComponent) }))
    .find((x) => x.m !== undefined && x.m.name !== "public-key");
  if (!hit) return error(404, "Not Found");
  let body: unknown;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    return error(400, "Problems parsing JSON");
  }
  return hit.r.handle({ s, grant: who, path: hit.m!, body });
}

export async function onRequest(
  s: Store,
  requests: RecordedRequest[],
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const path = (req.url ?? "/").split("?")[0]!;
  const rec: RecordedRequest = {
    method: req.method ?? "GET",
    path,
    status: 0,
    accept: String(req.headers.accept ?? ""),
    apiVersion: String(req.headers["x-github-api-version"] ?? ""),
    userAgent: String(req.headers["user-agent"] ?? ""),
  };
  requests.push(rec);
  let resp: Resp;
  try {
    resp = answer(s, req, path, await readBody(req));
  } catch {
    resp = error(500, "Server Error");
  }
  rec.status = resp.status;
  const headers: Record<string, string> = { ...resp.headers, "x-github-api-version-selected": "2022-11-28" };
  if (resp.status !== 204) headers["content-length"] = String(Buffer.byteLength(resp.body));
  res.writeHead(resp.status, headers);
  res.end(resp.status === 204 ? undefined : resp.body);
}
