// Pushes a run's metrics to a Prometheus Pushgateway: a CI job ends before
// anything could scrape it. One POST of the text format to
// /metrics/job/gitlab-pull-secret/secret/<name>: POST (not PUT) replaces only
// the metric names pushed, so a failed run, which has no new last success to
// report, leaves the one pushed before in place. Through the same dispatcher
// as GitLab and the registry check: --ca-file and the proxy settings apply.
import type { ProxySettings } from "../config/proxy-settings.js";
import { dispatcher } from "./tls.js";
import { dispatcherOf, loadUndici } from "./undici.js";

export const PUSH_JOB = "gitlab-pull-secret";

/** The grouping key's path: every label value is one path segment, so it is percent-encoded. */
export function pushPath(baseUrl: string, secretName: string): string {
  return `${baseUrl}/metrics/job/${encodeURIComponent(PUSH_JOB)}/secret/${encodeURIComponent(secretName)}`;
}

export async function pushMetrics(args: {
  baseUrl: string;
  secretName: string;
  text: string;
  contentType: string;
  caPem: string | undefined;
  proxy: ProxySettings | undefined;
  timeoutMs: number;
}): Promise<void> {
  const { fetch } = await loadUndici();
  const d = await dispatcherOf(dispatcher(args.caPem, args.proxy));
  const url = pushPath(args.baseUrl, args.secretName);
  let res: Awaited<ReturnType<typeof fetch>>;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": args.contentType },
      body: args.text,
      redirect: "manual",
      signal: AbortSignal.timeout(args.timeoutMs),
      ...(d ? { dispatcher: d } : {}),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(
      `cannot reach the Pushgateway at ${new URL(url).host} (${cause?.code ?? cause?.message ?? (err as Error).message})`,
    );
  }
  const body = (await res.text()).slice(0, 300).trim();
  if (res.status < 200 || res.status > 299) {
    throw new Error(`the Pushgateway at ${new URL(url).host} answered HTTP ${res.status}${body ? `: ${body}` : ""}`);
  }
}
