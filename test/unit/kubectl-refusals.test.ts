// Naming the namespace of each refusal: kubectl's -v=6 request trace in both
// klog formats, kubectl's failure messages (one per refused object, some on
// several lines), the pairing of the two and what is done when they disagree,
// and the capped message. The stderr below is kubectl v1.32.4's against a
// real kube-apiserver v1.29 (port and timings aside); the structured lines are
// the form kubectl 1.33 and later log. The flows run end to end in
// test/e2e/refusals.test.ts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  attribute,
  combine,
  errorRecords,
  failure,
  grantHints,
  parseRefusals,
  refusalReason,
} from "../../src/adapters/kubectl-errors.js";
import { refusedRequests, splitTrace } from "../../src/adapters/kubectl-trace.js";
import { FieldConflictError, KubeError, REFUSAL_LINES, RotationError, refusedOf } from "../../src/model/errors.js";

const klog = (msg: string, file = "round_trippers.go:553") => `I1130 06:47:51.239153   16138 ${file}] ${msg}`;
const patch = (
  ns: string,
  status: string,
  query = "dryRun=All&fieldManager=gitlab-pull-secret&fieldValidation=Strict&force=false",
) => klog(`PATCH https://127.0.0.1:6443/api/v1/namespaces/${ns}/secrets/s?${query} ${status} in 3 milliseconds`);
const structured = (ns: string, status: string) =>
  klog(
    `"Response" verb="PATCH" url="https://127.0.0.1:6443/api/v1/namespaces/${ns}/secrets/s?dryRun=All&force=false" status="${status}" milliseconds=3`,
    "round_trippers.go:632",
  );

const QUOTA =
  'Error from server (Forbidden): secrets "s" is forbidden: exceeded quota: q, requested: count/secrets=1, used: count/secrets=0, limited: count/secrets=0';
const MISSING = 'Error from server (NotFound): namespaces "nope" not found';
const CONFLICT = [
  'Apply failed with 2 conflicts: conflicts with "kubectl-create" using v1:',
  "- .data.k",
  'conflicts with "y":',
  "- .data.k",
  "Please review the fields above--they currently have other managers. Here",
  "are the ways you can resolve this warning:",
  "* If you intend to manage all of these fields, please re-run the apply",
  "  command with the `--force-conflicts` flag.",
  "* If you do not intend to manage all of the fields, please edit your",
  "  manifest to remove references to the fields that should keep their",
  "  current managers.",
  "* You may co-own fields by updating your manifest to match the existing",
  "  value; in this case, you'll become the manager if the other manager(s)",
  "  stop managing the field (remove it from their configuration).",
  "See https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts",
];
const STATUS_BODY = [
  klog("server response object: %s[{", "helpers.go:246"),
  '  "kind": "Status",',
  '  "message": "secrets \\"s\\" is forbidden: exceeded quota: q",',
  '  "code": 403',
  "}]",
];

/** kubectl v1.32's stderr for a List to a, b (quota), c (conflict), nope (missing), at -v=6. */
const V132 = [
  klog("Config loaded from file:  /tmp/kubeconfig", "loader.go:395"),
  klog("GET https://127.0.0.1:6443/openapi/v2?timeout=32s 200 OK in 23 milliseconds"),
  patch("a", "201 Created"),
  patch("b", "403 Forbidden"),
  patch("c", "409 Conflict"),
  patch("nope", "404 Not Found"),
  ...STATUS_BODY,
  QUOTA,
  ...CONFLICT,
  MISSING,
  "",
].join("\n");

const V133 = [
  klog('"Feature gate default state" feature="WatchListClient" enabled=true', "envvar.go:172"),
  structured("a", "201 Created"),
  structured("b", "403 Forbidden"),
  structured("c", "200 OK"),
  QUOTA,
  "",
].join("\n");

