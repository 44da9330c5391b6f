// Kubernetes Events (events.k8s.io/v1) as this tool writes them: what a run
// did, where operators already look (`kubectl events`, `kubectl describe`).
// Pure: the shape, the API server's limits, and the manifest kubectl gets on
// stdin. Which Events a run writes is decided in commands/run-signals.ts.
import { MANAGED_BY_LABEL, MANAGER } from "./naming.js";

/** reportingController: who reports. The API server wants a qualified name. */
export const REPORTING_CONTROLLER = MANAGER;

/**
 * The API server's limits on an Event (pkg/apis/core/validation/events.go):
 * note at most 1024 bytes, reason, action and reportingInstance at most 128.
 */
export const NOTE_LIMIT = 1024;
export const FIELD_LIMIT = 128;

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  /** The Event is created here too: a namespaced regarding object is required outside default and kube-system. */
  namespace: string;
  name: string;
  /** Known for the Lease; `kubectl describe` matches Events by it. */
  uid?: string;
}

export interface KubeEvent {
  type: "Normal" | "Warning";
  /** UpperCamelCase, machine-readable: Rotated, Filled, NothingDue, RotationFailed, ... */
  reason: string;
  /** What the tool did or tried: Rotate, WriteSecret. */
  action: string;
  regarding: ObjectRef;
  /** For people; already redacted by the caller. Cut to NOTE_LIMIT bytes here. */
  note: string;
}

/** Cuts text to at most `limit` UTF-8 bytes, never inside a character, marking the cut. */
export function clip(text: string, limit: number): string {
  if (Buffer.byteLength(text, "utf8") <= limit) return text;
  const mark = " …";
  let out = "";
  let size = Buffer.byteLength(mark, "utf8");
  for (const ch of text) {
    const n = Buffer.byteLength(ch, "utf8");
    if (size + n > limit) break;
    out += ch;
    size += n;
  }
  return out + mark;
}

/** Lease and Secret names may be 253 characters; the Event's name adds a suffix and must stay a DNS subdomain. */
function eventName(base: string, at: Date, index: number): string {
  const stem = base.slice(0, 200).replace(/[.-]+$/, "");
  // client-go names Events <object>.<hex nanoseconds>; the index keeps one run's Events apart.
  const nanos = BigInt(at.getTime()) * 1_000_000n + BigInt(index);
  return `${stem}.${nanos.toString(16)}`;
}

/** MicroTime: RFC 3339 with microseconds, as eventTime must be. */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** A v1 List of events.k8s.io/v1 Events for `kubectl create -f -` (stdin, never argv). */
export function eventList(events: readonly KubeEvent[], at: Date, reportingInstance: string): string {
  const instance = clip(reportingInstance, FIELD_LIMIT).replace(/ …$/, "");
  return JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: events.map((e, i) => ({
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: {
        name: eventName(e.regarding.name, at, i),
        namespace: e.regarding.namespace,
        labels: { [MANAGED_BY_LABEL]: MANAGER },
      },
      eventTime: microTime(at),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: instance,
      action: e.action.slice(0, FIELD_LIMIT),
      reason: e.reason.slice(0, FIELD_LIMIT),
      type: e.type,
      regarding: {
        apiVersion: e.regarding.apiVersion,
        kind: e.regarding.kind,
        namespace: e.regarding.namespace,
        name: e.regarding.name,
        ...(e.regarding.uid ? { uid: e.regarding.uid } : {}),
      },
      note: clip(e.note, NOTE_LIMIT),
    })),
  });
}
