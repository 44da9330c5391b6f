// GitLab's API as Grape shapes it, independent of any resource: the answer
// type handlers return, the stock error bodies, parameters (query merged with
// a JSON or form body) and their coercions, and offset pagination with its
// Link and X-* headers.
import type { IncomingMessage } from "node:http";

/** What a handler returns; the router writes it (x-request-id, content-length) or loses it (a fault). */
export interface Resp {
  status: number;
  headers: Record<string, string>;
  body: string;
}
export type Params = Record<string, unknown>;

export function json(status: number, value: unknown, headers: Record<string, string> = {}): Resp {
  return { status, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(value) };
}
export const msg = (status: number, message: string): Resp => json(status, { message });
export const notFound = (): Resp => msg(404, "404 Not found");
export const unauthorized = (): Resp => msg(401, "401 Unauthorized");
/** API::APIGuard for an access token past its expires_at. */
export const tokenExpired = (): Resp =>
  json(401, {
    error: "invalid_token",
    error_description: "Token is expired. You can either do re-authorization or token refresh.",
  });
/** Gitlab::Auth::RevokedError, as API::APIGuard answers it. */
export const tokenRevoked = (): Resp =>
  json(401, {
    error: "invalid_token",
    error_description: "Token was revoked. You have to re-authorize from the user.",
  });
export const forbidden = (): Resp => msg(403, "403 Forbidden");
export const grapeError = (errors: string[]): Resp => json(400, { error: errors.join(", ") });
export const insufficientScope = (scope: string): Resp =>
  json(403, {
    error: "insufficient_scope",
    error_description: "The request requires higher privileges than provided by the access token.",
    scope,
  });
/** An empty answer (DELETE's 204, the registry auth's bare 404). */
export const empty = (status: number): Resp => ({ status, headers: {}, body: "" });

/** Rails' Array#to_sentence, which joins model validation errors. */
export function toSentence(parts: string[]): string {
  if (parts.length <= 1) return parts.join("");
  if (parts.length === 2) return `${parts[0]} and ${parts[1]}`;
  return `${parts.slice(0, -1).join(", ")}, and ${parts[parts.length - 1]}`;
}

/**
 * ISO 8601 as GitLab accepts it for expires_at: a date, or a date-time with optional
 * seconds, fraction and zone (Z or ±HH[:]MM; none = UTC). Returns epoch ms or null.
 */
export function parseIso8601(value: string): number | null {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/.exec(
      value,
    );
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y),
    month = Number(mo),
    day = Number(d);
  const hour = Number(h ?? 0),
    minute = Number(mi ?? 0),
    second = Number(s ?? 0);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, frac ? Math.floor(Number(`0.${frac}`) * 1000) : 0);
  if (new Date(ms).getUTCDate() !== day) return null; // 2026-02-30
  let offset = 0;
  if (zone && zone !== "Z") {
    const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
    if (!zm) return null;
    offset = (zm[1] === "-" ? -1 : 1) * (Number(zm[2]) * 60 + Number(zm[3] ?? 0)) * 60_000;
  }
  return ms - offset;
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > 1 << 20) req.destroy(new Error("body too large"));
      else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** Grape-style params: query string merged with a JSON or form body (body wins). */
export function parseParams(query: URLSearchParams, body: string, contentType: string | undefined): Params | null {
  const out: Params = {};
  const addForm = (sp: URLSearchParams): void => {
    for (const key of new Set(sp.keys())) {
      const all = sp.getAll(key);
      if (key.endsWith("[]")) out[key.slice(0, -2)] = all;
      else out[key] = all.length > 1 ? all : all[0];
    }
  };
  addForm(query);
  if (body.trim() !== "") {
    if ((contentType ?? "").includes("application/json")) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return null;
      }
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) Object.assign(out, parsed);
    } else {
      addForm(new URLSearchParams(body));
    }
  }
  return out;
}

/** Grape Integer coercion: undefined when absent, NaN when invalid. */
export function intParam(v: unknown): number | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v === "number") return Number.isInteger(v) ? v : NaN;
  if (typeof v === "string" && /^[+-]?\d+$/.test(v.trim())) return Number(v.trim());
  return NaN;
}

/** Grape Boolean coercion: undefined when absent, null when invalid. */
export function boolParam(v: unknown): boolean | undefined | null {
  if (v === undefined || v === "") return undefined;
  if (typeof v === "boolean") return v;
  const s = String(v).toLowerCase();
  if (["true", "t", "1", "yes", "y", "on"].includes(s)) return true;
  if (["false", "f", "0", "no", "n", "off"].includes(s)) return false;
  return null;
}

/** The request a list was for: its links repeat the path and query with page and per_page replaced. */
export interface PageOf {
  baseUrl: string;
  path: string;
  query: URLSearchParams;
  params: Params;
}

/** API::Helpers::Pagination (offset): 20 per page by default, at most 100, Link and X-* headers. */
export function paginate(items: unknown[], req: PageOf): Resp {
  const pageParam = intParam(req.params.page);
  const perPageParam = intParam(req.params.per_page);
  const errors: string[] = [];
  if (Number.isNaN(pageParam)) errors.push("page is invalid");
  if (Number.isNaN(perPageParam)) errors.push("per_page is invalid");
  if (errors.length) return grapeError(errors);
  const page = pageParam === undefined || pageParam < 1 ? 1 : pageParam;
  const perPage = perPageParam === undefined || perPageParam < 1 ? 20 : Math.min(perPageParam, 100);
  const total = items.length;
  const totalPages = Math.max(1, Math.ceil(total / perPage));
  const slice = items.slice((page - 1) * perPage, page * perPage);
  const next = page < totalPages ? page + 1 : null;
  const prev = page > 1 ? page - 1 : null;
  const href = (p: number): string => {
    const q = new URLSearchParams(req.query);
    q.set("page", String(p));
    q.set("per_page", String(perPage));
    return `${req.baseUrl}${req.path}?${q.toString()}`;
  };
  const links: string[] = [];
  if (next !== null) links.push(`<${href(next)}>; rel="next"`);
  if (prev !== null) links.push(`<${href(prev)}>; rel="prev"`);
  links.push(`<${href(1)}>; rel="first"`);
  links.push(`<${href(totalPages)}>; rel="last"`);
  return json(200, slice, {
    link: links.join(", "),
    "x-next-page": next === null ? "" : String(next),
    "x-page": String(page),
    "x-per-page": String(perPage),
    "x-prev-page": prev === null ? "" : String(prev),
    "x-total": String(total),
    "x-total-pages": String(totalPages),
  });
}

/** What the request log learns from handling: who the caller was (a username, never a secret). */
export interface Ctx {
  auth?: string;
}
