// Actions secrets of a repository and of an environment: the public key,
// a secret's metadata (never its value), create or update with a sealed value
// (201 created, 204 updated).
import type { TokenGrant } from "../api.ts";
import { authorize, type Needs } from "../auth.ts";
import { error, json, noContent, notFound, type Resp } from "../http.ts";
import type { Repo, Store, Vault } from "../store.ts";

export interface Call {
  s: Store;
  grant: TokenGrant;
  /** The path's segments, decoded. */
  path: Record<string, string>;
  body: unknown;
}

export interface Route {
  method: "GET" | "PUT";
  /** Segments below the root; `:name` matches one segment. */
  path: string;
  handle: (call: Call) => Resp;
}

const DOCS = "https://docs.github.com/rest/actions/secrets";

/** The repository or environment a call names, after GitHub's checks, or its refusal. */
function vaultOf(call: Call, needs: Needs): { repo: Repo; vault: Vault } | Resp {
  const fullName = `${call.path.owner}/${call.path.repo}`;
  const repo = call.s.repo(fullName);
  if (!repo) return notFound(needs.docs);
  const refused = authorize(call.grant, fullName, needs);
  if (refused) return refused;
  if (call.path.env === undefined) return { repo, vault: repo.vault };
  const vault = call.s.environment(repo, call.path.env);
  return vault ? { repo, vault } : notFound(needs.docs);
}

const isResp = (x: unknown): x is Resp => typeof (x as Resp).status === "number";

function publicKey(anchor: string, environments: boolean) {
  return (call: Call): Resp => {
    const found = vaultOf(call, {
      secrets: "read",
      ...(environments ? { environments: "read" } : {}),
      docs: `${DOCS}#${anchor}`,
    });
    if (isResp(found)) return found;
    return json(200, {
      key_id: found.vault.keys.keyId,
      key: Buffer.from(found.vault.keys.publicKey).toString("base64"),
    });
  };
}

function getSecret(anchor: string, environments: boolean) {
  return (call: Call): Resp => {
    const docs = `${DOCS}#${anchor}`;
    const found = vaultOf(call, { secrets: "read", ...(environments ? { environments: "read" } : {}), docs });
    if (isResp(found)) return found;
    const name = call.path.name!.toUpperCase();
    const secret = found.vault.secrets.get(name);
    if (!secret) return notFound(docs);
    return json(200, { name, created_at: secret.createdAt, updated_at: secret.updatedAt });
  };
}

function putSecret(anchor: string, environments: boolean) {
  return (call: Call): Resp => {
    const docs = `${DOCS}#${anchor}`;
    const found = vaultOf(call, { secrets: "write", ...(environments ? { environments: "write" } : {}), docs });
    if (isResp(found)) return found;
    const body = (call.body ?? {}) as { encrypted_value?: unknown; key_id?: unknown };
    // GitHub's schema validation words.
    for (const field of ["encrypted_value", "key_id"] as const)
      if (typeof body[field] !== "string") return error(422, `Invalid request.\n\n"${field}" wasn't supplied.`, docs);
    // A value sealed to another key (or not sealed): the reference gives no exact words; GitHub refuses it with 422.
    const value =
      body.key_id === found.vault.keys.keyId ? call.s.open(found.vault, body.encrypted_value as string) : undefined;
    if (value === undefined)
      return error(422, "Invalid request.\n\nencrypted_value could not be decrypted with key_id.", docs);
    const created = call.s.put(found.vault, call.path.name!, value);
    return created ? json(201, {}) : noContent();
  };
}

export const routes: Route[] = [
  {
    method: "GET",
    path: "repos/:owner/:repo/actions/secrets/public-key",
    handle: publicKey("get-a-repository-public-key", false),
  },
  {
    method: "GET",
    path: "repos/:owner/:repo/actions/secrets/:name",
    handle: getSecret("get-a-repository-secret", false),
  },
  {
    method: "PUT",
    path: "repos/:owner/:repo/actions/secrets/:name",
    handle: putSecret("create-or-update-a-repository-secret", false),
  },
  {
    method: "GET",
    path: "repos/:owner/:repo/environments/:env/secrets/public-key",
    handle: publicKey("get-an-environment-public-key", true),
  },
  {
    method: "GET",
    path: "repos/:owner/:repo/environments/:env/secrets/:name",
    handle: getSecret("get-an-environment-secret", true),
  },
  {
    method: "PUT",
    path: "repos/:owner/:repo/environments/:env/secrets/:name",
    handle: putSecret("create-or-update-an-environment-secret", true),
  },
];
