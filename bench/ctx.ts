// One world per N: the context its runs share, the counters reset before each run, and the
// per-request timing inside the Kubernetes stand-in.
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { RecordedRequest } from "../test/support/kube/index.ts";
import { PAT, type World } from "../test/support/world.ts";
import { requestKind } from "./lib.ts";
import type { ServerTiming } from "./measurements.ts";

export interface Ctx {
  n: number;
  world: World;
  namespaces: string[];
  /** The world's bin directory: the tests' kubectl spy. */
  binDir: string;
  toolTmp: string;
  /** Server-side timings of the requests since the last reset (stand-in modes only). */
  timings: ServerTiming[];
  cli: string;
  /** `rotate …` with the world's URLs and files. */
  args: string[];
  /** The token the last rotation minted. */
  tokenId: number | undefined;
}

/**
 * Per-request timing inside the Kubernetes stand-in (it runs in this process):
 * `requests.push(rec)` happens when a request arrives, `rec.status` is set when
 * its response has finished. Wrapping both gives the server-side latency
 * without touching test/.
 */
export function instrumentKube(world: World): ServerTiming[] {
  const timings: ServerTiming[] = [];
  // A real API server runs in its own process: its request log is its audit log, read after the fact.
  if (world.backend === "real") return timings;
  const reqs = world.kube.requests;
  const push = Array.prototype.push;
  Object.defineProperty(reqs, "push", {
    configurable: true,
    writable: true,
    value(this: RecordedRequest[], ...items: RecordedRequest[]): number {
      for (const rec of items) {
        const t: ServerTiming = {
          kind: requestKind(rec.method, `${rec.path}?${rec.query}`),
          t0: performance.now(),
          t1: undefined,
        };
        let status = rec.status;
        Object.defineProperty(rec, "status", {
          configurable: true,
          enumerable: true,
          get: () => status,
          set: (v: number) => {
            status = v;
            if (v && t.t1 === undefined) t.t1 = performance.now();
          },
        });
        timings.push(t);
      }
      return push.apply(this, items);
    },
  });
  return timings;
}

/** kubectl processes since the last reset: the spy's records. */
export function spyCount(ctx: Ctx): number {
  return readdirSync(ctx.world.spyDir).filter((f) => f.endsWith(".argv")).length;
}

function clearSpy(ctx: Ctx): void {
  for (const f of readdirSync(ctx.world.spyDir)) rmSync(join(ctx.world.spyDir, f), { force: true });
}

export function resetCounters(ctx: Ctx): void {
  clearSpy(ctx);
  ctx.world.kube.resetRequests();
  ctx.world.gitlab.resetRequests();
  ctx.timings.length = 0;
}

/** The environment of our CLI in this world. */
export function cliEnv(ctx: Ctx, extra: Record<string, string>): Record<string, string> {
  return {
    PATH: `${ctx.binDir}:${process.env.PATH ?? ""}`,
    HOME: ctx.world.home,
    TMPDIR: ctx.toolTmp,
    LANG: "C.UTF-8",
    GITLAB_TOKEN: PAT,
    ...extra,
  };
}
