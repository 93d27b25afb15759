// deploy/k8s as committed: each overlay renders with `kubectl kustomize`, every object validates against the
// Kubernetes OpenAPI schemas (kubernetes-models; KEDA's ScaledObject: @kubernetes-models/keda), and the
// objects fit together the way taskjet needs: probes on the ports the services listen on, a grace period
// longer than the worker's graceful stop, per-role NATS users and inbox prefixes, selectors that select.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { namespace } from "@taskjet/protocol";
import { consumersOf, kedaFile, permissionsBlock } from "../render-node.mjs";
import { k8sDir, kubectlMissing, render, repoRoot, schemaErrors, type K8sObject } from "./manifests.js";

/** the job types the committed deployment's workers run (the worker service's built-ins) */
const BUILTIN_TYPES = ["console", "http", "sleep"];

const missing = kubectlMissing();
if (missing && process.env["CI"]) throw new Error(`CI needs kubectl for the manifest tests: ${missing}`);
if (missing) console.warn(`deploy/test/manifests.test.ts skipped: ${missing}`);

interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: Record<string, unknown> }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
}
const podSpec = (o: K8sObject) =>
  (o as unknown as { spec: { template: { spec: PodSpec; metadata: { labels: Record<string, string> } } } })
    .spec.template;
const workloads = (objs: K8sObject[]) =>
  objs.filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet");
const find = (objs: K8sObject[], kind: string, name: string) =>
  objs.find((o) => o.kind === kind && o.metadata.name === name);
const envOf = (c: Container, name: string) => c.env?.find((e) => e.name === name)?.value;
const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** user name -> the NATS users deploy/nats/cluster-users.conf defines */
const natsUsers = [
  ...readFileSync(join(repoRoot, "deploy/nats/cluster-users.conf"), "utf8").matchAll(/user: ([\w-]+)/g),
].map((m) => m[1]);

const variants = [
  { name: "overlays/dev", dir: () => join(k8sDir, "overlays/dev"), replicas: "1", autoscaler: undefined },
  {
    name: "overlays/production",
    dir: () => join(k8sDir, "overlays/production"),
    replicas: "3",
    autoscaler: "ScaledObject",
  },
  {
    name: "overlays/production-hpa",
    dir: () => join(k8sDir, "overlays/production-hpa"),
    replicas: "3",
    autoscaler: "HorizontalPodAutoscaler",
  },
] as const;

