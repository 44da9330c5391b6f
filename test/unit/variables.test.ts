// Option variables (GITLAB_PULL_SECRET_OPT_<NAME>): named from the option
// table, read as data (JSON arrays or comma lists, true/false), refused when
// unknown or when a secret would come from one, and named in messages.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SECRET_INPUTS } from "../../src/faces/component-metadata.js";
import { UsageError } from "../../src/model/errors.js";
import { parseConfig } from "../../src/config/inputs.js";
import {
  OPTIONS,
  OUTPUTS,
  VARIABLE_PREFIX,
  optionVariable,
  secretVariables,
  type OptionSpec,
} from "../../src/config/options.js";
import { readVariables } from "../../src/config/variables.js";
import { TOKEN, env } from "../support/bad-inputs.ts";

const V = (name: string) => `${VARIABLE_PREFIX}${name}`;

function refused(e: Record<string, string>, pattern: RegExp, hidden?: string): void {
  let caught: unknown;
  try {
    readVariables(e);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof UsageError, `expected a UsageError for ${JSON.stringify(Object.keys(e))}`);
  assert.equal(caught.exitCode, 2);
  assert.match(caught.message, pattern);
  if (hidden !== undefined)
    assert.ok(!caught.message.includes(hidden), `the message shows the value: ${caught.message}`);
}

describe("the option variables come from the option table", () => {
  test("every option with a flag has one, in upper snake case, but secrets and the revoke confirmation", () => {
    const names = new Set<string>();
    for (const o of OPTIONS as readonly OptionSpec[]) {
      const name = optionVariable(o);
      if (o.secret || !o.flag || o.key === "yes") {
        assert.equal(name, null, `${o.key} has no option variable`);
        continue;
      }
      assert.match(name!, /^GITLAB_PULL_SECRET_OPT_[A-Z][A-Z_]*[A-Z]$/);
      assert.ok(!names.has(name!), `${name} twice`);
      names.add(name!);
    }
    assert.equal(optionVariable(OPTIONS.find((o) => o.key === "namespaces")!), "GITLAB_PULL_SECRET_OPT_NAMESPACES");
    assert.equal(
      optionVariable(OPTIONS.find((o) => o.key === "allowInsecureHttp")!),
      "GITLAB_PULL_SECRET_OPT_ALLOW_INSECURE_HTTP",
    );
  });

  test("no option variable shares a name with the dotenv report or the component's secret variables", () => {
    // A dotenv variable from an earlier job outranks a job's own variables in GitLab: a shared
    // name would let one target's GITLAB_PULL_SECRET_NAMESPACES steer the next job's rotation.
    const reserved = [
      ...OUTPUTS.map((o) => `GITLAB_PULL_SECRET_${o.name.toUpperCase().replace(/-/g, "_")}`),
      ...Object.values(SECRET_INPUTS).map((s) => s.defaultVariable),
    ];
    assert.ok(reserved.includes("GITLAB_PULL_SECRET_NAMESPACES") && reserved.includes("GITLAB_PULL_SECRET_TOKEN"));
    for (const o of OPTIONS) {
      const name = optionVariable(o);
      if (name) assert.ok(!reserved.includes(name), `${name} collides`);
    }
    assert.ok(reserved.every((r) => !r.startsWith(VARIABLE_PREFIX)));
  });

  test("every variable a secret can be read from, for scrubbing child environments", () => {
    assert.deepEqual(secretVariables(), ["GITLAB_TOKEN", "REGISTRY_PASSWORD", "GPS_GITHUB_TOKEN"]);
  });
});

