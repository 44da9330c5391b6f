// The pure parts of skipping namespaces that are gone: reading kubectl's
// refusals, telling lifecycle from permission, and what each
// --missing-namespace mode makes of them. The flows run end to end in
// test/e2e/missing-namespace.test.ts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NamespacesUnavailableError, UsageError } from "../../src/model/errors.js";
import { parseConfig } from "../../src/config/inputs.js";
import { parseRefusals } from "../../src/adapters/kubectl.js";
import { decideUnavailable, lifecycleOnly, skippedProblem } from "../../src/commands/lifecycle.js";

const STDERR = [
  'Error from server (NotFound): namespaces "gone" not found',
  'Error from server (Forbidden): secrets "regcred" is forbidden: unable to create new content in namespace leaving because it is being terminated',
  'Error from server (Forbidden): secrets "regcred" is forbidden: User "ci" cannot patch resource "secrets" in API group "" in the namespace "locked"',
  "W1130 03:45:11.837117 some kubectl warning that is not an error line",
].join("\n");

const log = { info: () => {}, warn: () => {}, secret: () => {} };

describe("kubectl's refusals", () => {
  test("each error line is sorted by namespace and meaning", () => {
    assert.deepEqual(parseRefusals(STDERR), {
      missing: ["gone"],
      terminating: ["leaving"],
      forbidden: ["locked"],
      other: [],
    });
  });

  test("anything else is kept as an other line", () => {
    const r = parseRefusals(
      'Error from server (Conflict): Apply failed with 1 conflict: conflict with "kubectl-edit": .data.x\n',
    );
    assert.deepEqual(r.other, [
      'Error from server (Conflict): Apply failed with 1 conflict: conflict with "kubectl-edit": .data.x',
    ]);
  });
});

describe("lifecycle or permission", () => {
  const refusals = parseRefusals(STDERR);

  test("a 403 counts as lifecycle only when the namespace is known to be missing or terminating", () => {
    assert.equal(lifecycleOnly(refusals, new Map()), undefined, "unexplained 403: a permission error");
    assert.equal(lifecycleOnly(refusals, new Map([["locked", "active"]])), undefined);
    assert.equal(lifecycleOnly(refusals, new Map([["locked", "unknown"]])), undefined);
    assert.deepEqual(lifecycleOnly(refusals, new Map([["locked", "missing"]])), [
      { namespace: "gone", reason: "missing" },
      { namespace: "leaving", reason: "terminating" },
      { namespace: "locked", reason: "missing" },
    ]);
  });

  test("any other error line makes it the whole target's problem", () => {
    assert.equal(
      lifecycleOnly({ missing: ["gone"], terminating: [], forbidden: [], other: ["error: something"] }, new Map()),
      undefined,
    );
    assert.equal(lifecycleOnly({ missing: [], terminating: [], forbidden: [], other: [] }, new Map()), undefined);
  });
});

describe("--missing-namespace", () => {
  const gone = [
    { namespace: "c", reason: "missing" as const },
    { namespace: "d", reason: "terminating" as const },
  ];
  const all = ["a", "b", "c", "d"];

  test("skip: the rest goes on, the skipped are named", () => {
    assert.deepEqual(decideUnavailable("skip", all, gone, log), { namespaces: ["a", "b"], skipped: gone });
    assert.match(
      skippedProblem(gone)[0]!,
      /^Skipped namespace\(s\) c \(does not exist\), d \(is being deleted\): no Secret was written there/,
    );
    // plan and --dry-run change nothing: they speak of what rotate would do.
    assert.match(
      skippedProblem(gone, true)[0]!,
      /^Would skip namespace\(s\) c \(does not exist\), d \(is being deleted\): rotate would write no Secret there/,
    );
    assert.doesNotMatch(skippedProblem(gone, true)[0]!, /was written|were handled/);
    assert.deepEqual(skippedProblem([]), []);
  });

  test("fail: nothing goes on", () => {
    assert.throws(
      () => decideUnavailable("fail", all, gone, log),
      (e: unknown) =>
        e instanceof NamespacesUnavailableError &&
        e.exitCode === 1 &&
        /c \(does not exist\), d \(is being deleted\)\. Nothing was changed/.test(e.message),
    );
  });

  test("create: missing ones were created and stay; one being deleted is skipped", () => {
    assert.deepEqual(decideUnavailable("create", all, gone, log), { namespaces: ["a", "b", "c"], skipped: [gone[1]] });
  });

  test("none left: an error, whatever the mode", () => {
    assert.throws(() => decideUnavailable("skip", ["c", "d"], gone, log), /No listed namespace can take the Secret/);
  });

  test("nothing unavailable: the list as it is", () => {
    assert.deepEqual(decideUnavailable("fail", all, [], log), { namespaces: all, skipped: [] });
  });
});

describe("--missing-namespace and --create-namespace", () => {
  const parse = (raw: Record<string, unknown>) =>
    parseConfig({ project: "grp/app", namespaces: ["a"], ...raw }, { GITLAB_TOKEN: "glpat-x" }, "cli");

  test("skip by default; --create-namespace is create", () => {
    assert.equal(parse({}).missingNamespace, "skip");
    assert.equal(parse({}).createNamespace, false);
    assert.deepEqual(
      [parse({ createNamespace: true }).missingNamespace, parse({ createNamespace: true }).createNamespace],
      ["create", true],
    );
    assert.equal(parse({ missingNamespace: "create" }).createNamespace, true);
    assert.equal(parse({ missingNamespace: "fail" }).missingNamespace, "fail");
    // skip is the default the Action fills in, so it never contradicts --create-namespace
    assert.equal(parse({ createNamespace: true, missingNamespace: "skip" }).missingNamespace, "create");
  });

  test("an unknown mode, or fail with --create-namespace, is bad input", () => {
    assert.throws(
      () => parse({ missingNamespace: "ignore" }),
      (e: unknown) => e instanceof UsageError && /--missing-namespace: invalid value "ignore"/.test(e.message),
    );
    assert.throws(
      () => parse({ createNamespace: true, missingNamespace: "fail" }),
      (e: unknown) => e instanceof UsageError && /--create-namespace and --missing-namespace/.test(e.message),
    );
  });
});
