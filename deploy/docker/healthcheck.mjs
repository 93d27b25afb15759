// The image's HEALTHCHECK: GET /healthz of the taskjet service this container runs, on the port that
// service listens on. The role comes from the running command line (/proc/*/cmdline), so one image serves
// every role: the gateway answers on its HTTP port (--port, TASKJET_GATEWAY_PORT, 8080), the scheduler and
// the worker on TASKJET_METRICS_PORT (the image sets 9464). Exit 0 when it answers 200, else 1.
import { readdirSync, readFileSync } from "node:fs";
import { request } from "node:http";

const ROLE = /services\/(scheduler|worker|gateway)\/dist\/main\.js$/;

function serviceCommand() {
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    let argv;
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue; // gone meanwhile
    }
    const at = argv.findIndex((a) => ROLE.test(a));
    if (at >= 0) return { role: ROLE.exec(argv[at])[1], args: argv.slice(at + 1) };
  }
  return undefined;
}

function flag(args, name) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) return args[i + 1];
    if (args[i].startsWith(`${name}=`)) return args[i].slice(name.length + 1);
  }
  return undefined;
}

const cmd = serviceCommand();
if (!cmd) {
  // a one-shot command (the CLI, a migration): no endpoint to check
  console.log("healthcheck: no taskjet service runs here");
  process.exit(0);
}
const env = process.env;
let port;
let host = "127.0.0.1";
if (cmd.role === "gateway") {
  port = flag(cmd.args, "--port") ?? env.TASKJET_GATEWAY_PORT ?? "8080";
  const listen = flag(cmd.args, "--host") ?? env.TASKJET_GATEWAY_HOST;
  if (listen && listen !== "0.0.0.0" && listen !== "::") host = listen;
} else {
  port = env.TASKJET_METRICS_PORT;
  if (!port) {
    console.log(`healthcheck: the ${cmd.role} serves /healthz only with TASKJET_METRICS_PORT set`);
    process.exit(1);
  }
}
const req = request({ host, port: Number(port), path: "/healthz", timeout: 2000 }, (res) => {
  res.resume();
  console.log(`healthcheck: ${cmd.role} http://${host}:${port}/healthz ${res.statusCode}`);
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on("timeout", () => req.destroy(new Error("timed out after 2 s")));
req.on("error", (err) => {
  console.log(`healthcheck: ${cmd.role} http://${host}:${port}/healthz ${err.message}`);
  process.exit(1);
});
req.end();
