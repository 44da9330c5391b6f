// Pure: what the cluster should hold -> the documents kubectl applies.
import { Annotations, MANAGED_BY_LABEL, MANAGER } from "./naming.js";
import { Secret } from "./secret.js";

export interface TokenRecord {
  id: number;
  username: string;
  expiresAt: string;
  /** "project/42" or "group/7". */
  owner: string;
  registry: string;
  rotatedAt: string;
}

export function recordAnnotations(t: TokenRecord): Record<string, string> {
  return {
    [Annotations.tokenId]: String(t.id),
    [Annotations.tokenUsername]: t.username,
    [Annotations.expiresAt]: t.expiresAt,
    [Annotations.owner]: t.owner,
    [Annotations.registry]: t.registry,
    [Annotations.rotatedAt]: t.rotatedAt,
  };
}

/**
 * A `v1 List` of one dockerconfigjson Secret per namespace, for a single
 * `kubectl apply --server-side -f -`. Server-side apply owns labels,
 * annotations and data keys per key, so keys other tools set are kept; we
 * always send our full set so none of ours go stale.
 */
export function secretList(args: {
  namespaces: readonly string[];
  secretName: string;
  dockerConfigJson: Secret;
  annotations: Record<string, string>;
}): Secret {
  const data = Buffer.from(args.dockerConfigJson.reveal()).toString("base64");
  const items = args.namespaces.map((namespace) => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: args.secretName,
      namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGER },
      annotations: args.annotations,
    },
    type: "kubernetes.io/dockerconfigjson",
    data: { ".dockerconfigjson": data },
  }));
  return new Secret(JSON.stringify({ apiVersion: "v1", kind: "List", items }));
}

/** A `v1 List` naming Secrets to read back with `kubectl get -f -`. */
export function secretRefs(namespaces: readonly string[], secretName: string): string {
  const items = namespaces.map((namespace) => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: secretName, namespace },
  }));
  return JSON.stringify({ apiVersion: "v1", kind: "List", items });
}
