// The Kubernetes manifests run: deploy/k8s/overlays/dev is rendered with `kubectl kustomize`, and each
// workload's container starts from the taskjet image with the manifest's args, env (envFrom ConfigMap and
// Secrets, fieldRefs as the kubelet fills them), user, dropped capabilities and emptyDir mounts, against a
// NATS server from the local image running deploy/nats/taskjet-cluster.conf with the passwords of the
// manifests' Secrets (testcontainers drives both; Ryuk is off, the test removes what it started). The
// probes are then checked as the kubelet checks them: startup within failureThreshold x periodSeconds,
// then readiness and liveness, an HTTP status 200-399 within timeoutSeconds. A job queued through the
// gateway runs on the worker of node n2. Last, each container gets SIGTERM and must exit 0 within its
// terminationGracePeriodSeconds.
// Where a pod and the host differ (containers share the host's network here): NATS_URL points at the test's
// server instead of the cluster DNS name, and each containerPort becomes a free host port, in the env
// variable that sets it and in the probes alike (manifests.test.ts checks that those name the same port).
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StartedTestContainer } from "testcontainers";
import { waitFor } from "@taskjet/testing";
import { k8sDir, kubectlMissing, render, type K8sObject } from "../manifests.js";
import { freePort, http, NATS_IMAGE, repoRoot, sh, TASKJET_IMAGE, whyNoContainers } from "./support.js";

// testcontainers' reaper (Ryuk) is an image from a registry this machine cannot reach; and with no bridge
// network (the engine runs with --bridge=none) it cannot look the host up through the bridge's gateway
process.env["TESTCONTAINERS_RYUK_DISABLED"] = "true";
process.env["TESTCONTAINERS_HOST_OVERRIDE"] ??= "127.0.0.1";

const reason =
  kubectlMissing() ??
  (await whyNoContainers("deploy/test/containers/k8s-smoke.test.ts", [TASKJET_IMAGE, NATS_IMAGE]));

