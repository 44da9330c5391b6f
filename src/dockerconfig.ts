// Pure: registry credentials -> the docker config payloads a pull Secret holds.
import { Secret } from "./secret.js";

export interface RegistryCredentials {
  /** Registry host[:port] exactly as it appears in image references (the kubelet matches the port). */
  host: string;
  username: string;
  password: Secret;
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

/** `.dockerconfigjson` for a `kubernetes.io/dockerconfigjson` Secret (also a valid docker config.json). */
export function dockerConfigJson(creds: readonly RegistryCredentials[]): Secret {
  const auths = Object.fromEntries(creds.map((c) => [c.host, entry(c)]));
  return new Secret(JSON.stringify({ auths }));
}

/**
 * Every form in which these credentials could surface in text: the token,
 * user:token, its base64, the docker config and its base64. Reporters mask
 * all of them before anything is printed.
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
  const config = dockerConfigJson(creds).reveal();
  forms.add(config);
  forms.add(Buffer.from(config).toString("base64"));
  return [...forms];
}