describe("the request trace (kubectl -v=6)", () => {
  test("kubectl <= 1.32: each request's verb, namespace and status; the rest is what kubectl prints without the flag", () => {
    const { requests, rest } = splitTrace(V132);
    assert.deepEqual(
      requests.map((r) => [r.verb, r.namespace, r.code, r.status]),
      [
        ["GET", undefined, 200, "200 OK"],
        ["PATCH", "a", 201, "201 Created"],
        ["PATCH", "b", 403, "403 Forbidden"],
        ["PATCH", "c", 409, "409 Conflict"],
        ["PATCH", "nope", 404, "404 Not Found"],
      ],
    );
    assert.equal(rest, [QUOTA, ...CONFLICT, MISSING, ""].join("\n"), "no klog line and no Status body is left");
  });

  test("kubectl >= 1.33: the structured Response lines", () => {
    const { requests, rest } = splitTrace(V133);
    assert.deepEqual(
      requests.map((r) => [r.verb, r.path, r.namespace, r.code]),
      [
        ["PATCH", "/api/v1/namespaces/a/secrets/s", "a", 201],
        ["PATCH", "/api/v1/namespaces/b/secrets/s", "b", 403],
        ["PATCH", "/api/v1/namespaces/c/secrets/s", "c", 200],
      ],
    );
    assert.equal(rest, `${QUOTA}\n`);
  });

  test("a request without an answer has status 0; warnings and errors of klog stay in the rest", () => {
    const stderr = [
      klog("PATCH https://h/api/v1/namespaces/a/secrets/s?force=false  in 0 milliseconds"),
      "W1130 06:47:51.1 1 x.go:1] a warning",
      "E1130 06:47:51.1 1 x.go:1] an error",
    ].join("\n");
    const { requests, rest } = splitTrace(stderr);
    assert.deepEqual(
      requests.map((r) => [r.namespace, r.code, r.status]),
      [["a", 0, ""]],
    );
    assert.equal(rest.split("\n").length, 2);
  });

  test("a retried request counts once, with its last answer; cluster-scoped paths are no object's namespace", () => {
    const { requests } = splitTrace(
      [
        patch("a", "429 Too Many Requests"),
        patch("a", "201 Created"),
        patch("b", "403 Forbidden"),
        klog("GET https://h/api/v1/namespaces?limit=500 403 Forbidden in 1 milliseconds"),
      ].join("\n"),
    );
    assert.deepEqual(
      refusedRequests(requests).map((r) => r.namespace),
      ["b"],
    );
  });
});

describe("kubectl's failure messages", () => {
  test("one record per refused object; a conflict keeps its lines; warnings and plugin chatter before any record are no record", () => {
    const records = errorRecords(
      `some plugin line\nWarning: deprecated\n${QUOTA}\n${CONFLICT.join("\n")}\n${MISSING}\n`,
    );
    assert.deepEqual(
      records.map((r) => r.length),
      [1, CONFLICT.length, 1],
    );
  });

  test("a reason in the API server's words, on one line", () => {
    assert.equal(
      refusalReason([QUOTA]),
      "exceeded quota: q, requested: count/secrets=1, used: count/secrets=0, limited: count/secrets=0",
    );
    assert.equal(
      refusalReason(CONFLICT),
      'Apply failed with 2 conflicts: conflicts with "kubectl-create" using v1: .data.k; conflicts with "y": .data.k',
    );
    assert.equal(
      refusalReason([
        'Error: Apply failed with 1 conflict: conflict with "x": .data.k',
        "Please review the fields above--they",
      ]),
      'Apply failed with 1 conflict: conflict with "x": .data.k',
    );
    assert.equal(
      refusalReason(['Error from server: admission webhook "deny.example.com" denied the request: no']),
      'admission webhook "deny.example.com" denied the request: no',
    );
    assert.equal(
      refusalReason([
        'Error from server (Invalid): Secret "s" is invalid: type: Invalid value: "x": field is immutable',
      ]),
      'Secret "s" is invalid: type: Invalid value: "x": field is immutable',
    );
  });

  test("parseRefusals counts a conflict as an other refusal (it is no namespace's lifecycle)", () => {
    assert.deepEqual(parseRefusals(`${CONFLICT.join("\n")}\n${MISSING}\n`), {
      missing: ["nope"],
      terminating: [],
      forbidden: [],
      other: [CONFLICT[0]],
    });
  });
});

