// What to tell the user about a GitLab failure: a hint per status or
// connection code, and the error for a token minted but never seen.
import { GitLabError } from "../model/errors.js";

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS/;

export function hintFor(status: number | undefined, owner: string): string {
  switch (status) {
    case 401:
      return "The GitLab token is missing, wrong, expired or revoked";
    case 403:
      // GitLab lets a group Maintainer list group deploy tokens but only an Owner create or delete them.
      return owner.startsWith("group ")
        ? `The GitLab token needs the api scope, held by an Owner of ${owner}: group deploy tokens need the Owner role; Maintainer is not enough`
        : `The GitLab token needs the api scope, held by a Maintainer of ${owner} (Owner for group deploy tokens)`;
    case 404:
      return `${owner} does not exist, or the GitLab token cannot see it`;
    case 429:
      return "GitLab is rate limiting this token; try again later";
    default:
      return "";
  }
}

export function connectionHint(code: string): string {
  if (code === "ENOTFOUND") return "Check the GitLab URL";
  if (TLS_CODES.test(code))
    return "GitLab's certificate is not trusted; pass its CA with --ca-file (Action input ca-file)";
  return "";
}

/** A token minted by a create whose answer we lost, that we then could not delete. */
export class OrphanedTokenError extends GitLabError {
  constructor(
    operation: string,
    status: number | undefined,
    detail: string,
    hint: string,
    readonly orphanTokenId: number | undefined,
  ) {
    super(operation, status, detail, hint);
  }
}
