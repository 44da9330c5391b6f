// The API token's store as a GitHub Actions secret (--api-token-store
// github:<owner>/<repo>:<NAME>[:<environment>]), written through GitHub's REST
// API with the GitHub token (never the GitLab one). GitHub never shows a
// secret's value, so:
//   - read: the secret's metadata (it must exist; a token that may not read
//     it may not write it either), never a value;
//   - the proof: the current API token, sealed to the public key, PUT back
//     (the store is where that token came from, so nothing changes);
//   - the write's confirmation: the secret's updated_at, not earlier than the
//     Date GitHub stamped on the public key fetched just before the PUT (its
//     own clock, so the runner's does not matter). That is all GitHub allows.
import type { ApiTokenStoreSpec } from "../config/inputs.js";
import type { ProxySettings } from "../config/proxy-settings.js";
import type { ApiTokenStore } from "../model/ports.js";
import type { Secret } from "../model/secret.js";
import { gitHubRequest, toGitHubError, type GitHubClientOptions } from "./github-http.js";
import { retryOptions, type RetryOptions } from "./retry.js";
import { sealTo } from "./sealed-box.js";
import { dispatcher } from "./tls.js";

type GitHubSpec = Extract<ApiTokenStoreSpec, { kind: "github-secret" }>;

export interface GitHubStoreOptions {
  apiUrl: string;
  token: Secret;
  caPem?: string;
  proxy?: ProxySettings;
  requestTimeoutMs: number;
  retry?: Partial<RetryOptions>;
}

/** `Actions secret GITLAB_TOKEN of repository acme/app` (`… environment production of …`). */
export function gitHubSecretWhere(spec: GitHubSpec): string {
  const env = spec.environment === undefined ? "" : `environment ${spec.environment} of `;
  return `Actions secret ${spec.name} of ${env}repository ${spec.owner}/${spec.repo}`;
}

/** What GitHub's refusals mean here, and what to give the token. */
function refusalHint(spec: GitHubSpec, what: "public key" | "secret") {
  const permissions =
    spec.environment === undefined
      ? `the repository permission "Secrets: Read and write" on ${spec.owner}/${spec.repo}`
      : `the repository permissions "Secrets: Read and write" and "Environments: Read and write" on ${spec.owner}/${spec.repo}`;
  return (status: number, headers: Readonly<Record<string, string>>, message: string): string => {
    const accepted = headers["x-accepted-github-permissions"];
    const says = accepted ? ` (GitHub accepts: ${accepted})` : "";
    if (status === 401)
      return "GitHub refused the GitHub token itself: it is expired, revoked or mistyped. Check $GPS_GITHUB_TOKEN / --github-token-file";
    if (status === 403 && /by integration/i.test(message))
      return (
        `A GitHub App's token lacks secrets: write${spec.environment === undefined ? "" : " and environments: write"}${says}. ` +
        `The workflow's GITHUB_TOKEN is one and can never write secrets: use a fine-grained token with ${permissions}, or an App installation token with secrets: write`
      );
    if (status === 403) return `The GitHub token needs ${permissions}${says} (a classic token: the repo scope)`;
    if (status === 404 && what === "secret")
      return (
        `Create the secret ${spec.name} first, holding the API token this run uses (GitHub never shows a secret's value, so ` +
        `the tool cannot check it does), or fix --api-token-store. GitHub also answers 404 for a repository or environment the token cannot see`
      );
    if (status === 404)
      return `The repository ${spec.owner}/${spec.repo}${spec.environment === undefined ? "" : ` or its environment ${spec.environment}`} does not exist, or the GitHub token cannot see it (GitHub answers 404 for both)`;
    if (status === 422) return "GitHub refused the sealed value";
    return "";
  };
}

export function gitHubSecretStore(spec: GitHubSpec, opts: GitHubStoreOptions): ApiTokenStore {
  const where = gitHubSecretWhere(spec);
  const client: GitHubClientOptions = {
    apiUrl: opts.apiUrl,
    token: opts.token,
    dispatcher: dispatcher(opts.caPem, opts.proxy),
    requestTimeoutMs: opts.requestTimeoutMs,
    retry: retryOptions(opts.retry),
  };
  const repo = `/repos/${encodeURIComponent(spec.owner)}/${encodeURIComponent(spec.repo)}`;
  // GitHub's rule: an environment's name is URL-encoded, a '/' in it as %2F.
  const base =
    spec.environment === undefined
      ? `${repo}/actions/secrets`
      : `${repo}/environments/${encodeURIComponent(spec.environment)}/secrets`;

  async function call<T>(operation: string, what: "public key" | "secret", fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toGitHubError(operation, err, opts.token, refusalHint(spec, what));
    }
  }

  /** The secret's metadata: GitHub's updated_at, never a value. */
  async function metadata(operation: string): Promise<{ updatedAt: string }> {
    const answer = await call(operation, "secret", () => gitHubRequest(client, "GET", `${base}/${spec.name}`));
    const updatedAt = (answer.body as { updated_at?: unknown } | null)?.updated_at;
    if (typeof updatedAt !== "string" || Number.isNaN(Date.parse(updatedAt)))
      throw toGitHubError(operation, new Error("the answer has no updated_at"), opts.token, () => "");
    return { updatedAt };
  }

  /** Fetches the public key (its Date is when this write started, by GitHub's clock), seals `value` to it, PUTs it. */
  async function put(operation: string, value: Secret): Promise<{ startedAt: number }> {
    const key = await call(operation, "public key", () => gitHubRequest(client, "GET", `${base}/public-key`));
    const body = key.body as { key_id?: unknown; key?: unknown } | null;
    if (typeof body?.key_id !== "string" || typeof body.key !== "string")
      throw toGitHubError(operation, new Error("the public key answer has no key_id and key"), opts.token, () => "");
    const served = Date.parse(key.headers.date ?? "");
    const encrypted = await call(operation, "public key", () => sealTo(body.key as string, value));
    await call(operation, "secret", () =>
      gitHubRequest(client, "PUT", `${base}/${spec.name}`, { encrypted_value: encrypted, key_id: body.key_id }),
    );
    // Without GitHub's Date, our own clock to the second (updated_at has no finer grain).
    return { startedAt: Number.isNaN(served) ? Math.floor(Date.now() / 1000) * 1000 : served };
  }

  return {
    kind: "github-secret",
    where,
    async read() {
      await metadata(`reading the ${where}`);
      return undefined;
    },
    async proveWritable(_shown, held) {
      await put(`writing the ${where} back unchanged (the API token this run holds, sealed)`, held);
    },
    async write(value) {
      const op = `writing the ${where}`;
      const { startedAt } = await put(op, value);
      const { updatedAt } = await metadata(`confirming the ${where}`);
      if (Date.parse(updatedAt) < startedAt)
        throw new Error(
          `GitHub answers that the ${where} was last updated at ${updatedAt}, before this write began (${new Date(startedAt).toISOString()})`,
        );
      return `GitHub's updated_at ${updatedAt} is not earlier than the write: the only confirmation GitHub gives, as it never shows a secret's value`;
    },
  };
}
