export { startOpsServer, type OpsServer, type OpsServerOptions, type ReadinessCheck } from "./opsServer.js";
export { natsReadiness } from "./checks.js";
export {
  LATENESS_BUCKETS_SECONDS,
  readGauge,
  readLabelledGauge,
  serviceRegistry,
  type GaugeRow,
} from "./serviceMetrics.js";
export { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from "prom-client";
