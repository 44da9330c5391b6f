// Every write a run makes under the target's lock goes through these ports:
// each asks first whether the Lease is still the run's (lease-keeper.ts), and
// a run that lost it stops there instead of writing beside another run. The
// guard records what was written, so the error can say what was and wasn't
// done. Wrapping the ports, rather than checking at each step, covers every
// write of every command that holds the lock, including steps that report a
// failure and go on (revokes, the sweep, ServiceAccounts): those are refused
// too, and `settle` turns the run's result into the typed error.
import { LockLostError } from "./lease-keeper.js";
import type { Ports } from "../model/ports.js";

export interface LeaseWatch {
  lease: { namespace: string; name: string };
  /** undefined while the Lease is the run's. */
  lostReason(): string | undefined;
}

/** What the guard wraps: a command's ports with GitLab and the cluster; only their writers are guarded, reads pass. */
type Writers = Pick<Ports, "gitlab" | "kube">;

export interface Guarded<P extends Writers = Ports> {
  ports: P;
  /** The run's result, or the LockLostError when a write was refused (the run's own report of it is beside the point). */
  settle<T>(result: T): T;
}

export function guardWrites<P extends Writers>(ports: P, watch: LeaseWatch): Guarded<P> {
  const done: string[] = [];
  const refused: string[] = [];
  // Tokens this run minted: taking one back is its own rollback (rotate-revoke.ts checks no Secret holds it), never another run's business.
  const minted = new Set<number>();
  const lostError = (why: string, notDone: string[]) => new LockLostError(watch.lease, why, done, notDone);
  const before = (step: string): void => {
    const why = watch.lostReason();
    if (why === undefined) return;
    refused.push(step);
    throw lostError(why, [step]);
  };
  const { gitlab, kube } = ports;
  const guarded: Writers = {
    ...ports,
    gitlab: {
      ...gitlab,
      async createDeployToken(owner, req) {
        before("minting a deploy token");
        const t = await gitlab.createDeployToken(owner, req);
        minted.add(t.id);
        done.push(`minted deploy token ${t.id}`);
        return t;
      },
      async revokeDeployToken(owner, id) {
        if (!minted.has(id)) before(`revoking deploy token ${id}`);
        const outcome = await gitlab.revokeDeployToken(owner, id);
        done.push(`revoked deploy token ${id}`);
        return outcome;
      },
    },
    kube: {
      ...kube,
      async applySecrets(list, opts) {
        before("writing the Secrets");
        await kube.applySecrets(list, opts);
        done.push("wrote the Secrets");
      },
      async replaceServiceAccounts(objects) {
        before("updating the ServiceAccounts");
        const outcome = await kube.replaceServiceAccounts(objects);
        if (outcome === "ok") done.push("updated the ServiceAccounts");
        return outcome;
      },
      async applyNamespaces(names) {
        before("creating the namespaces");
        return kube.applyNamespaces(names);
      },
      async deleteSecrets(namespaces, name) {
        if (namespaces.length) before(`deleting the Secrets in ${namespaces.join(", ")}`);
        await kube.deleteSecrets(namespaces, name);
        if (namespaces.length) done.push(`deleted the Secrets in ${namespaces.join(", ")}`);
      },
    },
  };
  return {
    // The same port objects with their writes wrapped: whatever else P holds passes through.
    ports: guarded as P,
    settle(result) {
      const why = watch.lostReason();
      if (refused.length && why !== undefined) throw lostError(why, refused);
      return result;
    },
  };
}
