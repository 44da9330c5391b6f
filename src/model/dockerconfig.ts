// Pure: registry credentials -> the docker config payloads a pull Secret holds.
import { createHash } from "node:crypto";
import { UsageError } from "./errors.js";
import { Secret } from "./secret.js";

export interface RegistryCredentials {
  /** Registry host[:port] exactly as it appears in image references (the kubelet matches the port). */
  host: string;
  username: string;
  password: Secret;
}

/**
 * The two pull Secret types the kubelet reads (REFERENCE §6). It reads a
 * Secret only when its type and data key agree, and the API server never
 * changes a Secret's type, so the pair is chosen once per Secret name.
 */
export const SECRET_TYPES = {
  dockerconfigjson: { type: "kubernetes.io/dockerconfigjson", key: ".dockerconfigjson" },
  dockercfg: { type: "kubernetes.io/dockercfg", key: ".dockercfg" },
} as const;
export type SecretType = keyof typeof SECRET_TYPES;

/** The option value (dockerconfigjson, dockercfg) for a Kubernetes Secret type, if it is one of ours. */
export function secretTypeOf(kubernetesType: string): SecretType | undefined {
  return (Object.keys(SECRET_TYPES) as SecretType[]).find((t) => SECRET_TYPES[t].type === kubernetesType);
}

interface AuthEntry {
  username: string;
  password: string;
  /** containers/image reads only this; the kubelet lets it win. Must be base64(username:password). */
  auth: string;
}

function entry(c: RegistryCredentials): AuthEntry {
  const password = c.password.reveal();
  return { username: c.username, password, auth: Buffer.from(`${c.username}:${password}`).toString("base64") };
}

/**
 * The registry and its aliases, in order, each once. An alias can only be
 * compared with a registry GitLab reported at run time, so this check runs
 * there too, not only on the flags.
 */
export function registryHosts(registry: string, aliases: readonly string[]): string[] {
  const hosts = [registry.toLowerCase()];
  for (const alias of aliases) {
    const host = alias.toLowerCase();
    if (hosts.includes(host)) {
      throw new UsageError(
        "--registry-alias",
        alias,
        `each host once, and not the registry itself (${registry}): the same credentials are written under every name`,
      );
    }
    hosts.push(host);
  }
  return hosts;
}

/** One entry per host, all with the same username and password. */
export function credentialsFor(hosts: readonly string[], username: string, password: Secret): RegistryCredentials[] {
  return hosts.map((host) => ({ host, username, password }));
}

function hostMap(creds: readonly RegistryCredentials[]): Record<string, AuthEntry> {
  return Object.fromEntries(creds.map((c) => [c.host, entry(c)]));
}

/** `.dockerconfigjson` for a `kubernetes.io/dockerconfigjson` Secret (also a valid docker config.json). */
export function dockerConfigJson(creds: readonly RegistryCredentials[]): Secret {
  return new Secret(JSON.stringify({ auths: hostMap(creds) }));
}

/**
 * `.dockercfg` for the legacy `kubernetes.io/dockercfg` Secret: the same host
 * map WITHOUT the `auths` wrapper. Under `.dockerconfigjson` this shape is
 * accepted by the API server and then pulls anonymously, hence two functions.
 */
export function dockercfg(creds: readonly RegistryCredentials[]): Secret {
  return new Secret(JSON.stringify(hostMap(creds)));
}

/** The data value a Secret of this type holds under its key. */
export function pullSecretPayload(type: SecretType, creds: readonly RegistryCredentials[]): Secret {
  return type === "dockercfg" ? dockercfg(creds) : dockerConfigJson(creds);
}

/**
 * SHA-256 (hex) of the payload: recorded on Secrets holding static credentials,
 * so a run can tell "same content" without reading the Secret's data. Anyone
 * who can read the annotation can read the data itself, so it discloses nothing new.
 */
export function payloadSha256(payload: Secret): string {
  return createHash("sha256").update(payload.reveal()).digest("hex");
}

/**
 * Every form in which these credentials could surface in text: the token,
 * user:token, its base64, the docker config in both shapes and their base64.
 * Reporters mask all of them before anything is printed.
 */
export function secretForms(creds: readonly RegistryCredentials[]): string[] {
  const forms = new Set<string>();
  for (const c of creds) {
    const e = entry(c);
    forms.add(e.password);
    forms.add(`${c.username}:${e.password}`);
    forms.add(e.auth);
    forms.add(e.auth.replace(/=+$/, ""));
  }
  for (const payload of [dockerConfigJson(creds), dockercfg(creds)]) {
    const text = payload.reveal();
    forms.add(text);
    forms.add(Buffer.from(text).toString("base64"));
  }
  return [...forms];
}

/**
 * The credentials a pull Secret's payload holds, read back (fill copies the
 * current token): one entry per host, every one with the same username and
 * password, as this tool writes them. A string says what does not match,
 * never what the payload holds.
 */
export function credentialsIn(
  type: SecretType,
  payload: Secret,
  hosts: readonly string[],
): RegistryCredentials[] | string {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.reveal());
  } catch {
    return "its docker config is not JSON";
  }
  const map = (type === "dockercfg" ? doc : (doc as { auths?: unknown } | null)?.auths) as
    Record<string, Partial<AuthEntry>> | undefined;
  if (typeof map !== "object" || map === null) return "its docker config has no host entries";
  const names = Object.keys(map).map((h) => h.toLowerCase());
  if (names.length !== hosts.length || hosts.some((h) => !names.includes(h)))
    return `its docker config names other hosts than ${hosts.join(", ")}`;
  const first = Object.values(map)[0]!;
  const { username, password } = first;
  if (typeof username !== "string" || typeof password !== "string" || username === "" || password === "")
    return "its docker config lacks a username or password";
  const creds = credentialsFor(hosts, username, new Secret(password));
  for (const e of Object.values(map)) {
    const want = entry(creds[0]!);
    if (e.username !== want.username || e.password !== want.password || (e.auth !== undefined && e.auth !== want.auth))
      return "its docker config holds different credentials for its hosts";
  }
  return creds;
}
