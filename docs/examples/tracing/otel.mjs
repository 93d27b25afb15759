// Turns OpenTelemetry tracing on in a taskjet service (or in your own producer or worker process): load it
// before the program, e.g.
//
//   OTEL_SERVICE_NAME=taskjet-worker OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector:4318 \
//     node --import ./docs/examples/tracing/otel.mjs services/worker/dist/main.js --node n1
//
// taskjet itself uses only @opentelemetry/api; this registers the SDK: a tracer provider (with the W3C trace
// context propagator and async context) whose spans go to an OTLP/HTTP endpoint (the exporter reads
// OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318). Needs @opentelemetry/sdk-trace-node,
// @opentelemetry/exporter-trace-otlp-http and @opentelemetry/resources installed beside the program.
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, NodeTracerProvider } from "@opentelemetry/sdk-trace-node";

const provider = new NodeTracerProvider({
  resource: resourceFromAttributes({ "service.name": process.env.OTEL_SERVICE_NAME ?? "taskjet" }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
});
provider.register();

// flush what is buffered when the service stops (SIGTERM makes taskjet's services stop gracefully)
for (const signal of ["SIGTERM", "SIGINT"]) process.once(signal, () => void provider.forceFlush());
