// Deploy token scopes as GitLab names and orders them, and how a token's set
// compares with the set a run mints: a run writes the scopes it was asked for,
// so a current token with another set is replaced like one for other hosts.

/** GitLab's order (DeployToken::AVAILABLE_SCOPES), which its answers list scopes in. */
export const DEPLOY_TOKEN_SCOPES = [
  "read_repository",
  "read_registry",
  "write_registry",
  "read_package_registry",
  "write_package_registry",
  "read_virtual_registry",
  "write_virtual_registry",
] as const;

/** What a run mints without --scope: the project's container registry, pull only. */
export const DEFAULT_SCOPES: readonly string[] = ["read_registry"];

/** Each scope once, in GitLab's order (scopes it does not know last, alphabetically), so sets print and compare alike. */
export function orderedScopes(scopes: Iterable<string>): string[] {
  const rank = (s: string): number => {
    const i = (DEPLOY_TOKEN_SCOPES as readonly string[]).indexOf(s);
    return i < 0 ? DEPLOY_TOKEN_SCOPES.length : i;
  };
  return [...new Set(scopes)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

export function sameScopes(a: readonly string[], b: readonly string[]): boolean {
  const x = orderedScopes(a);
  const y = orderedScopes(b);
  return x.length === y.length && x.every((s, i) => s === y[i]);
}

export function scopesText(scopes: readonly string[]): string {
  return orderedScopes(scopes).join(", ") || "none";
}
