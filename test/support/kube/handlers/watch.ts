// Watch, minimal: the current state as ADDED (unless a resourceVersion to
// resume from is given), then every change written through the store as
// ADDED/MODIFIED/DELETED, until timeoutSeconds or the client goes. Writers
// call notify() themselves after they persist, so a dry run never reaches here.
import type { Ctx } from "../context.ts";
import { canonical, type ResDef } from "../resources.ts";
import { parseFieldSelector, parseLabelSelector } from "../selectors.ts";

interface Watcher {
  ctx: Ctx;
  r: ResDef;
  ns: string | undefined;
  filter: (o: any) => boolean;
  timer: NodeJS.Timeout;
}

export class Watches {
  private readonly watchers = new Set<Watcher>();

  start(ctx: Ctx, r: ResDef, ns: string | undefined, initial: any[]): void {
    const ls = ctx.url.searchParams.get("labelSelector");
    const fs = ctx.url.searchParams.get("fieldSelector");
    const lreqs = ls ? parseLabelSelector(ls) : [];
    const freqs = fs ? parseFieldSelector(r, fs) : [];
    const filter = (o: any): boolean =>
      (!r.namespaced || !ns || o.metadata?.namespace === ns) &&
      lreqs.every((f) => f(o.metadata?.labels ?? {})) &&
      freqs.every((f) => f(o));
    const timeout = Math.min(Number(ctx.url.searchParams.get("timeoutSeconds") ?? "1800") || 1800, 1800);
    ctx.res.writeHead(200, {
      "Content-Type": "application/json",
      "Cache-Control": "no-cache, private",
      "Transfer-Encoding": "chunked",
    });
    const since = ctx.url.searchParams.get("resourceVersion");
    if (!since || since === "0")
      for (const o of initial) ctx.res.write(`${JSON.stringify({ type: "ADDED", object: canonical(r, o) })}\n`);
    const w: Watcher = {
      ctx,
      r,
      ns,
      filter,
      timer: setTimeout(() => {
        this.watchers.delete(w);
        ctx.res.end();
      }, timeout * 1000),
    };
    this.watchers.add(w);
    ctx.res.on("close", () => {
      clearTimeout(w.timer);
      this.watchers.delete(w);
    });
  }

  notify(r: ResDef, type: string, obj: any): void {
    for (const w of this.watchers) {
      if (w.r !== r || !w.filter(obj)) continue;
      w.ctx.res.write(`${JSON.stringify({ type, object: canonical(r, obj) })}\n`);
    }
  }

  /** Ends every open watch (the server is closing). */
  close(): void {
    for (const w of this.watchers) {
      clearTimeout(w.timer);
      w.ctx.res.end();
    }
    this.watchers.clear();
  }
}
