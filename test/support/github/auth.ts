// Who is asking and what they may do. A token that does not name the
// repository cannot see it: 404, as GitHub answers for a private repository.
// One that sees it without the permission gets 403 in the words GitHub uses
// for its kind, and the X-Accepted-GitHub-Permissions header GitHub sends
// fine-grained actors.
import type { IncomingMessage } from "node:http";
import type { Level, TokenGrant } from "./api.ts";
import { error, notFound, type Resp } from "./http.ts";
import { atLeast, type Store } from "./store.ts";

export function caller(s: Store, req: IncomingMessage): TokenGrant | "anonymous" | "invalid" {
  const header = req.headers.authorization;
  if (header === undefined) return "anonymous";
  const m = /^(?:Bearer|token) (\S+)$/i.exec(header);
  const grant = m ? s.tokens.get(m[1]!) : undefined;
  return grant ?? "invalid";
}

export interface Needs {
  secrets: Exclude<Level, "none">;
  /** Environment secrets need the environments permission too. */
  environments?: Exclude<Level, "none">;
  /** The endpoint's documentation_url. */
  docs: string;
}

export function authorize(grant: TokenGrant, fullName: string, needs: Needs): Resp | undefined {
  if (!grant.repos.some((r) => r.toLowerCase() === fullName.toLowerCase())) return notFound(needs.docs);
  const lacks =
    !atLeast(grant.secrets, needs.secrets) ||
    (needs.environments !== undefined && !atLeast(grant.environments, needs.environments));
  if (!lacks) return undefined;
  const accepted = [`secrets=${needs.secrets}`, ...(needs.environments ? [`environments=${needs.environments}`] : [])];
  return error(
    403,
    grant.kind === "app"
      ? "Resource not accessible by integration"
      : "Resource not accessible by personal access token",
    needs.docs,
    { "x-accepted-github-permissions": accepted.join(",") },
  );
}