describe("reading option variables", () => {
  test("lists: a JSON array (as GitLab writes an array input into text), or a comma list", () => {
    assert.deepEqual(readVariables({ [V("NAMESPACES")]: '["team-a","team-b"]' }).raw, {
      namespaces: ["team-a", "team-b"],
    });
    assert.deepEqual(readVariables({ [V("NAMESPACES")]: '["team-a", "team-b"]\n' }).raw, {
      namespaces: ["team-a", "team-b"],
    });
    assert.deepEqual(
      readVariables({ [V("NAMESPACES")]: "team-a, team-b" }).raw,
      { namespaces: ["team-a, team-b"] },
      "split (and trimmed) like a flag's comma list",
    );
    assert.deepEqual(readVariables({ [V("EXCLUDE_NAMESPACES")]: "[123]" }).raw, { excludeNamespaces: ["123"] });
    const r = parseConfig(
      readVariables({ [V("NAMESPACES")]: "team-a, team-b", [V("PROJECT")]: "grp/app" }).raw,
      env,
      "cli",
    );
    assert.deepEqual(r.namespaces, ["team-a", "team-b"]);
  });

  test("booleans true/false, strings trimmed, empty values not given", () => {
    const { raw, labels } = readVariables({
      [V("DRY_RUN")]: "true\n",
      [V("ADOPT")]: "false",
      [V("SECRET_NAME")]: "  pull  ",
      [V("GROUP")]: "",
      [V("NAMESPACES")]: "[]",
      [V("CONTEXT")]: " \n",
      UNRELATED: "x",
    });
    assert.deepEqual(raw, { dryRun: "true", adopt: "false", secretName: "pull" });
    assert.deepEqual(labels, {
      dryRun: `$${V("DRY_RUN")}`,
      adopt: `$${V("ADOPT")}`,
      secretName: `$${V("SECRET_NAME")}`,
    });
    const c = parseConfig({ ...raw, namespaces: ["a"], project: "1" }, env, "cli");
    assert.equal(c.dryRun, true);
    assert.equal(c.adopt, false);
  });

  test("a variable of an option the command does not take is ignored, not refused", () => {
    const e = { [V("WARN_WITHIN")]: "3d", [V("NAMESPACES")]: "a" };
    assert.deepEqual(readVariables(e, (key) => key !== "warnWithin").raw, { namespaces: ["a"] });
    assert.deepEqual(readVariables(e).raw, { warnWithin: "3d", namespaces: ["a"] });
  });

  test("bad lists name the variable and the accepted forms", () => {
    refused(
      { [V("NAMESPACES")]: '["a",' },
      /^\$GITLAB_PULL_SECRET_OPT_NAMESPACES: invalid value "\[\\"a\\","; expected a JSON array of strings/,
    );
    refused({ [V("SERVICE_ACCOUNTS")]: '[["a"]]' }, /\$GITLAB_PULL_SECRET_OPT_SERVICE_ACCOUNTS: .*or a comma list/);
    refused({ [V("REGISTRY_ALIASES")]: "[null]" }, /\$GITLAB_PULL_SECRET_OPT_REGISTRY_ALIASES/);
  });

  test("unknown names under the prefix are refused, with a hint, never showing the value", () => {
    refused(
      { [V("NAMESPACE")]: "team-a" },
      /^\$GITLAB_PULL_SECRET_OPT_NAMESPACE: not an option variable \(did you mean GITLAB_PULL_SECRET_OPT_NAMESPACES\?\)/,
      "team-a",
    );
    refused(
      { [V("NAMESPACES_LIST")]: "secret-looking" },
      /not an option variable; gitlab-pull-secret <command> --help lists them$/,
      "secret-looking",
    );
  });

  test("a secret is never read from a prefixed variable; the revoke confirmation is typed", () => {
    refused(
      { [V("GITLAB_TOKEN")]: TOKEN },
      /^\$GITLAB_PULL_SECRET_OPT_GITLAB_TOKEN: not read: a secret never comes from a GITLAB_PULL_SECRET_OPT_ variable; give it in \$GITLAB_TOKEN or --gitlab-token-file$/,
      TOKEN,
    );
    refused({ [V("REGISTRY_PASSWORD")]: "hunter2" }, /give it in \$REGISTRY_PASSWORD or --password-file$/, "hunter2");
    refused(
      { [V("YES")]: "true" },
      /^\$GITLAB_PULL_SECRET_OPT_YES: not read: --yes must be given on the command line$/,
    );
  });

  test("a value from a variable is named by the variable in messages", () => {
    const { raw, labels } = readVariables({
      [V("SECRET_NAME")]: "Bad_Name",
      [V("PROJECT")]: "grp/app",
      [V("NAMESPACES")]: "a",
    });
    assert.throws(
      () => parseConfig(raw, env, "cli", { labels }),
      /^UsageError: \$GITLAB_PULL_SECRET_OPT_SECRET_NAME: invalid value "Bad_Name"/,
    );
    const both = readVariables({ [V("GROUP")]: "grp", [V("PROJECT")]: "grp/app", [V("NAMESPACES")]: "a" });
    assert.throws(
      () => parseConfig(both.raw, env, "cli", { labels: both.labels }),
      /\$GITLAB_PULL_SECRET_OPT_PROJECT and \$GITLAB_PULL_SECRET_OPT_GROUP: invalid value "grp\/app, grp"; expected only one of them/,
    );
  });

  test("a variable counts as given: it wins over $CI_SERVER_URL / $CI_PROJECT_ID and the defaults", () => {
    const ci = { ...env, CI_SERVER_URL: "https://ci.example.com", CI_PROJECT_ID: "42" };
    const fromVars = readVariables({
      [V("GITLAB_URL")]: "https://gitlab.example.com",
      [V("PROJECT")]: "grp/app",
      [V("NAMESPACES")]: "a",
      [V("EXPIRES_IN")]: "2d",
    });
    const c = parseConfig(fromVars.raw, ci, "cli");
    assert.equal(c.gitlabUrl, "https://gitlab.example.com");
    assert.deepEqual(c.credentials.kind === "deploy-token" && c.credentials.owner, { kind: "project", ref: "grp/app" });
    assert.equal(c.expiresInMs, 2 * 86400_000);
    const fallback = parseConfig(readVariables({ [V("NAMESPACES")]: "a" }).raw, ci, "cli");
    assert.equal(fallback.gitlabUrl, "https://ci.example.com");
    assert.equal(fallback.expiresInMs, 7 * 86400_000);
  });
});
