// What the GitLab instance knows: users and their personal access tokens,
// projects and groups (each with direct members), deploy tokens, the
// container registry, and which version's token self-lookup it serves. Plus
// the model's own rules that are not about who may ask: a deploy token's
// liveness and `expired` field, an access token's expiry, lookups by id or path.
// A new resource family (variables, token rotation, ...) adds its state here.
import type { KeyObject } from "node:crypto";
import type { DeployTokenState, PatSelfMode, Role } from "./api.ts";

export interface User {
  username: string;
  admin: boolean;
  id: number;
}
export interface Pat {
  id: number;
  name: string;
  username: string;
  scopes: string[];
  expiresAt: string | null;
  createdAt: Date;
  /** Revoked by a rotation (or by reuse detection); a revoked token authenticates nothing. */
  revoked: boolean;
  /** The id of the first token of its rotation chain: reuse detection revokes the whole family. */
  family: number;
  /** A project or group access token (its user is the resource's bot); undefined for a personal one. */
  resource?: { kind: "project" | "group"; id: number; accessLevel: number };
}
/** A CI/CD variable of a project or a group (Ci::Variable, Ci::GroupVariable). */
export interface Variable {
  owner: { kind: "project" | "group"; id: number };
  key: string;
  value: string;
  variableType: "env_var" | "file";
  protected: boolean;
  masked: boolean;
  raw: boolean;
  hidden: boolean;
  environmentScope: string;
  description: string | null;
}
export interface Project {
  id: number;
  path: string;
  registryEnabled: boolean;
  members: Record<string, Role>;
}
export interface Group {
  id: number;
  path: string;
  members: Record<string, Role>;
}

/** Stored expiry for tokens created without one ("never expires"). */
const NEVER = Date.UTC(3000, 0, 1);

export class Store {
  readonly users = new Map<string, User>();
  /** By secret, as GitLab finds a token by its digest. */
  readonly pats = new Map<string, Pat>();
  readonly projects: Project[] = [];
  readonly groups: Group[] = [];
  /** The handle's `tokens`: the same array, so tests see every change. */
  readonly tokens: DeployTokenState[] = [];
  readonly variables: Variable[] = [];
  registry: { host: string } | null = null;
  patSelf: PatSelfMode = "self";
  /** http://127.0.0.1:PORT, known once the server listens; entities and links carry it. */
  baseUrl = "";
  private nextTokenId = 1;
  private nextPatId = 1;
  private nextUserId = 1;

  constructor(
    /** The model's clock (tests may move it); registry JWTs use real time instead. */
    readonly now: () => Date,
    /** The key and kid registry JWTs are signed with. */
    readonly signing: { key: KeyObject; kid: string },
  ) {}

  newTokenId(): number {
    return this.nextTokenId++;
  }

  addUser(u: { username: string; admin?: boolean }): void {
    this.users.set(u.username, { username: u.username, admin: u.admin ?? false, id: this.nextUserId++ });
  }

  addPat(
    username: string,
    token: string,
    scopes: string[],
    o: { name?: string; expiresAt?: string | null; resource?: Pat["resource"]; family?: number },
  ): Pat {
    const id = this.nextPatId++;
    const pat: Pat = {
      id,
      name: o.name ?? `${username} token`,
      username,
      scopes: [...scopes],
      expiresAt: o.expiresAt ?? null,
      createdAt: this.now(),
      revoked: false,
      family: o.family ?? id,
      ...(o.resource ? { resource: { ...o.resource } } : {}),
    };
    this.pats.set(token, pat);
    return pat;
  }

  /** PersonalAccessTokens::RevokeTokenFamilyService: every active token of the family is revoked. */
  revokeFamily(family: number): void {
    for (const p of this.pats.values()) if (p.family === family) p.revoked = true;
  }

  /** DeployToken.active: `revoked = false AND expires_at >= NOW()`. */
  active(t: DeployTokenState): boolean {
    return !t.deleted && !t.revoked && expiryMs(t) >= this.now().getTime();
  }

  /** Ruby `expires_at < Date.today`: a day comparison, deliberately not liveness. */
  expiredField(t: DeployTokenState): boolean {
    const n = this.now();
    return t.expires_at !== null && expiryMs(t) < Date.UTC(n.getUTCFullYear(), n.getUTCMonth(), n.getUTCDate());
  }

  /** An access token's `expires_at` is a date: it stops working at 00:00 UTC that day. */
  patExpired(p: Pat): boolean {
    return p.expiresAt !== null && Date.parse(`${p.expiresAt}T00:00:00Z`) <= this.now().getTime();
  }

  /** The namespace id in registry JWTs: the root group's, or a stable synthetic one for a personal namespace. */
  rootNamespaceId(path: string): number {
    const root = path.split("/")[0]!.toLowerCase();
    const g = this.groups.find((x) => x.path.toLowerCase() === root);
    if (g) return g.id;
    let h = 0;
    for (const c of root) h = (h * 31 + c.charCodeAt(0)) % 1_000_000;
    return 1_000_000 + h;
  }
}

const expiryMs = (t: DeployTokenState): number => (t.expires_at === null ? NEVER : Date.parse(t.expires_at));

/** `a/b/c` is under `a` and `a/b` (case-insensitive, as GitLab routes are). */
export const under = (path: string, ancestor: string): boolean =>
  path.toLowerCase().startsWith(`${ancestor.toLowerCase()}/`);

/** A project or group by :id, which is a number or a URL-encoded full path. */
export function findBy<T extends { id: number; path: string }>(list: T[], raw: string): T | undefined {
  let key: string;
  try {
    key = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  if (/^\d+$/.test(key)) return list.find((x) => x.id === Number(key));
  return list.find((x) => x.path.toLowerCase() === key.toLowerCase());
}
