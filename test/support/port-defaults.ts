// The members of the ports that a unit test's fake has nothing to say about,
// answered the way a quiet, healthy world answers: a healthy API token of a
// Maintainer, no right to list Secrets cluster-wide or to get namespaces, no
// earlier Leases, a timer that never fires. Every port member is required, so
// a fake spreads these under its own and the compiler names what is missing.
import type { GitLabReader, KubePort, LockPort, NamespaceState, Timer } from "../../src/model/ports.js";

export const healthyApiToken: Pick<GitLabReader, "apiTokenSelf" | "callerAccess"> = {
  async apiTokenSelf() {
    return { id: 1, name: "test", scopes: ["api"], expiresAt: null };
  },
  async callerAccess() {
    return { level: 40, isAdmin: async () => false };
  },
};

export const quietKube: Pick<
  KubePort,
  | "namespaceStates"
  | "listManagedSecrets"
  | "forbiddenSecretDeletes"
  | "deleteSecrets"
  | "readSecretData"
  | "dryRunNamespaces"
  | "listNamespaces"
> = {
  async namespaceStates(names) {
    return new Map<string, NamespaceState>(names.map((ns) => [ns, "unknown"]));
  },
  async listManagedSecrets() {
    return "forbidden";
  },
  async forbiddenSecretDeletes() {
    return [];
  },
  async deleteSecrets() {},
  async readSecretData() {
    return undefined;
  },
  async dryRunNamespaces() {
    return [];
  },
  async listNamespaces() {
    return [];
  },
};

export const quietLock: Pick<LockPort, "readLeases" | "renewLease"> = {
  async readLeases() {
    return new Map();
  },
  async renewLease(_namespace, _name, held, now) {
    return { ...held, renewTime: now.toISOString() };
  },
};

/** A run in a unit test is over long before its Lease would be renewed. */
export const idleTimer: Timer = { after: () => () => {} };
