// A listed namespace that was deleted, or is being deleted, must not stop the
// rest of the fleet: through the built CLI, real kubectl against the
// Kubernetes stand-in (which answers as kube-apiserver's NamespaceLifecycle
// admission does), the GitLab stand-in and the real registry. Each test checks
// the exit code and the --json report, and ends with the leak scan.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import yaml from "js-yaml";
import type { PolicyRule } from "../support/kube/index.ts";
import { haveRegistryTools } from "../support/registry.ts";
import {
  leaks,
  NAMESPACES,
  PROJECT,
  registryRequired,
  ROOT,
  startWorld,
  type Captured,
  type World,
} from "../support/world.ts";

const SECRET = "regcred";
const [A, B, C] = NAMESPACES as [string, string, string];
const skipRegistry =
  !haveRegistryTools() && !registryRequired()
    ? "docker-registry/skopeo not installed (CI=true makes this fail)"
    : false;

function cli(w: World, command: string, extra: string[] = [], kubeconfig = w.kubeconfig): string[] {
  const verify = command === "rotate" || command === "plan" ? w.verifyFlags() : [];
  return [
    command,
    "--gitlab-url",
    w.gitlab.url,
    "--project",
    PROJECT.path,
    "--secret-name",
    SECRET,
    "--kubeconfig",
    kubeconfig,
    "--namespace",
    NAMESPACES.join(","),
    ...verify,
    ...extra,
  ];
}

function liveOurs(w: World): number[] {
  return w.gitlab.tokens.filter((t) => w.gitlab.isLive(t.id)).map((t) => t.id);
}

function tokenIn(w: World, ns: string): string | undefined {
  return w.kube.getObject("secrets", ns, SECRET)?.metadata.annotations?.["gitlab-pull-secret.io/token-id"];
}

/** The target part of a token name: prefix/<context>/<secret>/<namespace-set hash>/<stamp>-<nonce>. */
function targetOfName(w: World, id: number): string {
  return w.gitlab.tokens
    .find((t) => t.id === id)!
    .name.split("/")
    .slice(0, 4)
    .join("/");
}

async function pulls(w: World, ns: string): Promise<boolean> {
  const r = await w.pull(w.authfileFromSecret(ns, SECRET));
  return r.ok;
}

function assertNoLeaks(w: World, runs: Captured[]): void {
  assert.deepEqual(leaks(w, runs), [], "a secret form leaked");
}

