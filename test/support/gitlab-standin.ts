// GitLab stand-in for tests: an HTTP server on 127.0.0.1 that follows
// GitLab's documented REST API to the letter (deploy token REST API, project and
// group lookups, pagination, rate-limit headers, /jwt/auth issuing registry JWTs,
// an access token's own details at /personal_access_tokens/self as each GitLab
// version answers it) and injects faults on demand. Built on node:http and node:crypto only.
//
// The implementation lives in test/support/gitlab/, split by concern; this file
// keeps the import path tests use.
//   api.ts                     what tests drive: the handle, deploy tokens as stored, faults, recorded requests
//   server.ts                  the entry: signing cert, HTTP server, the handle's setup methods
//   store.ts                   users, access tokens, projects, groups, deploy tokens, registry; liveness and expiry
//   auth.ts                    roles and inheritance, PAT authentication and scopes, registry credentials and abilities
//   router.ts                  route table, 404/405, authentication before routes, faults, writing the answer
//   http.ts                    Grape's error bodies, params and coercions, pagination
//   faults.ts                  injected faults and their answers (rate limits, 5xx, drops)
//   handlers/users.ts          GET /user, GET /version
//   handlers/access-tokens.ts  GET /personal_access_tokens/self and /:id, by GitLab version
//   handlers/projects.ts       GET /projects/:id, GET /groups/:id
//   handlers/members.ts        GET /groups/:id/members/all/:user_id
//   handlers/rotation.ts       POST personal/project/group access token self-rotation, reuse detection
//   handlers/variables.ts      GET/PUT project and group CI/CD variables by key
//   handlers/deploy-tokens.ts  project, group and instance deploy tokens: list, create, show, delete
//   handlers/jwt.ts            GET /jwt/auth: registry JWTs
import type { GitLabStandIn } from "./gitlab/api.ts";

export type {
  DeployTokenState,
  Fault,
  GitLabStandIn,
  PatSelfMode,
  PersonalAccessTokenOptions,
  RecordedRequest,
  Role,
  AccessTokenState,
  VariableOwner,
  VariableState,
} from "./gitlab/api.ts";
export { DEPLOY_TOKEN_SCOPES } from "./gitlab/api.ts";
export { parseIso8601 } from "./gitlab/http.ts";
export { startGitLabStandIn } from "./gitlab/server.ts";

/**
 * Holds the next request that rotates an API token itself until the returned function is called: a test
 * changes the world while the rotation is on its way (the store's proof behind it, the write back ahead).
 */
export function holdSelfRotation(gitlab: GitLabStandIn): () => void {
  let release!: () => void;
  gitlab.fault({
    kind: "hold",
    method: "POST",
    path: /\/personal_access_tokens\/self\/rotate$/,
    until: new Promise<void>((resolve) => (release = resolve)),
    times: 1,
  });
  return () => release();
}
