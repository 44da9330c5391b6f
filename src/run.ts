// Wires the real ports for a Config. Shared by the CLI and the Action so both
// run the very same rotation.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { gitlabPort } from "./gitlab.js";
import type { Config } from "./inputs.js";
import { kubectlPort } from "./kubectl.js";
import type { Log } from "./ports.js";
import { registryPortFor } from "./registry.js";
import type { Redactor } from "./report.js";
import { rotate, type RotationReport } from "./rotate.js";
import { readCaFile } from "./tls.js";

export function runRotation(config: Config, log: Log, redactor: Redactor): Promise<RotationReport> {
  // Read at the edge: an unreadable CA file is a usage error before any request.
  const caPem = config.caFile ? readCaFile(config.caFile) : undefined;
  const kube = kubectlPort({ kubeconfig: config.kubeconfig, context: config.context, redact: redactor.redact });
  return rotate(config, {
    gitlab: gitlabPort({
      url: config.gitlabUrl,
      token: config.gitlabToken,
      caPem,
      requestTimeoutMs: config.requestTimeoutMs,
      retry: { deadlineMs: config.retryForMs },
    }),
    kube,
    lock: kube,
    verifier: registryPortFor(caPem, config.requestTimeoutMs),
    clock: { now: () => new Date() },
    sleep: (ms) => sleep(ms),
    log,
    nonce: () => randomBytes(3).toString("hex"),
  });
}
