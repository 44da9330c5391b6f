// One HTTP dispatcher for every HTTPS call the tool makes (GitLab API and the
// registry check), trusting the system roots plus an optional extra CA for
// self-hosted GitLab, through the environment's proxy when one is set.
// TLS verification is never switched off.
import { readFileSync } from "node:fs";
import { createSecureContext, rootCertificates, type SecureContext } from "node:tls";
import { UsageError } from "../model/errors.js";
import { proxyDispatcher } from "./proxy.js";
import type { ProxySettings } from "../config/proxy-settings.js";
import { LazyDispatcher } from "./undici.js";

/** Reads and checks a PEM bundle at the edge, so a bad path is a usage error before any request. */
export function readCaFile(path: string, option = "--ca-file"): string {
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(
      option,
      path,
      `a readable PEM file of CA certificates (${(err as { code?: string }).code ?? "unreadable"})`,
    );
  }
  if (!/-----BEGIN CERTIFICATE-----/.test(pem)) {
    throw new UsageError(option, path, "a PEM file holding at least one -----BEGIN CERTIFICATE----- block");
  }
  return pem;
}

const contexts = new Map<string, SecureContext>();

/**
 * One TLS secure context per CA bundle for the whole process. Given `ca`
 * instead, Node builds a context for every connection, parsing the ~140
 * system roots each time (it was the top of our CPU profile).
 */
export function secureContextFor(extraCaPem: string): SecureContext {
  let context = contexts.get(extraCaPem);
  if (!context) {
    context = withExtraCa(extraCaPem);
    contexts.set(extraCaPem, context);
  }
  return context;
}

/** The one native method this module relies on beyond `createSecureContext`'s options. */
interface NativeContext {
  addCACert?: (pem: string) => void;
}

/**
 * Node's root store plus the extra CA. The documented spelling, `ca: [...rootCertificates, pem]`, hands every
 * root to OpenSSL again from JavaScript (about 30 ms of CPU at every run of the CLI with --ca-file), and it drops
 * the CAs of NODE_EXTRA_CA_CERTS, which `rootCertificates` does not list: a corporate proxy's CA, say. Adding
 * certificates to a default context, as Node itself does with each `ca` entry, copies the root store inside
 * OpenSSL (about 2 ms). Node 24's copy keeps NODE_EXTRA_CA_CERTS and Node 20's does not, so that file is added
 * again here; a certificate already in the store is not added twice. Should a Node ever lack the method, the
 * documented spelling gives the same trust.
 */
function withExtraCa(extraCaPem: string): SecureContext {
  const pems = [...nodeExtraCaCerts(), extraCaPem];
  const context = createSecureContext();
  const native = (context as SecureContext & { context?: NativeContext }).context;
  if (typeof native?.addCACert !== "function") return createSecureContext({ ca: [...rootCertificates, ...pems] });
  for (const pem of pems) native.addCACert(pem);
  return context;
}

/** NODE_EXTRA_CA_CERTS as Node reads it at start-up: a file it could not read, it warned of and left out. */
function nodeExtraCaCerts(): string[] {
  const path = process.env.NODE_EXTRA_CA_CERTS;
  if (!path) return [];
  try {
    return [readFileSync(path, "utf8")];
  } catch {
    return [];
  }
}

/** undici dispatcher for fetch (gitbeaker's `agent`, the registry check), built on the first request. */
export function dispatcher(extraCaPem: string | undefined, proxy?: ProxySettings): LazyDispatcher | undefined {
  const tls = () => (extraCaPem ? { secureContext: secureContextFor(extraCaPem) } : undefined);
  if (proxy) return new LazyDispatcher((undici) => proxyDispatcher(undici, proxy, tls()));
  if (!extraCaPem) return undefined;
  return new LazyDispatcher((undici) => new undici.Agent({ connect: tls() }));
}
