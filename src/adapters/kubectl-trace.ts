// Which object each request of a kubectl process was about, and what the API
// server answered. kubectl applies a List object by object and goes on past a
// refused one, but its error lines often name no namespace (a quota, an
// admission webhook, a field conflict: `secrets "s" is forbidden: exceeded
// quota: q, ...`), and with -o json it prints nothing at all once any object
// failed. At -v=6 client-go logs every request with its URL and status, and
// nothing more: no header (that is -v=7), no body (-v=8; never go there, it
// prints the Secret's data). The URL names the namespace. Pure.

/** The verbosity that logs one line per request (URL, status, time); the cost is one stderr line each. */
export const TRACE_FLAG = "-v=6";

export interface TracedRequest {
  verb: string;
  /** The URL's path, without the query. */
  path: string;
  /** The namespace the object lives in, or the Namespace object's own name; undefined for other cluster-scoped paths. */
  namespace: string | undefined;
  /** HTTP status code; 0 when no answer came (a connection error). */
  code: number;
  /** As logged, e.g. "403 Forbidden"; "" when no answer came. */
  status: string;
}

// klog's header: severity, MMDD, time, thread id, file:line]. The severity
// letter and date are what credential-plugin text never starts with.
const KLOG = /^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ [^\]\s]+\] ?(.*)$/;
// kubectl <= 1.32: "PATCH https://h/api/v1/namespaces/b/secrets/s?dryRun=All 403 Forbidden in 3 milliseconds"
const TEXT_RESPONSE = /^([A-Z]+) (\S+) +(?:(\d{3})( [^\n]*?)? )?in \d+ milliseconds$/;
// kubectl >= 1.33 (structured klog): "Response" verb="PATCH" url="https://…" status="403 Forbidden" milliseconds=3
const STRUCTURED_RESPONSE = /^"Response" (.*)$/;
const KEY_VALUE = /(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g;

function unquote(v: string): string {
  if (!v.startsWith('"')) return v;
  try {
    return JSON.parse(v) as string;
  } catch {
    return v.slice(1, -1);
  }
}

function request(verb: string, url: string, status: string): TracedRequest {
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url.split("?")[0]!;
  }
  // /api/v1/namespaces/<ns>/<resource>/<name> and /apis/<g>/<v>/namespaces/<ns>/...; a Namespace is /api/v1/namespaces/<name>.
  const m = /\/namespaces\/([^/]+)(?:\/|$)/.exec(path);
  const code = /^\d{3}/.test(status) ? Number(status.slice(0, 3)) : 0;
  return { verb, path, namespace: m ? decodeURIComponent(m[1]!) : undefined, code, status: status.trim() };
}

function responseOf(message: string): TracedRequest | undefined {
  const text = TEXT_RESPONSE.exec(message);
  if (text) return request(text[1]!, text[2]!, text[3] ? `${text[3]}${text[4] ?? ""}` : "");
  const structured = STRUCTURED_RESPONSE.exec(message);
  if (!structured) return undefined;
  const kv = new Map([...structured[1]!.matchAll(KEY_VALUE)].map((m) => [m[1]!, unquote(m[2]!)]));
  const verb = kv.get("verb");
  const url = kv.get("url");
  return verb && url ? request(verb, url, kv.get("status") ?? "") : undefined;
}

/**
 * kubectl's stderr at TRACE_FLAG, split into the requests it logged and the
 * rest: what kubectl would have printed without the flag. Only informational
 * klog lines go (warnings and errors are printed at any verbosity), with the
 * multi-line values some carry (the Status body of an error `[{ … }]`, a
 * structured value `=< … >`), so no trace line reaches the user but through
 * what is parsed here.
 */
export function splitTrace(stderr: string): { requests: TracedRequest[]; rest: string } {
  const requests: TracedRequest[] = [];
  const rest: string[] = [];
  let until: RegExp | undefined;
  for (const line of stderr.split("\n")) {
    if (until) {
      if (until.test(line)) until = undefined;
      continue;
    }
    const klog = line.startsWith("I") ? KLOG.exec(line) : null;
    if (!klog) {
      rest.push(line);
      continue;
    }
    const message = klog[1]!;
    if (/\[\{$/.test(message)) until = /^\}\]$/;
    else if (/=<$/.test(message)) until = /^\s*>$/;
    const r = responseOf(message);
    if (r) requests.push(r);
  }
  return { requests, rest: rest.join("\n") };
}

/**
 * The requests the API server refused, each object once, in the order kubectl
 * sent them. A request client-go retried (429, Retry-After) is logged once per
 * attempt; its last answer is the one kubectl reported.
 */
export function refusedRequests(requests: readonly TracedRequest[]): TracedRequest[] {
  const last = new Map<string, TracedRequest>();
  for (const r of requests) {
    if (r.namespace === undefined) continue;
    const key = `${r.verb} ${r.path}`;
    last.set(key, r); // a Map keeps the first attempt's place
  }
  return [...last.values()].filter((r) => r.code >= 400);
}
