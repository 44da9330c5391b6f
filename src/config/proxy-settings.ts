// The proxy the environment names, as curl and kubectl read it: HTTPS_PROXY,
// HTTP_PROXY and NO_PROXY, lower case first. Read and checked at the edge (a
// bad proxy URL is a usage error before any request); adapters/proxy.ts hands
// undici exactly what was checked here, so undici never reads process.env
// behind our back. Every text form of the proxy's credentials is named so the
// faces redact them.
import { isIPv6 } from "node:net";
import { UsageError } from "../model/errors.js";
import { Secret } from "../model/secret.js";

type Env = Readonly<Record<string, string | undefined>>;

export interface ProxyEndpoint {
  /** The URL undici gets, credentials included: never printed. */
  url: Secret;
  /** host:port of the proxy, safe to print. */
  host: string;
  /** The variable it came from, e.g. HTTPS_PROXY. */
  variable: string;
}

export interface ProxySettings {
  /** For http:// origins, and for https:// ones when no HTTPS proxy is set (undici's rule). */
  http: ProxyEndpoint | undefined;
  https: ProxyEndpoint | undefined;
  /** NO_PROXY as undici reads it; "" proxies every host. */
  noProxy: string;
}

const ACCEPTED =
  "a proxy URL such as http://proxy.example.com:3128 (http:// or https://; http://user:password@host:port when it needs credentials)";

/** The first non-empty of the lower- and upper-case variable, lower case first as curl and undici read them. */
function variable(env: Env, name: string): { name: string; value: string } | undefined {
  for (const n of [name.toLowerCase(), name.toUpperCase()]) {
    const v = env[n]?.trim();
    if (v) return { name: n, value: v };
  }
  return undefined;
}

/** The URL as it may be shown: scheme and host, credentials masked, path dropped. */
function shown(url: URL): string {
  return `${url.protocol}//${url.username || url.password ? "***@" : ""}${url.host}`;
}

function endpoint(name: string, value: string): ProxyEndpoint {
  // curl and Go take a bare host:port as an http:// proxy; so do we.
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Not shown: an unparsable value may still hold a password.
    throw new UsageError(name, undefined, ACCEPTED);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(name, shown(url), ACCEPTED);
  if (!url.hostname) throw new UsageError(name, shown(url), ACCEPTED);
  // user:password@ is how a proxy takes credentials; a query or a fragment has no meaning for a proxy and may hold a token.
  const extra =
    url.search || url.href.includes("?")
      ? "a query (?...)"
      : url.hash || url.href.includes("#")
        ? "a fragment (#...)"
        : undefined;
  if (extra) throw new UsageError(name, shown(url), `${ACCEPTED}, without ${extra} (not shown: it may hold a secret)`);
  let password: string;
  try {
    decodeURIComponent(url.username);
    password = decodeURIComponent(url.password);
  } catch {
    throw new UsageError(name, shown(url), `${ACCEPTED}, with special characters in the credentials percent-encoded`);
  }
  // undici sends Proxy-Authorization only for user AND password; a lone user would silently go unsent.
  if (url.username && !password) throw new UsageError(name, shown(url), `${ACCEPTED}: a user needs a password`);
  return { url: new Secret(url.href), host: url.host, variable: name };
}

/** The credentials' text forms: as written in the URL, decoded, and as the Basic header carries them. */
function secretForms(e: ProxyEndpoint | undefined): string[] {
  if (!e) return [];
  const url = new URL(e.url.reveal());
  if (!url.password) return [];
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const basic = Buffer.from(`${user}:${password}`).toString("base64");
  return [
    password,
    `${user}:${password}`,
    basic,
    basic.replace(/=+$/, ""),
    url.password,
    `${url.username}:${url.password}`,
  ];
}

/**
 * undici compares NO_PROXY entries with the URL's host as text, and its
 * host:port split reads a bare IPv6 literal (::1) as host ":" port 1; so
 * such literals are bracketed (and compressed, as URLs write them).
 */
export function normalizeNoProxy(value: string): string {
  return value
    .split(/[,\s]+/)
    .filter((e) => e !== "")
    .map((e) => (isIPv6(e) ? new URL(`http://[${e}]/`).hostname : e))
    .join(",");
}

/** The proxy settings of `env`; undefined when no proxy is set. Throws UsageError for a bad proxy URL. */
export function readProxySettings(env: Env): ProxySettings | undefined {
  const http = variable(env, "HTTP_PROXY");
  const https = variable(env, "HTTPS_PROXY");
  if (!http && !https) return undefined;
  return {
    http: http && endpoint(http.name, http.value),
    https: https && endpoint(https.name, https.value),
    noProxy: normalizeNoProxy(variable(env, "NO_PROXY")?.value ?? ""),
  };
}

/** Every text form of the proxies' credentials, for the faces to redact (and the Action to mask). */
export function proxySecretForms(settings: ProxySettings | undefined): string[] {
  return [...new Set([...secretForms(settings?.http), ...secretForms(settings?.https)])];
}