describe("a deleted namespace in the list", () => {
  let w: World;
  const runs: Captured[] = [];
  let first: number;

  before(async () => {
    w = await startWorld();
    const r = await w.runCli(cli(w, "rotate", ["--json"]));
    runs.push(r);
    assert.equal(r.code, 0, r.stderr);
    first = JSON.parse(r.stdout).token.id;
  });
  after(async () => {
    await w?.close();
  });

  test("the other two are rotated, checked to pull, the previous token revoked; exit 1 names the deleted one", async () => {
    w.kube.deleteObject("namespaces", undefined, C);
    const r = await w.runCli(cli(w, "rotate", ["--json"]));
    runs.push(r);
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.changed, true);
    assert.deepEqual(out.namespaces, [A, B]);
    assert.deepEqual(out.skippedNamespaces, [{ namespace: C, reason: "missing" }]);
    assert.deepEqual(out.revokedTokenIds, [first]);
    assert.deepEqual(liveOurs(w), [out.token.id], "only the new token is live: nothing orphaned by the deletion");
    assert.equal(tokenIn(w, A), String(out.token.id));
    assert.equal(tokenIn(w, B), String(out.token.id));
    assert.equal(w.kube.getObject("namespaces", undefined, C), undefined);
    // Minted for the configured target, not for the two namespaces that exist.
    assert.equal(targetOfName(w, out.token.id), targetOfName(w, first));
    assert.match(
      r.stderr,
      new RegExp(`warning: Skipped namespace\\(s\\) ${C} \\(does not exist\\): no Secret was written there`),
    );
    assert.match(r.stderr, /Verified: the new token pulls|serves .* without authentication|Rotating/);
    if (!skipRegistry) assert.ok(await pulls(w, A), "the rotated Secret pulls");
    assertNoLeaks(w, runs);
  });

  test("status names the missing namespace; --warn-within makes it exit 3", async () => {
    const r = await w.runCli(cli(w, "status", ["--json"]));
    runs.push(r);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const c = out.secrets.find((s: { namespace: string }) => s.namespace === C);
    assert.equal(c.present, false);
    assert.equal(c.namespaceState, "missing");
    assert.equal(out.secrets.find((s: { namespace: string }) => s.namespace === A).namespaceState, null);
    const finding = out.findings.find((f: { kind: string }) => f.kind === "missing-namespace");
    assert.deepEqual(finding.namespaces, [C]);
    assert.equal(finding.severity, "attention");
    assert.ok(
      !out.findings.some((f: { kind: string }) => f.kind === "missing-secret"),
      "not reported as a Secret to create",
    );

    const text = await w.runCli(cli(w, "status", ["--warn-within", "1d"]));
    runs.push(text);
    assert.equal(text.code, 3, text.stderr);
    assert.match(text.stdout, new RegExp(`${C}\\s+-\\s+-\\s+-\\s+-\\s+no such namespace`));
    assert.match(
      text.stdout,
      new RegExp(`attention: listed namespace\\(s\\) ${C} \\(does not exist\\): rotate skips them and exits 1`),
    );
    assertNoLeaks(w, runs);
  });

  test("plan shows the namespace rotate will skip, and changes nothing", async () => {
    const tokens = w.gitlab.tokens.length;
    const r = await w.runCli(cli(w, "plan", ["--json"]));
    runs.push(r);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.namespaces, [
      { namespace: A, action: "update" },
      { namespace: B, action: "update" },
      { namespace: C, action: "skip", reason: "missing" },
    ]);
    assert.equal(w.gitlab.tokens.length, tokens);

    const text = await w.runCli(cli(w, "plan"));
    runs.push(text);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`${C}\\s+skip \\(no such namespace\\)`));
    assert.match(text.stdout, /rotate would skip the namespace\(s\) marked skip and exit 1/);
    assertNoLeaks(w, runs);
  });

  test("--missing-namespace fail: exit 1 before anything is minted or written, naming the namespace", async () => {
    const live = liveOurs(w);
    const tokens = w.gitlab.tokens.length;
    const versions = [A, B].map((ns) => w.kube.getObject("secrets", ns, SECRET).metadata.resourceVersion);
    const r = await w.runCli(cli(w, "rotate", ["--json", "--missing-namespace", "fail"]));
    runs.push(r);
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.error.exitCode, 1);
    assert.match(
      out.error.message,
      new RegExp(`${C} \\(does not exist\\)\\. Nothing was changed \\(--missing-namespace fail\\)`),
    );
    assert.equal(w.gitlab.tokens.length, tokens, "nothing minted");
    assert.deepEqual(liveOurs(w), live);
    assert.deepEqual(
      [A, B].map((ns) => w.kube.getObject("secrets", ns, SECRET).metadata.resourceVersion),
      versions,
    );
    assertNoLeaks(w, runs);
  });

  test("--create-namespace with --missing-namespace fail is bad input (exit 2), before any request", async () => {
    w.kube.resetRequests();
    w.gitlab.resetRequests();
    const r = await w.runCli(cli(w, "rotate", ["--json", "--missing-namespace", "fail", "--create-namespace"]));
    runs.push(r);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      JSON.parse(r.stdout).error.message,
      /--create-namespace and --missing-namespace: invalid value "fail"/,
    );
    assert.equal(w.kube.requests.length, 0);
    assert.equal(w.gitlab.requests.length, 0);
    assertNoLeaks(w, runs);
  });

  test("restored: the next run fills it, exit 0, and every Secret holds the one live token", async () => {
    w.kube.createNamespace(C);
    const r = await w.runCli(cli(w, "rotate", ["--json"]));
    runs.push(r);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.namespaces, NAMESPACES);
    assert.deepEqual(out.skippedNamespaces, []);
    assert.deepEqual(liveOurs(w), [out.token.id]);
    for (const ns of NAMESPACES) assert.equal(tokenIn(w, ns), String(out.token.id));
    assert.equal(targetOfName(w, out.token.id), targetOfName(w, first));
    if (!skipRegistry) assert.ok(await pulls(w, C), "the restored namespace's Secret pulls");
    assertNoLeaks(w, runs);
  });
});

