// Validation of objects and updates (pkg/apis/core/validation,
// apimachinery/pkg/util/validation).
import { deepEqual, goJsonMapError, isObj } from "./json.ts";
import type { ResDef } from "./resources.ts";
import { type FieldErr, fe } from "./status.ts";

const DNS1123_SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1123_LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const CONFIG_KEY_RE = /^[-._a-zA-Z0-9]+$/;

function dnsSubdomainErrors(v: string): string[] {
  const out: string[] = [];
  if (v.length > 253) out.push("must be no more than 253 characters");
  if (!SUBDOMAIN_RE.test(v)) out.push(DNS1123_SUBDOMAIN_MSG);
  return out;
}

function dnsLabelErrors(v: string): string[] {
  const out: string[] = [];
  if (v.length > 63) out.push("must be no more than 63 characters");
  if (!LABEL_RE.test(v)) out.push(DNS1123_LABEL_MSG);
  return out;
}

function validateMeta(r: ResDef, obj: any): FieldErr[] {
  const errs: FieldErr[] = [];
  const m = obj.metadata ?? {};
  const name: string = m.name ?? "";
  if (!name) errs.push(fe.required("metadata.name", "name or generateName is required"));
  else
    for (const msg of (r.name === "namespaces" ? dnsLabelErrors : dnsSubdomainErrors)(name))
      errs.push(fe.invalid("metadata.name", name, msg));
  if (r.namespaced) {
    const ns: string = m.namespace ?? "";
    if (!ns) errs.push(fe.required("metadata.namespace", ""));
    else for (const msg of dnsLabelErrors(ns)) errs.push(fe.invalid("metadata.namespace", ns, msg));
  }
  for (const k of ["labels", "annotations"]) {
    const v = m[k];
    if (v === undefined || v === null) continue;
    if (!isObj(v)) continue;
    for (const [lk, lv] of Object.entries(v)) {
      if (typeof lv !== "string") errs.push(fe.invalid(`metadata.${k}`, lv, "must be a string"));
      if (k === "labels" && typeof lv === "string" && lv.length > 63)
        errs.push(fe.invalid(`metadata.labels`, lv, "must be no more than 63 characters"));
      if (
        !/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(
          lk,
        )
      ) {
        errs.push(
          fe.invalid(
            `metadata.${k}`,
            lk,
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
          ),
        );
      }
    }
  }
  return errs;
}

function b64Decode(s: string): Buffer {
  return Buffer.from(s, "base64");
}

export function validateObject(r: ResDef, obj: any): FieldErr[] {
  const errs = validateMeta(r, obj);
  if (r.kind === "Secret") {
    const data: Record<string, string> = isObj(obj.data) ? obj.data : {};
    let total = 0;
    for (const [k, v] of Object.entries(data)) {
      if (!CONFIG_KEY_RE.test(k) || k === "." || k === ".." || k.startsWith("..")) {
        errs.push(
          fe.invalid(
            `data[${k}]`,
            k,
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
          ),
        );
      }
      total += b64Decode(String(v)).length;
    }
    if (total > 1024 * 1024) errs.push(fe.tooLong("data", 1024 * 1024));
    const type: string = obj.type ?? "Opaque";
    const jsonKey =
      type === "kubernetes.io/dockerconfigjson"
        ? ".dockerconfigjson"
        : type === "kubernetes.io/dockercfg"
          ? ".dockercfg"
          : undefined;
    if (jsonKey) {
      const v = data[jsonKey];
      if (v === undefined) errs.push(fe.required(`data[${jsonKey}]`, ""));
      else {
        const err = goJsonMapError(b64Decode(v).toString("utf8"));
        if (err) errs.push(fe.invalid(`data[${jsonKey}]`, "<secret contents redacted>", err));
      }
    }
  }
  if (r.kind === "ServiceAccount") {
    (Array.isArray(obj.imagePullSecrets) ? obj.imagePullSecrets : []).forEach((ref: any, i: number) => {
      if (!isObj(ref)) errs.push(fe.invalid(`imagePullSecrets[${i}]`, ref, "must be an object"));
    });
  }
  if (r.kind === "Lease" && isObj(obj.spec)) {
    const d = obj.spec.leaseDurationSeconds;
    if (d !== undefined && d !== null && (typeof d !== "number" || d <= 0))
      errs.push(fe.invalid("spec.leaseDurationSeconds", d, "must be greater than 0"));
    const t = obj.spec.leaseTransitions;
    if (t !== undefined && t !== null && (typeof t !== "number" || t < 0))
      errs.push(fe.invalid("spec.leaseTransitions", t, "must be greater than or equal to 0"));
  }
  if (r.kind === "Event") errs.push(...validateEvent(obj));
  return errs;
}

