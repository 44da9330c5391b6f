// The API token's store as a Kubernetes Secret's key (--api-token-store
// kubernetes:<namespace>/<secret>/<key>): the Secret a CronJob mounts its
// token file from. Read with `kubectl get`, proved writable with a
// server-side dry run of the replace (the API server authorizes it as the
// write and persists nothing), written with `kubectl replace` guarded by the
// resourceVersion read just before. Manifests go on stdin, never argv.
import type { ApiTokenStoreSpec } from "../config/inputs.js";
import { KubeError } from "../model/errors.js";
import type { ApiTokenStore } from "../model/ports.js";
import { Secret } from "../model/secret.js";
import { errorLines } from "./kubectl-errors.js";
import { kubectlRunner, type KubectlOptions } from "./kubectl-run.js";

type KubeSpec = Extract<ApiTokenStoreSpec, { kind: "kubernetes-secret" }>;

export function kubernetesSecretStore(spec: KubeSpec, opts: KubectlOptions): ApiTokenStore {
  const run = kubectlRunner(opts);
  const where = `key ${spec.key} of Secret ${spec.namespace}/${spec.name}`;
  const fail = (operation: string, stderr: string): KubeError =>
    new KubeError(operation, opts.redact(errorLines(stderr) || "kubectl failed"), [spec.namespace]);

  /** The Secret as it is (managedFields dropped: a replace need not carry them). */
  async function get(operation: string): Promise<Record<string, unknown>> {
    const r = await run(["get", "secret", spec.name, "-n", spec.namespace, "-o", "json", "--ignore-not-found"], "");
    if (r.exitCode !== 0) throw fail(operation, r.stderr);
    if (r.stdout.trim() === "")
      throw new KubeError(operation, `Secret ${spec.namespace}/${spec.name} does not exist`, [spec.namespace]);
    const obj = JSON.parse(r.stdout) as Record<string, unknown>;
    const meta = (obj.metadata ?? {}) as Record<string, unknown>;
    delete meta.managedFields;
    return obj;
  }

  function valueOf(obj: Record<string, unknown>, operation: string): Secret {
    const data = (obj.data ?? {}) as Record<string, string>;
    const b64 = data[spec.key];
    if (b64 === undefined)
      throw new KubeError(operation, `Secret ${spec.namespace}/${spec.name} has no key ${spec.key}`, [spec.namespace]);
    return new Secret(
      Buffer.from(b64, "base64")
        .toString("utf8")
        .replace(/\r?\n$/, ""),
    );
  }

  async function replace(obj: Record<string, unknown>, operation: string, dryRun: boolean): Promise<void> {
    const r = await run(
      ["replace", ...(dryRun ? ["--dry-run=server"] : []), "-o", "name", "-f", "-"],
      JSON.stringify(obj),
    );
    if (r.exitCode !== 0) throw fail(operation, r.stderr);
  }

  return {
    kind: "kubernetes-secret",
    where,
    async read() {
      const op = `reading the ${where}`;
      return valueOf(await get(op), op);
    },
    async proveWritable() {
      const op = `proving the ${where} can be written (a server-side dry run of the replace)`;
      await replace(await get(op), op, true);
    },
    async write(value) {
      const op = `writing the ${where}`;
      const obj = await get(op);
      obj.data = {
        ...((obj.data ?? {}) as Record<string, string>),
        [spec.key]: Buffer.from(value.reveal()).toString("base64"),
      };
      await replace(obj, op, false);
      return undefined;
    },
  };
}