describe("a namespace being deleted", () => {
  let w: World;
  const runs: Captured[] = [];
  let first: number;

  before(async () => {
    w = await startWorld();
    const r = await w.runCli(cli(w, "rotate", ["--json"]));
    runs.push(r);
    assert.equal(r.code, 0, r.stderr);
    first = JSON.parse(r.stdout).token.id;
  });
  after(async () => {
    await w?.close();
  });

  test("alone in the list with --missing-namespace fail: exit 1 naming it, nothing minted", async () => {
    w.kube.createNamespace("doomed");
    w.kube.terminateNamespace("doomed");
    const r = await w.runCli([
      "rotate",
      "--gitlab-url",
      w.gitlab.url,
      "--project",
      PROJECT.path,
      "--secret-name",
      SECRET,
      "--kubeconfig",
      w.kubeconfig,
      "--namespace",
      "doomed",
      "--missing-namespace",
      "fail",
      ...w.verifyFlags(),
    ]);
    runs.push(r);
    assert.equal(r.code, 1);
    // It would have held the Lease: with no namespace left for it, nothing starts.
    assert.match(
      r.stderr,
      /doomed \(is being deleted\)\. No listed namespace can hold the rotation lock; nothing was changed/,
    );
    assert.deepEqual(liveOurs(w), [first]);
    assertNoLeaks(w, runs);
  });

  test("the lock's namespace is the one being deleted: the Lease goes to the next, the others are rotated, exit 1", async () => {
    // team-a sorts first, so it would hold the Lease.
    w.kube.terminateNamespace(A);
    assert.equal(w.kube.getObject("namespaces", undefined, A).status.phase, "Terminating");
    const r = await w.runCli(cli(w, "rotate", ["--json"]));
    runs.push(r);
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.namespaces, [B, C]);
    assert.deepEqual(out.skippedNamespaces, [{ namespace: A, reason: "terminating" }]);
    assert.deepEqual(out.revokedTokenIds, [first]);
    assert.deepEqual(liveOurs(w), [out.token.id]);
    assert.equal(tokenIn(w, B), String(out.token.id));
    assert.equal(tokenIn(w, C), String(out.token.id));
    assert.equal(tokenIn(w, A), undefined, "nothing was created in the namespace being deleted");
    assert.match(
      r.stderr,
      /Namespace team-a \(is being deleted\): the rotation lock goes to the next listed namespace/,
    );
    assert.match(r.stderr, /warning: Skipped namespace\(s\) team-a \(is being deleted\)/);
    // The Lease was taken in team-b and released.
    assert.ok(
      w.kube.requests.some(
        (q) =>
          q.method === "POST" && q.path === `/apis/coordination.k8s.io/v1/namespaces/${B}/leases` && q.status === 201,
      ),
    );
    // Kept with its holder cleared: its uid is the cluster's identity (lock.ts).
    assert.deepEqual(
      w.kube.listObjects("leases").map((l) => [l.metadata.namespace, l.spec.holderIdentity ?? ""]),
      [[B, ""]],
    );
    if (!skipRegistry) assert.ok(await pulls(w, B));

    const status = await w.runCli(cli(w, "status", ["--json"]));
    runs.push(status);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(
      JSON.parse(status.stdout).secrets.find((s: { namespace: string }) => s.namespace === A).namespaceState,
      "terminating",
    );
    assertNoLeaks(w, runs);
  });

  test("a permission refusal in one namespace still fails before minting, next to a namespace being deleted", async () => {
    const live = liveOurs(w);
    const tokens = w.gitlab.tokens.length;
    w.kube.deny({ namespace: C, verb: "patch", resource: "secrets" });
    try {
      const r = await w.runCli(cli(w, "rotate", ["--json"]));
      runs.push(r);
      assert.equal(r.code, 1, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.match(out.error.message, /cannot patch resource "secrets" in API group "" in the namespace "team-c"/);
    } finally {
      w.kube.clearDenials();
    }
    assert.equal(w.gitlab.tokens.length, tokens, "nothing minted");
    assert.deepEqual(liveOurs(w), live);
    assertNoLeaks(w, runs);
  });
});

