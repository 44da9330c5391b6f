// Every example in README.md and docs/*.md is parsed, so none rots: YAML and
// JSON load, shell passes `bash -n`, every `gitlab-pull-secret …` invocation
// goes through the CLI's own argument parser and per-command option check,
// Action steps name only action.yml's inputs, component includes only
// templates/rotate.yml's inputs. And every relative link and #anchor resolves.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import yaml from "js-yaml";
import { readArgv } from "../../src/faces/cli.js";
import { checkOptions, isCommand } from "../../src/faces/commands.js";
import { anchors, cliInvocations, codeBlocks, links, type CodeBlock } from "../support/markdown.js";

const root = new URL("../../", import.meta.url).pathname;

/** Written on another branch; linked from the README before it lands. Only this one file may be missing. */
const PENDING = new Set(["docs/ARCHITECTURE.md"]);

function docFiles(): string[] {
  const docs = readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`);
  return ["README.md", ...docs.sort()];
}

const actionInputs = new Set(Object.keys((yaml.load(readFileSync(join(root, "action.yml"), "utf8")) as any).inputs));
// The component file is two YAML documents: the spec header, then the job.
const componentInputs = new Set(
  Object.keys((yaml.loadAll(readFileSync(join(root, "templates/rotate.yml"), "utf8"))[0] as any).spec.inputs),
);

const YAML = new Set(["yaml", "yml"]);
const SHELL = new Set(["sh", "bash", "shell"]);

/** Walks parsed YAML, calling visit on every mapping. */
function eachMapping(node: unknown, visit: (m: Record<string, unknown>) => void): void {
  if (Array.isArray(node)) for (const n of node) eachMapping(n, visit);
  else if (node && typeof node === "object") {
    visit(node as Record<string, unknown>);
    for (const v of Object.values(node)) eachMapping(v, visit);
  }
}

interface Found {
  actionSteps: number;
  componentIncludes: number;
  invocations: number;
}

/** Every problem in one code block, as messages; counts what was checked into found. */
function checkBlock(block: CodeBlock, found: Found): string[] {
  const problems: string[] = [];
  if (YAML.has(block.lang)) {
    let docs: unknown[];
    try {
      docs = yaml.loadAll(block.text);
    } catch (err) {
      return [`YAML does not parse: ${(err as Error).message.split("\n")[0]}`];
    }
    eachMapping(docs, (m) => {
      if (typeof m.uses === "string" && /^gitlab-pull-secret\/gitlab-pull-secret@/.test(m.uses)) {
        found.actionSteps++;
        for (const key of Object.keys((m.with as object) ?? {}))
          if (!actionInputs.has(key)) problems.push(`Action input "${key}" is not in action.yml`);
      }
      if (typeof m.component === "string" && /\/gitlab-pull-secret\/rotate@/.test(m.component)) {
        found.componentIncludes++;
        for (const key of Object.keys((m.inputs as object) ?? {}))
          if (!componentInputs.has(key)) problems.push(`component input "${key}" is not in templates/rotate.yml`);
      }
    });
  } else if (block.lang === "json") {
    try {
      JSON.parse(block.text);
    } catch (err) {
      problems.push(`JSON does not parse: ${(err as Error).message}`);
    }
  } else if (SHELL.has(block.lang)) {
    const r = spawnSync("bash", ["-n"], { input: block.text, encoding: "utf8" });
    if (r.status !== 0) problems.push(`bash -n: ${r.stderr.trim()}`);
  }
  if (YAML.has(block.lang) || SHELL.has(block.lang)) {
    for (const args of cliInvocations(block.text)) {
      found.invocations++;
      problems.push(...checkInvocation(args).map((p) => `gitlab-pull-secret ${args.join(" ")}: ${p}`));
    }
  }
  return problems;
}

/** The CLI's own parser (unknown flags, secrets on argv) and per-command option check. */
function checkInvocation(args: string[]): string[] {
  try {
    const parsed = readArgv(args);
    if (parsed.help || parsed.version) return [];
    if (parsed.command === undefined || !isCommand(parsed.command)) return [`"${parsed.command}" is not a command`];
    checkOptions(parsed.command, parsed.raw, "cli");
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

function checkFile(file: string, text: string, found: Found): string[] {
  return codeBlocks(text).flatMap((b) =>
    checkBlock(b, found).map((p) => `${file}:${b.line} (${b.lang || "text"}): ${p}`),
  );
}

/** Every relative link of a file resolves to a file or folder, and every #anchor to a heading. */
function checkLinks(file: string, text: string, read: (path: string) => string | null): string[] {
  const problems: string[] = [];
  for (const target of links(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
    const [path, anchor] = target.split("#", 2) as [string, string | undefined];
    const resolved = path === "" ? file : relative(root, resolve(root, dirname(file), decodeURIComponent(path)));
    if (PENDING.has(resolved) && !existsSync(join(root, resolved))) continue;
    const content = path === "" ? text : read(resolved);
    if (content === null && !existsSync(join(root, resolved))) {
      problems.push(`${file}: link ${target}: ${resolved} does not exist`);
      continue;
    }
    if (anchor !== undefined) {
      if (content === null) problems.push(`${file}: link ${target}: an anchor into a folder`);
      else if (!anchors(content).has(anchor))
        problems.push(`${file}: link ${target}: no heading #${anchor} in ${resolved}`);
    }
  }
  return problems;
}

