// The composition root: the live ports every command runs on, built from a
// Config at the edge (the CA file read here, the kubeconfig checked before any
// remote call). A command that only reads (plan, status) is handed them as
// Readers, so its type refuses every write.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { gitlabPort } from "./gitlab.js";
import type { Config } from "../config/inputs.js";
import { kubectlPort } from "./kubectl.js";
import type { ApiTokenPorts, ApiTokenSelfPort, GitLabPort, Log, Ports } from "../model/ports.js";
import { fileRecovery, gitlabVariableStore } from "./apitoken-store.js";
import { kubernetesSecretStore } from "./apitoken-store-kube.js";
import { gitHubSecretStore } from "./apitoken-store-github.js";
import { registryPortFor } from "./registry.js";
import { readCaFile } from "./tls.js";
import { checkKubeconfig } from "./kubeconfig-check.js";
import type { Redactor, Secret } from "../model/secret.js";

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

type LiveGitLab = GitLabPort & ApiTokenSelfPort;

/**
 * The GitLab port a run holds, which carries on with the new token once it
 * has rotated its own: the old value is dead the moment GitLab answers, and a
 * run that rotated its API token last (rotate --rotate-api-token-within)
 * still reads GitLab afterwards (its metrics).
 */
function selfRotatingGitLab(build: (token: Secret) => LiveGitLab, token: Secret): LiveGitLab {
  let port = build(token);
  return {
    resolveOwner: (owner) => port.resolveOwner(owner),
    listDeployTokens: (owner) => port.listDeployTokens(owner),
    apiTokenSelf: () => port.apiTokenSelf(),
    callerAccess: (owner) => port.callerAccess(owner),
    createDeployToken: (owner, req) => port.createDeployToken(owner, req),
    revokeDeployToken: (owner, id) => port.revokeDeployToken(owner, id),
    apiTokenOwner: () => port.apiTokenOwner(),
    async rotateApiTokenSelf(owner, expiresAt) {
      const rotated = await port.rotateApiTokenSelf(owner, expiresAt);
      port = build(rotated.token);
      return rotated;
    },
  };
}

function gitlabHttp(config: Config) {
  return {
    url: config.gitlabUrl,
    // Read at the edge: an unreadable CA file is a usage error before any request.
    caPem: config.caFile ? readCaFile(config.caFile) : undefined,
    proxy: config.proxy,
    requestTimeoutMs: config.requestTimeoutMs,
    retry: { deadlineMs: config.retryForMs },
  };
}

export function livePorts(config: Config, log: Log, redactor: Redactor): Ports {
  return liveRotationPorts(config, log, redactor).ports;
}

/**
 * rotate's ports, and with --rotate-api-token-within the API token's, both on
 * one GitLab port: after the API token's rotation every GitLab call of the run
 * uses the new token.
 */
export function liveRotationPorts(
  config: Config,
  log: Log,
  redactor: Redactor,
): { ports: Ports; apiToken: ApiTokenPorts | undefined } {
  const http = gitlabHttp(config);
  const gitlab =
    config.credentials.kind === "static"
      ? undefined
      : selfRotatingGitLab((token) => gitlabPort({ ...http, token }), config.credentials.gitlabToken);
  const ports = baseLivePorts(config, log, redactor, http.caPem, gitlab);
  const apiToken =
    gitlab && config.apiToken.rotateWithinMs !== undefined
      ? apiTokenPortsOn(config, log, redactor, gitlab, http)
      : undefined;
  return { ports, apiToken };
}

function baseLivePorts(
  config: Config,
  log: Log,
  redactor: Redactor,
  caPem: string | undefined,
  gitlab: LiveGitLab | undefined,
): Ports {
  const kube = kubectlPort({
    kubeconfig: config.kubeconfig,
    context: config.context,
    redact: redactor.redact,
    holdsSecret: redactor.holds,
  });
  return {
    gitlab: gitlab ?? noGitLab(),
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
  if (config.credentials.kind !== "deploy-token") throw new Error("rotate-api-token: no GitLab token");
  const http = gitlabHttp(config);
  return apiTokenPortsOn(config, log, redactor, gitlabPort({ ...http, token: config.credentials.gitlabToken }), http);
}

function apiTokenPortsOn(
  config: Config,
  log: Log,
  redactor: Redactor,
  gitlab: ApiTokenSelfPort,
  http: ReturnType<typeof gitlabHttp>,
): ApiTokenPorts {
  const spec = config.apiToken.store;
  if (!spec) throw new Error("the API token's rotation: no --api-token-store");
  return {
    gitlab,
    store: apiTokenStore(spec, config, http, redactor),
    recovery: config.apiToken.recoveryFile ? fileRecovery(config.apiToken.recoveryFile) : undefined,
    clock: { now: () => new Date() },
    log,
    sleep: (ms) => sleep(ms),
  };
}
