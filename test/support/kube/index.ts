// The Kubernetes API stand-in (tests run the REAL kubectl against it), split
// by concern; server.ts says what it models and where its behaviour comes from.
//   api.ts             what tests drive: the handle, RBAC rules, denials, faults, recorded requests
//   server.ts          the HTTPS server: users, storage and resourceVersion, RBAC, verbs, watch, tables, faults
//   discovery.ts       discovery and OpenAPI from the captured kube-apiserver v1.25.9 documents
//   resources.ts       the four resources served and their canonical JSON
//   managed-fields.ts  server-side apply's field ownership (FieldsV1)
//   patch.ts           merge, strategic merge and JSON patch
//   validation.ts      object and update validation
//   selectors.ts       label and field selectors
//   status.ts          metav1.Status error bodies
//   json.ts            JSON helpers and Go's JSON error texts
export type { DenyRule, Fault, KubeResource, KubeStandIn, PolicyRule, RecordedRequest } from "./api.ts";
export { decodeKubeProtobuf, encodeOpenAPIv2, kubeFixturesDir, readKubeFixture } from "./discovery.ts";
export { goJsonMapError } from "./json.ts";
export { startKubeStandIn } from "./server.ts";
export { CALIBRATED, latencyFromEnv, ServiceSlots, type LatencyModel } from "./latency.ts";
