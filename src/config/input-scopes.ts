// --scope: the scopes of the deploy token a run mints. Only what an image pull
// Secret can use is accepted: whoever can read a Secret holds its token, so a
// scope that writes, or reaches beyond container images, is refused before
// anything is called, saying why.
import { UsageError } from "../model/errors.js";
import { DEFAULT_SCOPES, DEPLOY_TOKEN_SCOPES, orderedScopes } from "../model/scopes.js";
import type { Reader } from "./input-reader.js";

/**
 * read_registry pulls from the container registry; the Dependency Proxy takes a
 * group deploy token holding read_virtual_registry and write_virtual_registry
 * (GitLab's DependencyProxy authentication requires the pair: the proxy writes
 * what it fetches into the group's cache), the only pair it accepts from 19.0 on.
 */
export const PULL_SCOPES = ["read_registry", "read_virtual_registry", "write_virtual_registry"] as const;

const REFUSED: Readonly<Record<string, string>> = {
  write_registry:
    "it lets whoever reads the Secret push images to every container registry of the owner; a pull Secret never needs it " +
    "(for the Dependency Proxy, give read_virtual_registry,write_virtual_registry)",
  write_package_registry: "it lets whoever reads the Secret publish packages; a pull Secret never needs write",
  read_package_registry: "it reads the package registry (npm, Maven, ...), not container images",
  read_repository: "it clones the source code, which a pull Secret never needs",
};

const ACCEPTED = `${PULL_SCOPES.join(", ")} (a comma list or the flag repeated)`;

export function scopes(r: Reader, opts: { verify: boolean; staticCredentials: boolean }): string[] {
  const given = r.list("scopes");
  // Like the other deploy-token-only options: the Action fills in the default, which is not "given".
  if (opts.staticCredentials) {
    if (given.length && given.join(",") !== DEFAULT_SCOPES.join(","))
      throw new UsageError(
        r.label("scopes"),
        given.join(","),
        `not used with static credentials (${r.label("username")}): nothing is minted or revoked and GitLab is never called; leave it out`,
      );
    return [...DEFAULT_SCOPES];
  }
  for (const s of given) {
    if ((PULL_SCOPES as readonly string[]).includes(s)) continue;
    const why = REFUSED[s];
    if (why) throw new UsageError(r.label("scopes"), s, `${ACCEPTED}: ${s} is refused, ${why}`);
    const known = (DEPLOY_TOKEN_SCOPES as readonly string[]).includes(s) ? "" : " (not a deploy token scope)";
    throw new UsageError(r.label("scopes"), s, `${ACCEPTED}${known}`);
  }
  const out = orderedScopes(given.length ? given : DEFAULT_SCOPES);
  if (out.includes("write_virtual_registry") && !out.includes("read_virtual_registry")) {
    throw new UsageError(
      r.label("scopes"),
      out.join(","),
      "write_virtual_registry only together with read_virtual_registry: the Dependency Proxy takes a deploy token holding both",
    );
  }
  if (opts.verify && !out.includes("read_registry")) {
    throw new UsageError(
      r.label("scopes"),
      out.join(","),
      `read_registry among them, or ${r.label("noVerify")}: the pull check proves the token against the container ` +
        "registry, which only read_registry opens (the Dependency Proxy has no check here)",
    );
  }
  return out;
}
