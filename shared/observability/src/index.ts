export { startOpsServer, type OpsServer, type OpsServerOptions, type ReadinessCheck } from "./opsServer.js";
export { natsReadiness } from "./checks.js";
export { readGauge, readLabelledGauge, serviceRegistry, type GaugeRow } from "./gauges.js";
export { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from "prom-client";