const QUALIFIED_NAME_RE =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/**
 * ValidateEventCreate for an events.k8s.io/v1 request (pkg/apis/core/validation/events.go):
 * legacyValidateEvent's "new Event" branch, then the strict checks. The field
 * paths are the internal type's (involvedObject, not regarding), as the server
 * reports them.
 */
function validateEvent(e: any): FieldErr[] {
  const errs: FieldErr[] = [];
  const ns: string = e.metadata?.namespace ?? "";
  const regardingNs: string = e.regarding?.namespace ?? "";
  if (!e.eventTime) errs.push(fe.required("eventTime", ""));
  if (!regardingNs && ns !== "default" && ns !== "kube-system")
    errs.push(fe.invalid("involvedObject.namespace", regardingNs, "does not match event.namespace"));
  const controller: string = e.reportingController ?? "";
  if (!controller) errs.push(fe.required("reportingController", ""));
  else if (!QUALIFIED_NAME_RE.test(controller) || controller.split("/").pop()!.length > 63) {
    errs.push(
      fe.invalid(
        "reportingController",
        controller,
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      ),
    );
  }
  const limited: Array<[string, string, number]> = [
    ["reportingInstance", e.reportingInstance ?? "", 128],
    ["action", e.action ?? "", 128],
    ["reason", e.reason ?? "", 128],
  ];
  for (const [field, value, max] of limited) {
    if (!value) errs.push(fe.required(field, ""));
    else if (Buffer.byteLength(value) > max) errs.push(fe.invalid(field, "", `can have at most ${max} characters`));
  }
  if (Buffer.byteLength(e.note ?? "") > 1024) errs.push(fe.invalid("note", "", "can have at most 1024 characters"));
  if (e.type !== "Normal" && e.type !== "Warning")
    errs.push(fe.invalid("type", "", `has invalid value: ${e.type ?? ""}`));
  if (e.deprecatedFirstTimestamp) errs.push(fe.invalid("firstTimestamp", "", "needs to be unset"));
  if (e.deprecatedLastTimestamp) errs.push(fe.invalid("lastTimestamp", "", "needs to be unset"));
  if (e.deprecatedCount) errs.push(fe.invalid("count", "", "needs to be unset"));
  if (isObj(e.deprecatedSource) && (e.deprecatedSource.component || e.deprecatedSource.host))
    errs.push(fe.invalid("source", "", "needs to be unset"));
  return errs;
}

export function validateUpdate(r: ResDef, obj: any, old: any): FieldErr[] {
  const errs: FieldErr[] = [];
  if (r.kind === "Secret") {
    const nt = obj.type ?? "Opaque";
    const ot = old.type ?? "Opaque";
    if (nt !== ot) errs.push(fe.invalid("type", nt, "field is immutable"));
    if (old.immutable === true) {
      if (!deepEqual(obj.data ?? {}, old.data ?? {}))
        errs.push(fe.forbidden("data", "field is immutable when `immutable` is set"));
      if (obj.immutable !== true) errs.push(fe.forbidden("immutable", "field is immutable when `immutable` is set"));
    }
  }
  return [...errs, ...validateObject(r, obj)];
}