describe("a deleted namespace with namespaced Roles (the README's RBAC)", () => {
  let w: World;
  const runs: Captured[] = [];
  /** The rules of an examples/rbac file, as the stand-in grants them: a Role in each of `namespaces`, a ClusterRole everywhere. */
  const rulesFrom = (file: string, namespaces: string[]): PolicyRule[] =>
    (yaml.loadAll(readFileSync(join(ROOT, "examples", "rbac", file), "utf8")) as any[])
      .filter((d) => d?.kind === "Role" || d?.kind === "ClusterRole")
      .flatMap((d) =>
        (d.rules as any[]).map((r) => ({
          apiGroups: r.apiGroups,
          resources: r.resources,
          verbs: r.verbs,
          ...(d.kind === "Role" ? { namespaces } : {}),
        })),
      );

  before(async () => {
    w = await startWorld();
    const r = await w.runCli(cli(w, "rotate", ["--json"]));
    runs.push(r);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await w?.close();
  });

  test("its RoleBinding went with it: a 403 nobody can explain stays a permission error, before minting", async () => {
    w.kube.addUser("deployer", rulesFrom("role.yaml", [...NAMESPACES]));
    const kc = w.kube.writeKubeconfig(`${w.dir}/deployer`, "deployer");
    w.kube.deleteObject("namespaces", undefined, C);
    const tokens = w.gitlab.tokens.length;
    const r = await w.runCli(cli(w, "rotate", ["--json"], kc));
    runs.push(r);
    assert.equal(r.code, 1, r.stderr);
    const message = JSON.parse(r.stdout).error.message;
    assert.match(message, /in the namespace "team-c"/);
    assert.match(message, /Grant get on namespaces/);
    assert.equal(w.gitlab.tokens.length, tokens, "nothing minted");
    assertNoLeaks(w, runs);
  });

  test("with get on namespaces the 403 is told apart: the namespace is skipped, the others rotated", async () => {
    w.kube.addUser("deployer", [
      ...rulesFrom("role.yaml", [A, B]),
      ...rulesFrom("clusterrole-namespaces-get.yaml", []),
    ]);
    const kc = w.kube.writeKubeconfig(`${w.dir}/deployer2`, "deployer");
    const r = await w.runCli(cli(w, "rotate", ["--json"], kc));
    runs.push(r);
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.namespaces, [A, B]);
    assert.deepEqual(out.skippedNamespaces, [{ namespace: C, reason: "missing" }]);
    assert.deepEqual(liveOurs(w), [out.token.id]);

    const status = await w.runCli(cli(w, "status", ["--json"], kc));
    runs.push(status);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(
      JSON.parse(status.stdout).secrets.find((s: { namespace: string }) => s.namespace === C).namespaceState,
      "missing",
    );
    assertNoLeaks(w, runs);
  });
});