describe.skipIf(missing)("deploy/k8s", () => {
  it("the schema check refuses what the API server would refuse (a control: the validator is no no-op)", async () => {
    const [scheduler] = render(join(k8sDir, "overlays/dev")).filter((o) => o.kind === "Deployment");
    const bad = structuredClone(scheduler!) as K8sObject & { spec: Record<string, unknown> };
    bad.spec["replicas"] = "two";
    expect(await schemaErrors(bad)).toMatch(/spec\/replicas must be integer/);
    const badKeda = {
      apiVersion: "keda.sh/v1alpha1",
      kind: "ScaledObject",
      metadata: { name: "x" },
      spec: { scaleTargetRef: {}, triggers: [] },
    } as unknown as K8sObject;
    expect(await schemaErrors(badKeda)).toMatch(/name/);
  });

  describe.each(variants)("$name", (variant) => {
    let objs: K8sObject[] = [];
    it("renders with kubectl kustomize", () => {
      objs = render(variant.dir());
      expect(objs.length).toBeGreaterThan(15);
    });

    it("every object validates against the Kubernetes OpenAPI schemas", async () => {
      const failures: string[] = [];
      for (const o of objs) {
        const errors = await schemaErrors(o);
        if (errors) failures.push(`${o.kind}/${o.metadata.name}: ${errors}`);
      }
      expect(failures).toEqual([]);
      expect(new Set(objs.map((o) => o.kind))).toEqual(
        new Set([
          "Namespace",
          "ConfigMap",
          "Secret",
          "Deployment",
          "StatefulSet",
          "Service",
          "PodDisruptionBudget",
          "Ingress",
          "NetworkPolicy",
          ...(variant.autoscaler ? [variant.autoscaler] : []),
        ]),
      );
    });

    it("everything lives in the overlay's namespace", () => {
      const ns = objs.find((o) => o.kind === "Namespace")!.metadata.name;
      for (const o of objs.filter((o) => o.kind !== "Namespace"))
        expect(o.metadata.namespace, o.kind).toBe(ns);
    });

    it("probes hit /healthz and /readyz on the port the service listens on", () => {
      for (const w of workloads(objs)) {
        for (const c of podSpec(w).spec.containers) {
          const portEnv = c.args?.[0]?.includes("gateway") ? "TASKJET_GATEWAY_PORT" : "TASKJET_METRICS_PORT";
          for (const [kind, path] of [
            ["startupProbe", "/healthz"],
            ["livenessProbe", "/healthz"],
            ["readinessProbe", "/readyz"],
          ] as const) {
            const get = c[kind]?.httpGet;
            expect(get?.path, `${w.metadata.name} ${kind}`).toBe(path);
            const port = c.ports?.find((p) => p.name === get?.port || p.containerPort === get?.port);
            expect(port, `${w.metadata.name} ${kind} port`).toBeDefined();
            expect(envOf(c, portEnv), `${w.metadata.name} ${portEnv}`).toBe(String(port!.containerPort));
          }
        }
      }
    });

    it("non-root, resources, and a grace period longer than the graceful stop", () => {
      for (const w of workloads(objs)) {
        const { spec } = podSpec(w);
        expect(spec.securityContext?.runAsNonRoot, w.metadata.name).toBe(true);
        expect(spec.securityContext?.runAsUser, w.metadata.name).toBe(1000);
        for (const c of spec.containers) {
          expect(c.securityContext?.["allowPrivilegeEscalation"]).toBe(false);
          expect(c.resources?.requests?.["cpu"], w.metadata.name).toBeDefined();
          expect(c.resources?.limits?.["memory"], w.metadata.name).toBeDefined();
          const graceMs = Number(envOf(c, "TASKJET_SHUTDOWN_GRACE_MS") ?? 0);
          // the worker's runs may take graceMs to finish; then the hand-back and the close need a few seconds
          expect(spec.terminationGracePeriodSeconds! * 1000, w.metadata.name).toBeGreaterThanOrEqual(
            graceMs + 5000,
          );
        }
      }
    });

    it("each role connects as its own NATS user with its own inbox prefix; workers create no topology", () => {
      const secretData = (name: string) =>
        (find(objs, "Secret", name) as unknown as { stringData: Record<string, string> } | undefined)
          ?.stringData;
      const roles: [string, string, string][] = [
        ["Deployment/taskjet-scheduler", "scheduler", "_INBOX_scheduler"],
        ["StatefulSet/taskjet-worker-n1", "worker-n1", "_INBOX_worker_n1"],
        ["StatefulSet/taskjet-worker-n2", "worker-n2", "_INBOX_worker_n2"],
        ["Deployment/taskjet-gateway", "gateway", "_INBOX_gateway"],
      ];
      for (const [ref, user, inbox] of roles) {
        const [kind, name] = ref.split("/") as [string, string];
        const c = podSpec(find(objs, kind, name)!).spec.containers[0]!;
        const secrets = (c.envFrom ?? []).flatMap((e) => (e.secretRef ? [secretData(e.secretRef.name)] : []));
        const creds = secrets.find((s) => s?.["NATS_USER"]);
        expect(creds?.["NATS_USER"], ref).toBe(user);
        expect(creds?.["NATS_PASSWORD"], ref).toBeTruthy();
        expect(natsUsers, "a user of deploy/nats/cluster-users.conf").toContain(user);
        expect(envOf(c, "TASKJET_NATS_INBOX_PREFIX"), ref).toBe(inbox);
        if (kind === "StatefulSet") {
          expect(envOf(c, "TASKJET_NODE")).toBe(user.replace("worker-", ""));
          expect(envOf(c, "TASKJET_CREATE_TOPOLOGY")).toBe("0");
        }
      }
      const config = find(objs, "ConfigMap", "taskjet") as unknown as { data: Record<string, string> };
      expect(config.data["TASKJET_STREAM_REPLICAS"]).toBe(variant.replicas);
    });

    it("selectors select: services, the PDB, the Ingress backend and the autoscaler targets exist", () => {
      const podLabels = (name: string) =>
        workloads(objs).filter(
          (w) =>
            selects(
              (w as unknown as { spec: { selector: { matchLabels: Record<string, string> } } }).spec.selector
                .matchLabels,
              podSpec(w).metadata.labels,
            ) && w.metadata.name === name,
        );
      for (const w of workloads(objs))
        expect(podLabels(w.metadata.name), `${w.metadata.name} selects its pods`).toHaveLength(1);
      const labelsOf = workloads(objs).map((w) => podSpec(w).metadata.labels);
      for (const svc of objs.filter((o) => o.kind === "Service")) {
        const selector = (svc as unknown as { spec: { selector: Record<string, string> } }).spec.selector;
        expect(
          labelsOf.some((l) => selects(selector, l)),
          `Service ${svc.metadata.name}`,
        ).toBe(true);
      }
      const pdb = find(objs, "PodDisruptionBudget", "taskjet-scheduler") as unknown as {
        spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } };
      };
      expect(pdb.spec.minAvailable).toBe(1);
      expect(
        selects(
          pdb.spec.selector.matchLabels,
          podSpec(find(objs, "Deployment", "taskjet-scheduler")!).metadata.labels,
        ),
      ).toBe(true);
      const ingress = find(objs, "Ingress", "taskjet-gateway") as unknown as {
        spec: { rules: { http: { paths: { backend: { service: { name: string } } }[] } }[] };
      };
      for (const p of ingress.spec.rules[0]!.http.paths)
        expect(find(objs, "Service", p.backend.service.name)).toBeDefined();
      for (const a of objs.filter((o) => o.kind === variant.autoscaler)) {
        const target = (a as unknown as { spec: { scaleTargetRef: { kind: string; name: string } } }).spec
          .scaleTargetRef;
        expect(find(objs, target.kind, target.name), `${a.kind} ${a.metadata.name}`).toBeDefined();
      }
      if (variant.autoscaler === "ScaledObject") {
        for (const so of objs.filter((o) => o.kind === "ScaledObject")) {
          const node = so.metadata.name.replace("taskjet-worker-", "");
          const triggers = (
            so as unknown as { spec: { triggers: { type: string; metadata: Record<string, string> }[] } }
          ).spec.triggers;
          expect(
            triggers.every((t) => t.type === "nats-jetstream" && t.metadata["stream"] === "taskjet-run"),
          ).toBe(true);
          // the node's own consumers and the any-node ones, every built-in type and priority
          expect(triggers.map((t) => t.metadata["consumer"]).sort()).toEqual(
            consumersOf(namespace("taskjet"), node, BUILTIN_TYPES)
              .map((c) => c.name)
              .sort(),
          );
        }
      }
    });
  });

  it("NATS Helm values: 3 servers, JetStream on file storage, the committed users and permissions included", () => {
    const values = parse(readFileSync(join(k8sDir, "nats/values.yaml"), "utf8")) as {
      config: {
        cluster: { enabled: boolean; replicas: number };
        jetstream: { enabled: boolean; fileStore: { enabled: boolean; pvc: { enabled: boolean } } };
        monitor: { enabled: boolean };
        merge: Record<string, string>;
      };
    };
    expect(values.config.cluster).toMatchObject({ enabled: true, replicas: 3 });
    expect(values.config.jetstream).toMatchObject({
      enabled: true,
      fileStore: { enabled: true, pvc: { enabled: true } },
    });
    expect(values.config.monitor.enabled).toBe(true);
    const includes = Object.entries(values.config.merge).filter(([k]) => k.endsWith("$include"));
    expect(includes.map(([, file]) => file)).toEqual(["cluster-users.conf"]);
    const users = readFileSync(join(repoRoot, "deploy/nats/cluster-users.conf"), "utf8");
    expect(users).toMatch(/^include permissions\.conf$/m);
    // the --set-file lines of the install command put both committed files into the chart's ConfigMap
    const text = readFileSync(join(k8sDir, "nats/values.yaml"), "utf8");
    for (const file of ["permissions.conf", "cluster-users.conf"]) {
      expect(text).toContain(`data.${file.replace(".", "\\.")}=deploy/nats/${file}`);
    }
  });
});

describe("generated per-node files (deploy/render-node.mjs)", () => {
  it("the committed NATS permission blocks of n1 and n2 and the KEDA ScaledObjects are the renderer's output for the built-in types", () => {
    const read = (f: string) => readFileSync(join(repoRoot, f), "utf8");
    expect(read("deploy/nats/permissions.conf")).toContain(permissionsBlock("n1", BUILTIN_TYPES));
    expect(read("deploy/nats/cluster-users.conf")).toContain(permissionsBlock("n2", BUILTIN_TYPES));
    expect(read("deploy/k8s/components/keda/scaledobjects.yaml")).toBe(kedaFile(["n1", "n2"], BUILTIN_TYPES));
  });
});
