// The rotation lock's Lease as kubectl reads and writes it, and the errors
// that mean another run got there first (look again) rather than failure.
import { MANAGER } from "../model/naming.js";
import type { LeaseState } from "../model/ports.js";
import { isLeaseAnnotation } from "../model/target-record.js";

/** Lease times are MicroTime: RFC 3339 with microseconds. */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/**
 * The Lease as we write it: held (holder, times, duration) or released (no
 * holder, no times: a run of an older version, which deletes the Lease, sees
 * it as stale at once). A resourceVersion makes the write a guarded replace.
 */
export function leaseManifest(
  namespace: string,
  name: string,
  /** acquireTime: as the claim stored it, when renewing (a claim takes `now`). */
  hold: { holder: string; durationSeconds: number; now: Date; acquireTime?: string | undefined } | null,
  resourceVersion?: string,
  /** Ours (gitlab-pull-secret.io and its subdomains), carried by every write. */
  annotations: Record<string, string> = {},
): string {
  return JSON.stringify({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name,
      namespace,
      labels: { "app.kubernetes.io/managed-by": MANAGER },
      ...(Object.keys(annotations).length ? { annotations } : {}),
      ...(resourceVersion ? { resourceVersion } : {}),
    },
    spec: hold
      ? {
          holderIdentity: hold.holder,
          leaseDurationSeconds: hold.durationSeconds,
          acquireTime: hold.acquireTime || microTime(hold.now),
          renewTime: microTime(hold.now),
        }
      : {},
  });
}

export function parseLease(stdout: string): LeaseState {
  const o = JSON.parse(stdout) as {
    metadata?: { resourceVersion?: string; uid?: string; annotations?: Record<string, string> };
    spec?: Record<string, unknown>;
  };
  const ours = Object.entries(o.metadata?.annotations ?? {}).filter(([k]) => isLeaseAnnotation(k));
  return {
    holder: String(o.spec?.holderIdentity ?? ""),
    renewTime: String(o.spec?.renewTime ?? o.spec?.acquireTime ?? ""),
    ...(o.spec?.acquireTime ? { acquireTime: String(o.spec.acquireTime) } : {}),
    durationSeconds: Number(o.spec?.leaseDurationSeconds ?? 0),
    resourceVersion: String(o.metadata?.resourceVersion ?? ""),
    uid: String(o.metadata?.uid ?? ""),
    ...(ours.length ? { annotations: Object.fromEntries(ours) } : {}),
  };
}

/** Another run created the Lease between our read and our create: look again. */
export const CREATE_RACE = /AlreadyExists|already exists/;
/**
 * Another run changed or released the Lease between our read and our replace:
 * look again. Only the Lease's own NotFound: a missing namespace is a failure,
 * or the run would retry forever.
 */
export const CLAIM_RACE = /Conflict|the object has been modified|leases(\.coordination\.k8s\.io)? "[^"]+" not found/;
