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
    context = createSecureContext({ ca: [...rootCertificates, extraCaPem] });
    contexts.set(extraCaPem, context);
  }
  return context;
}

/** undici dispatcher for fetch (gitbeaker's `agent`, the registry check), built on the first request. */
export function dispatcher(extraCaPem: string | undefined, proxy?: ProxySettings): LazyDispatcher | undefined {
  const tls = () => (extraCaPem ? { secureContext: secureContextFor(extraCaPem) } : undefined);
  if (proxy) return new LazyDispatcher((undici) => proxyDispatcher(undici, proxy, tls()));
  if (!extraCaPem) return undefined;
  return new LazyDispatcher((undici) => new undici.Agent({ connect: tls() }));
}
