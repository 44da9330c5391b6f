// Spawning kubectl: global flags, a child environment without our secrets
// (childenv.ts), the manifest on stdin. Every kubectl call goes through here.
import { getExecOutput } from "@actions/exec";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { childEnv } from "./childenv.js";
import { KubeError } from "../model/errors.js";

export interface KubectlOptions {
  kubeconfig: string | undefined;
  context: string | undefined;
  /** Redacts every secret form registered so far; applied to anything kubectl printed before it is reused. */
  redact: (text: string) => string;
  /** Whether text holds a secret form registered so far; such variables stay out of kubectl's environment. */
  holdsSecret: (text: string) => boolean;
  env?: Readonly<Record<string, string | undefined>>;
  binary?: string;
}

export interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Whether kubectl will use a kubeconfig rather than its in-cluster configuration. kubectl
 * falls back to in-cluster (the Pod's ServiceAccount) only when the kubeconfig it loaded is
 * the default one, and any override flag, `--request-timeout` included, makes it non-default:
 * in a CronJob every call would then go to localhost:8080. Mirrors clientcmd's rule: a
 * --kubeconfig, $KUBECONFIG, ~/.kube/config, or not in a Pod.
 */
export function usesKubeconfig(
  env: Readonly<Record<string, string | undefined>>,
  kubeconfigFlag: string | undefined,
  homeConfigExists: (home: string) => boolean,
): boolean {
  if (kubeconfigFlag || env.KUBECONFIG) return true;
  if (!env.KUBERNETES_SERVICE_HOST || !env.KUBERNETES_SERVICE_PORT) return true;
  return env.HOME ? homeConfigExists(env.HOME) : false;
}

/** The one way to call kubectl: `args` after the global flags, `stdin` as its input. */
export function kubectlRunner(opts: KubectlOptions): (args: string[], stdin: string) => Promise<Run> {
  const binary = opts.binary ?? "kubectl";
  const kubeconfig = usesKubeconfig(opts.env ?? process.env, opts.kubeconfig, (home) =>
    existsSync(join(home, ".kube", "config")),
  );
  const global = [
    ...(opts.kubeconfig ? ["--kubeconfig", opts.kubeconfig] : []),
    ...(opts.context ? ["--context", opts.context] : []),
    // In-cluster, the flag would switch the ServiceAccount configuration off (see usesKubeconfig).
    ...(kubeconfig ? ["--request-timeout=60s"] : []),
  ];

  async function run(args: string[], stdin: string): Promise<Run> {
    try {
      return await getExecOutput(binary, [...global, ...args], {
        input: Buffer.from(stdin),
        silent: true,
        ignoreReturnCode: true,
        env: childEnv(opts.env ?? process.env, opts.holdsSecret),
      });
    } catch (err) {
      throw new KubeError("running kubectl", `${(err as Error).message}. Is kubectl installed and on PATH?`);
    }
  }

  return run;
}
