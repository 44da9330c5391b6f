// The Kubernetes API stand-in (test/support/kube/), driven by the REAL
// kubectl (v1.32 on PATH) and, for byte-level comparisons with the captures in
// test/fixtures/kube/responses, by plain HTTPS.
//
// What kubectl does (observed here with kubectl v1.32.4 against the stand-in; the
// server answers are shaped like the captured kube-apiserver v1.25.9 ones, so the
// kubectl side below is kubectl's own behaviour):
//
// `kubectl apply --server-side --field-manager=gitlab-pull-secret -f -` with a v1 List
// - Validates the List client side first, against /openapi/v2 fetched as PROTOBUF
//   (kubectl rejects a JSON /openapi/v2). Single objects are checked via /openapi/v3.
// - Sends one PATCH per item, in order, and CONTINUES past failing items. Exit code 1
//   if any item failed, 0 otherwise. stdout has one `secret/<name> serverside-applied`
//   line per success (with --dry-run=server: `... serverside-applied (server dry run)`);
//   the line does NOT name the namespace. stderr has one line per failed item, in item
//   order, e.g.
//     Error from server (NotFound): namespaces "no-such-ns" not found
//     Error from server (Forbidden): secrets "gitlab-pull" is forbidden: User "ci-deployer" cannot patch resource "secrets" in API group "" in the namespace "team-b"
//   A 422 is printed `The Secret "bad" is invalid: data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": ...`
//   when it is the only error, and `Error from server (Invalid): Secret "bad" is invalid: ...`
//   when there are several.
// - A user with `patch` but without `create` gets, for an item that does not exist yet
//   (apiserver patch.go withAuthorization; message is the empty RBAC reason):
//     Error from server (Forbidden): secrets "gitlab-pull" is forbidden:
//   (note the trailing ": "; it names neither user nor verb).
// - With `-o json` and any failed item, stdout is EMPTY (no List); with `-o name`, stdout
//   has `secret/<name>` per success (again without namespace). So read the outcome per
//   namespace from stderr, or re-read with `get -f -`.
// - An identical re-apply answers 200 and leaves resourceVersion unchanged (no-op).
// - SSA conflict (e.g. ServiceAccount imagePullSecrets owned by another manager):
//   exit 1, stderr starts `error: Apply failed with 1 conflict: conflict with "before-first-apply" using v1: .imagePullSecrets`
//   followed by kubectl's multi-line `--force-conflicts` advice.
// - Bad token: `error: You must be logged in to the server (Unauthorized)`; for a List
//   apply it already fails validating: `error: error validating "STDIN": error validating data: the server has asked for the client to provide credentials; ...`.
//
// `kubectl get -f - -o json --ignore-not-found` with a v1 List of Secret references
// - One GET per item; after a 404 kubectl GETs the namespace too (a missing namespace
//   just turns the error into `namespaces "x" not found`; a 403 on that namespace GET is
//   ignored and the original NotFound is kept).
// - stdout is ALWAYS a `{"apiVersion":"v1","items":[...],"kind":"List","metadata":{"resourceVersion":""}}`
//   (even for a single item) holding the found objects (managedFields stripped) --
//   EXCEPT when nothing was found: then stdout is EMPTY and the exit code 0.
// - A forbidden item: exit 1, stdout still has the List of the readable ones, stderr
//   `Error from server (Forbidden): secrets "gitlab-pull" is forbidden: User "ci-deployer" cannot get resource "secrets" in API group "" in the namespace "team-b"`.
// - Without --ignore-not-found a missing one gives exit 1, the List of the found ones
//   on stdout and `Error from server (NotFound): secrets "missing" not found`.
//
// `kubectl patch serviceaccount default --type=json -p '[{"op":"test",...resourceVersion...},...]'`
// - kubectl GETs first, then PATCHes with `?fieldManager=kubectl-patch`.
// - Stale resourceVersion: 422, exit 1, stderr
//     The request is invalid: : testing value /metadata/resourceVersion failed: test failed
//   `add /imagePullSecrets/-` while the field is absent: 422, exit 1, stderr
//     The request is invalid: : add operation does not apply: doc is missing path: "/imagePullSecrets/-": missing value
//   (the empty part before the second colon is the cause's empty field name).
// - A merge patch carrying metadata.resourceVersion is a precondition: 409
//   `Error from server (Conflict): Operation cannot be fulfilled on serviceaccounts "default": the object has been modified; ...`.
//
// Other: `kubectl create namespace|secret|serviceaccount` and `kubectl auth can-i` send
// protobuf bodies (the stand-in decodes them); kubectl retries a GET whose connection
// was dropped; `kubectl delete` GETs the object afterwards (no watch needed).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeOpenAPIv2, readKubeFixture, startKubeStandIn, type KubeStandIn } from "../support/kube/index.ts";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let s: KubeStandIn;
let dir: string;
const kubeconfigs = new Map<string, string>();

function capture(name: string): any {
  return JSON.parse(readKubeFixture("responses", name).toString("utf8"));
}

function kubeconfig(user = "admin"): string {
  let p = kubeconfigs.get(user);
  if (!p) {
    p = s.writeKubeconfig(join(dir, "kubeconfigs"), user);
    kubeconfigs.set(user, p);
  }
  return p;
}

function kubectl(args: string[], opts: { stdin?: string; user?: string; kubeconfig?: string } = {}): Promise<Run> {
  const argv = [
    "--kubeconfig",
    opts.kubeconfig ?? kubeconfig(opts.user),
    "--cache-dir",
    join(dir, "kube-cache"),
    ...args,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn("kubectl", argv, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, KUBECONFIG: "" } });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.stdin ?? "");
  });
}

