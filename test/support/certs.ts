// Test-only PKI: a CA, server certificates signed by it, and a self-signed
// JWT signing certificate. openssl does the X.509 work because Node's crypto
// cannot issue certificates; it is a Debian package that .ci/run installs.
// The TLS keys are ECDSA P-256: a world makes several, and an RSA key costs
// openssl a few hundred milliseconds of CPU where P-256 costs a few. The JWT
// signing key stays RSA: GitLab signs registry tokens with RS256.
import { execFileSync } from "node:child_process";
import { createHash, createPublicKey } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Pem {
  certPath: string;
  keyPath: string;
  cert: string;
  key: string;
}

/** `openssl req` arguments for a new ECDSA P-256 key. */
const NEW_TLS_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** A certificate and key written earlier under `dir` as `<name>.crt` and `<name>.key`. */
export function loadPem(dir: string, name: string): Pem {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  return { certPath, keyPath, cert: readFileSync(certPath, "utf8"), key: readFileSync(keyPath, "utf8") };
}

/** A self-signed CA valid for two days. */
export function makeCA(dir: string, name = "ca"): Pem {
  mkdirSync(dir, { recursive: true });
  openssl(
    [
      "req",
      "-x509",
      ...NEW_TLS_KEY,
      "-nodes",
      "-days",
      "2",
      "-subj",
      `/CN=gitlab-pull-secret test ${name}`,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.crt`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
  return loadPem(dir, name);
}

/** A server certificate for 127.0.0.1 and localhost, signed by `ca`. */
export function issueServerCert(dir: string, ca: Pem, name: string): Pem {
  mkdirSync(dir, { recursive: true });
  openssl(
    ["req", ...NEW_TLS_KEY, "-nodes", "-subj", `/CN=${name}`, "-keyout", `${name}.key`, "-out", `${name}.csr`],
    dir,
  );
  writeFileSync(
    join(dir, `${name}.ext`),
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
  );
  openssl(
    [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      ca.certPath,
      "-CAkey",
      ca.keyPath,
      "-CAcreateserial",
      "-days",
      "2",
      "-out",
      `${name}.crt`,
      "-extfile",
      `${name}.ext`,
    ],
    dir,
  );
  return loadPem(dir, name);
}

/** The JWT signing certificate this process made first, handed to every later GitLab stand-in of the process. */
let signingPem: { cert: string; key: string } | undefined;

/**
 * A self-signed RSA certificate whose key signs registry JWTs (GitLab's `registry.key`), written under `dir`.
 * An RSA key costs openssl about 0.2 s of CPU, 12 times a P-256 key, and every world starts a GitLab stand-in: the
 * stand-ins of one process share one key. No test hands one stand-in's JWT to another's registry.
 */
export function makeSigningCert(dir: string, name = "jwt-signing"): Pem {
  mkdirSync(dir, { recursive: true });
  if (signingPem) {
    writeFileSync(join(dir, `${name}.crt`), signingPem.cert);
    writeFileSync(join(dir, `${name}.key`), signingPem.key, { mode: 0o600 });
    return loadPem(dir, name);
  }
  openssl(
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      `/CN=${name}`,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.crt`,
    ],
    dir,
  );
  const pem = loadPem(dir, name);
  signingPem = { cert: pem.cert, key: pem.key };
  return pem;
}

/**
 * libtrust key ID, as distribution 2.8 computes it for `kid` lookups:
 * SHA-256 of the DER SubjectPublicKeyInfo, first 30 bytes, base32 without
 * padding, in 12 groups of 4 joined by ':'.
 */
export function libtrustKeyId(publicKeyOrPem: string): string {
  const der = createPublicKey(publicKeyOrPem).export({ type: "spki", format: "der" });
  const digest = createHash("sha256").update(der).digest().subarray(0, 30);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join(":");
}

/** A client certificate (CN = user, O = each group) signed by `ca`: how kube-apiserver's x509 authenticator names users. */
export function issueClientCert(dir: string, ca: Pem, name: string, user: string, groups: string[] = []): Pem {
  mkdirSync(dir, { recursive: true });
  const subj = `${groups.map((g) => `/O=${g}`).join("")}/CN=${user}`;
  openssl(["req", ...NEW_TLS_KEY, "-nodes", "-subj", subj, "-keyout", `${name}.key`, "-out", `${name}.csr`], dir);
  writeFileSync(join(dir, `${name}.ext`), "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n");
  openssl(
    [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      ca.certPath,
      "-CAkey",
      ca.keyPath,
      "-CAcreateserial",
      "-days",
      "2",
      "-out",
      `${name}.crt`,
      "-extfile",
      `${name}.ext`,
    ],
    dir,
  );
  return loadPem(dir, name);
}
