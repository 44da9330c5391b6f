// Wires the real ports for a Config. Shared by the CLI and the Action so both
// run the very same rotation.
import { randomBytes } from "node:crypto";
import { gitlabPort } from "./gitlab.js";
import type { Config } from "./inputs.js";
import { kubectlPort } from "./kubectl.js";
import type { Log } from "./ports.js";
import type { Redactor } from "./report.js";
import { rotate, type RotationReport } from "./rotate.js";

export function runRotation(config: Config, log: Log, redactor: Redactor): Promise<RotationReport> {
  return rotate(config, {
    gitlab: gitlabPort({ url: config.gitlabUrl, token: config.gitlabToken }),
    kube: kubectlPort({ kubeconfig: config.kubeconfig, context: config.context, redact: redactor.redact }),
    clock: { now: () => new Date() },
    log,
    nonce: () => randomBytes(3).toString("hex"),
  });
}
