// The composition root: the live ports every command runs on, built from a
// Config at the edge (the CA file read here, the kubeconfig checked before any
// remote call). A command that only reads (plan, status) is handed them as
// Readers, so its type refuses every write.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { gitlabPort } from "./gitlab.js";
import type { Config } from "../config/inputs.js";
import { kubectlPort } from "./kubectl.js";
import type { ApiTokenPorts, GitLabPort, Log, Ports } from "../model/ports.js";
import { fileRecovery, gitlabVariableStore } from "./apitoken-store.js";
import { kubernetesSecretStore } from "./apitoken-store-kube.js";
import { gitHubSecretStore } from "./apitoken-store-github.js";
import { registryPortFor } from "./registry.js";
import { readCaFile } from "./tls.js";
import { checkKubeconfig } from "./kubeconfig-check.js";
import type { Redactor } from "../model/secret.js";

/**
 * Static credentials never call GitLab: the port says so instead of holding a
 * client, so a path that would reach GitLab anyway fails loudly, not quietly.
 */
function noGitLab(): Ports["gitlab"] {
  const refuse = (): never => {
    throw new Error("static credentials (--username): GitLab is never called");
  };
  const port: GitLabPort = {
    resolveOwner: refuse,
    createDeployToken: refuse,
    revokeDeployToken: refuse,
    listDeployTokens: refuse,
    apiTokenSelf: refuse,
    callerAccess: refuse,
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

export function livePorts(config: Config, log: Log, redactor: Redactor): Ports {
  // Read at the edge: an unreadable CA file is a usage error before any request.
  const caPem = config.caFile ? readCaFile(config.caFile) : undefined;
  const kube = kubectlPort({
    kubeconfig: config.kubeconfig,
    context: config.context,
    redact: redactor.redact,
    holdsSecret: redactor.holds,
  });
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

/** The store --api-token-store names, on the same CA, proxy, timeout and retry policy as GitLab's calls. */
function apiTokenStore(
  spec: NonNullable<Config["apiToken"]["store"]>,
  config: Config,
  http: {
    url: string;
    caPem: string | undefined;
    proxy: Config["proxy"];
    requestTimeoutMs: number;
    retry: { deadlineMs: number };
  },
  redactor: Redactor,
): ApiTokenPorts["store"] {
  if (spec.kind === "gitlab-variable") return gitlabVariableStore(spec, http);
  if (spec.kind === "github-secret") {
    const token = config.apiToken.github.token;
    if (!token) throw new Error("rotate-api-token: a github: store without a GitHub token");
    return gitHubSecretStore(spec, { ...http, apiUrl: config.apiToken.github.apiUrl, token });
  }
  return kubernetesSecretStore(spec, {
    kubeconfig: config.kubeconfig,
    context: config.context,
    redact: redactor.redact,
    holdsSecret: redactor.holds,
  });
}

/** rotate-api-token's ports: GitLab with the current token, the store --api-token-store names, the recovery file. */
export function liveApiTokenPorts(config: Config, log: Log, redactor: Redactor): ApiTokenPorts {
  const spec = config.apiToken.store;
  if (!spec || config.credentials.kind !== "deploy-token")
    throw new Error("rotate-api-token: no store or no GitLab token");
  const caPem = config.caFile ? readCaFile(config.caFile) : undefined;
  const http = {
    url: config.gitlabUrl,
    caPem,
    proxy: config.proxy,
    requestTimeoutMs: config.requestTimeoutMs,
    retry: { deadlineMs: config.retryForMs },
  };
  return {
    gitlab: gitlabPort({ ...http, token: config.credentials.gitlabToken }),
    store: apiTokenStore(spec, config, http, redactor),
    recovery: config.apiToken.recoveryFile ? fileRecovery(config.apiToken.recoveryFile) : undefined,
    clock: { now: () => new Date() },
    log,
    sleep: (ms) => sleep(ms),
  };
}
