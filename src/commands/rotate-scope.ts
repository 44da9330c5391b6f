// What a run is about, settled before anything changes: the registry host,
// the repository the pull check reads, and the namespaces. Shared by rotate,
// render, status and revoke, so they all mean the same target.
import { KubeError, UsageError } from "../model/errors.js";
import type { Config } from "../config/inputs.js";
import type { KubeReader, ResolvedOwner } from "../model/ports.js";

/** The registry host: given, or the part of the project's image prefix before the first '/'. */
export function registryHost(config: Config, owner: ResolvedOwner): string {
  if (config.registry) return config.registry;
  if (owner.registryAccessLevel === "disabled") {
    throw new UsageError(
      "--registry",
      undefined,
      `the container registry is disabled for project ${owner.path}; enable it in the project's settings`,
    );
  }
  const prefix = owner.registryImagePrefix;
  if (!prefix) {
    throw new UsageError(
      "--registry",
      undefined,
      `required: GitLab reports no container registry for ${owner.kind} ${owner.path} (the instance registry is off); give the registry host[:port]`,
    );
  }
  return prefix.split("/")[0]!.toLowerCase();
}

/** The repository the pull check reads: given, or the project's own. */
export function verifyTarget(
  config: Pick<Config, "verify">,
  owner: ResolvedOwner,
): { repository: string; tag: string | undefined } | null {
  if (config.verify === false) return null;
  if (config.verify.repository) return { repository: config.verify.repository, tag: config.verify.tag };
  const path = owner.registryImagePrefix?.split("/").slice(1).join("/") || owner.path.toLowerCase();
  return { repository: path, tag: config.verify.tag };
}

/** The namespaces of this run: the list, plus the selector's matches, minus the exclusions. */
export async function resolveNamespaces(config: Config, kube: Pick<KubeReader, "listNamespaces">): Promise<string[]> {
  const chosen = [...config.namespaces];
  if (config.namespaceSelector !== undefined) {
    for (const ns of await kube.listNamespaces(config.namespaceSelector)) if (!chosen.includes(ns)) chosen.push(ns);
  }
  const result = chosen.filter((ns) => !config.excludeNamespaces.includes(ns));
  if (result.length === 0) {
    throw new KubeError(
      "choosing namespaces",
      `no namespace is left to manage (selector ${config.namespaceSelector ?? "none"}, excluded ${config.excludeNamespaces.join(", ") || "none"})`,
    );
  }
  return result;
}
