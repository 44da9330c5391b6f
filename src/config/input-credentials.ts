// Where the credentials come from: a GitLab token and owner to mint a deploy
// token for, or static registry credentials. Secrets are never echoed in errors.
import { UsageError } from "../model/errors.js";
import type { Owner } from "../model/ports.js";
import { Secret } from "../model/secret.js";
import type { OptionKey } from "./options.js";
import type { Credentials } from "./config-shape.js";
import type { Reader } from "./input-reader.js";

const PATH_SEGMENT = "[A-Za-z0-9_][A-Za-z0-9_.-]*";
export const PROJECT_REF = new RegExp(`^(?:[1-9]\\d*|${PATH_SEGMENT}(?:/${PATH_SEGMENT})+)$`);
export const GROUP_REF = new RegExp(`^(?:[1-9]\\d*|${PATH_SEGMENT}(?:/${PATH_SEGMENT})*)$`);

export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(hostname) || hostname === "[::1]";
}

/**
 * What is wrong with a URL's parts that could carry a secret, or undefined.
 * The query, the fragment and user:password@ are where tokens get pasted
 * (?private_token=...); none of them belongs in a base URL, and the value is
 * never echoed, since the part that is wrong is the part that may be secret.
 */
export function secretBearingPart(url: URL): string | undefined {
  if (url.username || url.password) return "user:password@ credentials";
  if (url.search || url.href.includes("?")) return "a query (?...)";
  if (url.hash || url.href.includes("#")) return "a fragment (#...)";
  return undefined;
}

const HOSTNAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/i;

export function gitlabUrl(r: Reader): string {
  return baseUrl(r, "gitlabUrl", {
    what: "such as https://gitlab.example.com (http:// only for 127.0.0.1/localhost, or with --allow-insecure-http)",
    tokenWhere: "$GITLAB_TOKEN or --gitlab-token-file",
    plainHttp: () => r.boolean("allowInsecureHttp"),
  });
}

/**
 * A base URL option checked as the GitLab URL is: https (http only for
 * loopback, or when `plainHttp()` says so), no part that could carry a secret, the
 * value never echoed unless it is plainly a host name.
 */
export function baseUrl(
  r: Reader,
  key: OptionKey,
  o: { what: string; tokenWhere: string; plainHttp: () => boolean },
): string {
  const value = r.string(key)!;
  // From its environment fallback ($CI_SERVER_URL, $GITHUB_API_URL) when neither the flag nor an option variable gave it:
  // name the variable the user can fix.
  const label = r.explicit(key) === undefined && r.envValue(key) ? `$${r.spec(key).env![0]}` : r.label(key);
  const accepted = `an https:// URL ${o.what}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Echoed only when it is plainly a host name: anything else may be a token pasted in the wrong place.
    // GitLab's tokens start gl<kind>- (glpat-, gldt-, glcbt-) and newer ones hold dots: never echo such a value.
    if (HOSTNAME.test(value) && value.includes(".") && !/^gl[a-z]*-/i.test(value))
      throw new UsageError(label, value, `${accepted}; did you mean https://${value}?`);
    throw new UsageError(
      label,
      undefined,
      `not a URL (the value is not shown: it may be a secret); expected ${accepted}`,
    );
  }
  const part = secretBearingPart(url);
  if (part) {
    throw new UsageError(
      label,
      undefined,
      `has ${part}, which a base URL must not have (the value is not shown: that part may hold a token); ` +
        `give only the scheme, host and path, e.g. ${url.protocol}//${url.host}, and the token in ${o.tokenWhere}`,
    );
  }
  const plainLoopback = url.protocol === "http:" && (isLoopbackHost(url.hostname) || o.plainHttp());
  if (url.protocol !== "https:" && !plainLoopback) {
    throw new UsageError(label, `${url.protocol}//${url.host}${url.pathname === "/" ? "" : url.pathname}`, accepted);
  }
  return url.href.replace(/\/+$/, "");
}

