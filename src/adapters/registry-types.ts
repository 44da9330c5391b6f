// What the pull check is asked and answers (the RegistryPort), and the
// constants its callers and tests share. Types only, besides two constants.
import type { PullCheckRequest } from "../model/ports.js";

export const DEFAULT_TIMEOUT_MS = 15_000;

/** Every manifest type a pull may meet; distribution 2.8 answers 404 for an OCI image not listed in Accept. */
export const MANIFEST_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
] as const;

/** The port's request, defined once with the port (model/ports.ts). */
export type VerifyRequest = PullCheckRequest;

export interface VerifyResult {
  registry: string;
  repository: string;
  tag?: string;
  /** Docker-Content-Digest of the tag's manifest (only with a tag). */
  digest?: string;
  /** The token service the registry pointed to; undefined when the registry asked for no credentials. */
  realm: string | undefined;
  /** The registry served the repository without credentials: the check proves nothing about the token. */
  anonymous: boolean;
}

export interface RegistryPort {
  verifyPull(req: VerifyRequest): Promise<VerifyResult>;
}

// ---- the flow -----------------------------------------------------------------------------------
