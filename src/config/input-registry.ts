// The registry side: the registry host and its aliases, and the image the new
// credentials are proven against.
import { UsageError } from "../model/errors.js";
import type { OptionKey } from "./options.js";
import type { Config } from "./config-shape.js";
import type { Reader } from "./input-reader.js";

const HOST_PORT =
  /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:]+\])(?::(\d{1,5}))?$/i;

const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export function verify(r: Reader, staticCredentials: boolean): Config["verify"] {
  const image = r.string("verifyImage");
  if (r.boolean("noVerify")) {
    if (image) throw new UsageError(`${r.label("verifyImage")} and ${r.label("noVerify")}`, image, "only one of them");
    return false;
  }
  // Static credentials are for any registry: there is no project repository to default to.
  if (image === undefined && staticCredentials) return false;
  if (image === undefined) {
    if (r.explicit("group")) {
      throw new UsageError(
        r.label("verifyImage"),
        undefined,
        `required with a group: a repository to check the new token against (e.g. my-group/app:latest), or ${r.label("noVerify")}`,
      );
    }
    return { repository: undefined, tag: undefined };
  }
  const colon = image.lastIndexOf(":");
  const [repository, tag] = colon > 0 ? [image.slice(0, colon), image.slice(colon + 1)] : [image, undefined];
  if (!REPOSITORY.test(repository) || (tag !== undefined && !TAG.test(tag))) {
    throw new UsageError(
      r.label("verifyImage"),
      image,
      "a repository path below the registry, optionally with :tag (e.g. grp/app or grp/app/api:1.4)",
    );
  }
  return { repository, tag };
}

export function registry(r: Reader, staticCredentials: boolean): string | undefined {
  const value = r.explicit("registry");
  if (value === undefined) {
    if (r.explicit("group")) {
      throw new UsageError(
        r.label("registry"),
        undefined,
        "required with a group: the registry host[:port], e.g. registry.gitlab.com",
      );
    }
    if (staticCredentials) {
      throw new UsageError(
        r.label("registry"),
        undefined,
        `required with ${r.label("username")}: the registry host[:port] as image references name it, e.g. index.docker.io (Docker Hub) or harbor.example.com`,
      );
    }
    return undefined;
  }
  return hostPort(r, "registry", value);
}

const HOST_FORM = "a host[:port] without scheme or path, e.g. gitlab.example.com:5005";

function hostPort(r: Reader, key: OptionKey, value: string): string {
  const m = HOST_PORT.exec(value);
  const port = m?.[1] === undefined ? 1 : Number(m[1]);
  if (!m || port < 1 || port > 65535) throw new UsageError(r.label(key), value, HOST_FORM);
  return value.toLowerCase();
}

/** Validated like --registry; each once and never the registry itself (that is checked again once GitLab named the registry). */
export function registryAliases(r: Reader): string[] {
  const registry = r.explicit("registry")?.toLowerCase();
  const seen = new Set<string>(registry ? [registry] : []);
  const out: string[] = [];
  for (const alias of r.list("registryAliases")) {
    const host = hostPort(r, "registryAliases", alias);
    if (seen.has(host)) {
      throw new UsageError(
        r.label("registryAliases"),
        alias,
        `each host once, and not --registry itself: the same credentials are written under every name`,
      );
    }
    seen.add(host);
    out.push(host);
  }
  return out;
}
