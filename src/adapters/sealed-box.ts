// The libsodium sealed box GitHub takes an Actions secret in: the value
// encrypted to the repository's (or environment's) X25519 public key with an
// ephemeral key pair, so only GitHub can open it. libsodium-wrappers is
// loaded on the first seal only: its WebAssembly costs ~50 ms, which no run
// without a github: store (nor --version, --help) should pay.
import type { Secret } from "../model/secret.js";

type Sodium = (typeof import("libsodium-wrappers"))["default"];

let loading: Promise<Sodium> | undefined;

function sodium(): Promise<Sodium> {
  return (loading ??= import("libsodium-wrappers").then(async (m) => {
    await m.default.ready;
    return m.default;
  }));
}

/** base64(crypto_box_seal(value, key)): what `encrypted_value` holds. Throws on a key that is no X25519 public key. */
export async function sealTo(publicKeyBase64: string, value: Secret): Promise<string> {
  const s = await sodium();
  const key = Buffer.from(publicKeyBase64, "base64");
  if (key.length !== s.crypto_box_PUBLICKEYBYTES)
    throw new Error(`the public key is ${key.length} bytes, not the ${s.crypto_box_PUBLICKEYBYTES} of an X25519 key`);
  return Buffer.from(s.crypto_box_seal(Buffer.from(value.reveal(), "utf8"), key)).toString("base64");
}