function readRepo(path: string): string | null {
  const full = join(root, path);
  return existsSync(full) && statSync(full).isFile() ? readFileSync(full, "utf8") : null;
}

describe("the docs' examples", () => {
  test("every code block parses, and every CLI call, Action step and component include uses known options", () => {
    const found: Found = { actionSteps: 0, componentIncludes: 0, invocations: 0 };
    const problems = docFiles().flatMap((f) => checkFile(f, readFileSync(join(root, f), "utf8"), found));
    assert.deepEqual(problems, []);
    // The examples the README's quick starts and the docs show are really found, not skipped.
    assert.ok(found.actionSteps >= 5, `Action steps checked: ${found.actionSteps}`);
    assert.ok(found.componentIncludes >= 4, `component includes checked: ${found.componentIncludes}`);
    assert.ok(found.invocations >= 6, `CLI invocations checked: ${found.invocations}`);
  });

  test("the README's quick starts cover every face", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const found: Found = { actionSteps: 0, componentIncludes: 0, invocations: 0 };
    assert.deepEqual(checkFile("README.md", readme, found), []);
    assert.ok(found.actionSteps >= 1 && found.componentIncludes >= 1 && found.invocations >= 1, JSON.stringify(found));
    assert.ok(
      readme.includes("examples/cronjob.yaml") && readme.includes("examples/rbac"),
      "the CronJob quick start links its manifests",
    );
    // The newcomer's two commands come before anything else.
    const first = codeBlocks(readme)[0]!;
    assert.match(first.text, /^npm ci && npm run demo\b/m);
    assert.match(first.text, /^npm test\b/m);
  });

  test("the checks catch what they are for", () => {
    const found: Found = { actionSteps: 0, componentIncludes: 0, invocations: 0 };
    const bad = (lang: string, text: string) => checkBlock({ lang, text, line: 1 }, found);
    assert.match(bad("sh", "gitlab-pull-secret rotate --namespaces a\n").join(), /--namespaces/);
    assert.match(bad("sh", "npx gitlab-pull-secret status \\\n  --yes\n").join(), /not an option of status/);
    assert.match(bad("sh", "gitlab-pull-secret rotat --namespace a\n").join(), /not a command/);
    assert.match(bad("sh", "GITLAB_TOKEN=x gitlab-pull-secret rotate --gitlab-token x\n").join(), /--gitlab-token/);
    assert.match(
      bad("yaml", "run: npx --yes gitlab-pull-secret@0 plan --warn-within 3d\n").join(),
      /not an option of plan/,
    );
    assert.match(bad("sh", "docker run --rm r.example/g/gitlab-pull-secret:1 rotate --bogus\n").join(), /--bogus/);
    assert.match(bad("sh", "if then fi\n").join(), /bash -n/);
    assert.match(bad("json", '{"a":1,}').join(), /JSON/);
    assert.match(bad("yaml", "a: [b\n").join(), /YAML/);
    assert.match(
      bad("yaml", "- uses: gitlab-pull-secret/gitlab-pull-secret@v0\n  with:\n    namespace: a\n").join(),
      /Action input "namespace"/,
    );
    assert.match(
      bad(
        "yaml",
        "include:\n  - component: $CI_SERVER_FQDN/gitlab-pull-secret/gitlab-pull-secret/rotate@1\n    inputs:\n      namespace: [a]\n",
      ).join(),
      /component input "namespace"/,
    );
    // Not invocations: a namespace, a role name, a job key.
    assert.deepEqual(
      bad("sh", "kubectl -n gitlab-pull-secret create secret generic t --from-file=token=/dev/stdin\n"),
      [],
    );
    assert.deepEqual(
      bad("yaml", "gitlab-pull-secret:\n  variables:\n    AWS_ROLE_ARN: arn:aws:iam::1:role/gitlab-pull-secret\n"),
      [],
    );
    assert.deepEqual(bad("sh", "gitlab-pull-secret status --namespace a --warn-within 3d || alert x\n"), []);
    assert.deepEqual(
      bad("sh", "cosign verify r.example/g/gitlab-pull-secret:1 \\\n  --certificate-oidc-issuer https://gitlab.com\n"),
      [],
    );
  });

  test("every relative link and #anchor in README.md and docs/ resolves", () => {
    const problems = docFiles().flatMap((f) => checkLinks(f, readFileSync(join(root, f), "utf8"), readRepo));
    assert.deepEqual(problems, []);
  });

  test("the link check catches a missing file and a missing anchor", () => {
    const files: Record<string, string> = { "docs/a.md": "# A\n\n## Two words: here\n" };
    const read = (p: string) => files[p] ?? null;
    assert.deepEqual(
      checkLinks("docs/b.md", "[x](a.md#two-words-here) [y](#b) [z](https://e.x/#q)\n\n# B\n", read),
      [],
    );
    assert.deepEqual(
      checkLinks("docs/b.md", "[x](a.md#nope) [y](missing.md) [z](#nowhere)\n```\n[code](gone.md)\n```\n", read),
      [
        "docs/b.md: link a.md#nope: no heading #nope in docs/a.md",
        "docs/b.md: link missing.md: docs/missing.md does not exist",
        "docs/b.md: link #nowhere: no heading #nowhere in docs/b.md",
      ],
    );
  });
});
