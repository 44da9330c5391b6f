// An in-memory fleet for the model-based tests of ownership: one GitLab
// project and several clusters, each with namespaces, Secrets and Leases, and
// the ports a run of `rotate` talks through, behaving as the live adapters do
// where ownership depends on it:
// - RBAC: namespaced Roles go with their namespace (a deleted namespace is a
//   403, told apart only with get on namespaces), the cluster-wide Secret list
//   and get on namespaces are grants a pipeline has or not;
// - server-side apply per item, refusing items in namespaces that are gone;
// - Leases with server-assigned uids and resourceVersion-guarded replaces;
// - deploy tokens that GitLab deletes on revoke, and a pull check that passes
//   only with a live token's value.
// Everything is deterministic (counters, not randomness), so a seed replays.
// A run can be killed between two port calls: from then on every call throws
// and changes nothing, as for a process that is gone.
import { KubeError, type Refusals } from "../../src/model/errors.js";
import { Annotations, MANAGED_BY_LABEL, MANAGER } from "../../src/model/naming.js";
import type {
  ExistingSecret,
  KubePort,
  LeaseState,
  LockPort,
  ManagedSecretRef,
  NamespaceState,
  Ports,
  ResolvedOwner,
  TokenView,
} from "../../src/model/ports.js";
import { Secret } from "../../src/model/secret.js";

export const OWNER: ResolvedOwner = {
  kind: "project",
  id: 42,
  path: "grp/app",
  registryImagePrefix: "registry.example.com/grp/app",
  registryAccessLevel: "enabled",
};

export interface FleetToken {
  id: number;
  name: string;
  value: string;
  expiresAt: string;
  /** As minted (--scope); listed as GitLab lists them. */
  scopes: readonly string[];
  deleted: boolean;
  /** Which run minted it (for messages). */
  mintedBy: string;
  /** Which run revoked it, and what Secrets held it then. */
  revokedBy?: string;
}

interface StoredSecret {
  namespace: string;
  name: string;
  type: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  data: Record<string, string>;
  resourceVersion: string;
}

interface StoredLease extends LeaseState {
  namespace: string;
  name: string;
}

export interface Rbac {
  /** list secrets at cluster scope (the managed-Secret list). */
  clusterList: boolean;
  /** get namespaces at cluster scope (tells a deleted namespace from a missing grant). */
  getNamespaces: boolean;
}

export class Killed extends Error {
  constructor() {
    super("killed");
  }
}

export class Cluster {
  readonly namespaces = new Map<string, Record<string, string>>();
  readonly secrets = new Map<string, StoredSecret>();
  readonly leases = new Map<string, StoredLease>();
  constructor(
    readonly name: string,
    private readonly fleet: Fleet,
  ) {}

  createNamespace(ns: string, labels: Record<string, string> = {}): void {
    if (!this.namespaces.has(ns)) this.namespaces.set(ns, { ...labels });
  }

  /** Deleted at once, with everything in it (a controller-manager emptying it). */
  deleteNamespace(ns: string): void {
    this.namespaces.delete(ns);
    for (const [k, s] of this.secrets) if (s.namespace === ns) this.secrets.delete(k);
    for (const [k, l] of this.leases) if (l.namespace === ns) this.leases.delete(k);
  }

  relabel(ns: string, labels: Record<string, string>): void {
    if (this.namespaces.has(ns)) this.namespaces.set(ns, { ...labels });
  }

  managedSecrets(): StoredSecret[] {
    return [...this.secrets.values()].filter((s) => s.labels[MANAGED_BY_LABEL] === MANAGER);
  }

  rv(): string {
    return String(++this.fleet.counter);
  }
}

function view(s: StoredSecret): ExistingSecret {
  return {
    namespace: s.namespace,
    type: s.type,
    labels: { ...s.labels },
    annotations: { ...s.annotations },
    resourceVersion: s.resourceVersion,
  };
}

function refused(operation: string, forbidden: string[], missing: string[] = []): KubeError {
  const refusals: Refusals = { missing, terminating: [], forbidden, other: [] };
  const lines = [
    ...forbidden.map((ns) => ({
      namespace: ns,
      reason: `is forbidden: User "pipeline" cannot access resource in the namespace "${ns}"`,
    })),
    ...missing.map((ns) => ({ namespace: ns, reason: `namespaces "${ns}" not found` })),
  ];
  return new KubeError(operation, "", [...forbidden, ...missing], refusals, lines);
}

