// Option variables through the built CLI: a rotation configured by
// GITLAB_PULL_SECRET_OPT_* alone, the precedence flag > variable > env fallback
// ($CI_SERVER_URL, $CI_PROJECT_ID) > default, and another command reading the
// same environment. Every test ends with a leak scan.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { leaks, PROJECT, startWorld, type Captured, type World } from "../support/world.ts";

const V = (name: string) => `GITLAB_PULL_SECRET_OPT_${name}`;
const DAY = 86400_000;

describe("option variables through the CLI", () => {
  let w: World;
  const runs: Captured[] = [];
  before(async () => {
    w = await startWorld({ registry: false });
  });
  after(async () => {
    await w?.close();
  });

  const secretIn = (ns: string, name: string) =>
    w.kube.getObject("secrets", ns, name)?.metadata.annotations?.["gitlab-pull-secret.io/token-id"];

  test("a rotation configured by variables alone: JSON array, booleans, --json", async () => {
    const r = await w.runCli(["rotate"], {
      env: {
        [V("GITLAB_URL")]: w.gitlab.url,
        [V("PROJECT")]: PROJECT.path,
        [V("NAMESPACES")]: '["team-a", "team-b"]\n',
        [V("KUBECONFIG")]: w.kubeconfig,
        [V("SECRET_NAME")]: "from-vars",
        [V("EXPIRES_IN")]: "2d",
        [V("NO_VERIFY")]: "true",
        [V("DRY_RUN")]: "false",
        [V("JSON")]: "true",
      },
    });
    runs.push(r);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.secretName, "from-vars");
    assert.deepEqual(out.namespaces, ["team-a", "team-b"]);
    assert.ok(
      Date.parse(out.token.expiresAt) - Date.now() <= 3 * DAY,
      `2d from its variable, rounded up to a UTC midnight: ${out.token.expiresAt}`,
    );
    assert.equal(secretIn("team-a", "from-vars"), String(out.token.id));
    assert.equal(secretIn("team-b", "from-vars"), String(out.token.id));
    assert.equal(secretIn("team-c", "from-vars"), undefined);
    assert.deepEqual(leaks(w, runs), []);
  });

  test("precedence: a flag beats its variable, a variable beats $CI_SERVER_URL / $CI_PROJECT_ID, the default comes last", async () => {
    w.gitlab.resetRequests();
    const r = await w.runCli(["rotate", "--project", PROJECT.path, "--namespace", "team-c", "--json"], {
      env: {
        CI_SERVER_URL: "https://gitlab.invalid", // loses to the variable
        CI_PROJECT_ID: "999", // loses to the variable, which loses to the flag
        [V("GITLAB_URL")]: w.gitlab.url,
        [V("PROJECT")]: "no/such-project",
        [V("NAMESPACES")]: "team-a,team-b", // loses to --namespace
        [V("SECRET_NAME")]: "by-variable", // no flag: the variable applies
        [V("KUBECONFIG")]: w.kubeconfig,
        [V("NO_VERIFY")]: "true",
      },
    });
    runs.push(r);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.secretName, "by-variable");
    assert.deepEqual(out.namespaces, ["team-c"]);
    assert.equal(secretIn("team-c", "by-variable"), String(out.token.id));
    assert.equal(secretIn("team-a", "by-variable"), undefined);
    // --expires-in not given anywhere: the default, 7d.
    assert.ok(Date.parse(out.token.expiresAt) - Date.now() > 6 * DAY, out.token.expiresAt);
    // Every project request goes to the project the flag named (the API token's own details are not a project's).
    const paths = w.gitlab.requests.map((q) => q.path).filter((p) => p !== "/api/v4/personal_access_tokens/self");
    assert.ok(
      paths.length > 0 &&
        paths.every(
          (p) => p.includes(`/projects/${encodeURIComponent(PROJECT.path)}`) || p.includes(`/projects/${PROJECT.id}`),
        ),
      paths.join(" "),
    );
    assert.deepEqual(leaks(w, runs), []);
  });

  test("without their variables, $CI_SERVER_URL and $CI_PROJECT_ID apply; status reads the same environment and ignores rotate's variables", async () => {
    const r = await w.runCli(["status", "--json"], {
      env: {
        CI_SERVER_URL: w.gitlab.url,
        CI_PROJECT_ID: String(PROJECT.id),
        [V("NAMESPACES")]: '["team-a","team-b"]',
        [V("SECRET_NAME")]: "from-vars",
        [V("KUBECONFIG")]: w.kubeconfig,
        // rotate's options: status does not take them, and a variable is not a typed flag: ignored.
        [V("EXPIRES_IN")]: "2d",
        [V("NO_VERIFY")]: "true",
      },
    });
    runs.push(r);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.command, "status");
    assert.match(r.stdout, /"from-vars"/);
    assert.match(r.stdout, /"team-a"/);
    assert.doesNotMatch(r.stdout, /"team-c"/);
    const flag = await w.runCli([
      "status",
      "--gitlab-url",
      w.gitlab.url,
      "--project",
      PROJECT.path,
      "--namespace",
      "team-a",
      "--expires-in",
      "2d",
    ]);
    runs.push(flag);
    assert.equal(flag.code, 2, "the same option as a flag is refused");
    assert.match(flag.stderr, /--expires-in: not an option of status/);
    assert.deepEqual(leaks(w, runs), []);
  });
});
