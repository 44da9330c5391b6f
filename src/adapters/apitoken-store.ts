// Where the API token's value lives (--api-token-store), for rotate-api-token:
// a GitLab CI/CD variable (GET/PUT /projects|groups/:id/variables/:key, with
// filter[environment_scope]), asked with whichever token the command hands
// over (the current one before the rotation, the new one after it). Plus the
// recovery file (--api-token-recovery-file). The Kubernetes Secret store is
// in apitoken-store-kube.ts.
import { closeSync, openSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { GroupVariables, ProjectVariables } from "@gitbeaker/core";
import { createRequesterFn } from "@gitbeaker/requester-utils";
import type { ApiTokenStoreSpec } from "../config/inputs.js";
import type { ProxySettings } from "../config/proxy-settings.js";
import { GitLabError, UsageError } from "../model/errors.js";
import type { ApiTokenRecovery, ApiTokenStore } from "../model/ports.js";
import { Secret } from "../model/secret.js";
import { toGitLabError } from "./gitlab.js";
import { classify, oneRequest } from "./gitlab-requester.js";
import { retrying, retryOptions, type RetryOptions } from "./retry.js";
import { dispatcher } from "./tls.js";

export interface VariableStoreOptions {
  url: string;
  caPem?: string;
  proxy?: ProxySettings;
  requestTimeoutMs: number;
  retry?: Partial<RetryOptions>;
}

type VariableSpec = Extract<ApiTokenStoreSpec, { kind: "gitlab-variable" }>;

/** The words for messages: `CI/CD variable GITLAB_TOKEN (environment scope production) of project grp/app`. */
export function variableWhere(spec: VariableSpec): string {
  const scope = spec.environmentScope === undefined ? "" : ` (environment scope ${spec.environmentScope})`;
  return `CI/CD variable ${spec.key}${scope} of ${spec.owner.kind} ${spec.owner.ref}`;
}

export function gitlabVariableStore(spec: VariableSpec, opts: VariableStoreOptions): ApiTokenStore {
  const where = variableWhere(spec);
  const retry = retryOptions(opts.retry);
  const agent = dispatcher(opts.caPem, opts.proxy) as never;
  const filter = spec.environmentScope === undefined ? {} : { filter: { environment_scope: spec.environmentScope } };

  /** A client for one token: the resource is cheap, and the token is never kept past the call. */
  function variables(auth: Secret): ProjectVariables | GroupVariables {
    const base = {
      host: opts.url,
      token: auth.reveal(),
      requesterFn: createRequesterFn((_, reqo) => Promise.resolve(reqo), oneRequest(opts.requestTimeoutMs)),
      queryTimeout: null,
      agent,
    };
    return spec.owner.kind === "project" ? new ProjectVariables(base) : new GroupVariables(base);
  }

  /** GET and PUT of a variable are idempotent: our retry policy applies. */
  async function call<T>(operation: string, auth: Secret, fn: () => Promise<T>): Promise<T> {
    try {
      return await retrying(fn, { idempotent: true, classify, opts: retry });
    } catch (err) {
      throw refusal(toGitLabError(operation, where, err, [auth.reveal()]));
    }
  }

  /** GitLab's refusals, said for this store. */
  function refusal(err: GitLabError): GitLabError {
    const role = spec.owner.kind === "project" ? "Maintainer of the project" : "Owner of the group";
    const hint =
      err.status === 409
        ? `Several variables are named ${spec.key}: add the environment scope (gitlab:${spec.owner.kind}:${spec.owner.ref}:${spec.key}:<scope>)`
        : err.status === 404
          ? `Create the variable ${spec.key} first (it must hold the API token this run uses), or fix --api-token-store`
          : err.status === 403
            ? `Reading and writing CI/CD variables needs the api scope and a ${role}`
            : err.status === 400
              ? `GitLab refused the value (a masked variable takes one line without spaces, 8 or more characters)`
              : "";
    return new GitLabError(err.operation, err.status, err.detail, hint);
  }

  return {
    kind: "gitlab-variable",
    where,
    async read(auth) {
      const v = (await call(`reading the ${where}`, auth, () =>
        variables(auth).show(spec.owner.ref, spec.key, filter as never),
      )) as unknown as Record<string, unknown>;
      return typeof v.value === "string" ? new Secret(v.value) : undefined;
    },
    async proveWritable(current, auth) {
      if (current === undefined) {
        // A hidden variable shows no value to write back: the read above (which needs the same role) and the
        // api scope, which the command checked, are GitLab's permission answers.
        return;
      }
      await call(`writing the ${where} back unchanged`, auth, () =>
        variables(auth).edit(spec.owner.ref, spec.key, current.reveal(), filter as never),
      );
    },
    async write(value, auth) {
      await call(`writing the ${where}`, auth, () =>
        variables(auth).edit(spec.owner.ref, spec.key, value.reveal(), filter as never),
      );
      return undefined;
    },
  };
}

/** --api-token-recovery-file: created empty and owner-only before the rotation, written only if the store write fails. */
export function fileRecovery(path: string): ApiTokenRecovery {
  return {
    where: path,
    async prepare() {
      try {
        // wx: never over an existing file, which may hold the token an earlier run could not store.
        closeSync(openSync(path, "wx", 0o600));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new UsageError(
          "--api-token-recovery-file",
          undefined,
          code === "EEXIST"
            ? `${path} exists: it may hold the token an earlier run could not store. Recover from it (see docs/security.md), then delete it`
            : `${path} cannot be created (${code ?? (err as Error).message})`,
        );
      }
    },
    async keep(value) {
      writeFileSync(path, value.reveal(), { mode: 0o600, flag: "w" });
    },
    async discard() {
      if (statSync(path).size === 0) unlinkSync(path);
    },
  };
}
