// The Table kubectl asks for when it prints (`kubectl get` without -o,
// Accept: ...;as=Table): the columns kube-apiserver's printers define for each
// kind, rows with PartialObjectMetadata, ages as kubectl's duration.HumanDuration.
import type { Ctx } from "../context.ts";
import { clone } from "../json.ts";
import type { ResDef } from "../resources.ts";

export function wantsTable(ctx: Ctx): boolean {
  return /as=Table/.test(String(ctx.req.headers.accept ?? ""));
}

function age(ts: string | undefined): string {
  if (!ts) return "<unknown>";
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(ts)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ""}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

export function toTable(r: ResDef, items: any[], rv: string): any {
  const col = (name: string, type: string, description: string, format = ""): any => ({
    name,
    type,
    format,
    description,
    priority: 0,
  });
  const nameCol = col("Name", "string", "Name must be unique within a namespace.", "name");
  const ageCol = col(
    "Age",
    "string",
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
  );
  let cols: any[];
  let cells: (o: any) => unknown[];
  switch (r.kind) {
    case "Secret":
      cols = [
        nameCol,
        col("Type", "string", "Used to facilitate programmatic handling of secret data."),
        col("Data", "string", "The total number of data entries."),
        ageCol,
      ];
      cells = (o) => [
        o.metadata.name,
        o.type ?? "Opaque",
        Object.keys(o.data ?? {}).length,
        age(o.metadata.creationTimestamp),
      ];
      break;
    case "ServiceAccount":
      cols = [
        nameCol,
        col(
          "Secrets",
          "string",
          "Secrets is the list of secrets allowed to be used by pods running using this ServiceAccount.",
        ),
        ageCol,
      ];
      cells = (o) => [o.metadata.name, (o.secrets ?? []).length, age(o.metadata.creationTimestamp)];
      break;
    case "Lease":
      cols = [
        nameCol,
        col("Holder", "string", "holderIdentity contains the identity of the holder of a current lease."),
        ageCol,
      ];
      cells = (o) => [o.metadata.name, o.spec?.holderIdentity ?? "", age(o.metadata.creationTimestamp)];
      break;
    default:
      cols = [nameCol, col("Status", "string", "The status of the namespace"), ageCol];
      cells = (o) => [o.metadata.name, o.status?.phase ?? "", age(o.metadata.creationTimestamp)];
  }
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: { resourceVersion: rv },
    columnDefinitions: cols,
    rows: items.map((o) => {
      const meta = clone(o.metadata);
      delete meta.managedFields;
      return {
        cells: cells(o),
        object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: meta },
      };
    }),
  };
}
