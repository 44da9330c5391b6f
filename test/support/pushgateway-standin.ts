// A Prometheus Pushgateway stand-in: it accepts pushes as the real one does
// (PUT/POST/DELETE under /metrics/job/<job>{/<label>/<value>}, 200 on
// success, 400 with a text message for a malformed path) and records every
// push, body included, so a test can check the body with Prometheus' own
// parser (promtool) and the leak scan reads each body from `recordDir`.
import { createServer, type Server } from "node:http";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Push {
  method: string;
  /** The path as sent (percent-encoded). */
  path: string;
  /** The grouping key decoded: job plus label pairs. */
  grouping: Record<string, string>;
  contentType: string;
  body: string;
  /** Whether the request carried an Authorization header (it should not, unless configured). */
  authorization: boolean;
}

export interface PushgatewayStandIn {
  url: string;
  pushes: Push[];
  /** The next push is answered with this status and text body. */
  failNext(status: number, body: string): void;
  close(): Promise<void>;
}

export async function startPushgatewayStandIn(recordDir: string): Promise<PushgatewayStandIn> {
  const pushes: Push[] = [];
  let failure: { status: number; body: string } | undefined;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://pushgateway");
      const segments = url.pathname.split("/").filter(Boolean);
      const answer = (status: number, text: string) => {
        res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" });
        res.end(text);
      };
      if (segments[0] !== "metrics" || segments[1] !== "job" || segments.length < 3 || segments.length % 2 === 0) {
        return answer(404, "404 page not found\n");
      }
      if (!["PUT", "POST", "DELETE"].includes(req.method ?? "")) return answer(405, "Method Not Allowed\n");
      const grouping: Record<string, string> = { job: decodeURIComponent(segments[2]!) };
      for (let i = 3; i + 1 < segments.length; i += 2)
        grouping[decodeURIComponent(segments[i]!)] = decodeURIComponent(segments[i + 1]!);
      const body = Buffer.concat(chunks).toString("utf8");
      const push: Push = {
        method: req.method!,
        path: url.pathname,
        grouping,
        contentType: String(req.headers["content-type"] ?? ""),
        body,
        authorization: req.headers.authorization !== undefined,
      };
      pushes.push(push);
      writeFileSync(join(recordDir, `pushgateway-${pushes.length}.txt`), `${push.method} ${push.path}\n${body}`);
      if (failure) {
        const f = failure;
        failure = undefined;
        return answer(f.status, f.body);
      }
      answer(200, "");
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", () => ok()));
  const addr = server.address();
  if (!addr || typeof addr === "string") throw new Error("pushgateway stand-in: no address");
  return {
    url: `http://127.0.0.1:${addr.port}`,
    pushes,
    failNext(status, body) {
      failure = { status, body };
    },
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
