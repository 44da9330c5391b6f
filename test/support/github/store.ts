// What the stand-in knows: repositories, environments, their key pairs and
// secrets, and the tokens. libsodium opens what clients seal, exactly as
// GitHub's side of crypto_box_seal does.
import sodium from "libsodium-wrappers";
import type { Level, SecretState, TokenGrant } from "./api.ts";

export interface KeyPair {
  keyId: string;
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/** A repository, or one of its environments: where secrets live and what seals them. */
export interface Vault {
  keys: KeyPair;
  /** By name as GitHub stores it: upper case. */
  secrets: Map<string, SecretState>;
}

export interface Repo {
  fullName: string;
  vault: Vault;
  /** By name; GitHub compares environment names case-insensitively. */
  environments: Map<string, Vault>;
}

/** GitHub's timestamps: seconds, UTC, no fraction. */
export const timestamp = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, "Z");

export class Store {
  readonly repos = new Map<string, Repo>();
  readonly tokens = new Map<string, TokenGrant>();
  #keyIds = 3380204578043523366n;

  constructor(readonly now: () => Date) {}

  static async ready(): Promise<void> {
    await sodium.ready;
  }

  newKeys(): KeyPair {
    const kp = sodium.crypto_box_keypair();
    this.#keyIds += 1n;
    return { keyId: String(this.#keyIds), publicKey: kp.publicKey, privateKey: kp.privateKey };
  }

  repo(fullName: string): Repo | undefined {
    return this.repos.get(fullName.toLowerCase());
  }

  environment(repo: Repo, name: string): Vault | undefined {
    return repo.environments.get(name.toLowerCase());
  }

  /** Opens a sealed box to `vault`'s key, or undefined when it is none. */
  open(vault: Vault, encryptedBase64: string): string | undefined {
    try {
      const opened = sodium.crypto_box_seal_open(
        Buffer.from(encryptedBase64, "base64"),
        vault.keys.publicKey,
        vault.keys.privateKey,
      );
      return Buffer.from(opened).toString("utf8");
    } catch {
      return undefined;
    }
  }

  /** Stores a value; answers whether it created the secret. */
  put(vault: Vault, name: string, value: string): boolean {
    const at = timestamp(this.now());
    const key = name.toUpperCase();
    const existing = vault.secrets.get(key);
    vault.secrets.set(key, { value, createdAt: existing?.createdAt ?? at, updatedAt: at });
    return existing === undefined;
  }
}

export const atLeast = (has: Level, needs: Exclude<Level, "none">): boolean =>
  needs === "read" ? has !== "none" : has === "write";