describe("each refusal's namespace", () => {
  test("the n-th refused request is the n-th message (both klog formats)", () => {
    const old = splitTrace(V132);
    assert.deepEqual(attribute(old.rest, old.requests), {
      refused: [
        {
          namespace: "b",
          reason: "exceeded quota: q, requested: count/secrets=1, used: count/secrets=0, limited: count/secrets=0",
        },
        {
          namespace: "c",
          reason:
            'Apply failed with 2 conflicts: conflicts with "kubectl-create" using v1: .data.k; conflicts with "y": .data.k',
        },
        { namespace: "nope", reason: 'namespaces "nope" not found' },
      ],
      unattributed: [],
    });
    const now = splitTrace(V133);
    assert.deepEqual(attribute(now.rest, now.requests).refused, [
      {
        namespace: "b",
        reason: "exceeded quota: q, requested: count/secrets=1, used: count/secrets=0, limited: count/secrets=0",
      },
    ]);
  });

  test("a webhook's denial without a reason pairs with its 403", () => {
    const deny =
      'Error from server: admission webhook "deny.example.com" denied the request: team-b takes no pull secrets';
    const { requests, rest } = splitTrace(
      [patch("a", "201 Created"), patch("team-b", "403 Forbidden"), deny].join("\n"),
    );
    assert.deepEqual(attribute(rest, requests).refused, [
      {
        namespace: "team-b",
        reason: 'admission webhook "deny.example.com" denied the request: team-b takes no pull secrets',
      },
    ]);
  });

  test("counts that differ: refused namespaces are named with their status, the messages are shown as printed", () => {
    const { requests, rest } = splitTrace([patch("a", "403 Forbidden"), patch("b", "403 Forbidden"), QUOTA].join("\n"));
    const a = attribute(rest, requests);
    assert.deepEqual(a.refused, [
      { namespace: "a", reason: "403 Forbidden" },
      { namespace: "b", reason: "403 Forbidden" },
    ]);
    assert.deepEqual(a.unattributed, [QUOTA]);
  });

  test("a status that does not match the message's reason: not paired; a message naming its namespace keeps it", () => {
    const rbac =
      'Error from server (Forbidden): secrets "s" is forbidden: User "ci" cannot patch resource "secrets" in API group "" in the namespace "b"';
    const { requests, rest } = splitTrace(
      [patch("a", "404 Not Found"), patch("b", "403 Forbidden"), QUOTA, rbac].join("\n"),
    );
    const a = attribute(rest, requests);
    assert.deepEqual(a.refused, [
      { namespace: "a", reason: "404 Not Found" },
      { namespace: "b", reason: 'User "ci" cannot patch resource "secrets" in API group "" in the namespace "b"' },
    ]);
    assert.deepEqual(a.unattributed, [QUOTA]);
  });

  test("a message naming another namespace than its request: not paired; the requests' order first", () => {
    const { requests, rest } = splitTrace([patch("a", "404 Not Found"), MISSING].join("\n"));
    assert.deepEqual(attribute(rest, requests).refused, [
      { namespace: "a", reason: "404 Not Found" },
      { namespace: "nope", reason: 'namespaces "nope" not found' },
    ]);
  });

  test("a message left without a namespace is shown as kubectl printed it, a conflict without its advice", () => {
    const { requests, rest } = splitTrace(
      [patch("a", "409 Conflict"), patch("b", "403 Forbidden"), ...CONFLICT].join("\n"),
    );
    const a = attribute(rest, requests);
    assert.deepEqual(a.refused, [
      { namespace: "a", reason: "409 Conflict" },
      { namespace: "b", reason: "403 Forbidden" },
    ]);
    assert.deepEqual(a.unattributed, [CONFLICT.slice(0, 4).join("\n")]);
  });

  test("without a trace (reads): the messages that name their namespace", () => {
    const get =
      'Error from server (Forbidden): secrets "s" is forbidden: User "ci" cannot get resource "secrets" in API group "" in the namespace "team-c"';
    assert.deepEqual(attribute(`${get}\n${QUOTA}\n`), {
      refused: [{ namespace: "team-c", reason: get.replace(/^.*is forbidden: /, "") }],
      unattributed: [QUOTA],
    });
  });

  test("parts of one List: one entry per namespace, reasons joined, each leftover message once", () => {
    const c = combine([
      { refused: [{ namespace: "a", reason: "x" }], unattributed: ["m"] },
      {
        refused: [
          { namespace: "a", reason: "y" },
          { namespace: "b", reason: "x" },
        ],
        unattributed: ["m"],
      },
    ]);
    assert.deepEqual(c, {
      refused: [
        { namespace: "a", reason: "x; y" },
        { namespace: "b", reason: "x" },
      ],
      unattributed: ["m"],
    });
  });
});

