// The handle tests drive: repositories and their environments (each with an
// X25519 key pair, as GitHub keeps one per repository and per environment),
// the tokens and what each may do, the secrets' plaintexts (opened with the
// private key, so a test can compare them with GitLab's new token), and every
// request as it was answered.

/** A fine-grained token answers 403 "…by personal access token", an App's (GITHUB_TOKEN) "…by integration". */
export type TokenKind = "fine-grained" | "app";
export type Level = "none" | "read" | "write";

export interface TokenGrant {
  kind: TokenKind;
  /** "owner/repo" it was given; any other repository answers 404, as GitHub hides what a token cannot see. */
  repos: string[];
  secrets: Level;
  environments: Level;
}

export interface SecretState {
  value: string;
  createdAt: string;
  updatedAt: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  status: number;
  /** The request's Accept and X-GitHub-Api-Version, to check the client sends GitHub's. */
  accept: string;
  apiVersion: string;
  userAgent: string;
}

export interface GitHubStandIn {
  /** https://127.0.0.1:<port> (REST API at the root, as api.github.com). */
  url: string;
  /** PEM of the CA that signed the server's certificate. */
  caPath: string;
  addRepo(fullName: string, environments?: string[]): void;
  addToken(token: string, grant: TokenGrant): void;
  /** Changes what a token may do from now on (a permission taken away while a run goes on). */
  setGrant(token: string, grant: Partial<TokenGrant>): void;
  /** Creates or replaces a secret directly, as a person would in the UI. */
  putSecret(fullName: string, name: string, value: string, environment?: string): void;
  secret(fullName: string, name: string, environment?: string): SecretState | undefined;
  /** The key a test seals with to speak to the stand-in as a client would. */
  publicKey(fullName: string, environment?: string): { keyId: string; key: string };
  requests: RecordedRequest[];
  resetRequests(): void;
  close(): Promise<void>;
}
