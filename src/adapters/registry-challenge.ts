// What a registry says about authentication, read without trusting it: the
// WWW-Authenticate challenges of its 401s (RFC 9110) and the `access` claim of
// the JWT its token service issues. Pure: no I/O, never throws on bad input.

// ---- WWW-Authenticate ---------------------------------------------------------------------------

export interface AuthChallenge {
  /** Lowercase, e.g. "bearer", "basic". */
  scheme: string;
  /** Parameter names lowercased; values unquoted and unescaped; the first of a repeated name wins. */
  params: Record<string, string>;
  /** The token68 form (`Negotiate abc==`), when the challenge has one instead of parameters. */
  token68?: string;
}

const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*(?=[ \t]*(?:,|$))/;

/**
 * RFC 9110 §11.6.1 challenges: `scheme [token68 | param=value|"quoted, with \" escapes", …]`,
 * several challenges per header (fetch joins repeated header lines with ", ").
 * Never throws: what cannot be read is skipped.
 */
export function parseAuthChallenges(header: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  const n = header.length;
  let i = 0;
  let current: { scheme: string; params: Map<string, string>; token68?: string } | undefined;
  const all: Array<NonNullable<typeof current>> = [];
  const ws = (): void => {
    while (i < n && (header[i] === " " || header[i] === "\t")) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && TCHAR.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  const quoted = (): string => {
    let v = "";
    i++; // opening quote
    while (i < n && header[i] !== '"') {
      if (header[i] === "\\" && i + 1 < n) i++;
      v += header[i];
      i++;
    }
    i++; // closing quote, or past the end of an unterminated one
    return v;
  };

  while (i < n) {
    ws();
    if (i >= n) break;
    if (header[i] === ",") {
      i++;
      continue;
    }
    const name = token();
    if (name === "") {
      i++; // a character no grammar rule allows here
      continue;
    }
    ws();
    if (header[i] === "=") {
      // name=value belongs to the challenge before it.
      i++;
      ws();
      const value = header[i] === '"' ? quoted() : token();
      const key = name.toLowerCase();
      if (current && !current.params.has(key)) current.params.set(key, value);
      continue;
    }
    // A bare token is a new scheme, possibly followed by a token68.
    current = { scheme: name.toLowerCase(), params: new Map() };
    all.push(current);
    const t68 = TOKEN68.exec(header.slice(i));
    if (t68) {
      current.token68 = t68[0];
      i += t68[0].length;
    }
  }
  for (const c of all) {
    const challenge: AuthChallenge = { scheme: c.scheme, params: Object.fromEntries(c.params) };
    if (c.token68 !== undefined) challenge.token68 = c.token68;
    out.push(challenge);
  }
  return out;
}

export interface BearerChallenge {
  realm: string;
  service: string | undefined;
  scope: string | undefined;
  /** invalid_token, insufficient_scope, … on a refused token. */
  error: string | undefined;
  params: Record<string, string>;
}

/** The first Bearer challenge that names a realm; undefined when there is none. */
export function parseBearerChallenge(header: string | null | undefined): BearerChallenge | undefined {
  if (!header) return undefined;
  for (const c of parseAuthChallenges(header)) {
    if (c.scheme !== "bearer" || !c.params.realm) continue;
    return {
      realm: c.params.realm,
      service: c.params.service,
      scope: c.params.scope,
      error: c.params.error,
      params: c.params,
    };
  }
  return undefined;
}

// ---- the JWT's access claim ---------------------------------------------------------------------

export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

/**
 * The `access` claim of a registry JWT, read without checking the signature
 * (the registry checks it; we only want to know what GitLab granted).
 * undefined when the token is not a JWT; [] when it grants nothing.
 */
export function jwtAccess(jwt: string): AccessEntry[] | undefined {
  const parts = jwt.split(".");
  if (parts.length !== 3 || !parts[1]) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (!claims || typeof claims !== "object" || Array.isArray(claims)) return undefined;
  const access = (claims as { access?: unknown }).access;
  if (!Array.isArray(access)) return [];
  return access
    .filter((e): e is Record<string, unknown> => !!e && typeof e === "object")
    .map((e) => ({
      type: typeof e.type === "string" ? e.type : "",
      name: typeof e.name === "string" ? e.name : "",
      actions: Array.isArray(e.actions) ? e.actions.filter((a): a is string => typeof a === "string") : [],
    }));
}

/** Distribution's check: same type and exact name, action listed or "*". */
export function grantsPull(access: readonly AccessEntry[], repository: string): boolean {
  return access.some(
    (a) => a.type === "repository" && a.name === repository && (a.actions.includes("pull") || a.actions.includes("*")),
  );
}

export function describeAccess(access: readonly AccessEntry[]): string {
  return access.length === 0
    ? "access: []"
    : `access: ${access.map((a) => `${a.type}:${a.name}:${a.actions.join(",")}`).join(" ")}`;
}
