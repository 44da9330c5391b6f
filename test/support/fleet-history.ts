// Histories of a fleet for the ownership property (test/unit/ownership-property.test.ts):
// what is generated, how a history is played on the in-memory fleet
// (test/support/fleet.ts) through the real `rotate`, and the invariants
// checked after every step. The counterexamples kept as plain tests
// (test/unit/ownership-counterexamples.test.ts) play through the same code.
import fc from "fast-check";
import { parseConfig } from "../../src/config/inputs.js";
import { rotate } from "../../src/commands/rotate.js";
import { planRotation } from "../../src/commands/plan.js";
import { GpsError } from "../../src/model/errors.js";
import { Annotations, mintedAt } from "../../src/model/naming.js";
import { Fleet, Killed, type Cluster, type Rbac } from "./fleet.js";

export const POOL = ["a", "b", "c", "d", "e"] as const;
const TEAMS = ["x", "y"] as const;
/** --sweep-grace as the runs use it (the default). */
const GRACE_MS = 10 * 60_000;

export type Spec =
  { kind: "list"; list: string[] } | { kind: "selector"; team: string; list: string[]; exclude: string[] };

export interface Pipeline {
  cluster: number;
  secret: string;
  spec: Spec;
  rbac: Rbac;
}

export type Step =
  | {
      op: "run";
      pipeline: number;
      force: boolean;
      rotateBefore: "none" | "1d" | "6d";
      keepPrevious: 0 | 1;
      missing: "skip" | "fail" | "create";
      /** --scope: the default, or the Dependency Proxy's set (a change makes the current token due). Unset: the default. */
      scopes?: "default" | "proxy";
      /** Killed at this port call (1-based), or runs to its end. */
      killAt: number | null;
      /** How long since the step before (at least a Lease's duration: a dead run's lock is stale by then). */
      afterMinutes: number;
    }
  | { op: "create"; cluster: number; ns: string; team: string | null }
  | { op: "delete"; cluster: number; ns: string }
  | { op: "relabel"; cluster: number; ns: string; team: string | null };

export interface History {
  /** Per cluster: the namespaces at the start and their team label. */
  clusters: Array<Array<{ ns: string; team: string | null }>>;
  pipelines: Pipeline[];
  steps: Step[];
}

const team = fc.constantFrom<string | null>(...TEAMS, null);
const ns = fc.constantFrom(...POOL);
const subset = (min: number) => fc.uniqueArray(ns, { minLength: min, maxLength: 3 });

const spec: fc.Arbitrary<Spec> = fc.oneof(
  fc.record({ kind: fc.constant("list" as const), list: subset(1) }),
  fc.record({
    kind: fc.constant("selector" as const),
    team: fc.constantFrom(...TEAMS),
    list: fc.constant([] as string[]),
    exclude: fc.constant([] as string[]),
  }),
  fc.record({
    kind: fc.constant("selector" as const),
    team: fc.constantFrom(...TEAMS),
    list: subset(1),
    exclude: fc.constant([] as string[]),
  }),
  fc.record({
    kind: fc.constant("selector" as const),
    team: fc.constantFrom(...TEAMS),
    list: fc.constant([] as string[]),
    exclude: subset(1),
  }),
);

/** Histories of 1–3 clusters and up to 14 steps; the real tier asks for fewer of both (each run there is real kubectl). */
export function historyArbitrary(limits: { maxClusters?: number; maxSteps?: number } = {}): fc.Arbitrary<History> {
  return fc.integer({ min: 1, max: limits.maxClusters ?? 3 }).chain((clusters) =>
    fc.record({
      clusters: fc.array(
        fc.uniqueArray(fc.record({ ns, team }), { minLength: 1, maxLength: 5, selector: (n) => n.ns }),
        { minLength: clusters, maxLength: clusters },
      ),
      pipelines: fc.array(
        fc.record({
          cluster: fc.integer({ min: 0, max: clusters - 1 }),
          secret: fc.constantFrom("s", "t"),
          spec,
          rbac: fc.record({ clusterList: fc.boolean(), getNamespaces: fc.boolean() }),
        }),
        { minLength: 2, maxLength: 4 },
      ),
      steps: fc.array(
        fc.oneof(
          {
            weight: 6,
            arbitrary: fc.record({
              op: fc.constant("run" as const),
              pipeline: fc.nat(3),
              force: fc.boolean(),
              rotateBefore: fc.constantFrom("none" as const, "1d" as const, "6d" as const),
              keepPrevious: fc.constantFrom(0 as const, 1 as const),
              missing: fc.constantFrom("skip" as const, "skip" as const, "fail" as const, "create" as const),
              scopes: fc.constantFrom("default" as const, "default" as const, "proxy" as const),
              killAt: fc.option(fc.integer({ min: 1, max: 24 }), { freq: 4 }),
              afterMinutes: fc.integer({ min: 6, max: 8 * 60 }),
            }),
          },
          {
            weight: 1,
            arbitrary: fc.record({ op: fc.constant("create" as const), cluster: fc.nat(clusters - 1), ns, team }),
          },
          {
            weight: 1,
            arbitrary: fc.record({ op: fc.constant("delete" as const), cluster: fc.nat(clusters - 1), ns }),
          },
          {
            weight: 1,
            arbitrary: fc.record({ op: fc.constant("relabel" as const), cluster: fc.nat(clusters - 1), ns, team }),
          },
        ),
        { minLength: 1, maxLength: limits.maxSteps ?? 14 },
      ),
    }),
  );
}

