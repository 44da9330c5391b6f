// The EventPort: one `kubectl create -f -` for all of a run's Events, the List
// on stdin (never argv, never a file). kubectl creates item by item and goes on
// past a refused one, so one namespace without the grant costs nothing else.
import { eventList } from "../model/events.js";
import type { EventPort } from "../model/ports.js";
import { kubectlRunner, type KubectlOptions } from "./kubectl-run.js";

/** What kubectl prints when RBAC refuses an Event (with or without the object's name in front). */
const EVENTS_FORBIDDEN = /events(\.events\.k8s\.io)? (".*" )?is forbidden: User .* cannot create resource "events"/;

export function kubectlEventPort(opts: KubectlOptions & { reportingInstance: string }): EventPort {
  const run = kubectlRunner(opts);
  return {
    async createEvents(events, at) {
      if (events.length === 0) return { created: 0, refused: undefined, failures: [] };
      // No schema check: the objects are ours (model/events.ts) and the check would first download the OpenAPI document.
      const r = await run(
        ["create", "-f", "-", "-o", "name", "--validate=false"],
        eventList(events, at, opts.reportingInstance),
      );
      const created = r.stdout.split("\n").filter((l) => l.trim() !== "").length;
      if (r.exitCode === 0) return { created, refused: undefined, failures: [] };
      const lines = opts
        .redact(r.stderr)
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "");
      const forbidden = lines.filter((l) => EVENTS_FORBIDDEN.test(l));
      const failures = lines.filter((l) => !EVENTS_FORBIDDEN.test(l));
      return { created, refused: forbidden.length ? "forbidden" : undefined, failures };
    },
  };
}
