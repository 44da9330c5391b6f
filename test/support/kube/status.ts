// Error bodies: metav1.Status as k8s.io/apimachinery/pkg/api/errors builds
// them, fields in Go struct order, shaped like test/fixtures/kube/responses.
import type { ResDef } from "./resources.ts";

export interface Cause {
  reason: string;
  message: string;
  field?: string;
}

interface Details {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: Cause[];
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Details,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
  body(): any {
    const b: any = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: this.message };
    if (this.reason) b.reason = this.reason;
    if (this.details) {
      const d: any = {};
      for (const k of ["name", "group", "kind", "uid", "causes", "retryAfterSeconds"] as const) {
        const v = this.details[k];
        if (v !== undefined && v !== "" && v !== 0) d[k] = v;
      }
      b.details = d;
    }
    b.code = this.code;
    return b;
  }
}

/** Go's %q for the ASCII names Kubernetes allows (close enough elsewhere). */
export function q(s: string): string {
  return JSON.stringify(s);
}

export function groupResource(r: ResDef): string {
  return r.group ? `${r.name}.${r.group}` : r.name;
}

export function notFound(r: ResDef, name: string): ApiError {
  return new ApiError(404, "NotFound", `${groupResource(r)} ${q(name)} not found`, {
    name,
    group: r.group,
    kind: r.name,
  });
}

export function alreadyExists(r: ResDef, name: string): ApiError {
  return new ApiError(409, "AlreadyExists", `${groupResource(r)} ${q(name)} already exists`, {
    name,
    group: r.group,
    kind: r.name,
  });
}

export function conflict(
  r: ResDef,
  name: string,
  why = "the object has been modified; please apply your changes to the latest version and try again",
): ApiError {
  return new ApiError(409, "Conflict", `Operation cannot be fulfilled on ${groupResource(r)} ${q(name)}: ${why}`, {
    name,
    group: r.group,
    kind: r.name,
  });
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, "BadRequest", message);
}

/** errors.NewGenericServerResponse(code, "", GroupResource{}, "", serverMessage, 0, false) */
export function genericServerResponse(code: number, serverMessage: string): ApiError {
  const table: Record<number, [string, string]> = {
    400: ["BadRequest", "the server rejected our request for an unknown reason"],
    401: ["Unauthorized", "the server has asked for the client to provide credentials"],
    403: ["Forbidden", "the server does not allow access to the requested resource"],
    404: ["NotFound", "the server could not find the requested resource"],
    405: ["MethodNotAllowed", "the server does not allow this method on the requested resource"],
    406: ["NotAcceptable", "the server was unable to respond with a content type that the client supports"],
    409: ["Conflict", "the server reported a conflict"],
    410: ["Expired", "the server has asked for the client to provide credentials"],
    415: ["UnsupportedMediaType", "the server was unable to respond with a content type that the client supports"],
    422: ["Invalid", "the server rejected our request due to an error in our request"],
    429: ["TooManyRequests", "the server has received too many requests and has asked us to try again later"],
    500: ["InternalError", 'an error on the server ("unknown") has prevented the request from succeeding'],
    503: ["ServiceUnavailable", "the server is currently unable to handle the request"],
    504: [
      "Timeout",
      "the server was unable to return a response in the time allotted, but may still be processing the request",
    ],
  };
  const [reason, message] = table[code] ?? [
    "",
    `the server responded with the status code ${code} but did not return more information`,
  ];
  return new ApiError(
    code,
    reason,
    message,
    serverMessage ? { causes: [{ reason: "UnexpectedServerResponse", message: serverMessage }] } : {},
  );
}

// --- field errors (k8s.io/apimachinery/pkg/util/validation/field) ---

export interface FieldErr {
  type:
    "FieldValueInvalid" | "FieldValueRequired" | "FieldValueForbidden" | "FieldValueTooLong" | "FieldValueNotSupported";
  field: string;
  body: string;
}

function goValue(v: unknown): string {
  if (typeof v === "string") return q(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

export const fe = {
  invalid: (field: string, value: unknown, detail: string): FieldErr => ({
    type: "FieldValueInvalid",
    field,
    body: `Invalid value: ${goValue(value)}${detail ? `: ${detail}` : ""}`,
  }),
  required: (field: string, detail = ""): FieldErr => ({
    type: "FieldValueRequired",
    field,
    body: `Required value${detail ? `: ${detail}` : ""}`,
  }),
  forbidden: (field: string, detail: string): FieldErr => ({
    type: "FieldValueForbidden",
    field,
    body: `Forbidden: ${detail}`,
  }),
  tooLong: (field: string, max: number): FieldErr => ({
    type: "FieldValueTooLong",
    field,
    body: `Too long: must have at most ${max} bytes`,
  }),
  notSupported: (field: string, value: unknown, supported: string[]): FieldErr => ({
    type: "FieldValueNotSupported",
    field,
    body: `Unsupported value: ${goValue(value)}: supported values: ${supported.map(q).join(", ")}`,
  }),
};

/** errors.NewInvalid(GroupKind, name, errs) */
export function invalid(kind: string, group: string, name: string, errs: FieldErr[]): ApiError {
  const gk = group ? `${kind}.${group}` : kind;
  const texts = errs.map((e) => `${e.field}: ${e.body}`);
  const agg = texts.length === 1 ? texts[0] : `[${texts.join(", ")}]`;
  return new ApiError(422, "Invalid", `${gk} ${q(name)} is invalid: ${agg}`, {
    name,
    group,
    kind,
    causes: errs.map((e) => ({ reason: e.type, message: e.body, field: e.field })),
  });
}