function rawConfig(p: Pipeline, s: Extract<Step, { op: "run" }>): Record<string, unknown> {
  return {
    project: "grp/app",
    secretName: p.secret,
    ...(p.spec.kind === "list"
      ? { namespaces: p.spec.list }
      : { namespaceSelector: `team=${p.spec.team}`, namespaces: p.spec.list, excludeNamespaces: p.spec.exclude }),
    force: String(s.force),
    ...(s.rotateBefore === "none" ? {} : { rotateBefore: s.rotateBefore }),
    keepPrevious: String(s.keepPrevious),
    missingNamespace: s.missing,
    ...(s.scopes === "proxy" ? { scopes: ["read_registry", "read_virtual_registry", "write_virtual_registry"] } : {}),
  };
}

/**
 * What a history plays on: the in-memory fleet (inMemory below), or real
 * clusters (test/support/fleet-real.ts). GitLab is always the fleet's.
 */
export interface Harness {
  fleet: Fleet;
  /** Views of the clusters, as fresh as the last sync(). */
  clusters: FleetCluster[];
  /** The ports of one run of pipeline `pipeline` (its cluster, its RBAC). */
  ports(who: string, pipeline: number, killAt: number | undefined): RunPorts;
  createNamespace(cluster: number, ns: string, labels: Record<string, string>): Promise<void>;
  deleteNamespace(cluster: number, ns: string): Promise<void>;
  relabel(cluster: number, ns: string, labels: Record<string, string>): Promise<void>;
  /** Brings the views up to date with the clusters. */
  sync(): Promise<void>;
}

export type FleetCluster = Pick<Cluster, "name" | "namespaces" | "secrets" | "leases" | "managedSecrets">;
type RunPorts = ReturnType<Fleet["ports"]>;

function inMemory(h: History): Harness {
  const fleet = new Fleet();
  const clusters = h.clusters.map((namespaces, i) => {
    const c = fleet.addCluster(`k${i}`);
    for (const n of namespaces) c.createNamespace(n.ns, n.team ? { team: n.team } : {});
    return c;
  });
  return {
    fleet,
    clusters,
    ports: (who, pipeline, killAt) =>
      fleet.ports(who, clusters[h.pipelines[pipeline]!.cluster]!, h.pipelines[pipeline]!.rbac, killAt),
    createNamespace: async (c, ns, labels) => clusters[c]!.createNamespace(ns, labels),
    deleteNamespace: async (c, ns) => clusters[c]!.deleteNamespace(ns),
    relabel: async (c, ns, labels) => clusters[c]!.relabel(ns, labels),
    sync: async () => {},
  };
}

/** Every token id any Secret of these clusters holds, keeps or records as pending. */
function referencedIn(clusters: readonly FleetCluster[]): Set<number> {
  const out = new Set<number>();
  for (const c of clusters) {
    for (const s of c.managedSecrets()) {
      for (const key of [Annotations.tokenId, Annotations.keptTokenIds, Annotations.revokePending]) {
        for (const part of (s.annotations[key] ?? "").split(",")) if (/^\d+$/.test(part)) out.add(Number(part));
      }
    }
  }
  return out;
}

