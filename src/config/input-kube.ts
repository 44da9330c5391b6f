// The Kubernetes side: which namespaces and ServiceAccounts, the Secret's name
// and type, and the kubeconfig context. Names follow the API's own rules so a
// bad one fails here, before anything is minted.
import { SECRET_TYPES, type SecretType } from "../model/dockerconfig.js";
import { UsageError } from "../model/errors.js";
import { selectorRequirements } from "../model/selector.js";
import type { OptionKey } from "./options.js";
import { MISSING_NAMESPACE_MODES, type MissingNamespaceMode } from "./config-shape.js";
import type { Reader } from "./input-reader.js";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function secretType(r: Reader): SecretType {
  const value = r.string("secretType")!;
  if (!Object.hasOwn(SECRET_TYPES, value)) {
    throw new UsageError(
      r.label("secretType"),
      value,
      "dockerconfigjson (kubernetes.io/dockerconfigjson) or dockercfg (the legacy kubernetes.io/dockercfg)",
    );
  }
  return value as SecretType;
}

export function nameList(r: Reader, key: OptionKey): string[] {
  const list = r.list(key);
  const seen = new Set<string>();
  for (const ns of list) {
    if (ns.length > 63 || !DNS_LABEL.test(ns)) {
      throw new UsageError(
        r.label(key),
        ns,
        "an RFC 1123 label: lowercase letters, digits and '-', at most 63 characters",
      );
    }
    if (seen.has(ns)) throw new UsageError(r.label(key), ns, "each namespace once (it is listed twice)");
    seen.add(ns);
  }
  return list;
}

/**
 * --create-namespace is the older name of --missing-namespace create. The
 * default (skip) counts as not given, since the Action fills defaults in; only
 * an explicit fail contradicts it.
 */
export function missingNamespace(r: Reader): MissingNamespaceMode {
  const value = r.string("missingNamespace")!;
  if (!(MISSING_NAMESPACE_MODES as readonly string[]).includes(value)) {
    throw new UsageError(
      r.label("missingNamespace"),
      value,
      "skip (rotate the others, exit 1), fail (change nothing, exit 1) or create",
    );
  }
  if (!r.boolean("createNamespace")) return value as MissingNamespaceMode;
  if (value === "fail") {
    throw new UsageError(
      `${r.label("createNamespace")} and ${r.label("missingNamespace")}`,
      value,
      "only one of them: --create-namespace means --missing-namespace create",
    );
  }
  return "create";
}

export function namespaces(r: Reader, required: boolean): string[] {
  const list = nameList(r, "namespaces");
  if (required && list.length === 0 && r.explicit("namespaceSelector") === undefined) {
    throw new UsageError(
      `${r.label("namespaces")} / ${r.label("namespaceSelector")}`,
      undefined,
      "required: at least one namespace, or a namespace selector",
    );
  }
  return list;
}

// key, key=value, key!=value, key in (a,b), key notin (a,b), !key — comma separated.
const LABEL_KEY =
  "(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?(?:\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?";
const LABEL_VALUE = "(?:[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?";
const REQUIREMENT = new RegExp(
  `^(?:!?${LABEL_KEY}|${LABEL_KEY}\\s*(?:=|==|!=)\\s*${LABEL_VALUE}|${LABEL_KEY}\\s+(?:in|notin)\\s+\\(\\s*${LABEL_VALUE}(?:\\s*,\\s*${LABEL_VALUE})*\\s*\\))$`,
);

export function namespaceSelector(r: Reader): string | undefined {
  const value = r.explicit("namespaceSelector");
  if (value === undefined) return undefined;
  if (!selectorRequirements(value).every((req) => REQUIREMENT.test(req))) {
    throw new UsageError(
      r.label("namespaceSelector"),
      value,
      "a label selector such as team=payments,env!=dev or tier in (web,api)",
    );
  }
  return value;
}

export function serviceAccounts(r: Reader): string[] {
  const list = r.list("serviceAccounts");
  for (const sa of list) {
    if (sa !== "*" && (sa.length > 253 || !DNS_SUBDOMAIN.test(sa))) {
      throw new UsageError(
        r.label("serviceAccounts"),
        sa,
        "a ServiceAccount name (RFC 1123 subdomain), default, or * for all",
      );
    }
  }
  if (list.includes("*") && list.length > 1)
    throw new UsageError(r.label("serviceAccounts"), list.join(","), "either * alone or a list of names");
  return [...new Set(list)];
}

export function secretName(r: Reader): string {
  const value = r.string("secretName")!;
  if (value.length > 253 || !DNS_SUBDOMAIN.test(value)) {
    throw new UsageError(
      r.label("secretName"),
      value,
      "an RFC 1123 subdomain: lowercase letters, digits, '-' and '.', at most 253 characters",
    );
  }
  return value;
}

export function context(r: Reader): string | undefined {
  const value = r.string("context");
  if (value !== undefined && /\s/.test(value)) {
    throw new UsageError(r.label("context"), value, "a kubeconfig context name without whitespace");
  }
  return value;
}
