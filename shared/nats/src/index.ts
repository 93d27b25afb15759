export {
  connectNats,
  natsConfigFromEnv,
  logLevelFromEnv,
  NatsConfigSchema,
  type NatsConfig,
  type NatsConfigInput,
} from "./connection.js";
export { inboxFor, inboxPrefixOf } from "./inbox.js";
export { ensureTopology, topologyDefaults, type Topology, type TopologyOptions } from "./topology.js";
export {
  JobStore,
  encodeRecord,
  decodeRecord,
  isCasConflict,
  isStoreFull,
  jsErrCode,
  type StoreChange,
  type WatchHandle,
} from "./store.js";
export { Lease, type LeaseOptions, type LeaseHolder, type LeaseValue, type LeaseListener } from "./lease.js";
export { LockProvider, type LockHandle, type LockValue } from "./lock.js";
export { serveRequests, request, type RequestHandler, type RequestOptions } from "./rpc.js";
export { Registry, type JobTypeInfo } from "./registry.js";
export { PublishBatch, directPublisher, type Publisher } from "./batch.js";
export { RequestMux } from "./requestMux.js";
export { EncodedHeaders, encodedHeaders, headersFromWire } from "./encodedHeaders.js";
export { parsePubAck, type PubAckReply } from "./pubAck.js";
export { jetStreamManagerOnce } from "./jetStreamManagerOnce.js";
export {
  freePort,
  launchNatsServer,
  NatsServerStartError,
  stopNatsServer,
  type LaunchNatsServerOptions,
  type NatsServerProcess,
} from "./natsServerProcess.js";
export {
  isConsumerExists,
  isCreateRace,
  isNoResponders,
  isStreamNotFound,
  isTransient,
  isUnreachable,
  JsErrCode,
} from "./natsErrors.js";
export { leanKv, leanJobStore, leaderGetter, type KvReader } from "./leanKv.js";
export {
  loadBucket,
  parseAckReply,
  type BucketMessageHandler,
  type BucketOperation,
  type LoadBucketOptions,
} from "./snapshot.js";
export {
  parseVersion,
  versionAtLeast,
  serverVersion,
  serverHas,
  assertReplicasSafe,
  FEATURES,
} from "./serverVersion.js";
export {
  carrierOf,
  contextFromCarrier,
  contextOf,
  extractTrace,
  failSpan,
  injectTrace,
  traceHeaderPairs,
  inSpan,
  jobAttributes,
  linkTo,
  otelContext,
  otelTrace,
  SpanKind,
  SpanStatusCode,
  startSpan,
  tracingOn,
  type Span,
  type TraceCarrier,
  type TraceContext,
} from "./tracing.js";
export { publishFastJob } from "./fastLane.js";
export { ArgsChecker, type ArgsCheckerDeps } from "./argsChecker.js";