/** The namespaces a pipeline's run resolves to now (list, or selector plus list, minus exclusions). */
function scopeOf(p: Pipeline, c: FleetCluster): string[] {
  if (p.spec.kind === "list") return [...p.spec.list];
  const s = p.spec;
  const matched = [...c.namespaces].filter(([, labels]) => labels.team === s.team).map(([ns]) => ns);
  return [...new Set([...s.list, ...matched])].filter((ns) => !s.exclude.includes(ns));
}

/**
 * The cluster identities a run of `p` can still find before it starts: what
 * its Secrets in scope record, and what the Leases of that name in scope keep.
 * A token named for an identity with no trace left (every namespace that knew
 * it deleted) cannot be told from another cluster's, so it is left to expire.
 */
function traces(p: Pipeline, c: FleetCluster): Set<string> {
  const out = new Set<string>();
  for (const ns of scopeOf(p, c)) {
    const s = c.secrets.get(`${ns}/${p.secret}`);
    const uid = /^cluster-([0-9a-f-]{36})\//.exec(s?.annotations[Annotations.target] ?? "")?.[1];
    if (uid) out.add(uid);
    const l = c.leases.get(`${ns}/gitlab-pull-secret-${p.secret}`);
    if (l) out.add(l.annotations?.["gitlab-pull-secret.io/cluster"] ?? l.uid);
  }
  return out;
}

export interface Outcome {
  /** One line per step, for the report of a failing history. */
  trace: string[];
  /** The first invariant broken, or null. */
  violation: string | null;
  /** The fleet as the history left it. */
  fleet: Fleet;
}

/** Plays a history (on a fresh in-memory fleet unless a harness is given), checking the invariants after every step. */
/** What a run did, or what plan said it would do, in the terms the two can be compared in. */
interface Effect {
  /** The exit class: 0, 1 for a remote failure or a skipped namespace, 2 for a refusal before anything changed. */
  exit: number | string;
  mint: boolean;
  fill: string[];
  /** Tokens revoked or swept. */
  take: number[];
  skipped: string[];
  /** The error's first line, for the report (not compared). */
  error?: string;
}

const effectText = (e: Effect): string =>
  `exit ${e.exit}, mint ${e.mint}, fill [${e.fill}], revoke/sweep [${e.take}], skip [${e.skipped}]`;

async function predict(config: Parameters<typeof planRotation>[0], ports: RunPorts["ports"]): Promise<Effect> {
  try {
    const plan = await planRotation(config, ports);
    const skipped = plan.namespaces.filter((n) => n.action === "skip").map((n) => n.namespace);
    return {
      exit: skipped.length ? 1 : 0,
      mint: plan.mint !== null,
      fill: plan.fill?.namespaces ?? [],
      take: [...plan.revoke, ...plan.sweep].map((t) => t.id).sort((a, b) => a - b),
      skipped,
    };
  } catch (err) {
    return {
      exit: err instanceof GpsError ? err.exitCode : "untyped",
      mint: false,
      fill: [],
      take: [],
      skipped: [],
      error: (err as Error).message.split("\n")[0],
    };
  }
}

