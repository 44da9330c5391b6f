// render: mint a token and print it as a Secret manifest (for GitOps,
// sealed-secrets, SOPS) or as a docker config.json (node-level kubelet
// config). The ONLY command that ever outputs a secret, and only to stdout on
// explicit request; the cluster is never touched.
//
// The token is minted like rotate's (same GitLab port, same --scope
// scope and expiry rule, same pull check, revoked again when the check
// fails) but named for a target of its own, `<prefix>/render/<secret>/…`:
// rotate's sweep only touches names under its `<prefix>/<context>/<secret>/<hash>/`,
// so it never revokes a rendered credential that lives in a repository.
// The rendered Secret carries no managed-by label for the same reason: it is
// the GitOps tool's, and rotate refuses to overwrite it without --adopt.
//
// With static credentials (--username) nothing is minted: the document holds
// the given username and password, checked to pull only with --verify-image.
import yaml from "js-yaml";
import { verifyCredentials } from "./pull-check.js";
import {
  credentialsFor,
  dockerConfigJson,
  payloadSha256,
  pullSecretPayload,
  registryHosts,
  secretForms,
  type RegistryCredentials,
} from "../model/dockerconfig.js";
import { RotationError } from "../model/errors.js";
import type { Config, RenderFormat } from "../config/inputs.js";
import {
  mintedRecord,
  recordAnnotations,
  secretObjects,
  staticAnnotations,
  type SecretArgs,
} from "../model/manifests.js";
import { tokenName } from "../model/naming.js";
import { registryHost } from "./rotate.js";
import { mintChecked } from "./mint.js";
import { checkRotateAccess } from "./apitoken.js";
import { Secret } from "../model/secret.js";
import { staticLogin, staticVerifyTarget } from "./static.js";
import type { Ports } from "../model/ports.js";

export interface Rendered {
  format: RenderFormat;
  /** The minted deploy token; null with static credentials. */
  token: { id: number; name: string; username: string; expiresAt: string } | null;
  static: { username: string } | null;
  registry: string;
  registryAliases: string[];
  verified: { repository: string; tag?: string; digest?: string } | null;
  /** The document to print. */
  content: Secret;
}

/** The target rendered tokens are named for: disjoint from every rotate target (see above). */
export function renderTarget(secretName: string): string {
  return `render/${secretName}`;
}

/** One pull Secret per namespace (type and key from --secret-type), as multi-document YAML. */
export function secretManifests(args: SecretArgs): Secret {
  // Never fold: a folded base64 line is still valid YAML, but not every tool that greps or seals it copes.
  const docs = secretObjects(args).map((o) => yaml.dump(o, { lineWidth: -1, noRefs: true }));
  return new Secret(docs.join("---\n"));
}

/** A docker config.json (kubelet `--config` dir, containers' auth.json), indented for people. */
export function configJson(creds: readonly RegistryCredentials[]): Secret {
  return new Secret(`${JSON.stringify(JSON.parse(dockerConfigJson(creds).reveal()), null, 2)}\n`);
}

/** The document asked for: a config.json, or the Secret manifests with these annotations. */
function document(
  config: Config,
  format: RenderFormat,
  creds: readonly RegistryCredentials[],
  annotations: (payload: Secret) => Record<string, string>,
): Secret {
  if (format === "config.json") return configJson(creds);
  const payload = pullSecretPayload(config.secretType, creds);
  return secretManifests({
    namespaces: config.namespaces,
    secretName: config.secretName,
    secretType: config.secretType,
    payload,
    annotations: annotations(payload),
  });
}

/** Static credentials: nothing to mint, nothing to revoke if the check fails. */
async function renderStatic(
  config: Config,
  format: RenderFormat,
  ports: Pick<Ports, "verifier" | "clock" | "log">,
): Promise<Rendered> {
  const { username, password } = staticLogin(config);
  const hosts = registryHosts(config.registry!, config.registryAliases);
  const creds = credentialsFor(hosts, username, password);
  for (const form of secretForms(creds)) ports.log.secret(form);
  let verified: Rendered["verified"] = null;
  const check = staticVerifyTarget(config);
  if (check) {
    try {
      verified = await verifyCredentials(ports, {
        registry: hosts[0]!,
        ...check,
        username,
        password,
        credentials: "static",
        what: `the credentials of ${username}`,
      });
    } catch (err) {
      throw new RotationError(err as Error, "nothing was minted and nothing was printed");
    }
  }
  const now = ports.clock.now().toISOString();
  const content = document(config, format, creds, (payload) =>
    staticAnnotations({
      username,
      registry: hosts[0]!,
      aliases: hosts.slice(1),
      configSha256: payloadSha256(payload),
      rotatedAt: now,
    }),
  );
  return {
    format,
    token: null,
    static: { username },
    registry: hosts[0]!,
    registryAliases: hosts.slice(1),
    verified,
    content,
  };
}

export async function renderCredentials(
  config: Config,
  format: RenderFormat,
  ports: Pick<Ports, "gitlab" | "verifier" | "clock" | "log" | "nonce">,
): Promise<Rendered> {
  if (config.credentials.kind === "static") return renderStatic(config, format, ports);
  const owner = await ports.gitlab.resolveOwner(config.credentials.owner);
  const hosts = registryHosts(registryHost(config, owner), config.registryAliases);
  const registry = hosts[0]!;
  const now = ports.clock.now();
  // render mints as rotate does, so it needs what rotate needs from GitLab: said before minting, not as a 403 after.
  await checkRotateAccess(ports.gitlab, owner, now, ports.log);
  // Masked before anything could print them; only the rendered document on stdout shows them.
  const { minted, creds, verified } = await mintChecked(config, ports, {
    owner,
    hosts,
    name: tokenName(config.tokenNamePrefix, renderTarget(config.secretName), now, ports.nonce()),
    untouched: "nothing was printed",
    // Rendered tokens are never swept (no Secret of ours records them).
    ifRevokeFails: "delete it in GitLab",
  });

  const content = document(config, format, creds, () => recordAnnotations(mintedRecord(minted, owner, hosts, now)));
  return {
    format,
    token: { id: minted.id, name: minted.name, username: minted.username, expiresAt: minted.expiresAt },
    static: null,
    registry,
    registryAliases: hosts.slice(1),
    verified,
    content,
  };
}
