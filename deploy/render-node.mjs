#!/usr/bin/env node
// Renders what a worker node needs in deploy/: its NATS permissions block and KEDA's ScaledObject triggers.
// Workers pull one durable consumer per job type, priority and node/any-node (docs/worker.md), and a NATS
// permission names a consumer as a whole token (no partial wildcards), so both list every consumer of the
// node's job types: the types a node may run are an explicit allow-list. Consumer names and filters come
// from @taskjet/protocol (Namespace.runConsumer), the code the workers use (run `npm run build` first).
//
//   node deploy/render-node.mjs permissions <node> <type,type,...>   the WORKER_<NODE>_PERMISSIONS block
//   node deploy/render-node.mjs keda <node,node,...> <type,...>     deploy/k8s/components/keda/scaledobjects.yaml
//
// The committed blocks of n1 and n2 (deploy/nats/permissions.conf, cluster-users.conf) and the KEDA file are
// this script's output for the built-in types console, http and sleep; deploy/test/manifests.test.ts checks
// they still are. TASKJET_PREFIX changes the prefix (default taskjet).
import { namespace } from "@taskjet/protocol";

const PRIORITIES = [5, 4, 3, 2, 1];

export function consumersOf(ns, node, types) {
  const out = [];
  for (const p of PRIORITIES)
    for (const where of [node, undefined]) for (const t of types) out.push(ns.runConsumer(where, t, p));
  return out;
}

export function permissionsBlock(node, types, prefix = "taskjet") {
  const ns = namespace(prefix);
  const p = prefix;
  const run = ns.streams.run;
  const v = `WORKER_${node.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_PERMISSIONS`;
  const lines = [
    `# generated: node deploy/render-node.mjs permissions ${node} ${types.join(",")}`,
    `${v} = {`,
    `  publish = {`,
    `    allow = [`,
    `      "${p}.evt.>", "${p}.log.>", "${p}.dlq.>"`,
    `      # who holds a redelivered fire: asked of the other workers (core NATS request/reply)`,
    `      "${p}.ctl._held"`,
    `      "$JS.API.INFO"`,
    `      # open what the scheduler created (ensureTopology with create: false)`,
    `      "$JS.API.STREAM.INFO.${p}-run", "$JS.API.STREAM.INFO.${p}-log", "$JS.API.STREAM.INFO.${p}-dlq"`,
    `      "$JS.API.STREAM.INFO.KV_${p}-jobs", "$JS.API.STREAM.INFO.KV_${p}-locks"`,
    `      "$JS.API.STREAM.INFO.KV_${p}-registry"`,
    `      # job state and run locks: direct gets (\`.>\`: the subject form newer servers use) and writes;`,
    `      # the jobs bucket also from its stream leader (STREAM.MSG.GET: a read a lagging replica cannot`,
    `      # answer, before a fire is skipped or when it comes back); heartbeats: writes only`,
    `      "$JS.API.DIRECT.GET.KV_${p}-jobs", "$JS.API.DIRECT.GET.KV_${p}-jobs.>", "$KV.${p}-jobs.>"`,
    `      "$JS.API.STREAM.MSG.GET.KV_${p}-jobs"`,
    `      "$JS.API.DIRECT.GET.KV_${p}-locks", "$JS.API.DIRECT.GET.KV_${p}-locks.>", "$KV.${p}-locks.>"`,
    `      "$KV.${p}-registry.>"`,
    `      # its consumers (job types ${types.join(", ")}), highest priority first: create (with their filter),`,
    `      # info, pull, ack`,
  ];
  for (const c of consumersOf(ns, node, types)) {
    lines.push(
      `      "$JS.API.CONSUMER.CREATE.${run}.${c.name}.${c.filter}", "$JS.API.CONSUMER.INFO.${run}.${c.name}"`,
      `      "$JS.API.CONSUMER.MSG.NEXT.${run}.${c.name}", "$JS.ACK.${run}.${c.name}.>"`,
    );
  }
  lines.push(
    `    ]`,
    `  }`,
    `  subscribe = {`,
    `    allow = [`,
    `      "${p}.ctl.${node}", "${p}.ctl._all", "${p}.ctl._held"`,
    `      "_INBOX_worker_${node.replace(/-/g, "_")}.>"`,
    `    ]`,
    `  }`,
    `  # answers to the held-fire question go to the asking worker's inbox`,
    `  allow_responses = true`,
    `}`,
    `# end generated`,
  );
  return lines.join("\n") + "\n";
}

export function kedaFile(nodes, types, prefix = "taskjet") {
  const ns = namespace(prefix);
  const head = [
    `# generated: node deploy/render-node.mjs keda ${nodes.join(",")} ${types.join(",")}`,
    `# KEDA scales each node's worker StatefulSet on the run stream's consumer lag, read by KEDA's NATS`,
    `# JetStream scaler from the NATS servers' monitoring endpoint (/jsz, port 8222: ../../nats/values.yaml keeps`,
    `# it on). A node's fires wait in its own consumers and in the any-node consumers, one per job type and`,
    `# priority (${prefix}-node<len>-<node>-<type>-pN, ${prefix}-any-<type>-pN); KEDA scales on the largest lag of them.`,
    `# One replica more per \`lagThreshold\` fires waiting; never fewer than one (the node's jobs must run).`,
    `# Needs KEDA 2.x in the cluster (keda.sh/v1alpha1). Without KEDA use ../hpa instead.`,
  ];
  const docs = nodes.map((node) => {
    const out = [
      `apiVersion: keda.sh/v1alpha1`,
      `kind: ScaledObject`,
      `metadata:`,
      `  name: ${prefix}-worker-${node}`,
      `spec:`,
      `  scaleTargetRef:`,
      `    apiVersion: apps/v1`,
      `    kind: StatefulSet`,
      `    name: ${prefix}-worker-${node}`,
      `  minReplicaCount: 1`,
      `  maxReplicaCount: 10`,
      `  pollingInterval: 15`,
      `  # a worker's graceful stop takes up to its terminationGracePeriodSeconds: scale in slowly`,
      `  cooldownPeriod: 300`,
      `  triggers:`,
    ];
    for (const c of consumersOf(ns, node, types)) {
      out.push(
        `    - type: nats-jetstream`,
        `      metadata:`,
        `        natsServerMonitoringEndpoint: nats-headless.nats.svc.cluster.local:8222`,
        `        account: $G`,
        `        stream: ${ns.streams.run}`,
        `        consumer: ${c.name}`,
        `        lagThreshold: "100"`,
        `        activationLagThreshold: "0"`,
        `        useHttps: "false"`,
      );
    }
    return out.join("\n");
  });
  return [...head, docs.join("\n---\n")].join("\n") + "\n";
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [what, nodeArg, typeArg] = process.argv.slice(2);
  const prefix = process.env.TASKJET_PREFIX ?? "taskjet";
  if (!nodeArg || !typeArg || !["permissions", "keda"].includes(what)) {
    process.stderr.write(
      "usage: node deploy/render-node.mjs permissions|keda <node[,node]> <type,type,...>\n",
    );
    process.exit(2);
  }
  const types = typeArg.split(",").filter(Boolean);
  process.stdout.write(
    what === "keda" ? kedaFile(nodeArg.split(","), types, prefix) : permissionsBlock(nodeArg, types, prefix),
  );
}
