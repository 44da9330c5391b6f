// GitHub's answers: JSON with its media type, and its error body
// {"message", "documentation_url", "status"} (status as a string).
export interface Resp {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Resp => ({
  status,
  headers: { "content-type": "application/json; charset=utf-8", ...headers },
  body: JSON.stringify(body),
});

export const noContent = (): Resp => ({ status: 204, headers: {}, body: "" });

const DOCS = "https://docs.github.com/rest";

export function error(status: number, message: string, docs = DOCS, headers: Record<string, string> = {}): Resp {
  return json(status, { message, documentation_url: docs, status: String(status) }, headers);
}

export const badCredentials = (): Resp => error(401, "Bad credentials", DOCS);
export const notFound = (docs: string): Resp => error(404, "Not Found", docs);
