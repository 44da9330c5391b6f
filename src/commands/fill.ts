// Fill: the namespaces that lack the Secret get the current token, copied
// from one of our own Secrets, when nothing else is due (model/fill.ts
// decides). Nothing is minted or revoked. The run holds the same lock, makes
// the same server dry run first and the same pull check (with the read
// credentials), and the ServiceAccounts are handled by rotate as on any run.
import { verifyCredentials } from "./pull-check.js";
import { SECRET_TYPES, credentialsIn, pullSecretPayload, secretForms } from "../model/dockerconfig.js";
import { RotationError } from "../model/errors.js";
import type { Config } from "../config/inputs.js";
import { fillAnnotations } from "../model/fill.js";
import type { CurrentToken, RotationDecision } from "../model/decide.js";
import { secretList } from "../model/manifests.js";
import { Annotations } from "../model/naming.js";
import type { Ports, Readers, ResolvedOwner } from "../model/ports.js";
import type { RotationReport } from "./rotation-report.js";
import { verifyTarget } from "./rotate-scope.js";

/**
 * Reads the current token from the fill's source Secret, and registers every
 * form of it (and of the raw data) with the log before anything could print
 * it. A string says why it cannot be copied (the run rotates instead): the
 * Secret changed since it was read, or does not hold what it records.
 */
export async function readCurrent(
  config: Config,
  ports: Pick<Readers, "kube" | "log">,
  hosts: readonly string[],
  fill: { namespace: string; tokenId: number },
): Promise<CurrentToken | string> {
  const where = `the Secret in ${fill.namespace}`;
  const read = await ports.kube.readSecretData(fill.namespace, config.secretName);
  for (const value of Object.values(read?.data ?? {})) {
    ports.log.secret(value.reveal());
    ports.log.secret(Buffer.from(value.reveal()).toString("base64"));
  }
  if (!read) return `${where} is gone`;
  if (read.secret.annotations[Annotations.tokenId] !== String(fill.tokenId))
    return `${where} changed while this run read it`;
  const payload = read.data[SECRET_TYPES[config.secretType].key];
  if (!payload) return `${where} holds no ${SECRET_TYPES[config.secretType].key}`;
  const creds = credentialsIn(config.secretType, payload, hosts);
  if (typeof creds === "string") return `${where} does not hold what it records: ${creds}`;
  for (const form of secretForms(creds)) ports.log.secret(form);
  const recorded = read.secret.annotations[Annotations.tokenUsername];
  if (recorded !== undefined && recorded !== creds[0]!.username)
    return `${where} does not hold what it records: another username than ${recorded}`;
  return { source: read.secret, creds };
}

/**
 * The pull check with the read credentials (the server's dry run passed while
 * observing), then one apply of the filled Secrets, recorded as the source is.
 * A failure changes no token: nothing was minted, nothing revoked.
 */
export async function fillSecrets(
  config: Config,
  ports: Ports,
  args: {
    owner: ResolvedOwner;
    hosts: readonly string[];
    fill: NonNullable<RotationDecision["fill"]>;
    current: CurrentToken;
    /** Where this run's Lease is: the filled Secrets name it, as rotate's do. */
    leaseNamespace: string;
  },
): Promise<RotationReport["verified"]> {
  const { fill, current, hosts } = args;
  const into = fill.namespaces.join(", ");

  let verified: RotationReport["verified"] = null;
  const check = verifyTarget(config, args.owner);
  if (check) {
    const { username, password } = current.creds[0]!;
    try {
      verified = await verifyCredentials(ports, {
        registry: hosts[0]!,
        ...check,
        username,
        password,
        what: `deploy token ${fill.tokenId}`,
      });
    } catch (err) {
      throw new RotationError(
        err as Error,
        `nothing to roll back: nothing was minted or revoked, and ${into} was not written`,
      );
    }
  }

  const list = secretList({
    namespaces: fill.namespaces,
    secretName: config.secretName,
    secretType: config.secretType,
    payload: pullSecretPayload(config.secretType, current.creds),
    annotations: {
      ...fillAnnotations(current.source),
      [Annotations.lease]: args.leaseNamespace,
    },
  });
  try {
    // No --force-conflicts: these namespaces held no Secret when read, and one made since is not ours to take.
    await ports.kube.applySecrets(list, { force: false });
  } catch (err) {
    throw new RotationError(
      err as Error,
      "nothing to roll back: nothing was minted or revoked; a filled Secret holds the current token. Re-run to finish",
    );
  }
  ports.log.info(`Filled Secret "${config.secretName}" in ${into} with deploy token ${fill.tokenId}`);
  return verified;
}
