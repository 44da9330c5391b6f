// One HTTP dispatcher for every HTTPS call the tool makes (GitLab API and the
// registry check), trusting the system roots plus an optional extra CA for
// self-hosted GitLab, through the environment's proxy when one is set.
// TLS verification is never switched off.
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import { Agent, type Dispatcher } from "undici";
import { UsageError } from "./errors.js";
import { proxyDispatcher, type ProxySettings } from "./proxy.js";

/** Reads and checks a PEM bundle at the edge, so a bad path is a usage error before any request. */
export function readCaFile(path: string, option = "--ca-file"): string {
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(option, path, `a readable PEM file of CA certificates (${(err as { code?: string }).code ?? "unreadable"})`);
  }
  if (!/-----BEGIN CERTIFICATE-----/.test(pem)) {
    throw new UsageError(option, path, "a PEM file holding at least one -----BEGIN CERTIFICATE----- block");
  }
  return pem;
}

/** undici dispatcher for fetch (gitbeaker's `agent`, the registry check). */
export function dispatcher(extraCaPem: string | undefined, proxy?: ProxySettings): Dispatcher | undefined {
  const ca = extraCaPem ? [...rootCertificates, extraCaPem] : undefined;
  if (proxy) return proxyDispatcher(proxy, ca);
  if (!ca) return undefined;
  return new Agent({ connect: { ca } });
}
