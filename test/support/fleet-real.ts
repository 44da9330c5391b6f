// The ownership histories (fleet-history.ts) on a real cluster: the run's
// kube and lock ports are the live kubectl adapter, as the pipeline's own user
// with real Roles and ClusterRoles for its RBAC level; GitLab and the pull
// check stay the fleet's, in process. One cluster per history; each history
// names its namespaces and team labels with its own tag, so many share one
// API server without seeing each other.
import { kubectlPort } from "../../src/adapters/kubectl.js";
import { kubectlFor } from "./kubectl-binary.js";
import type { KubePort, LockPort } from "../../src/model/ports.js";
import { Cluster, Fleet, type Rbac } from "./fleet.js";
import type { Harness, History } from "./fleet-history.js";
import type { PolicyRule } from "./kube/index.js";
import { waitFor, type World } from "./world.js";

/** The history with every namespace and team label tagged (`a` -> `<tag>-a`, team `x` -> `<tag>x`). */
export function tagged(h: History, tag: string): History {
  const ns = (n: string) => `${tag}-${n}`;
  const team = (t: string | null) => (t === null ? null : `${tag}${t}`);
  return {
    clusters: h.clusters.map((c) => c.map((n) => ({ ns: ns(n.ns), team: team(n.team) }))),
    pipelines: h.pipelines.map((p) => ({
      ...p,
      spec:
        p.spec.kind === "list"
          ? { kind: "list", list: p.spec.list.map(ns) }
          : { ...p.spec, team: team(p.spec.team)!, list: p.spec.list.map(ns), exclude: p.spec.exclude.map(ns) },
    })),
    steps: h.steps.map((s) =>
      s.op === "run" ? s : s.op === "delete" ? { ...s, ns: ns(s.ns) } : { ...s, ns: ns(s.ns), team: team(s.team) },
    ),
  };
}

function rules(rbac: Rbac, namespaces: string[]): PolicyRule[] {
  return [
    // examples/rbac: the selector's list, creating namespaces (--missing-namespace create), role.yaml in each namespace.
    {
      apiGroups: [""],
      resources: ["namespaces"],
      verbs: ["list", "create", "patch", ...(rbac.getNamespaces ? ["get"] : [])],
    },
    ...(rbac.clusterList ? [{ apiGroups: [""], resources: ["secrets"], verbs: ["list"] }] : []),
    ...(namespaces.length
      ? [
          { apiGroups: [""], resources: ["secrets"], verbs: ["get", "create", "patch"], namespaces },
          { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["get", "update"], namespaces },
          { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update"], namespaces },
        ]
      : []),
  ];
}

/** Each call of a live port counts toward the run's kill, as the fleet's own ports do. */
function counted<T extends object>(port: T, step: () => void): T {
  return Object.fromEntries(
    Object.entries(port).map(([k, f]) => [
      k,
      typeof f === "function"
        ? async (...args: unknown[]) => (step(), await (f as (...a: unknown[]) => unknown)(...args))
        : f,
    ]),
  ) as T;
}

export async function realHarness(w: World, h: History, tag: string): Promise<Harness> {
  if (h.clusters.length !== 1) throw new Error("the real tier plays one cluster per history");
  // Each history its own range of token ids: one GitLab instance never gives two tokens one id.
  const fleet = new Fleet(100 + 10_000 * Number(tag.replace(/\D/g, "") || 0));
  const view = new Cluster("k0", fleet);
  const prefix = `${tag}-`;
  const users = h.pipelines.map((_, i) => `${tag}-p${i}`);
  const existing = () =>
    w.kube
      .listObjects("namespaces")
      .map((o) => o.metadata.name as string)
      .filter((n) => n.startsWith(prefix));
  // A namespace's Roles go with it: every user gets them again in the namespaces there are now.
  const grant = () => h.pipelines.forEach((p, i) => w.kube.addUser(users[i]!, rules(p.rbac, existing())));
  for (const n of h.clusters[0]!) w.kube.createNamespace(n.ns, n.team ? { team: n.team } : {});
  grant();
  const kubeconfigs = users.map((u) => w.kube.writeKubeconfig(`${w.dir}/fleet-${u}`, u));
  const binary = await kubectlFor(w.kubeconfig, w.backend, process.env as Record<string, string>);

  const harness: Harness = {
    fleet,
    clusters: [view],
    ports(who, index, killAt) {
      const run = fleet.ports(who, view, h.pipelines[index]!.rbac, killAt);
      const live = kubectlPort({
        binary,
        kubeconfig: kubeconfigs[index]!,
        context: undefined,
        redact: (t) => t,
        holdsSecret: () => false,
      });
      run.ports.kube = counted<KubePort>(live, run.step);
      run.ports.lock = counted<LockPort>(live, run.step);
      return run;
    },
    async createNamespace(_c, ns, labels) {
      w.kube.createNamespace(ns, labels);
      grant();
    },
    async deleteNamespace(_c, ns) {
      if (!w.kube.deleteObject("namespaces", undefined, ns)) return;
      // The namespace controller empties it; the model's namespaces go at once, so wait until it is gone.
      await waitFor(
        () => w.kube.getObject("namespaces", undefined, ns) === undefined,
        `namespace ${ns} to be deleted`,
        120_000,
      );
    },
    async relabel(_c, ns, labels) {
      const o = w.kube.getObject("namespaces", undefined, ns);
      if (!o) return;
      w.kube.putObject("namespaces", {
        ...o,
        metadata: { ...o.metadata, labels: { "kubernetes.io/metadata.name": ns, ...labels } },
      });
    },
    async sync() {
      view.namespaces.clear();
      view.secrets.clear();
      view.leases.clear();
      for (const o of w.kube.listObjects("namespaces")) {
        if (o.metadata.name.startsWith(prefix) && o.status?.phase !== "Terminating")
          view.namespaces.set(o.metadata.name, { ...o.metadata.labels });
      }
      for (const s of w.kube.listObjects("secrets")) {
        if (!view.namespaces.has(s.metadata.namespace)) continue;
        const m = s.metadata;
        view.secrets.set(`${m.namespace}/${m.name}`, {
          namespace: m.namespace,
          name: m.name,
          type: s.type,
          labels: m.labels ?? {},
          annotations: m.annotations ?? {},
          data: {},
          resourceVersion: m.resourceVersion,
        });
      }
      for (const l of w.kube.listObjects("leases")) {
        const m = l.metadata;
        if (!view.namespaces.has(m.namespace)) continue;
        view.leases.set(`${m.namespace}/${m.name}`, {
          namespace: m.namespace,
          name: m.name,
          holder: l.spec?.holderIdentity ?? "",
          renewTime: "",
          durationSeconds: 0,
          resourceVersion: m.resourceVersion,
          uid: m.uid,
          annotations: m.annotations,
        });
      }
    },
  };
  return harness;
}
