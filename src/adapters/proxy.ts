// Outgoing HTTP(S) through the proxy the environment names (read and checked
// by config/proxy-settings.ts). undici's EnvHttpProxyAgent does the routing
// and the NO_PROXY matching; this module builds it from the checked settings
// and turns a proxy's refusal into an error that says "proxy" and names its
// host, never its credentials. undici itself is loaded on the first request
// (adapters/undici.ts), so it is handed in.
import type { SecureContext } from "node:tls";
import type { Dispatcher, Pool } from "undici";
import type { ProxySettings } from "../config/proxy-settings.js";
import type { Undici } from "./undici.js";

// ---- refusals ------------------------------------------------------------------------------------

/** The proxy refused a tunnel (a CONNECT answered other than 200) or could not be reached. Holds no credentials. */
export class ProxyRefusal extends Error {
  override name = "ProxyRefusal";
  readonly code: string;
  constructor(
    /** host:port of the proxy. */
    readonly proxy: string,
    /** The variables naming it, e.g. "HTTPS_PROXY / HTTP_PROXY". */
    readonly variables: string,
    /** host:port the tunnel was for. */
    readonly target: string,
    /** The proxy's answer to CONNECT; undefined when the proxy was not reached. */
    readonly status: number | undefined,
    /** Why the proxy was not reached (ECONNREFUSED, ...); for a status, PROXY_<status>. */
    cause: string | undefined,
    readonly sentCredentials: boolean,
  ) {
    super(
      status
        ? `the proxy ${proxy} answered HTTP ${status} to CONNECT ${target}`
        : `cannot connect to the proxy ${proxy} (${cause})`,
    );
    this.code = status ? `PROXY_${status}` : (cause ?? "network-error");
  }
}

/** The ProxyRefusal inside undici's wrapping (TypeError "fetch failed" -> cause), if any. */
export function proxyRefusalOf(err: unknown): ProxyRefusal | undefined {
  let e: unknown = err;
  for (let depth = 0; e && typeof e === "object" && depth < 6; depth++) {
    if (e instanceof ProxyRefusal) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

const REASONS: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  407: "Proxy Authentication Required",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|ERR_SSL/;

/** What happened and what to do, for the error the GitLab client or the registry check throws. */
export function describeProxyRefusal(r: ProxyRefusal): { detail: string; hint: string } {
  const host = r.target.replace(/:\d+$/, "");
  const direct = `if this runner reaches ${host} without the proxy, add it to NO_PROXY`;
  if (r.status === undefined) {
    const hint = TLS_CODES.test(r.code)
      ? `The proxy's TLS certificate is not trusted: pass its CA with --ca-file (Action input ca-file), or check the proxy URL in ${r.variables}`
      : `Check the proxy's host and port in ${r.variables}; ${direct}`;
    return { detail: `cannot connect to the proxy ${r.proxy} (${r.code}) to reach ${r.target}`, hint };
  }
  const answer = `HTTP ${r.status}${REASONS[r.status] ? ` ${REASONS[r.status]}` : ""}`;
  if (r.status === 407) {
    return {
      detail: `the proxy ${r.proxy} refused the tunnel to ${r.target} (${answer})`,
      hint: r.sentCredentials
        ? `The proxy rejected the credentials in ${r.variables}: check the user and password (special characters percent-encoded)`
        : `The proxy requires credentials: put them in ${r.variables} as http://user:password@${r.proxy}`,
    };
  }
  if (r.status >= 500) {
    return {
      detail: `the proxy ${r.proxy} could not open a tunnel to ${r.target} (${answer})`,
      hint: `The proxy cannot reach ${r.target}: check the host and port; ${direct}`,
    };
  }
  return {
    detail: `the proxy ${r.proxy} refused the tunnel to ${r.target} (${answer})`,
    hint: `The proxy does not allow connections to ${r.target}: ask its administrators to allow it, or, ${direct}`,
  };
}

function codeOf(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== "object" || depth > 4) return undefined;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === "string" && e.code !== "") return e.code;
  return codeOf(e.cause, depth + 1) ?? (Array.isArray(e.errors) ? codeOf(e.errors[0], depth + 1) : undefined);
}

type ConnectResult = Dispatcher.ConnectData;
type ConnectOptions = Parameters<Pool["connect"]>[0];

/**
 * undici's ProxyAgent opens each tunnel with `connect()` on the client this
 * factory makes for the proxy. Wrapping that one call is where a refusal is
 * still known to be the proxy's: past it, undici's errors no longer tell the
 * proxy from the origin.
 */
function attributingClient(undici: Pick<Undici, "Pool">, settings: ProxySettings) {
  return (proxyUrl: URL, options: object): Dispatcher => {
    const pool = new undici.Pool(proxyUrl, options);
    const names = [settings.https, settings.http].filter((e) => e?.host === proxyUrl.host).map((e) => e!.variable);
    const variables = [...new Set(names)].join(" / ") || "HTTPS_PROXY / HTTP_PROXY";
    const connect = pool.connect.bind(pool) as (o: ConnectOptions) => Promise<ConnectResult>;
    const attributed = async (o: ConnectOptions): Promise<ConnectResult> => {
      const sentCredentials = Object.keys(o.headers ?? {}).some((k) => k.toLowerCase() === "proxy-authorization");
      let result: ConnectResult;
      try {
        result = await connect(o);
      } catch (err) {
        const name = (err as { name?: unknown } | null)?.name;
        // Our own timeout or cancellation stays what it is.
        if (name === "AbortError" || name === "TimeoutError") throw err;
        throw new ProxyRefusal(
          proxyUrl.host,
          variables,
          o.path,
          undefined,
          codeOf(err) ?? "network-error",
          sentCredentials,
        );
      }
      if (result.statusCode !== 200) {
        result.socket.on("error", () => undefined).destroy();
        throw new ProxyRefusal(proxyUrl.host, variables, o.path, result.statusCode, undefined, sentCredentials);
      }
      return result;
    };
    // ProxyAgent awaits the promise form; the callback form is passed through untouched.
    pool.connect = ((o: ConnectOptions, callback?: unknown) =>
      callback === undefined
        ? attributed(o)
        : (connect as (...a: unknown[]) => unknown)(o, callback)) as Pool["connect"];
    return pool;
  };
}

/**
 * The dispatcher for every call when a proxy is set. `ca` (system roots plus
 * --ca-file) is trusted for the origin through the tunnel (requestTls), for a
 * direct connection (connect), and for an https:// proxy itself (proxyTls).
 */
export function proxyDispatcher(
  undici: Pick<Undici, "EnvHttpProxyAgent" | "Pool">,
  settings: ProxySettings,
  tls: { ca?: string[]; secureContext?: SecureContext } | undefined,
): Dispatcher {
  return new undici.EnvHttpProxyAgent({
    // "" (not undefined): undici would otherwise read process.env itself.
    httpProxy: settings.http?.url.reveal() ?? "",
    httpsProxy: settings.https?.url.reveal() ?? "",
    noProxy: settings.noProxy,
    ...(tls ? { connect: tls, requestTls: tls, proxyTls: tls } : {}),
    clientFactory: attributingClient(undici, settings),
  });
}