/** Equality requirements, and `key in (a,b)`; every namespace carries kubernetes.io/metadata.name, as on a real server. */
function matches(selector: string, name: string, labels: Record<string, string>): boolean {
  const all: Record<string, string> = { ...labels, "kubernetes.io/metadata.name": name };
  const inSet = /^\s*(\S+)\s+in\s+\((.*)\)\s*$/.exec(selector);
  if (inSet)
    return inSet[2]!
      .split(",")
      .map((v) => v.trim())
      .includes(all[inSet[1]!] ?? "\0");
  return selector.split(",").every((req) => {
    const [k, v] = req.split("=") as [string, string];
    return all[k.trim()] === v.trim();
  });
}

export class Fleet {
  /**
   * GitLab's ids are unique per instance: fleets that share one real API server
   * (fleet-real.ts) start at different ids, or one history's Secrets would hold
   * "token 100" of another's.
   */
  constructor(private readonly firstTokenId = 100) {}

  counter = 0;
  clock = Date.parse("2026-11-23T08:30:00Z");
  readonly tokens: FleetToken[] = [];
  readonly clusters: Cluster[] = [];

  addCluster(name: string): Cluster {
    const c = new Cluster(name, this);
    this.clusters.push(c);
    return c;
  }

  uuid(): string {
    return `00000000-0000-4000-8000-${(++this.counter).toString(16).padStart(12, "0")}`;
  }

  isLive(id: number): boolean {
    const t = this.tokens.find((x) => x.id === id);
    return t !== undefined && !t.deleted && Date.parse(t.expiresAt) > this.clock;
  }

  /** Every (cluster, namespace, secret) whose Secret holds this token as its current one. */
  holders(id: number): string[] {
    return this.clusters.flatMap((c) =>
      c
        .managedSecrets()
        .filter((s) => s.annotations[Annotations.tokenId] === String(id))
        .map((s) => `${c.name}:${s.namespace}/${s.name}`),
    );
  }