// Options that only mean something for a minted GitLab deploy token. With
// static credentials they are refused when given (Action inputs arrive with
// their defaults filled in, so a default is not "given").
const DEPLOY_TOKEN_ONLY: readonly OptionKey[] = [
  "gitlabToken",
  "gitlabUrl",
  "allowInsecureHttp",
  "expiresIn",
  "tokenName",
  "rotateBefore",
  "keepPrevious",
  "strictOwnership",
  "sweepGrace",
  "retryFor",
  "rotateApiTokenWithin",
  "apiTokenStore",
  "apiTokenRecoveryFile",
];

export function credentials(r: Reader, writes: boolean): Credentials {
  const username = r.explicit("username");
  if (username === undefined) {
    if (r.explicit("registryPassword") !== undefined) {
      throw new UsageError(
        r.label("registryPassword"),
        undefined,
        `only with ${r.label("username")} (static registry credentials); a GitLab deploy token needs no password`,
      );
    }
    return { kind: "deploy-token", gitlabToken: gitlabToken(r), owner: owner(r) };
  }
  if (username.length > 255 || !/^[^\s:\p{Cc}]+$/u.test(username)) {
    throw new UsageError(
      r.label("username"),
      username,
      "the registry username: 1-255 characters without ':', whitespace or control characters (the docker config's auth is base64(username:password))",
    );
  }
  for (const key of ["project", "group"] as const) {
    const given = r.explicit(key);
    if (given !== undefined) {
      throw new UsageError(
        `${r.label("username")} and ${r.label(key)}`,
        `${username}, ${given}`,
        `only one of them: --username applies static credentials, ${r.label(key)} mints a GitLab deploy token`,
      );
    }
  }
  for (const key of DEPLOY_TOKEN_ONLY) {
    const spec = r.spec(key);
    const given = spec.kind === "boolean" ? (r.boolean(key) ? "true" : undefined) : r.explicit(key);
    if (given === undefined || given === spec.default) continue;
    throw new UsageError(
      r.label(key),
      spec.secret ? undefined : given,
      `not used with static credentials (${r.label("username")}): nothing is minted or revoked and GitLab is never called; leave it out`,
    );
  }
  const password = registryPassword(r);
  if (password === undefined && writes) {
    throw new UsageError(
      r.label("registryPassword"),
      undefined,
      `required with ${r.label("username")}: the registry password or access token (never a command-line value)`,
    );
  }
  return { kind: "static", username, password };
}

/**
 * The password as given: only a trailing line break (from a file or
 * `echo`) is dropped, since spaces may belong to it. Never echoed.
 */
function registryPassword(r: Reader): Secret | undefined {
  const explicit = r.rawValue("registryPassword");
  const value = (typeof explicit === "string" && explicit !== "" ? explicit : r.envValue("registryPassword"))?.replace(
    /\r?\n$/,
    "",
  );
  return value ? new Secret(value) : undefined;
}

function gitlabToken(r: Reader): Secret {
  const value = r.string("gitlabToken");
  if (!value) {
    throw new UsageError(
      r.label("gitlabToken"),
      undefined,
      "required: a GitLab token with the api scope (Maintainer of the project, Owner of the group)",
    );
  }
  if (/\s/.test(value)) throw new UsageError(r.label("gitlabToken"), undefined, "a single token without whitespace");
  return new Secret(value);
}

function owner(r: Reader): Owner {
  const project = r.explicit("project");
  const group = r.explicit("group");
  if (project && group) {
    throw new UsageError(`${r.label("project")} and ${r.label("group")}`, `${project}, ${group}`, "only one of them");
  }
  if (group) {
    if (!GROUP_REF.test(group))
      throw new UsageError(r.label("group"), group, "a numeric group id or a full path like my-group/sub");
    return { kind: "group", ref: group };
  }
  const ref = project ?? r.string("project");
  if (!ref) {
    throw new UsageError(
      `${r.label("project")} / ${r.label("group")}`,
      undefined,
      "required: a project or a group (default $CI_PROJECT_ID)",
    );
  }
  if (!PROJECT_REF.test(ref))
    throw new UsageError(r.label("project"), ref, "a numeric project id or a full path like group/project");
  return { kind: "project", ref };
}