interface Probe {
  httpGet: { path: string; port: string | number };
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}
interface ContainerSpec {
  name: string;
  args: string[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: {
      fieldRef?: { fieldPath: string };
      secretKeyRef?: { name: string; key: string };
      configMapKeyRef?: { name: string; key: string };
    };
  }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports: { name: string; containerPort: number }[];
  startupProbe: Probe;
  livenessProbe: Probe;
  readinessProbe: Probe;
  securityContext?: { capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface Workload extends K8sObject {
  spec: {
    template: {
      spec: {
        terminationGracePeriodSeconds: number;
        securityContext: { runAsUser: number; runAsGroup: number };
        containers: ContainerSpec[];
        volumes?: { name: string; emptyDir?: object }[];
      };
    };
  };
}

interface Running {
  name: string;
  container: StartedTestContainer;
  /** containerPort name -> host port */
  ports: Record<string, number>;
  spec: ContainerSpec;
  graceSeconds: number;
}

describe.skipIf(reason)("deploy/k8s/overlays/dev, run container by container", () => {
  const objs = render(join(k8sDir, "overlays/dev"));
  const data = (kind: string, name: string) => {
    const o = objs.find((x) => x.kind === kind && x.metadata.name === name) as
      (K8sObject & { data?: Record<string, string>; stringData?: Record<string, string> }) | undefined;
    if (!o) throw new Error(`${kind} ${name} is not in the overlay`);
    return (kind === "Secret" ? o.stringData : o.data) ?? {};
  };
  const started: StartedTestContainer[] = [];
  const running: Record<string, Running> = {};
  let natsUrl = "";

  const natsLog: string[] = [];

  beforeAll(async () => {
    const tc = await import("testcontainers");
    const [port, monitor] = [await freePort(), await freePort()];
    const password = (secret: string) => data("Secret", secret)["NATS_PASSWORD"]!;
    const nats = await new tc.GenericContainer(NATS_IMAGE)
      .withNetworkMode("host")
      .withBindMounts([{ source: join(repoRoot, "deploy/nats"), target: "/etc/nats/taskjet", mode: "ro" }])
      .withEnvironment({
        TASKJET_SCHEDULER_PASSWORD: password("taskjet-nats-scheduler"),
        TASKJET_WORKER_N1_PASSWORD: password("taskjet-nats-worker-n1"),
        TASKJET_WORKER_N2_PASSWORD: password("taskjet-nats-worker-n2"),
        TASKJET_GATEWAY_PASSWORD: password("taskjet-nats-gateway"),
        // a value starting with a digit is not a string to nats-server's $VARIABLE parsing
        TASKJET_TENANT_ACME_PASSWORD: `pw-${randomBytes(8).toString("hex")}`,
        TASKJET_TENANT_GLOBEX_PASSWORD: `pw-${randomBytes(8).toString("hex")}`,
      })
      .withCommand([
        "-c",
        "/etc/nats/taskjet/taskjet-cluster.conf",
        "-a",
        "127.0.0.1",
        "-p",
        `${port}`,
        "-m",
        `${monitor}`,
      ])
      .withLogConsumer((s) => s.on("data", (d: Buffer) => natsLog.push(String(d))))
      .withWaitStrategy(tc.Wait.forLogMessage(/Server is ready/))
      .withStartupTimeout(60_000)
      .start()
      .catch((err: unknown) => {
        console.log(`NATS did not start:\n${natsLog.join("")}`);
        throw err;
      });
    started.push(nats);
    natsUrl = `nats://127.0.0.1:${port}`;
  }, 120_000);

  afterAll(async () => {
    for (const c of started.reverse()) await c.stop({ timeout: 1000 }).catch(() => undefined);
  }, 120_000);

  /** Starts a workload's first container as its manifest says, on the host's network. */
  async function start(kind: string, name: string): Promise<Running> {
    const tc = await import("testcontainers");
    const w = objs.find((o) => o.kind === kind && o.metadata.name === name) as Workload;
    const pod = w.spec.template.spec;
    const spec = pod.containers[0]!;
    const podName = kind === "StatefulSet" ? `${name}-0` : `${name}-smoke`;
    const env: Record<string, string> = {};
    for (const from of spec.envFrom ?? []) {
      if (from.configMapRef) Object.assign(env, data("ConfigMap", from.configMapRef.name));
      if (from.secretRef) Object.assign(env, data("Secret", from.secretRef.name));
    }
    for (const e of spec.env ?? []) {
      const v = e.valueFrom;
      if (e.value !== undefined) env[e.name] = e.value;
      else if (v?.fieldRef?.fieldPath === "metadata.name") env[e.name] = podName;
      else if (v?.secretKeyRef) env[e.name] = data("Secret", v.secretKeyRef.name)[v.secretKeyRef.key]!;
      else if (v?.configMapKeyRef)
        env[e.name] = data("ConfigMap", v.configMapKeyRef.name)[v.configMapKeyRef.key]!;
      else throw new Error(`${name}: env ${e.name} has a source this test does not fill`);
    }
    env["NATS_URL"] = natsUrl;
    const ports: Record<string, number> = {};
    for (const p of spec.ports) {
      ports[p.name] = await freePort();
      const setting = Object.keys(env).find(
        (k) =>
          (k === "TASKJET_METRICS_PORT" || k === "TASKJET_GATEWAY_PORT") &&
          env[k] === String(p.containerPort),
      );
      expect(setting, `${name}: the env variable that sets port ${p.containerPort}`).toBeDefined();
      env[setting!] = String(ports[p.name]);
    }
    const tmpfs = Object.fromEntries(
      (spec.volumeMounts ?? [])
        .filter((m) => pod.volumes?.find((v) => v.name === m.name)?.emptyDir)
        .map((m) => [m.mountPath, "rw"]),
    );
    const container = await new tc.GenericContainer(TASKJET_IMAGE)
      .withNetworkMode("host")
      .withName(`${podName}-${randomBytes(3).toString("hex")}`)
      .withCommand(spec.args)
      .withEnvironment(env)
      .withUser(`${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`)
      .withDroppedCapabilities(...(spec.securityContext?.capabilities?.drop ?? []))
      .withTmpFs(tmpfs)
      .withStartupTimeout(60_000)
      .start();
    started.push(container);
    const r = { name, container, ports, spec, graceSeconds: pod.terminationGracePeriodSeconds };
    running[name] = r;
    return r;
  }

  /** One probe attempt as the kubelet makes it: GET, success on 200-399 within timeoutSeconds. */
  async function probeOnce(r: Running, probe: Probe): Promise<boolean> {
    const port = typeof probe.httpGet.port === "number" ? probe.httpGet.port : r.ports[probe.httpGet.port];
    try {
      const res = await http(`http://127.0.0.1:${port}${probe.httpGet.path}`, {
        timeoutMs: (probe.timeoutSeconds ?? 1) * 1000,
      });
      return res.status >= 200 && res.status < 400;
    } catch {
      return false;
    }
  }

  /** Polls a probe at its period until it passes, failing after failureThreshold x periodSeconds. */
  async function passes(
    r: Running,
    kind: "startupProbe" | "readinessProbe" | "livenessProbe",
    attempts?: number,
  ) {
    const probe = r.spec[kind];
    const period = (probe.periodSeconds ?? 10) * 1000;
    const limit = attempts ?? probe.failureThreshold ?? 3;
    await waitFor(() => probeOnce(r, probe), {
      timeoutMs: limit * period,
      intervalMs: period,
      message: `${r.name} ${kind} ${probe.httpGet.path}`,
    });
  }

  const workloads = [
    ["Deployment", "taskjet-scheduler"],
    ["Deployment", "taskjet-gateway"],
    ["StatefulSet", "taskjet-worker-n1"],
    ["StatefulSet", "taskjet-worker-n2"],
  ] as const;

  it.each(workloads)(
    "%s %s starts and passes its startup, readiness and liveness probes",
    async (kind, name) => {
      const r = await start(kind, name);
      await passes(r, "startupProbe");
      // readiness may wait for NATS and the store: give it 12 periods (a pod stays unready meanwhile)
      await passes(r, "readinessProbe", 12);
      await passes(r, "livenessProbe", 1);
    },
  );

  it("works end to end: a job queued through the gateway with the Secret's token runs on worker n2", async () => {
    const gateway = running["taskjet-gateway"]!;
    const token = data("Secret", "taskjet-gateway")["TASKJET_GATEWAY_TOKENS"]!.split(",")[0]!;
    const id = `smoke-${randomBytes(3).toString("hex")}`;
    const base = `http://127.0.0.1:${gateway.ports["http"]}`;
    const queued = await http(`${base}/v1/jobs`, {
      token,
      body: { id, name: id, type: "console", args: { message: "smoke" }, nodeName: "n2" },
    });
    expect(queued.status, JSON.stringify(queued.body)).toBe(201);
    const entries = await waitFor(
      async () => {
        const r = await http(`${base}/v1/jobs/${id}/logs`, { token });
        const list = (r.body as { entries?: { outcome: string; node?: string }[] }).entries ?? [];
        return list.some((e) => e.outcome === "succeeded") && list;
      },
      { timeoutMs: 30_000, intervalMs: 250, message: "the smoke job ran" },
    );
    expect(entries.find((e) => e.outcome === "succeeded")?.node).toBe("n2");
  });

  it("each container stops on SIGTERM with exit code 0 within its terminationGracePeriodSeconds", async () => {
    for (const name of ["taskjet-worker-n1", "taskjet-worker-n2", "taskjet-gateway", "taskjet-scheduler"]) {
      const r = running[name]!;
      const id = r.container.getId();
      const t0 = Date.now();
      await sh("docker", ["kill", "--signal", "TERM", id]);
      const state = await waitFor(
        async () => {
          const [status, code] = (
            await sh("docker", ["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", id])
          )
            .trim()
            .split(" ");
          return status === "exited" && code;
        },
        {
          timeoutMs: r.graceSeconds * 1000,
          intervalMs: 100,
          message: `${name} exits within ${r.graceSeconds} s`,
        },
      );
      expect(`${name} exit ${state}`).toBe(`${name} exit 0`);
      console.log(
        `k8s-smoke: ${name} stopped on SIGTERM in ${Date.now() - t0} ms (grace ${r.graceSeconds} s)`,
      );
    }
  });
});
