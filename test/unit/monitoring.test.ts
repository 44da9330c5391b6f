// The alert rules of examples/monitoring: the PrometheusRule holds exactly the
// groups of rules.yaml, and promtool (Debian package prometheus) checks them
// and runs rules.test.yaml, where every alert first stays silent, then fires.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import yaml from "js-yaml";
import { run, ROOT } from "../support/world.ts";
import { promtoolTestRules, skipWithoutPrometheus } from "../support/prometheus.ts";

const DIR = join(ROOT, "examples", "monitoring");
const load = (f: string): any => yaml.load(readFileSync(join(DIR, f), "utf8"));

test("the PrometheusRule holds the groups of rules.yaml, with the four alerts the issue asks for", () => {
  const rule = load("prometheusrule.yaml");
  assert.equal(rule.apiVersion, "monitoring.coreos.com/v1");
  assert.equal(rule.kind, "PrometheusRule");
  assert.deepEqual(rule.spec.groups, load("rules.yaml").groups);
  const alerts = rule.spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.alert));
  assert.deepEqual(alerts, [
    "GitLabPullSecretTokenExpiresSoon",
    "GitLabPullSecretApiTokenExpiresSoon",
    "GitLabPullSecretRotationStale",
    "GitLabPullSecretUnhealthy",
  ]);
});

test(
  "promtool: the rules are valid and every alert fires when it should, and only then",
  { skip: skipWithoutPrometheus() },
  async () => {
    const check = await run("promtool", ["check", "rules", join(DIR, "rules.yaml")], { PATH: process.env.PATH ?? "" });
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /SUCCESS: 4 rules found/);
    const r = await promtoolTestRules(join(DIR, "rules.test.yaml"));
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /SUCCESS/);
  },
);