  /**
   * The ports of one run of `who` against `cluster` with `rbac`; `killAt`
   * kills it at its n-th port call (1-based). `log` collects what it printed;
   * `step` counts a call of a port built elsewhere (fleet-real.ts) toward the kill.
   */
  ports(
    who: string,
    cluster: Cluster,
    rbac: Rbac,
    killAt?: number,
  ): { ports: Ports; log: string[]; killed: () => boolean; calls: () => number; step: () => void } {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the ports below are object literals, each method with its own `this`
    const fleet = this;
    const log: string[] = [];
    let calls = 0;
    let dead = false;
    const step = () => {
      calls++;
      if (dead || (killAt !== undefined && calls >= killAt)) {
        dead = true;
        throw new Killed();
      }
    };
    const exists = (ns: string) => cluster.namespaces.has(ns);
    const deny = (op: string, namespaces: readonly string[]) => {
      const gone = namespaces.filter((ns) => !exists(ns));
      if (gone.length) throw refused(op, gone);
    };

    const gitlab: Ports["gitlab"] = {
      async resolveOwner() {
        step();
        return OWNER;
      },
      async createDeployToken(_owner, req) {
        step();
        const id = fleet.tokens.length + fleet.firstTokenId;
        const value = `gldt-${id}-${(++fleet.counter).toString(36)}`;
        const t: FleetToken = {
          id,
          name: req.name,
          value,
          expiresAt: `${req.expiresAt}T00:00:00.000Z`,
          scopes: [...req.scopes],
          deleted: false,
          mintedBy: who,
        };
        fleet.tokens.push(t);
        return {
          id,
          name: req.name,
          username: `gitlab+deploy-token-${id}`,
          expiresAt: t.expiresAt,
          token: new Secret(value),
        };
      },
      async revokeDeployToken(_owner, id) {
        step();
        const t = fleet.tokens.find((x) => x.id === id);
        if (!t || t.deleted) return "already-gone";
        t.deleted = true;
        t.revokedBy = `${who} while held by [${fleet.holders(id).join(", ")}]`;
        return "revoked";
      },
      async listDeployTokens(): Promise<Array<TokenView & { username: string }>> {
        step();
        return fleet.tokens
          .filter((t) => !t.deleted)
          .map((t) => ({
            id: t.id,
            name: t.name,
            username: `gitlab+deploy-token-${t.id}`,
            expiresAt: t.expiresAt,
            revoked: false,
            scopes: [...t.scopes],
          }));
      },
      // The API token's own reads never fail here and never count as a step: they change nothing a kill could cut.
      async apiTokenSelf() {
        return { id: 1, name: "fleet", scopes: ["api"], expiresAt: null };
      },
      async callerAccess() {
        return { level: 40, isAdmin: async () => false };
      },
    };

    async function apply(list: Secret, opts: { dryRun: boolean; force: boolean }): Promise<void> {
      step();
      const items = (
        JSON.parse(list.reveal()) as {
          items: Array<{
            type: string;
            metadata: {
              name: string;
              namespace: string;
              labels?: Record<string, string>;
              annotations?: Record<string, string>;
            };
            data?: Record<string, string>;
          }>;
        }
      ).items;
      const gone: string[] = [];
      for (const item of items) {
        const ns = item.metadata.namespace;
        if (!exists(ns)) {
          gone.push(ns);
          continue;
        }
        if (opts.dryRun) continue;
        const key = `${ns}/${item.metadata.name}`;
        const before = cluster.secrets.get(key);
        // Server-side apply by one field manager: our annotations are exactly what we sent.
        const ours = new Set<string>(Object.values(Annotations));
        const kept = Object.fromEntries(Object.entries(before?.annotations ?? {}).filter(([k]) => !ours.has(k)));
        cluster.secrets.set(key, {
          namespace: ns,
          name: item.metadata.name,
          type: item.type,
          labels: { ...before?.labels, ...item.metadata.labels },
          annotations: { ...kept, ...item.metadata.annotations },
          data: Object.fromEntries(
            Object.entries(item.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
          ),
          resourceVersion: cluster.rv(),
        });
      }
      if (gone.length)
        throw refused(opts.dryRun ? "checking the apply (server dry run)" : "applying the Secrets", gone);
    }

    const kube: KubePort = {
      async readTarget(namespaces, secretName) {
        step();
        deny(`reading Secret "${secretName}"`, namespaces);
        return {
          secrets: namespaces.flatMap((ns) => {
            const s = cluster.secrets.get(`${ns}/${secretName}`);
            return s ? [view(s)] : [];
          }),
          serviceAccounts: [],
        };
      },
      async replaceServiceAccounts() {
        step();
        return "ok";
      },
      async listNamespaces(selector) {
        step();
        return [...cluster.namespaces]
          .filter(([ns, labels]) => matches(selector, ns, labels))
          .map(([ns]) => ns)
          .sort();
      },
      async namespaceStates(names) {
        step();
        return new Map<string, NamespaceState>(
          names.map((ns) => [ns, rbac.getNamespaces ? (exists(ns) ? "active" : "missing") : "unknown"]),
        );
      },
      async applyNamespaces(names) {
        step();
        const created = names.filter((ns) => !exists(ns));
        for (const ns of created) cluster.createNamespace(ns);
        return created;
      },
      async dryRunNamespaces(names) {
        step();
        return names.filter((ns) => !exists(ns));
      },
      async readSecrets(namespaces, name) {
        step();
        deny(`reading Secret "${name}"`, namespaces);
        return namespaces.flatMap((ns) => {
          const s = cluster.secrets.get(`${ns}/${name}`);
          return s ? [view(s)] : [];
        });
      },
      async readSecretData(namespace, name) {
        step();
        deny(`reading Secret "${name}"`, [namespace]);
        const s = cluster.secrets.get(`${namespace}/${name}`);
        return s
          ? { secret: view(s), data: Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, new Secret(v)])) }
          : undefined;
      },
      applySecrets: (list, opts) => apply(list, { ...opts, dryRun: false }),
      dryRunSecrets: (list, opts) => apply(list, { ...opts, dryRun: true }),
      async forbiddenSecretDeletes() {
        return [];
      },
      async deleteSecrets(namespaces, name) {
        step();
        for (const ns of namespaces) cluster.secrets.delete(`${ns}/${name}`);
      },
      async listManagedSecrets(): Promise<ManagedSecretRef[] | "forbidden"> {
        step();
        if (!rbac.clusterList) return "forbidden";
        return cluster.managedSecrets().map((s) => ({
          namespace: s.namespace,
          name: s.name,
          owner: s.annotations[Annotations.owner] ?? "",
          tokenId: s.annotations[Annotations.tokenId] ?? "",
          kept: s.annotations[Annotations.keptTokenIds] ?? "",
        }));
      },
    };

    const lease = (l: StoredLease): LeaseState => ({
      holder: l.holder,
      renewTime: l.renewTime,
      durationSeconds: l.durationSeconds,
      resourceVersion: l.resourceVersion,
      uid: l.uid,
      ...(l.annotations ? { annotations: { ...l.annotations } } : {}),
    });
    const lock: LockPort = {
      async readLease(ns, name) {
        step();
        deny("reading the rotation lock", [ns]);
        const l = cluster.leases.get(`${ns}/${name}`);
        return l ? lease(l) : undefined;
      },
      async readLeases(namespaces, name) {
        step();
        return new Map(
          namespaces.flatMap((ns) => {
            const l = exists(ns) ? cluster.leases.get(`${ns}/${name}`) : undefined;
            return l ? [[ns, lease(l)] as const] : [];
          }),
        );
      },
      async createLease(ns, name, holder, durationSeconds, now, annotations) {
        step();
        deny("creating the rotation lock", [ns]);
        if (cluster.leases.has(`${ns}/${name}`)) return undefined;
        const l: StoredLease = {
          namespace: ns,
          name,
          holder,
          renewTime: now.toISOString(),
          durationSeconds,
          resourceVersion: cluster.rv(),
          uid: fleet.uuid(),
          ...(annotations ? { annotations: { ...annotations } } : {}),
        };
        cluster.leases.set(`${ns}/${name}`, l);
        return lease(l);
      },
      // A replace: what the client sends is what is stored, annotations included.
      async claimLease(ns, name, holder, durationSeconds, now, resourceVersion, annotations) {
        step();
        deny("taking the rotation lock", [ns]);
        const l = cluster.leases.get(`${ns}/${name}`);
        if (!l || l.resourceVersion !== resourceVersion) return undefined;
        Object.assign(l, {
          holder,
          renewTime: now.toISOString(),
          durationSeconds,
          resourceVersion: cluster.rv(),
          annotations: annotations ? { ...annotations } : undefined,
        });
        return lease(l);
      },
      async renewLease(ns, name, held, now) {
        step();
        const l = cluster.leases.get(`${ns}/${name}`);
        if (!l || l.resourceVersion !== held.resourceVersion) return undefined;
        Object.assign(l, {
          renewTime: now.toISOString(),
          resourceVersion: cluster.rv(),
          annotations: held.annotations ? { ...held.annotations } : undefined,
        });
        return lease(l);
      },
      async releaseLease(ns, name, held) {
        step();
        const l = cluster.leases.get(`${ns}/${name}`);
        if (l && l.resourceVersion === held.resourceVersion)
          Object.assign(l, {
            holder: "",
            renewTime: "",
            resourceVersion: cluster.rv(),
            annotations: held.annotations ? { ...held.annotations } : undefined,
          });
      },
    };

    const ports: Ports = {
      gitlab,
      kube,
      lock,
      verifier: {
        async verifyPull(req) {
          step();
          const value = req.password.reveal();
          const t = fleet.tokens.find((x) => x.value === value);
          if (!t || !fleet.isLive(t.id)) throw new Error(`registry: 401 for ${req.username}`);
          return { digest: "sha256:0" };
        },
      },
      clock: { now: () => new Date(fleet.clock) },
      log: { info: (m) => log.push(m), warn: (m) => log.push(`warning: ${m}`), secret: () => {} },
      // Runs are sequential and a dead run's Lease is stale before the next starts, so nothing waits long.
      sleep: async (ms) => {
        fleet.clock += ms;
      },
      nonce: () => (++fleet.counter).toString(16).padStart(6, "0"),
      // Runs are short in fleet time: the Lease is never due a renewal within one.
      timer: { after: () => () => {} },
    };
    return { ports, log, killed: () => dead, calls: () => calls, step };
  }
}