function call(
  method: string,
  path: string,
  opts: {
    user?: string;
    token?: string;
    anonymous?: boolean;
    body?: unknown;
    contentType?: string;
    userAgent?: string;
  } = {},
): Promise<{ status: number; body: any }> {
  const payload =
    opts.body === undefined
      ? undefined
      : Buffer.from(typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body));
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${s.url}${path}`,
      {
        method,
        ca: readFileSync(s.caPath),
        headers: {
          ...(opts.anonymous ? {} : { Authorization: `Bearer ${opts.token ?? s.tokenFor(opts.user)}` }),
          Accept: "application/json",
          "User-Agent": opts.userAgent ?? "node-test/1.0",
          ...(payload
            ? { "Content-Type": opts.contentType ?? "application/json", "Content-Length": String(payload.length) }
            : {}),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (d: string) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

const b64 = (t: string): string => Buffer.from(t).toString("base64");
const DOCKERCONFIGJSON = capture("secret-after-ssa.json").data[".dockerconfigjson"] as string;

function pullSecret(
  ns: string,
  opts: { name?: string; tokenId?: string; data?: string; labels?: boolean; type?: string } = {},
): any {
  const type = opts.type ?? "kubernetes.io/dockerconfigjson";
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: opts.name ?? "gitlab-pull",
      namespace: ns,
      ...(opts.labels === false ? {} : { labels: { "app.kubernetes.io/managed-by": "gitlab-pull-secret" } }),
      annotations: { "gitlab-pull-secret.io/token-id": opts.tokenId ?? "7" },
    },
    type,
    data: { [type === "kubernetes.io/dockercfg" ? ".dockercfg" : ".dockerconfigjson"]: opts.data ?? DOCKERCONFIGJSON },
  };
}

const list = (items: unknown[]): string => JSON.stringify({ apiVersion: "v1", kind: "List", items });
const ref = (ns: string, name = "gitlab-pull"): unknown => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name, namespace: ns },
});
const SSA = ["apply", "--server-side", "--field-manager=gitlab-pull-secret", "-f", "-"];
const patches = (): Array<{ path: string; query: string; status: number; contentType?: string; user: string }> =>
  s.requests.filter((r) => r.method === "PATCH");

/** The object without what differs run to run. */
function shape(o: any): any {
  const c = structuredClone(o);
  for (const k of ["uid", "resourceVersion", "creationTimestamp", "namespace"]) delete c.metadata[k];
  for (const e of c.metadata.managedFields ?? []) delete e.time;
  return c;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "kube-standin-test-"));
  s = await startKubeStandIn({ dir: join(dir, "server") });
});

after(async () => {
  await s?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("kube-standin with the real kubectl", () => {
  test("apply --server-side of a List: one PATCH per Secret, created as the real server does, read back with get -f -", async () => {
    s.createNamespace("t1-a");
    s.createNamespace("t1-b");
    s.resetRequests();
    const r = await kubectl(SSA, { stdin: list([pullSecret("t1-a"), pullSecret("t1-b")]) });
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.equal(r.stdout, "secret/gitlab-pull serverside-applied\nsecret/gitlab-pull serverside-applied\n");
    assert.deepEqual(
      patches().map((p) => [p.path, p.query, p.contentType, p.status]),
      ["t1-a", "t1-b"].map((ns) => [
        `/api/v1/namespaces/${ns}/secrets/gitlab-pull`,
        "fieldManager=gitlab-pull-secret&fieldValidation=Strict&force=false",
        "application/apply-patch+yaml",
        201,
      ]),
    );
    const v2 = s.requests.filter((q) => q.path === "/openapi/v2");
    assert.ok(v2.length <= 1 && v2.every((q) => q.status === 200 || q.status === 304), JSON.stringify(v2));

    // the stored object and its managedFields are those of the capture (the v8 trace's response body)
    const stored = s.getObject("secrets", "t1-a", "gitlab-pull");
    assert.deepEqual(
      stored.metadata.managedFields.map((e: any) => [e.manager, e.operation, e.apiVersion, e.fieldsType]),
      [["gitlab-pull-secret", "Apply", "v1", "FieldsV1"]],
    );
    assert.deepEqual(stored.metadata.managedFields[0].fieldsV1, {
      "f:data": { "f:.dockerconfigjson": {} },
      "f:metadata": {
        "f:annotations": { "f:gitlab-pull-secret.io/token-id": {} },
        "f:labels": { "f:app.kubernetes.io/managed-by": {} },
      },
      "f:type": {},
    });
    assert.match(stored.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.match(stored.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    s.resetRequests();
    const got = await kubectl(["get", "-f", "-", "-o", "json"], { stdin: list([ref("t1-a"), ref("t1-b")]) });
    assert.equal(got.code, 0, got.stderr);
    const out = JSON.parse(got.stdout);
    assert.equal(out.kind, "List");
    assert.deepEqual(
      out.items.map((i: any) => i.metadata.namespace),
      ["t1-a", "t1-b"],
    );
    for (const item of out.items) assert.deepEqual(shape(item), shape(capture("secret-after-ssa.json")));
    assert.deepEqual(
      s.requests.filter((q) => q.path.includes("/secrets/")).map((q) => `${q.method} ${q.path} ${q.status}`),
      ["GET /api/v1/namespaces/t1-a/secrets/gitlab-pull 200", "GET /api/v1/namespaces/t1-b/secrets/gitlab-pull 200"],
    );
  });

  test("re-apply: 200 with resourceVersion bumped, our omitted keys pruned, others' keys kept; identical re-apply is a no-op", async () => {
    s.createNamespace("t2");
    assert.equal((await kubectl(SSA, { stdin: list([pullSecret("t2")]) })).code, 0);
    const rv1 = Number(s.getObject("secrets", "t2", "gitlab-pull").metadata.resourceVersion);
    const ann = await kubectl(["annotate", "secret", "gitlab-pull", "-n", "t2", "someone-else/note=kept"]);
    assert.equal(ann.code, 0, ann.stderr);

    s.resetRequests();
    const r = await kubectl(SSA, { stdin: list([pullSecret("t2", { tokenId: "8", labels: false })]) });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      patches().map((p) => p.status),
      [200],
    );
    const after2 = s.getObject("secrets", "t2", "gitlab-pull");
    assert.ok(Number(after2.metadata.resourceVersion) > rv1, `${after2.metadata.resourceVersion} > ${rv1}`);
    assert.deepEqual(after2.metadata.annotations, {
      "gitlab-pull-secret.io/token-id": "8",
      "someone-else/note": "kept",
    });
    assert.equal(after2.metadata.labels, undefined);
    assert.deepEqual(
      after2.metadata.managedFields.map((e: any) => [e.manager, e.operation]),
      [
        ["gitlab-pull-secret", "Apply"],
        ["kubectl-annotate", "Update"],
      ],
    );

    s.resetRequests();
    const again = await kubectl(SSA, { stdin: list([pullSecret("t2", { tokenId: "8", labels: false })]) });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(
      patches().map((p) => p.status),
      [200],
    );
    assert.equal(s.getObject("secrets", "t2", "gitlab-pull").metadata.resourceVersion, after2.metadata.resourceVersion);
  });

  test("apply into a missing namespace: kubectl applies the other items, exits 1 and names the namespace", async () => {
    s.createNamespace("t3-a");
    s.createNamespace("t3-b");
    s.resetRequests();
    const r = await kubectl(SSA, { stdin: list([pullSecret("t3-a"), pullSecret("t3-gone"), pullSecret("t3-b")]) });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Error from server (NotFound): namespaces "t3-gone" not found\n');
    assert.equal(r.stdout, "secret/gitlab-pull serverside-applied\nsecret/gitlab-pull serverside-applied\n");
    assert.deepEqual(
      patches().map((p) => p.status),
      [201, 404, 201],
    );
    assert.ok(s.getObject("secrets", "t3-a", "gitlab-pull"));
    assert.ok(s.getObject("secrets", "t3-b", "gitlab-pull"));
    assert.equal(s.getObject("secrets", "t3-gone", "gitlab-pull"), undefined);
  });

  test("deny on a namespace: 403 with the real Forbidden message, the other items still applied", async () => {
    s.createNamespace("t4-a");
    s.createNamespace("t4-b");
    s.deny({ namespace: "t4-b" });
    try {
      s.resetRequests();
      const r = await kubectl(SSA, { stdin: list([pullSecret("t4-a"), pullSecret("t4-b")]) });
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        'Error from server (Forbidden): secrets "gitlab-pull" is forbidden: User "admin" cannot patch resource "secrets" in API group "" in the namespace "t4-b"\n',
      );
      assert.equal(r.stdout, "secret/gitlab-pull serverside-applied\n");
      assert.deepEqual(
        patches().map((p) => [p.path, p.status]),
        [
          ["/api/v1/namespaces/t4-a/secrets/gitlab-pull", 201],
          ["/api/v1/namespaces/t4-b/secrets/gitlab-pull", 403],
        ],
      );
      assert.equal(s.getObject("secrets", "t4-b", "gitlab-pull"), undefined);
    } finally {
      s.clearDenials();
    }
  });

  test("--dry-run=server: validation and admission run, nothing is persisted", async () => {
    s.createNamespace("t5");
    s.resetRequests();
    const create = await kubectl([...SSA, "--dry-run=server"], { stdin: list([pullSecret("t5")]) });
    assert.equal(create.code, 0, create.stderr);
    assert.equal(create.stdout, "secret/gitlab-pull serverside-applied (server dry run)\n");
    assert.deepEqual(
      patches().map((p) => [p.query, p.status]),
      [["dryRun=All&fieldManager=gitlab-pull-secret&fieldValidation=Strict&force=false", 201]],
    );
    assert.equal(s.getObject("secrets", "t5", "gitlab-pull"), undefined);

    assert.equal((await kubectl(SSA, { stdin: list([pullSecret("t5")]) })).code, 0);
    const before = s.getObject("secrets", "t5", "gitlab-pull");
    const update = await kubectl([...SSA, "--dry-run=server"], { stdin: list([pullSecret("t5", { tokenId: "9" })]) });
    assert.equal(update.code, 0, update.stderr);
    assert.deepEqual(s.getObject("secrets", "t5", "gitlab-pull"), before);

    const bad = await kubectl([...SSA, "--dry-run=server"], {
      stdin: list([pullSecret("t5", { name: "bad", data: b64("nope") }), pullSecret("t5-gone")]),
    });
    assert.equal(bad.code, 1);
    assert.equal(
      bad.stderr,
      "Error from server (Invalid): Secret \"bad\" is invalid: data[.dockerconfigjson]: Invalid value: \"<secret contents redacted>\": invalid character 'o' in literal null (expecting 'u')\n" +
        'Error from server (NotFound): namespaces "t5-gone" not found\n',
    );
  });

  test("get -f - -o json --ignore-not-found: a List of what exists; empty output when nothing does; 403 reported", async () => {
    s.createNamespace("t6-a");
    s.createNamespace("t6-b");
    assert.equal((await kubectl(SSA, { stdin: list([pullSecret("t6-a"), pullSecret("t6-b")]) })).code, 0);
    const GET = ["get", "-f", "-", "-o", "json", "--ignore-not-found"];

    s.resetRequests();
    const some = await kubectl(GET, {
      stdin: list([ref("t6-a"), ref("t6-a", "missing"), ref("t6-gone"), ref("t6-b")]),
    });
    assert.equal(some.code, 0, some.stderr);
    assert.equal(some.stderr, "");
    const found = JSON.parse(some.stdout);
    assert.deepEqual(Object.keys(found), ["apiVersion", "items", "kind", "metadata"]);
    assert.deepEqual(found.metadata, { resourceVersion: "" });
    assert.deepEqual(
      found.items.map((i: any) => `${i.metadata.namespace}/${i.metadata.name}`),
      ["t6-a/gitlab-pull", "t6-b/gitlab-pull"],
    );
    assert.ok(found.items.every((i: any) => i.metadata.managedFields === undefined));
    assert.deepEqual(
      s.requests.filter((q) => q.path.startsWith("/api/v1/namespaces/")).map((q) => `${q.path} ${q.status}`),
      [
        "/api/v1/namespaces/t6-a/secrets/gitlab-pull 200",
        "/api/v1/namespaces/t6-a/secrets/missing 404",
        "/api/v1/namespaces/t6-a 200",
        "/api/v1/namespaces/t6-gone/secrets/gitlab-pull 404",
        "/api/v1/namespaces/t6-gone 404",
        "/api/v1/namespaces/t6-b/secrets/gitlab-pull 200",
      ],
    );

    const none = await kubectl(GET, { stdin: list([ref("t6-a", "missing"), ref("t6-gone")]) });
    assert.deepEqual([none.code, none.stdout, none.stderr], [0, "", ""]);

    const one = await kubectl(GET, { stdin: list([ref("t6-b")]) });
    assert.equal(JSON.parse(one.stdout).kind, "List");

    s.deny({ namespace: "t6-b", verb: "get" });
    try {
      const forbidden = await kubectl(GET, { stdin: list([ref("t6-a"), ref("t6-b")]) });
      assert.equal(forbidden.code, 1);
      assert.equal(
        forbidden.stderr,
        'Error from server (Forbidden): secrets "gitlab-pull" is forbidden: User "admin" cannot get resource "secrets" in API group "" in the namespace "t6-b"\n',
      );
      assert.deepEqual(
        JSON.parse(forbidden.stdout).items.map((i: any) => i.metadata.namespace),
        ["t6-a"],
      );
    } finally {
      s.clearDenials();
    }

    const strict = await kubectl(["get", "-f", "-", "-o", "json"], {
      stdin: list([ref("t6-a"), ref("t6-a", "missing")]),
    });
    assert.equal(strict.code, 1);
    assert.equal(strict.stderr, 'Error from server (NotFound): secrets "missing" not found\n');
    assert.equal(JSON.parse(strict.stdout).items.length, 1);
  });

  test("json patch of ServiceAccount imagePullSecrets guarded by a resourceVersion test", async () => {
    s.createNamespace("t7");
    const rv = (): string => s.getObject("serviceaccounts", "t7", "default").metadata.resourceVersion;
    const patch = (ops: unknown[]): Promise<Run> =>
      kubectl(["patch", "serviceaccount", "default", "-n", "t7", "--type=json", "-p", JSON.stringify(ops)]);
    const test0 = (v: string): unknown => ({ op: "test", path: "/metadata/resourceVersion", value: v });

    s.resetRequests();
    const absent = await patch([
      test0(rv()),
      { op: "add", path: "/imagePullSecrets/-", value: { name: "gitlab-pull" } },
    ]);
    assert.equal(absent.code, 1);
    assert.equal(
      absent.stderr,
      'The request is invalid: : add operation does not apply: doc is missing path: "/imagePullSecrets/-": missing value\n',
    );
    assert.deepEqual(
      s.requests
        .filter((q) => q.path === "/api/v1/namespaces/t7/serviceaccounts/default")
        .map((q) => `${q.method} ${q.query} ${q.status}`),
      ["GET  200", "PATCH fieldManager=kubectl-patch 422"],
    );

    const whole = await patch([test0(rv()), { op: "add", path: "/imagePullSecrets", value: [{ name: "other-pull" }] }]);
    assert.deepEqual([whole.code, whole.stdout], [0, "serviceaccount/default patched\n"]);
    const appended = await patch([
      test0(rv()),
      { op: "add", path: "/imagePullSecrets/-", value: { name: "gitlab-pull" } },
    ]);
    assert.equal(appended.code, 0, appended.stderr);
    assert.deepEqual(s.getObject("serviceaccounts", "t7", "default").imagePullSecrets, [
      { name: "other-pull" },
      { name: "gitlab-pull" },
    ]);

    const stale = String(Number(rv()) - 1);
    const before = s.getObject("serviceaccounts", "t7", "default");
    const r = await patch([test0(stale), { op: "add", path: "/imagePullSecrets/-", value: { name: "third" } }]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "The request is invalid: : testing value /metadata/resourceVersion failed: test failed\n");
    assert.deepEqual(s.getObject("serviceaccounts", "t7", "default"), before);

    // the body is errors.NewGenericServerResponse(422, ...) as patch.go builds it
    const direct = await call("PATCH", "/api/v1/namespaces/t7/serviceaccounts/default", {
      body: [test0(stale)],
      contentType: "application/json-patch+json",
    });
    assert.deepEqual(direct, {
      status: 422,
      body: {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: "the server rejected our request due to an error in our request",
        reason: "Invalid",
        details: {
          causes: [
            {
              reason: "UnexpectedServerResponse",
              message: "testing value /metadata/resourceVersion failed: test failed",
            },
          ],
        },
        code: 422,
      },
    });

    const merge = await kubectl([
      "patch",
      "serviceaccount",
      "default",
      "-n",
      "t7",
      "--type=merge",
      "-p",
      JSON.stringify({ metadata: { resourceVersion: stale }, imagePullSecrets: [] }),
    ]);
    assert.equal(merge.code, 1);
    assert.equal(
      merge.stderr,
      'Error from server (Conflict): Operation cannot be fulfilled on serviceaccounts "default": the object has been modified; please apply your changes to the latest version and try again\n',
    );
  });

  test("strategic merge patch replaces ServiceAccount imagePullSecrets; server-side apply of it conflicts", async () => {
    s.createNamespace("team-a");
    for (const name of ["gitlab-pull", "other-pull"]) {
      s.resetRequests();
      const r = await kubectl([
        "patch",
        "serviceaccount",
        "default",
        "-n",
        "team-a",
        "-p",
        JSON.stringify({ imagePullSecrets: [{ name }] }),
      ]);
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, "serviceaccount/default patched\n", ""]);
      assert.deepEqual(
        patches().map((p) => [p.query, p.contentType]),
        [["fieldManager=kubectl-patch", "application/strategic-merge-patch+json"]],
      );
    }
    const got = await kubectl(["get", "serviceaccount", "default", "-n", "team-a", "-o", "json"]);
    assert.deepEqual(
      shape(JSON.parse(got.stdout)),
      shape(capture("serviceaccount-after-strategic-patch-gitlab-pull-then-other-pull.json")),
    );

    const sa = JSON.stringify({
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "default", namespace: "team-a" },
      imagePullSecrets: [{ name: "gitlab-pull" }],
    });
    const conflict = await kubectl(SSA, { stdin: sa });
    assert.equal(conflict.code, 1);
    assert.ok(
      conflict.stderr.startsWith(
        'error: Apply failed with 1 conflict: conflict with "before-first-apply" using v1: .imagePullSecrets\n',
      ),
      conflict.stderr,
    );
    const direct = await call(
      "PATCH",
      "/api/v1/namespaces/team-a/serviceaccounts/default?fieldManager=gitlab-pull-secret&force=false",
      {
        body: sa,
        contentType: "application/apply-patch+yaml",
      },
    );
    assert.deepEqual(direct, {
      status: 409,
      body: capture("status-409-ssa-conflict-serviceaccount-imagepullsecrets.json"),
    });

    const forced = await kubectl([...SSA.slice(0, -2), "--force-conflicts", "-f", "-"], { stdin: sa });
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(s.getObject("serviceaccounts", "team-a", "default").imagePullSecrets, [{ name: "gitlab-pull" }]);
  });

  test("validation: invalid .dockerconfigjson, missing .dockercfg and a changed type give the real 422s", async () => {
    s.createNamespace("t9");
    const bad = await kubectl(SSA, { stdin: list([pullSecret("t9", { name: "bad", data: b64("nope") })]) });
    assert.equal(bad.code, 1);
    assert.equal(
      bad.stderr,
      "The Secret \"bad\" is invalid: data[.dockerconfigjson]: Invalid value: \"<secret contents redacted>\": invalid character 'o' in literal null (expecting 'u')\n",
    );
    assert.equal(s.getObject("secrets", "t9", "bad"), undefined);

    const cfg = pullSecret("t9", { name: "legacy", type: "kubernetes.io/dockercfg" });
    cfg.data = { other: b64("{}") };
    const missing = await kubectl(SSA, { stdin: list([cfg]) });
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'The Secret "legacy" is invalid: data[.dockercfg]: Required value\n');

    assert.equal((await kubectl(SSA, { stdin: list([pullSecret("t9")]) })).code, 0);
    const retype = await kubectl(SSA, {
      stdin: list([pullSecret("t9", { type: "kubernetes.io/dockercfg", data: b64("{}") })]),
    });
    assert.equal(retype.code, 1);
    assert.equal(
      retype.stderr,
      'The Secret "gitlab-pull" is invalid: type: Invalid value: "kubernetes.io/dockercfg": field is immutable\n',
    );
    assert.equal(s.getObject("secrets", "t9", "gitlab-pull").type, "kubernetes.io/dockerconfigjson");
  });

  test("a limited user can do exactly what its rules allow", async () => {
    for (const ns of ["t10-a", "t10-b", "t10-c"]) s.createNamespace(ns);
    s.addUser("ci-deployer", [
      { apiGroups: [""], resources: ["secrets"], verbs: ["get", "create", "patch"], namespaces: ["t10-a"] },
      { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["get", "patch"], namespaces: ["t10-a"] },
      {
        apiGroups: ["coordination.k8s.io"],
        resources: ["leases"],
        verbs: ["get", "create", "update"],
        namespaces: ["t10-a"],
      },
      { apiGroups: [""], resources: ["secrets"], verbs: ["get", "patch"], namespaces: ["t10-c"] },
    ]);
    const as = { user: "ci-deployer" };
    s.resetRequests();
    const r = await kubectl(SSA, {
      ...as,
      stdin: list([pullSecret("t10-a"), pullSecret("t10-b"), pullSecret("t10-c")]),
    });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "secret/gitlab-pull serverside-applied\n");
    assert.equal(
      r.stderr,
      'Error from server (Forbidden): secrets "gitlab-pull" is forbidden: User "ci-deployer" cannot patch resource "secrets" in API group "" in the namespace "t10-b"\n' +
        'Error from server (Forbidden): secrets "gitlab-pull" is forbidden: \n',
    );
    assert.ok(s.requests.every((q) => q.user === "ci-deployer"));

    // get: allowed in t10-a; a missing object stays NotFound although the namespace GET is forbidden
    assert.equal(
      (await kubectl(["get", "secret", "gitlab-pull", "-n", "t10-a", "-o", "name"], as)).stdout,
      "secret/gitlab-pull\n",
    );
    s.resetRequests();
    const missing = await kubectl(["get", "secret", "nope", "-n", "t10-a"], as);
    assert.deepEqual([missing.code, missing.stderr], [1, 'Error from server (NotFound): secrets "nope" not found\n']);
    assert.deepEqual(
      s.requests.filter((q) => q.path.startsWith("/api/")).map((q) => `${q.path} ${q.status}`),
      ["/api/v1/namespaces/t10-a/secrets/nope 404", "/api/v1/namespaces/t10-a 403"],
    );
    const other = await kubectl(["get", "secret", "gitlab-pull", "-n", "t10-b"], as);
    assert.equal(
      other.stderr,
      'Error from server (Forbidden): secrets "gitlab-pull" is forbidden: User "ci-deployer" cannot get resource "secrets" in API group "" in the namespace "t10-b"\n',
    );
    const listing = await kubectl(["get", "secrets", "-n", "t10-a"], as);
    assert.equal(
      listing.stderr,
      'Error from server (Forbidden): secrets is forbidden: User "ci-deployer" cannot list resource "secrets" in API group "" in the namespace "t10-a"\n',
    );

    const sa = await kubectl(
      [
        "patch",
        "serviceaccount",
        "default",
        "-n",
        "t10-a",
        "--type=json",
        "-p",
        '[{"op":"add","path":"/imagePullSecrets","value":[{"name":"gitlab-pull"}]}]',
      ],
      as,
    );
    assert.equal(sa.code, 0, sa.stderr);
    const saB = await kubectl(["patch", "serviceaccount", "default", "-n", "t10-b", "--type=json", "-p", "[]"], as);
    assert.equal(
      saB.stderr,
      'Error from server (Forbidden): serviceaccounts "default" is forbidden: User "ci-deployer" cannot get resource "serviceaccounts" in API group "" in the namespace "t10-b"\n',
    );

    const lease = JSON.stringify({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "lock", namespace: "t10-a" },
      spec: { holderIdentity: "run-1", leaseDurationSeconds: 60 },
    });
    assert.equal((await kubectl(["create", "-f", "-"], { ...as, stdin: lease })).code, 0);
    const del = await kubectl(["delete", "lease", "lock", "-n", "t10-a"], as);
    assert.equal(
      del.stderr,
      'Error from server (Forbidden): leases.coordination.k8s.io "lock" is forbidden: User "ci-deployer" cannot delete resource "leases" in API group "coordination.k8s.io" in the namespace "t10-a"\n',
    );

    const canI = async (...args: string[]): Promise<string> =>
      (await kubectl(["auth", "can-i", ...args], as)).stdout.trim();
    assert.deepEqual(
      [
        await canI("patch", "secrets", "-n", "t10-a"),
        await canI("create", "secrets", "-n", "t10-c"),
        await canI("list", "namespaces"),
      ],
      ["yes", "no", "no"],
    );

    // the 403 body is the captured one
    s.createNamespace("team-a");
    const body = await call("GET", "/api/v1/namespaces/team-a/secrets/gitlab-pull", as);
    assert.deepEqual(body, { status: 403, body: capture("status-403-forbidden-get-secret.json") });
  });

  test("Lease: create, get, update with resourceVersion conflicts", async () => {
    s.createNamespace("t11");
    const lease = (holder: string, rv?: string): string =>
      JSON.stringify({
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: "gitlab-pull-secret-lock", namespace: "t11", ...(rv ? { resourceVersion: rv } : {}) },
        spec: { holderIdentity: holder, leaseDurationSeconds: 120 },
      });
    const created = await kubectl(["create", "-f", "-", "-o", "json"], { stdin: lease("run-1") });
    assert.equal(created.code, 0, created.stderr);
    const rv1 = JSON.parse(created.stdout).metadata.resourceVersion as string;
    assert.equal(
      JSON.parse((await kubectl(["get", "lease", "gitlab-pull-secret-lock", "-n", "t11", "-o", "json"])).stdout).spec
        .holderIdentity,
      "run-1",
    );

    const dup = await kubectl(["create", "-f", "-"], { stdin: lease("run-2") });
    assert.equal(
      dup.stderr,
      'Error from server (AlreadyExists): error when creating "STDIN": leases.coordination.k8s.io "gitlab-pull-secret-lock" already exists\n',
    );

    const upd = await kubectl(["replace", "-f", "-", "-o", "jsonpath={.metadata.resourceVersion}"], {
      stdin: lease("run-2", rv1),
    });
    assert.equal(upd.code, 0, upd.stderr);
    assert.ok(Number(upd.stdout) > Number(rv1));
    const stale = await kubectl(["replace", "-f", "-"], { stdin: lease("run-3", rv1) });
    assert.equal(stale.code, 1);
    assert.equal(
      stale.stderr,
      'Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on leases.coordination.k8s.io "gitlab-pull-secret-lock": the object has been modified; please apply your changes to the latest version and try again\n',
    );
    assert.equal(s.getObject("leases", "t11", "gitlab-pull-secret-lock").spec.holderIdentity, "run-2");

    // the same create by curl gives the captured object
    s.createNamespace("team-a");
    const viaCurl = await call("POST", "/apis/coordination.k8s.io/v1/namespaces/team-a/leases", {
      body: {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: "gitlab-pull-secret-lock" },
        spec: { holderIdentity: "run-1", leaseDurationSeconds: 120 },
      },
      userAgent: "curl/8.5.0",
    });
    assert.equal(viaCurl.status, 201);
    assert.deepEqual(shape(viaCurl.body), shape(capture("lease-created.json")));
  });

  test("no credentials at all is system:anonymous (403), as on kube-apiserver; a credential that fails is 401", async () => {
    s.createNamespace("team-a");
    // Bodies as kube-apiserver v1.29.14 (anonymous auth on, default RBAC) answered them.
    const nonResource = (path: string) => ({
      status: 403,
      body: {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: `forbidden: User "system:anonymous" cannot get path "${path}"`,
        reason: "Forbidden",
        details: {},
        code: 403,
      },
    });
    for (const path of ["/api", "/apis", "/openapi/v2", "/api/v1"])
      assert.deepEqual(await call("GET", path, { anonymous: true }), nonResource(path));
    assert.deepEqual(await call("GET", "/api/v1/namespaces/team-a/secrets", { anonymous: true }), {
      status: 403,
      body: {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message:
          'secrets is forbidden: User "system:anonymous" cannot list resource "secrets" in API group "" in the namespace "team-a"',
        reason: "Forbidden",
        details: { kind: "secrets" },
        code: 403,
      },
    });
    assert.deepEqual(await call("GET", "/api/v1/namespaces/team-a", { anonymous: true }), {
      status: 403,
      body: {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message:
          'namespaces "team-a" is forbidden: User "system:anonymous" cannot get resource "namespaces" in API group "" in the namespace "team-a"',
        reason: "Forbidden",
        details: { name: "team-a", kind: "namespaces" },
        code: 403,
      },
    });
    const review = await call("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
      anonymous: true,
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        spec: { resourceAttributes: { verb: "get", resource: "secrets" } },
      },
    });
    assert.deepEqual(
      [review.status, review.body.message],
      [
        403,
        'selfsubjectaccessreviews.authorization.k8s.io is forbidden: User "system:anonymous" cannot create resource "selfsubjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope',
      ],
    );
    // system:public-info-viewer: the version is public.
    const version = await call("GET", "/version", { anonymous: true });
    assert.equal(version.status, 200);
    assert.match(version.body.gitVersion, /^v1\./);
    assert.equal((await call("GET", "/api/v1/namespaces/team-a/secrets", { token: "wrong" })).status, 401);
  });

  test("Status bodies equal the captured ones", async () => {
    s.createNamespace("team-a");
    assert.deepEqual(await call("GET", "/api/v1/namespaces/team-a/secrets/nope", { token: "wrong" }), {
      status: 401,
      body: capture("status-401-unauthorized.json"),
    });
    assert.deepEqual(await call("GET", "/api/v1/namespaces/team-a/secrets/nope"), {
      status: 404,
      body: capture("status-404-secret-not-found.json"),
    });
    const secret = pullSecret("no-such-ns");
    assert.deepEqual(await call("POST", "/api/v1/namespaces/no-such-ns/secrets", { body: secret }), {
      status: 404,
      body: capture("status-404-namespace-not-found-on-create.json"),
    });
    const mine = pullSecret("team-a");
    assert.equal((await call("POST", "/api/v1/namespaces/team-a/secrets", { body: mine })).status, 201);
    assert.deepEqual(await call("POST", "/api/v1/namespaces/team-a/secrets", { body: mine }), {
      status: 409,
      body: capture("status-409-already-exists.json"),
    });
    const current = s.getObject("secrets", "team-a", "gitlab-pull");
    const stale = { ...current, metadata: { ...current.metadata, resourceVersion: "1" } };
    assert.deepEqual(await call("PUT", "/api/v1/namespaces/team-a/secrets/gitlab-pull", { body: stale }), {
      status: 409,
      body: capture("status-409-conflict-stale-resourceversion.json"),
    });
    assert.deepEqual(
      await call("POST", "/api/v1/namespaces/team-a/secrets", {
        body: pullSecret("team-a", { name: "bad", data: b64("nope") }),
      }),
      {
        status: 422,
        body: capture("status-422-invalid-dockerconfigjson.json"),
      },
    );
    assert.deepEqual(
      await call("POST", "/api/v1/namespaces/team-a/secrets", { body: pullSecret("team-a", { name: "Bad_Name" }) }),
      {
        status: 422,
        body: capture("status-422-invalid-secret-name.json"),
      },
    );
  });

  test("a namespace being deleted: NamespaceLifecycle's 403 on creates, updates still pass; RoleBindings go with a namespace", async () => {
    s.createNamespace("t14");
    assert.equal((await kubectl(SSA, { stdin: list([pullSecret("t14")]) })).code, 0);
    s.createNamespace("t14-gone");
    s.terminateNamespace("t14-gone");
    const ns = s.getObject("namespaces", undefined, "t14-gone");
    assert.equal(ns.status.phase, "Terminating");
    assert.ok(ns.metadata.deletionTimestamp);
    assert.equal(
      s.getObject("serviceaccounts", "t14-gone", "default"),
      undefined,
      "the namespace controller removed its objects",
    );
    // errors.NewForbidden(secrets, name, "unable to create ...") plus the NamespaceTerminating cause
    assert.deepEqual(await call("POST", "/api/v1/namespaces/t14-gone/secrets", { body: pullSecret("t14-gone") }), {
      status: 403,
      body: {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message:
          'secrets "gitlab-pull" is forbidden: unable to create new content in namespace t14-gone because it is being terminated',
        reason: "Forbidden",
        details: {
          name: "gitlab-pull",
          kind: "secrets",
          causes: [
            {
              reason: "NamespaceTerminating",
              message: "namespace t14-gone is being terminated",
              field: "metadata.namespace",
            },
          ],
        },
        code: 403,
      },
    });
    // kubectl applies a List object by object: one line per refusal, the others applied.
    s.deleteObject("namespaces", undefined, "t14-none");
    const r = await kubectl([...SSA.slice(0, -2), "--dry-run=server", "-f", "-"], {
      stdin: list([pullSecret("t14"), pullSecret("t14-gone"), pullSecret("t14-none")]),
    });
    assert.equal(r.code, 1);
    assert.deepEqual(r.stderr.trim().split("\n"), [
      'Error from server (Forbidden): secrets "gitlab-pull" is forbidden: unable to create new content in namespace t14-gone because it is being terminated',
      'Error from server (NotFound): namespaces "t14-none" not found',
    ]);
    assert.match(r.stdout, /secret\/gitlab-pull serverside-applied \(server dry run\)/);

    s.createNamespace("t14-b");
    s.addUser("t14-user", [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"], namespaces: ["t14", "t14-b"] }]);
    assert.equal((await call("GET", "/api/v1/namespaces/t14-b/secrets/nope", { user: "t14-user" })).status, 404);
    s.deleteObject("namespaces", undefined, "t14-b");
    s.createNamespace("t14-b");
    assert.equal(
      (await call("GET", "/api/v1/namespaces/t14-b/secrets/nope", { user: "t14-user" })).status,
      403,
      "the RoleBinding did not come back",
    );
    assert.equal((await call("GET", "/api/v1/namespaces/t14/secrets/nope", { user: "t14-user" })).status, 404);
  });

  test("faults, the request log, protobuf bodies from kubectl create, and the openapi v2 encoding", async () => {
    s.createNamespace("t13");
    assert.equal((await kubectl(SSA, { stdin: list([pullSecret("t13")]) })).code, 0);
    s.fault({ method: "GET", path: /\/secrets\/gitlab-pull$/, status: 500 });
    s.resetRequests();
    const failed = await kubectl(["get", "secret", "gitlab-pull", "-n", "t13", "-o", "name"]);
    assert.deepEqual(
      [failed.code, failed.stderr],
      [1, "Error from server (InternalError): Internal error occurred: injected fault (500)\n"],
    );
    const ok = await kubectl(["get", "secret", "gitlab-pull", "-n", "t13", "-o", "name"]);
    assert.deepEqual([ok.code, ok.stdout], [0, "secret/gitlab-pull\n"]);
    assert.deepEqual(
      s.requests.filter((q) => q.path.endsWith("/gitlab-pull")).map((q) => [q.method, q.user, q.status]),
      [
        ["GET", "admin", 500],
        ["GET", "admin", 200],
      ],
    );

    s.fault({ path: /\/secrets\/gitlab-pull$/, status: 0 });
    s.resetRequests();
    const retried = await kubectl(["get", "secret", "gitlab-pull", "-n", "t13", "-o", "name"]);
    assert.equal(retried.stdout, "secret/gitlab-pull\n");
    assert.deepEqual(
      s.requests.filter((q) => q.path.endsWith("/gitlab-pull")).map((q) => q.status),
      [0, 200],
    );

    const ns = await kubectl(["create", "namespace", "t13-made"]);
    assert.equal(ns.code, 0, ns.stderr);
    assert.deepEqual(s.getObject("namespaces", undefined, "t13-made").metadata.labels, {
      "kubernetes.io/metadata.name": "t13-made",
    });
    assert.ok(s.getObject("serviceaccounts", "t13-made", "default"));
    const dr = await kubectl([
      "create",
      "secret",
      "docker-registry",
      "dr",
      "-n",
      "t13-made",
      "--docker-server=registry.example.com:5005",
      "--docker-username=u",
      "--docker-password=p",
    ]);
    assert.equal(dr.code, 0, dr.stderr);
    const drObj = s.getObject("secrets", "t13-made", "dr");
    assert.equal(drObj.type, "kubernetes.io/dockerconfigjson");
    assert.equal(
      JSON.parse(Buffer.from(drObj.data[".dockerconfigjson"], "base64").toString()).auths["registry.example.com:5005"]
        .username,
      "u",
    );

    // a bad token: kubectl's own message
    const badKubeconfig = join(dir, "kubeconfigs", "kubeconfig-bad");
    writeFileSync(badKubeconfig, readFileSync(kubeconfig(), "utf8").replace(/token: ".*"/, 'token: "wrong"'));
    const unauth = await kubectl(["get", "secret", "gitlab-pull", "-n", "t13"], { kubeconfig: badKubeconfig });
    assert.deepEqual([unauth.code, unauth.stderr], [1, "error: You must be logged in to the server (Unauthorized)\n"]);

    // same leading bytes as the captured /openapi/v2 protobuf (swagger "2.0", info {Kubernetes, v1.25.9})
    const doc = JSON.parse(readKubeFixture("discovery", "openapi-v2.json").toString("utf8"));
    const pb = encodeOpenAPIv2(doc);
    assert.equal(pb.subarray(0, 28).toString("hex"), "0a03322e3012150a0a4b756265726e6574657312077631" + "2e32352e39");
  });
});
