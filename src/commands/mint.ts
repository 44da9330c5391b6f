// Minting a deploy token and proving it pulls: the steps rotate and render
// share. Every form of the new secret is registered for redaction before
// anything could print it, and a token that fails the pull check is revoked
// at once: nothing downstream ever sees a token that cannot pull.
import { verifyCredentials } from "./pull-check.js";
import { credentialsFor, secretForms, type RegistryCredentials } from "../model/dockerconfig.js";
import { expiryDateFor } from "../config/duration.js";
import { RotationError } from "../model/errors.js";
import { scopesText } from "../model/scopes.js";
import type { Config } from "../config/inputs.js";
import type { MintedToken, Ports, ResolvedOwner } from "../model/ports.js";
import { verifyTarget } from "./rotate-scope.js";
import { revokeNew } from "./rotate-revoke.js";
import type { RotationReport } from "./rotation-report.js";

export interface MintedChecked {
  minted: MintedToken;
  /** The docker config entries for every host, with the new token. */
  creds: RegistryCredentials[];
  verified: RotationReport["verified"];
}

export async function mintChecked(
  config: Pick<Config, "expiresInMs" | "verify" | "scopes">,
  ports: Pick<Ports, "gitlab" | "verifier" | "clock" | "log">,
  args: {
    owner: ResolvedOwner;
    /** The registry, then its aliases. */
    hosts: readonly string[];
    /** The token's name (naming.ts tokenName). */
    name: string;
    /** How the world stands if the pull check fails, for the error: "the cluster was not touched". */
    untouched: string;
    /** What to do if revoking the failed token fails too (rotate: the next run sweeps it). */
    ifRevokeFails?: string;
  },
): Promise<MintedChecked> {
  const { gitlab, log } = ports;
  const { owner, hosts } = args;
  const now = ports.clock.now();
  const minted = await gitlab.createDeployToken(owner, {
    name: args.name,
    expiresAt: expiryDateFor(now, config.expiresInMs),
    scopes: config.scopes,
  });
  const creds = credentialsFor(hosts, minted.username, minted.token);
  for (const form of secretForms(creds)) log.secret(form);
  log.info(
    `Minted deploy token ${minted.id} (${minted.username}, scopes ${scopesText(config.scopes)}) for ${hosts.join(", ")}, expires ${minted.expiresAt}`,
  );

  const check = verifyTarget(config, owner);
  if (!check) return { minted, creds, verified: null };
  try {
    const verified = await verifyCredentials(ports, {
      registry: hosts[0]!,
      ...check,
      username: minted.username,
      password: minted.token,
      what: "the new token",
    });
    return { minted, creds, verified };
  } catch (err) {
    throw new RotationError(err as Error, await revokeNew(ports, owner, minted, args.untouched, args.ifRevokeFails));
  }
}