describe("the message", () => {
  test("conflicts only: retrying cannot help, exit 2 (also after a rollback)", () => {
    const err = failure(
      "applying the Secrets",
      'error: Apply failed with 1 conflict: conflict with "other-tool" using v1: .data..dockerconfigjson\nPlease review the fields above--they currently have other managers.',
    );
    assert.ok(err instanceof FieldConflictError);
    assert.equal(err.exitCode, 2);
    assert.match(err.message, /\("other-tool"\) last wrote these fields.*retrying cannot help/);
    assert.equal(new RotationError(err, "revoked the new token").exitCode, 2);
  });

  test("an RBAC refusal names the examples/rbac file that grants it, the cluster-scope ones by their own file", () => {
    const forbidden = (what: string) => `Error from server (Forbidden): x is forbidden: User "u" cannot ${what}`;
    assert.deepEqual(grantHints(forbidden('list resource "namespaces" in API group "" at the cluster scope')), [
      "Grant examples/rbac/clusterrole-selector.yaml (list namespaces, for --namespace-selector)",
    ]);
    assert.deepEqual(grantHints(forbidden('list resource "serviceaccounts" in API group "" at the cluster scope')), [
      "Grant examples/rbac/clusterrole-all-serviceaccounts.yaml (list serviceaccounts at cluster scope, for --service-account '*')",
    ]);
    assert.match(
      grantHints(forbidden('create resource "namespaces" in API group "" at the cluster scope'))[0]!,
      /clusterrole-create-namespace\.yaml/,
    );
    assert.match(
      grantHints(forbidden('get resource "namespaces" in API group "" at the cluster scope'))[0]!,
      /clusterrole-namespaces-get\.yaml/,
    );
    assert.match(
      grantHints(forbidden('patch resource "secrets" in API group "" in the namespace "team-a"'))[0]!,
      /examples\/rbac\/role\.yaml .* in each target namespace/,
    );
    assert.match(
      grantHints(forbidden('delete resource "secrets" in API group "" in the namespace "team-a"'))[0]!,
      /role-revoke\.yaml/,
    );
  });

  test("one line per namespace, then the hints; no raw kubectl line when every message found its namespace", () => {
    const { requests, rest } = splitTrace(V132);
    const err = failure("checking the Secrets (server dry run)", rest, attribute(rest, requests));
    assert.equal(
      err.message,
      [
        "Kubernetes: checking the Secrets (server dry run) failed in 3 namespaces:",
        "  b: exceeded quota: q, requested: count/secrets=1, used: count/secrets=0, limited: count/secrets=0",
        '  c: Apply failed with 2 conflicts: conflicts with "kubectl-create" using v1: .data.k; conflicts with "y": .data.k',
        '  nope: namespaces "nope" not found',
        'Another field manager ("kubectl-create", "y") last wrote these fields of the Secret, so every apply is refused the same way: ' +
          "retrying cannot help. Pass --adopt to take the fields over, or stop the other tool from applying this Secret and use another --secret-name for it",
        "Create the namespace, or remove it from the namespace list",
      ].join("\n"),
    );
    // A quota and a missing namespace beside the conflict: not only the user's to resolve, so still exit 1.
    assert.equal(err.exitCode, 1);
    assert.deepEqual(err.namespaces, ["b", "c", "nope"]);
    assert.deepEqual(err.refusals?.missing, ["nope"], "the lifecycle classification still sees the missing namespace");
  });

  test(`capped at ${REFUSAL_LINES} lines, the rest counted; the error keeps them all, also inside a rollback`, () => {
    const refused = Array.from({ length: 30 }, (_, i) => ({ namespace: `ns-${i}`, reason: "denied" }));
    const err = new KubeError("applying the Secrets", "", [], undefined, refused);
    const lines = err.message.split("\n");
    assert.equal(lines[0], "Kubernetes: applying the Secrets failed in 30 namespaces:");
    assert.equal(lines.length, 1 + REFUSAL_LINES + 1);
    assert.equal(lines[REFUSAL_LINES], `  ns-${REFUSAL_LINES - 1}: denied`);
    assert.equal(lines.at(-1), "  … and 10 more namespaces");
    assert.equal(refusedOf(new RotationError(err, "revoked the new token")).length, 30);
  });

  test("no refused namespace: the old one-line form", () => {
    assert.equal(
      failure("listing namespaces", "error: You must be logged in to the server (Unauthorized)\n").message,
      "Kubernetes: listing namespaces failed: error: You must be logged in to the server (Unauthorized)\nkubectl's credentials were refused; check the kubeconfig and context",
    );
  });
});
