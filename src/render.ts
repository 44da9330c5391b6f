// render: mint a token and print it as a Secret manifest (for GitOps,
// sealed-secrets, SOPS) or as a docker config.json (node-level kubelet
// config). The ONLY command that ever outputs a secret, and only to stdout on
// explicit request; the cluster is never touched.
//
// The token is minted like rotate's (same GitLab port, same read_registry
// scope and expiry rule, same pull check, revoked again when the check
// fails) but named for a target of its own, `<prefix>/render/<secret>/…`:
// rotate's sweep only touches names under its `<prefix>/<context>/<secret>/<hash>/`,
// so it never revokes a rendered credential that lives in a repository.
// The rendered Secret carries no managed-by label for the same reason: it is
// the GitOps tool's, and rotate refuses to overwrite it without --adopt.
import yaml from "js-yaml";
import { dockerConfigJson, secretForms, type RegistryCredentials } from "./dockerconfig.js";
import { expiryDateFor } from "./duration.js";
import { RotationError } from "./errors.js";
import type { Config, RenderFormat } from "./inputs.js";
import { recordAnnotations } from "./manifests.js";
import { tokenName } from "./naming.js";
import { registryHost, verifyTarget, type Ports } from "./rotate.js";
import { Secret } from "./secret.js";

export interface Rendered {
  format: RenderFormat;
  token: { id: number; name: string; username: string; expiresAt: string };
  registry: string;
  verified: { repository: string; tag?: string; digest?: string } | null;
  /** The document to print. */
  content: Secret;
}

/** The target rendered tokens are named for: disjoint from every rotate target (see above). */
export function renderTarget(secretName: string): string {
  return `render/${secretName}`;
}

/** One `kubernetes.io/dockerconfigjson` Secret per namespace, as multi-document YAML. */
export function secretManifests(args: {
  namespaces: readonly string[];
  secretName: string;
  dockerConfigJson: Secret;
  annotations: Record<string, string>;
}): Secret {
  const data = Buffer.from(args.dockerConfigJson.reveal()).toString("base64");
  const docs = args.namespaces.map((namespace) =>
    yaml.dump(
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: args.secretName, namespace, annotations: args.annotations },
        type: "kubernetes.io/dockerconfigjson",
        data: { ".dockerconfigjson": data },
      },
      // Never fold: a folded base64 line is still valid YAML, but not every tool that greps or seals it copes.
      { lineWidth: -1, noRefs: true },
    ),
  );
  return new Secret(docs.join("---\n"));
}

/** A docker config.json (kubelet `--config` dir, containers' auth.json), indented for people. */
export function configJson(creds: readonly RegistryCredentials[]): Secret {
  return new Secret(`${JSON.stringify(JSON.parse(dockerConfigJson(creds).reveal()), null, 2)}\n`);
}

export async function renderCredentials(
  config: Config,
  format: RenderFormat,
  ports: Pick<Ports, "gitlab" | "verifier" | "clock" | "log" | "nonce">,
): Promise<Rendered> {
  const { gitlab, log } = ports;
  const owner = await gitlab.resolveOwner(config.owner);
  const registry = registryHost(config, owner);
  const now = ports.clock.now();
  const minted = await gitlab.createDeployToken(owner, {
    name: tokenName(config.tokenNamePrefix, renderTarget(config.secretName), now, ports.nonce()),
    expiresAt: expiryDateFor(now, config.expiresInMs),
  });
  const creds: RegistryCredentials = { host: registry, username: minted.username, password: minted.token };
  // Masked before anything could print them; only the rendered document on stdout shows them.
  for (const form of secretForms([creds])) log.secret(form);
  log.info(`Minted deploy token ${minted.id} (${minted.username}) for ${registry}, expires ${minted.expiresAt}`);

  let verified: Rendered["verified"] = null;
  const check = verifyTarget(config, owner);
  if (check) {
    try {
      const r = await ports.verifier.verifyPull({ registry, ...check, username: minted.username, password: minted.token });
      verified = { repository: check.repository, ...(check.tag ? { tag: check.tag } : {}), ...(r.digest ? { digest: r.digest } : {}) };
      const image = `${check.repository}${check.tag ? `:${check.tag}` : ""}`;
      if (r.anonymous) log.warn(`${registry} serves ${image} without authentication, so the pull check says nothing about the new token`);
      else log.info(`Verified: the new token pulls ${image} from ${registry}`);
    } catch (err) {
      let rollback: string;
      try {
        await gitlab.revokeDeployToken(owner, minted.id);
        rollback = `new deploy token ${minted.id} revoked; nothing was printed`;
      } catch (inner) {
        rollback = `revoking new deploy token ${minted.id} failed too (${(inner as Error).message}); delete it in GitLab; nothing was printed`;
      }
      throw new RotationError(err as Error, rollback);
    }
  }

  const content =
    format === "config.json"
      ? configJson([creds])
      : secretManifests({
          namespaces: config.namespaces,
          secretName: config.secretName,
          dockerConfigJson: dockerConfigJson([creds]),
          annotations: recordAnnotations({
            id: minted.id,
            username: minted.username,
            expiresAt: minted.expiresAt,
            owner: `${owner.kind}/${owner.id}`,
            registry,
            rotatedAt: now.toISOString(),
          }),
        });
  return {
    format,
    token: { id: minted.id, name: minted.name, username: minted.username, expiresAt: minted.expiresAt },
    registry,
    verified,
    content,
  };
}
