// Linking the Secret into ServiceAccounts' imagePullSecrets, never removing
// another entry, and never overwriting a concurrent edit (each write carries
// the resourceVersion it read).
import type { Config } from "../config/inputs.js";
import type { Log, Ports } from "../model/ports.js";
import { selectServiceAccounts, withPullSecret, type ServiceAccountState } from "../model/serviceaccounts.js";

const SERVICE_ACCOUNT_ATTEMPTS = 5;

/**
 * Adds the Secret to every chosen ServiceAccount that lacks it, all in one
 * kubectl call; a 409 (someone changed one since we read it) re-reads and
 * retries. Idempotent: accounts that already list it are not written.
 */
export async function ensureServiceAccounts(
  config: Config,
  ports: { kube: Ports["kube"]; log: Log },
  initial: readonly ServiceAccountState[],
): Promise<{ updated: string[]; problems: string[] }> {
  let accounts = initial;
  const updated: string[] = [];
  for (let attempt = 1; attempt <= SERVICE_ACCOUNT_ATTEMPTS; attempt++) {
    const changes = accounts.flatMap((sa) => {
      const next = withPullSecret(sa, config.secretName);
      return next ? [{ key: `${sa.namespace}/${sa.name}`, next }] : [];
    });
    if (changes.length === 0) return { updated, problems: [] };
    try {
      if ((await ports.kube.replaceServiceAccounts(changes.map((c) => c.next))) === "ok") {
        updated.push(...changes.map((c) => c.key));
        ports.log.info(`Added "${config.secretName}" to imagePullSecrets of ${changes.map((c) => c.key).join(", ")}`);
        return { updated, problems: [] };
      }
    } catch (err) {
      return {
        updated,
        problems: [`The Secrets are written, but the ServiceAccounts were not updated: ${(err as Error).message}`],
      };
    }
    const fresh = await ports.kube.readTarget(config.namespaces, config.secretName, config.serviceAccounts);
    accounts = selectServiceAccounts(fresh.serviceAccounts, config.namespaces, config.serviceAccounts);
  }
  return {
    updated,
    problems: [
      `ServiceAccounts kept changing under us; gave up after ${SERVICE_ACCOUNT_ATTEMPTS} attempts. Re-run to finish`,
    ],
  };
}
