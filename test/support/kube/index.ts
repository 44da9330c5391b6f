// The Kubernetes API stand-in (tests run the REAL kubectl against it), split
// by concern; server.ts says what it models and where its behaviour comes from.
//   api.ts               what tests drive: the handle, RBAC rules, denials, faults, recorded requests
//   server.ts            the entry: certificates, the HTTPS server, the handle's direct state access
//   store.ts             objects, resourceVersions, uids, namespaces and their lifecycle
//   authz.ts             users and tokens, RBAC rules, denials, anonymous, SelfSubjectAccessReviews
//   router.ts            request pipeline (401, faults, body), URL to handler, Status error bodies
//   context.ts           the request context and shared state handlers get, and how they answer
//   faults.ts            injected faults and their Status bodies
//   handlers/read.ts     get, list (and watch's start), core/v1 Events
//   handlers/write.ts    create, update (create-on-update), delete; NamespaceLifecycle admission
//   handlers/patch.ts    JSON, merge and strategic merge patch
//   handlers/apply.ts    server-side apply and its conflicts
//   handlers/request.ts  body decoding, type meta, Create/Update/PatchOptions, v1 conversion, defaults
//   handlers/watch.ts    watch streams and the events writers notify
//   handlers/table.ts    the Table kubectl prints
//   discovery.ts         discovery and OpenAPI from the captured kube-apiserver v1.25.9 documents
//   resources.ts         the resources served and their canonical JSON
//   managed-fields.ts    server-side apply's field ownership (FieldsV1)
//   patch.ts             merge, strategic merge and JSON patch algorithms
//   validation.ts        object and update validation
//   selectors.ts         label and field selectors
//   status.ts            metav1.Status error bodies
//   json.ts              JSON helpers and Go's JSON error texts
//   latency.ts           an optional service-time model (benchmarks)
export type { DenyRule, Fault, Hold, KubeResource, KubeStandIn, PolicyRule, RecordedRequest } from "./api.ts";
export { decodeKubeProtobuf, encodeOpenAPIv2, kubeFixturesDir, readKubeFixture } from "./discovery.ts";
export { goJsonMapError } from "./json.ts";
export { startKubeStandIn } from "./server.ts";
export { CALIBRATED, latencyFromEnv, ServiceSlots, type LatencyModel } from "./latency.ts";
