// Where a run's signals go besides its log: a metrics textfile, a Pushgateway,
// Kubernetes Events (faces/metrics.ts, faces/signals.ts). Checked like every
// other option, before anything remote is called.
import { UsageError } from "../model/errors.js";
import type { Reader } from "./input-reader.js";
import type { ObserveSettings } from "./observe-shape.js";

export type { ObserveSettings } from "./observe-shape.js";

const PUSHGATEWAY_FORM =
  "an http:// or https:// URL of the Pushgateway, e.g. http://pushgateway.monitoring:9091, without credentials, query or fragment";

export function pushgatewayUrl(r: Reader): string | undefined {
  const value = r.explicit("pushgatewayUrl");
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Never echoed: a URL someone pasted may carry a password.
    throw new UsageError(r.label("pushgatewayUrl"), undefined, PUSHGATEWAY_FORM);
  }
  if (url.username || url.password) {
    throw new UsageError(
      r.label("pushgatewayUrl"),
      undefined,
      `${PUSHGATEWAY_FORM} (credentials in a URL end up in logs; this one was not shown)`,
    );
  }
  // A query or fragment: the push path is appended to the URL, and a token-like query would ride along unseen.
  if (url.search || url.hash || /[?#]/.test(value)) {
    throw new UsageError(
      r.label("pushgatewayUrl"),
      undefined,
      `${PUSHGATEWAY_FORM} (this one has a query or fragment and was not shown)`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new UsageError(r.label("pushgatewayUrl"), undefined, PUSHGATEWAY_FORM);
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

export function observe(r: Reader): ObserveSettings {
  return {
    metricsFile: r.explicit("metricsFile"),
    pushgatewayUrl: pushgatewayUrl(r),
    events: r.boolean("events"),
    statusFormat: undefined,
  };
}
