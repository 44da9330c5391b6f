// The real ports for the commands beside rotate (plan, status, revoke,
// render), built exactly as run.ts builds them for rotate, but handed to the
// caller so a command can observe what a port returned (plan) or use ports
// rotate does not need (teardown's deletes).
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { gitlabPort } from "./gitlab.js";
import type { Config } from "../config/inputs.js";
import { kubectlPort } from "./kubectl.js";
import type { GitLabPort, KubePort, Log, LockPort, Ports, TeardownKube } from "../model/ports.js";
import { registryPortFor } from "./registry.js";
import { readCaFile } from "./tls.js";
import { checkKubeconfig } from "./kubeconfig-check.js";
import type { Redactor } from "../model/secret.js";

export type LivePorts = Ports & { kube: TeardownKube & LockPort };

/** kubectl.ts implements every optional method teardown needs; say so once, here. */
function complete<K extends KubePort>(kube: K): K & TeardownKube {
  if (!kube.deleteSecrets || !kube.forbiddenSecretDeletes) throw new Error("the kubectl port cannot delete Secrets");
  return kube as K & TeardownKube;
}

/**
 * Static credentials never call GitLab: the port says so instead of holding a
 * client, so a path that would reach GitLab anyway fails loudly, not quietly.
 */
function noGitLab(): LivePorts["gitlab"] {
  const refuse = (): never => {
    throw new Error("static credentials (--username): GitLab is never called");
  };
  const port: GitLabPort = {
    resolveOwner: refuse,
    createDeployToken: refuse,
    revokeDeployToken: refuse,
    listDeployTokens: refuse,
  };
  return port;
}

/**
 * What can be checked on this machine, checked before anything remote: the CA
 * file, and (for the commands that talk to the cluster) the kubeconfig and
 * its context. A mistake here is a usage error (exit 2) naming the file or
 * the context, not a failure at the first cluster call after GitLab was asked.
 */
export async function checkLocalSetup(
  config: Config,
  redactor: Redactor,
  opts: { cluster: boolean; labels: { kubeconfig: string; context: string } },
): Promise<void> {
  if (config.caFile) readCaFile(config.caFile);
  if (!opts.cluster) return;
  await checkKubeconfig({
    kubeconfig: config.kubeconfig,
    context: config.context,
    redact: redactor.redact,
    holdsSecret: redactor.holds,
    labels: opts.labels,
  });
}

export function livePorts(config: Config, log: Log, redactor: Redactor): LivePorts {
  // Read at the edge: an unreadable CA file is a usage error before any request.
  const caPem = config.caFile ? readCaFile(config.caFile) : undefined;
  const kube = complete(
    kubectlPort({
      kubeconfig: config.kubeconfig,
      context: config.context,
      redact: redactor.redact,
      holdsSecret: redactor.holds,
    }),
  );
  return {
    gitlab:
      config.credentials.kind === "static"
        ? noGitLab()
        : gitlabPort({
            url: config.gitlabUrl,
            token: config.credentials.gitlabToken,
            caPem,
            proxy: config.proxy,
            requestTimeoutMs: config.requestTimeoutMs,
            retry: { deadlineMs: config.retryForMs },
          }),
    kube,
    lock: kube,
    verifier: registryPortFor(caPem, config.requestTimeoutMs, config.proxy),
    clock: { now: () => new Date() },
    sleep: (ms) => sleep(ms),
    // Unref'd: a renewal timer never keeps the CLI alive after its run.
    timer: {
      after(ms, fn) {
        const t = setTimeout(fn, ms);
        t.unref();
        return () => clearTimeout(t);
      },
    },
    log,
    nonce: () => randomBytes(3).toString("hex"),
  };
}
