// examples/cronjob.yaml holds together: its arguments pass the CLI's own
// parser and option checks, the API token's store is the key of the Secret
// the token file is mounted from, and the example's Role grants get and
// update on that one Secret only (what the Kubernetes store's read, dry-run
// replace and replace need). The image test runs the CronJob as written.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import yaml from "js-yaml";
import { readArgv } from "../../src/faces/cli.ts";
import { configFor } from "../../src/faces/commands.ts";
import { parseApiTokenStore } from "../../src/config/input-apitoken.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

test("examples/cronjob.yaml: the API token's store is the mounted Secret's key, and the Role grants get and update on it alone", () => {
  const docs = yaml.loadAll(readFileSync(join(ROOT, "examples", "cronjob.yaml"), "utf8")) as any[];
  const cron = docs.find((d) => d?.kind === "CronJob");
  const pod = cron.spec.jobTemplate.spec.template.spec;
  const container = pod.containers[0];
  const args = readArgv(container.args);
  assert.equal(args.command, "rotate");
  const config = configFor("rotate", args.raw, { GITLAB_TOKEN: "glpat-unit-cronjob" }, "cli");
  assert.ok(config.apiToken.rotateWithinMs, "--rotate-api-token-within is set");

  const store = parseApiTokenStore(args.raw.apiTokenStore as string);
  assert.ok(typeof store !== "string" && store.kind === "kubernetes-secret");
  // The token file is that Secret's key, mounted where --gitlab-token-file reads it.
  const mount = container.volumeMounts.find((m: any) => args.tokenFile!.startsWith(`${m.mountPath}/`));
  const volume = pod.volumes.find((v: any) => v.name === mount.name);
  assert.equal(store.namespace, cron.metadata.namespace);
  assert.equal(store.name, volume.secret.secretName);
  assert.equal(args.tokenFile, `${mount.mountPath}/${store.key}`);

  const role = docs.find((d) => d?.kind === "Role" && d.metadata.namespace === store.namespace);
  assert.deepEqual(role.rules, [
    { apiGroups: [""], resources: ["secrets"], resourceNames: [store.name], verbs: ["get", "update"] },
  ]);
  const binding = docs.find((d) => d?.kind === "RoleBinding" && d.roleRef.name === role.metadata.name);
  assert.deepEqual(binding.subjects, [
    { kind: "ServiceAccount", name: pod.serviceAccountName, namespace: cron.metadata.namespace },
  ]);
});
