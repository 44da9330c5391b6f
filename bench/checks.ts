// What makes a run fail: a rotation that was not real, a baseline pass that did not do its job,
// kubectl or GitLab counts over their limits or growing with N.
import { Annotations } from "../src/model/naming.ts";
import { BASELINE_SECRET, COUNTS_FIXED_FROM, LIMITS, SECRET } from "./config.ts";
import type { Ctx } from "./ctx.ts";
import type { Proc } from "./lib.ts";
import type { OursRun, SizeResult } from "./measurements.ts";

const tail = (s: string) => s.trim().split("\n").slice(-3).join(" / ");
const lists = (sa: { imagePullSecrets?: Array<{ name?: string }> } | undefined, secret: string) =>
  (sa?.imagePullSecrets ?? []).some((r) => r.name === secret);

/**
 * Whether a rotation of ours was real: exit 0, a new token, the previous one (`prev`) revoked and reported
 * revoked, exactly one live deploy token, every Secret holding the new token and every default
 * ServiceAccount listing the Secret. Returns the problems and the new token's id.
 */
export function checkRotation(
  ctx: Ctx,
  p: Proc,
  prev: number | undefined,
): { problems: string[]; newId: number | undefined } {
  const { world } = ctx;
  const problems: string[] = [];
  if (p.code !== 0) problems.push(`exit ${p.code}: ${tail(p.stderr)}`);
  let result: { token?: { id?: number } | null; revokedTokenIds?: number[] } = {};
  try {
    result = JSON.parse(p.stdout.trim().split("\n").pop() ?? "");
  } catch {
    problems.push("no JSON result on stdout");
  }
  const newId = result.token?.id;
  if (typeof newId !== "number") {
    problems.push("no new token in the result");
    return { problems, newId: undefined };
  }
  if (prev !== undefined) {
    if (newId === prev) problems.push(`token ${newId} was not replaced`);
    if (world.gitlab.isLive(prev)) problems.push(`previous token ${prev} is still live`);
    if (!result.revokedTokenIds?.includes(prev)) problems.push(`previous token ${prev} not reported revoked`);
  }
  if (!world.gitlab.isLive(newId)) problems.push(`new token ${newId} is not live`);
  const live = world.gitlab.tokens.filter((t) => world.gitlab.isLive(t.id)).length;
  if (live !== 1) problems.push(`${live} live deploy tokens, expected 1`);
  let stale = 0;
  let noSa = 0;
  for (const ns of ctx.namespaces) {
    const s = world.kube.getObject("secrets", ns, SECRET);
    if (s?.metadata?.annotations?.[Annotations.tokenId] !== String(newId)) stale++;
    if (!lists(world.kube.getObject("serviceaccounts", ns, "default"), SECRET)) noSa++;
  }
  if (stale) problems.push(`${stale} of ${ctx.namespaces.length} Secrets do not hold token ${newId}`);
  if (noSa) problems.push(`${noSa} default ServiceAccounts lack ${SECRET}`);
  return { problems, newId };
}

/**
 * Whether a baseline pass did its job: exit 0, every namespace has the Secret and its default ServiceAccount
 * lists it.
 */
export function checkBaseline(ctx: Ctx, p: Proc, namespaces: string[]): string[] {
  const { world } = ctx;
  const problems: string[] = [];
  if (p.code !== 0) problems.push(`exit ${p.code}: ${tail(p.stderr)}`);
  let missing = 0;
  for (const ns of namespaces) {
    const s = world.kube.getObject("secrets", ns, BASELINE_SECRET);
    if (!s || !lists(world.kube.getObject("serviceaccounts", ns, "default"), BASELINE_SECRET)) missing++;
  }
  if (missing) problems.push(`${missing} namespaces lack the Secret or the ServiceAccount entry`);
  return problems;
}

/** A rotation's kubectl processes and GitLab requests over their limits. */
export function limitViolations(n: number, run: OursRun): string[] {
  const out: string[] = [];
  if (run.kubectl > LIMITS.kubectl)
    out.push(`ours N=${n} ${run.label}: ${run.kubectl} kubectl processes (limit ${LIMITS.kubectl})`);
  if (run.gitlab > LIMITS.gitlab)
    out.push(
      `ours N=${n} ${run.label}: ${run.gitlab} GitLab requests (limit ${LIMITS.gitlab}): ` + run.gitlabCalls.join(", "),
    );
  return out;
}

const maxOf = (runs: OursRun[], key: "kubectl" | "gitlab") => Math.max(...runs.map((r) => r[key]));

/** kubectl processes or GitLab requests per rotation that grow with N from N = COUNTS_FIXED_FROM on. */
export function growthViolations(results: SizeResult[]): string[] {
  const out: string[] = [];
  const first = results.find((r) => r.n >= COUNTS_FIXED_FROM);
  if (!first) return out;
  for (const r of results.filter((x) => x.n > first.n)) {
    for (const key of ["kubectl", "gitlab"] as const) {
      if (maxOf(r.timed, key) > maxOf(first.timed, key)) {
        out.push(
          `${key} per run grows with N: ${maxOf(first.timed, key)} at N=${first.n}, ${maxOf(r.timed, key)} at N=${r.n}`,
        );
      }
      if (r.warmup[key] > first.warmup[key]) {
        out.push(
          `${key} in the first rotation grows with N: ` +
            `${first.warmup[key]} at N=${first.n}, ${r.warmup[key]} at N=${r.n}`,
        );
      }
    }
  }
  return out;
}