export async function play(
  h: History,
  harness: Harness = inMemory(h),
  /** Also run plan before every run and check it predicted what the run then did. */
  opts: { predict?: boolean } = {},
): Promise<Outcome> {
  const { fleet, clusters } = harness;
  const trace: string[] = [];
  const fail = (why: string): Outcome => ({ trace, violation: `${why}\n  after:\n    ${trace.join("\n    ")}`, fleet });

  for (const [i, step] of h.steps.entries()) {
    if (step.op !== "run") {
      const c = clusters[step.cluster]!;
      if (step.op === "create")
        await harness.createNamespace(step.cluster, step.ns, step.team ? { team: step.team } : {});
      if (step.op === "delete") await harness.deleteNamespace(step.cluster, step.ns);
      if (step.op === "relabel") await harness.relabel(step.cluster, step.ns, step.team ? { team: step.team } : {});
      trace.push(`${i}: ${step.op} ${c.name}/${step.ns}${"team" in step ? ` team=${step.team}` : ""}`);
      continue;
    }
    const p = h.pipelines[step.pipeline % h.pipelines.length]!;
    const who = `P${step.pipeline % h.pipelines.length}`;
    fleet.clock += step.afterMinutes * 60_000;
    const started = fleet.clock;
    await harness.sync();
    const known = traces(p, clusters[p.cluster]!);
    const config = parseConfig(rawConfig(p, step), { GITLAB_TOKEN: "glpat-model" }, "cli");
    const run = harness.ports(`${who}@${i}`, step.pipeline % h.pipelines.length, step.killAt ?? undefined);
    let result: string;
    let quiet = false;
    // Tokens a run says it cannot account for (where its selector wrote is not on record) are left to expire.
    let sweepFrom = 0;
    // plan through readers of the same world (nothing counts toward the run's kill point), just before it.
    const predicted = opts.predict
      ? await predict(config, harness.ports(`${who}@${i}/plan`, step.pipeline % h.pipelines.length, undefined).ports)
      : undefined;
    let did: Effect | undefined;
    try {
      const r = await rotate(config, run.ports);
      quiet = !run.killed();
      did = {
        exit: r.problems.length ? 1 : 0,
        mint: r.token !== null,
        fill: r.filled?.namespaces ?? [],
        take: [...r.revokedTokenIds, ...r.sweptTokenIds].sort((a, b) => a - b),
        skipped: r.skipped.map((s) => s.namespace),
      };
      sweepFrom = r.recall?.sweepFrom ?? 0;
      if (
        r.recall?.unproven &&
        !run.log.some((l) => l.includes(r.recall!.unproven!)) &&
        r.spared?.some((s) => s.why === "unrecorded")
      ) {
        return fail(`${who} (step ${i}) spared tokens as unrecorded without saying why`);
      }
      result = `ok${r.token ? ` minted ${r.token.id}` : ""}${r.filled ? ` filled ${r.filled.namespaces.join(",")}` : ""}${r.revokedTokenIds.length ? ` revoked ${r.revokedTokenIds.join(",")}` : ""}${r.sweptTokenIds.length ? ` swept ${r.sweptTokenIds.join(",")}` : ""}`;
    } catch (err) {
      if (run.killed() || err instanceof Killed) result = `killed at call ${step.killAt}`;
      else if (err instanceof GpsError) {
        result = `exit ${err.exitCode}: ${err.message.split("\n")[0]}`;
        did = { exit: err.exitCode, mint: false, fill: [], take: [], skipped: [], error: err.message.split("\n")[0] };
      } else return fail(`${who} (step ${i}) threw an untyped error: ${(err as Error).stack}`);
    }
    const specText =
      p.spec.kind === "list"
        ? `list ${p.spec.list}`
        : `selector team=${p.spec.team} list ${p.spec.list} exclude ${p.spec.exclude}`;
    trace.push(
      `${i}: run ${who} (k${p.cluster}, ${p.secret}, ${specText}, list-all ${p.rbac.clusterList}, get-ns ${p.rbac.getNamespaces}; force ${step.force}, rotate-before ${step.rotateBefore}, keep ${step.keepPrevious}, missing ${step.missing}, scopes ${step.scopes ?? "default"}): ${result}`,
    );

    if (predicted && did && !run.killed() && effectText(predicted) !== effectText(did))
      return fail(
        `${who} (step ${i}): plan predicted ${effectText(predicted)}${predicted.error ? ` (${predicted.error})` : ""}; ` +
          `rotate did ${effectText(did)}${did.error ? ` (${did.error})` : ""}`,
      );

    // Every Secret of ours, in every namespace of every cluster, holds a token that was not revoked.
    await harness.sync();
    for (const c of clusters) {
      for (const s of c.managedSecrets()) {
        const id = Number(s.annotations[Annotations.tokenId]);
        const t = fleet.tokens.find((x) => x.id === id);
        if (t?.deleted)
          return fail(`${c.name}:${s.namespace}/${s.name} holds deploy token ${id}, revoked by ${t.revokedBy}`);
      }
    }

    // Hygiene: after a quiet run, none of this pipeline's tokens is live, unreferenced and older than the grace.
    if (quiet) {
      const referenced = referencedIn(clusters);
      for (const t of fleet.tokens) {
        if (t.deleted || !t.mintedBy.startsWith(`${who}@`) || referenced.has(t.id)) continue;
        const minted = mintedAt(t.name)?.getTime() ?? 0;
        const uid = /\/cluster-([0-9a-f-]{36})\//.exec(t.name)?.[1] ?? "";
        if (started - minted >= GRACE_MS && minted >= sweepFrom && known.has(uid))
          return fail(
            `${who}'s deploy token ${t.id} (${t.name}) is live, no Secret references it, and the quiet run at step ${i} did not sweep it`,
          );
      }
    }
  }
  return { trace, violation: null, fleet };
}
