// Deploy tokens and owner info through @gitbeaker/rest. The only module that
// talks to GitLab's REST API; it turns gitbeaker's errors into GitLabError
// (never passing on the request, which carries the caller's token).
import { DeployTokens, GitbeakerRequestError, GitbeakerTimeoutError, Groups, Projects } from "@gitbeaker/rest";
import { GitLabError } from "./errors.js";
import type { Owner } from "./inputs.js";
import type { GitLabPort, MintedToken, ResolvedOwner } from "./ports.js";
import { Secret } from "./secret.js";

const QUERY_TIMEOUT_MS = 30_000;

interface Clients {
  deployTokens: InstanceType<typeof DeployTokens>;
  projects: InstanceType<typeof Projects>;
  groups: InstanceType<typeof Groups>;
}

function hintFor(status: number | undefined, owner: string): string {
  switch (status) {
    case 401:
      return "The GitLab token is missing, wrong, expired or revoked";
    case 403:
      return `The GitLab token needs the api scope, held by a Maintainer of ${owner} (Owner for group deploy tokens)`;
    case 404:
      return `${owner} does not exist, or the GitLab token cannot see it`;
    case 429:
      return "GitLab is rate limiting this token; try again later";
    default:
      return "";
  }
}

async function call<T>(operation: string, owner: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof GitbeakerRequestError) {
      const cause = err.cause as { description?: string; response?: { status?: number } } | undefined;
      const status = cause?.response?.status;
      throw new GitLabError(operation, status, cause?.description || err.message, hintFor(status, owner));
    }
    if (err instanceof GitbeakerTimeoutError) {
      throw new GitLabError(operation, undefined, `no answer within ${QUERY_TIMEOUT_MS / 1000}s`);
    }
    const e = err as Error & { cause?: { code?: string; message?: string } };
    throw new GitLabError(operation, undefined, e.cause?.code ?? e.cause?.message ?? e.message);
  }
}

function ownerIds(owner: ResolvedOwner): { projectId: number } | { groupId: number } {
  return owner.kind === "project" ? { projectId: owner.id } : { groupId: owner.id };
}

function describe(owner: { kind: string; ref?: string; path?: string }): string {
  return `${owner.kind} ${owner.path ?? owner.ref}`;
}

export function gitlabPort(opts: { url: string; token: Secret }): GitLabPort {
  const base = { host: opts.url, token: opts.token.reveal(), queryTimeout: QUERY_TIMEOUT_MS };
  const clients: Clients = {
    deployTokens: new DeployTokens(base),
    projects: new Projects(base),
    groups: new Groups(base),
  };

  return {
    async resolveOwner(owner: Owner): Promise<ResolvedOwner> {
      const who = describe(owner);
      if (owner.kind === "project") {
        const p = (await call("reading the project", who, () => clients.projects.show(owner.ref))) as Record<string, unknown>;
        return {
          kind: "project",
          id: Number(p.id),
          path: String(p.path_with_namespace),
          registryImagePrefix: typeof p.container_registry_image_prefix === "string" ? p.container_registry_image_prefix : undefined,
          registryAccessLevel: typeof p.container_registry_access_level === "string" ? p.container_registry_access_level : undefined,
        };
      }
      const g = (await call("reading the group", who, () =>
        clients.groups.show(owner.ref, { withProjects: false }),
      )) as Record<string, unknown>;
      return { kind: "group", id: Number(g.id), path: String(g.full_path), registryImagePrefix: undefined, registryAccessLevel: undefined };
    },

    async createDeployToken(owner, req): Promise<MintedToken> {
      const t = (await call("creating the deploy token", describe(owner), () =>
        clients.deployTokens.create(req.name, ["read_registry"], { ...ownerIds(owner), expires_at: req.expiresAt } as never),
      )) as Record<string, unknown>;
      if (typeof t.token !== "string" || typeof t.id !== "number" || typeof t.username !== "string") {
        throw new GitLabError("creating the deploy token", 201, "the response lacks id, username or token");
      }
      return {
        id: t.id,
        name: String(t.name),
        username: t.username,
        expiresAt: typeof t.expires_at === "string" ? t.expires_at : `${req.expiresAt}T00:00:00.000Z`,
        token: new Secret(t.token),
      };
    },

    async revokeDeployToken(owner, id) {
      try {
        await call(`revoking deploy token ${id}`, describe(owner), () => clients.deployTokens.remove(id, ownerIds(owner) as never));
        return "revoked";
      } catch (err) {
        // DELETE is a hard delete: a second one answers 404, which means the token is gone.
        if (err instanceof GitLabError && err.status === 404) return "already-gone";
        throw err;
      }
    },
  };
}
