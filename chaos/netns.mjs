// A lab of Linux network namespaces standing in for hosts (issue 18): one hub namespace holding a bridge,
// and one namespace per host with a veth link to that bridge and the address 10.77.0.<11+i>/24. Addresses
// exist only inside these namespaces; the machine's own network is not touched. A host is cut off by
// setting its link's bridge end down (packets are dropped silently, as on a real partition: no reset, no
// error, TCP keeps retransmitting) and healed by setting it up again.
//
// Names are unique per lab (`tj<pid><random>-h`, `-0`, `-1`, ...). `teardown` kills every process still
// inside the lab's namespaces (a namespace lives as long as a process is in it) and deletes them; it runs
// at exit and on SIGINT/SIGTERM too (services.mjs atExit). Needs root and iproute2 (`ip`).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { atExit } from "./services.mjs";

function ip(args, { check = true } = {}) {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (check && r.status !== 0)
    throw new Error(`ip ${args.join(" ")} failed (${r.status ?? r.error}): ${(r.stderr ?? "").trim()}`);
  return r;
}

/** Why network namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailable() {
  if (process.getuid?.() !== 0) return "network namespaces need root (ip netns add)";
  const r = spawnSync("ip", ["-V"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return "iproute2's `ip` is not on PATH (apt-get install iproute2)";
  return undefined;
}

/**
 * Creates the lab: `hosts` namespaces linked through a bridge. The returned spec is plain data (it is
 * handed to processes inside the lab as JSON): `{ hub, hosts: [{ ns, ip, link }] }`.
 */
export function createLab(hosts = 3) {
  const id = `tj${process.pid.toString(36)}${randomBytes(2).toString("hex")}`;
  const spec = {
    hub: `${id}-h`,
    hosts: Array.from({ length: hosts }, (_, i) => ({
      ns: `${id}-${i}`,
      ip: `10.77.0.${11 + i}`,
      link: `v${i}`,
    })),
  };
  let removed = false;
  const teardown = () => {
    if (removed) return;
    removed = true;
    for (const ns of [...spec.hosts.map((h) => h.ns), spec.hub]) {
      const pids = ip(["netns", "pids", ns], { check: false }).stdout ?? "";
      for (const pid of pids.split("\n").filter(Boolean)) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // gone already
        }
      }
      ip(["netns", "del", ns], { check: false });
    }
  };
  atExit(teardown);
  try {
    ip(["netns", "add", spec.hub]);
    ip(["-n", spec.hub, "link", "set", "lo", "up"]);
    ip(["-n", spec.hub, "link", "add", "br0", "type", "bridge"]);
    ip(["-n", spec.hub, "link", "set", "br0", "up"]);
    for (const h of spec.hosts) {
      ip(["netns", "add", h.ns]);
      ip(["-n", h.ns, "link", "set", "lo", "up"]);
      ip(["-n", spec.hub, "link", "add", h.link, "type", "veth", "peer", "name", "eth0", "netns", h.ns]);
      ip(["-n", spec.hub, "link", "set", h.link, "master", "br0"]);
      ip(["-n", spec.hub, "link", "set", h.link, "up"]);
      ip(["-n", h.ns, "addr", "add", `${h.ip}/24`, "dev", "eth0"]);
      ip(["-n", h.ns, "link", "set", "eth0", "up"]);
    }
  } catch (err) {
    teardown();
    throw err;
  }
  return { spec, teardown };
}

/** Cuts host `i` of the lab off from all others (its link to the bridge down). */
export function cut(spec, i) {
  ip(["-n", spec.hub, "link", "set", spec.hosts[i].link, "down"]);
}

/** Heals host `i` (its link up again). */
export function heal(spec, i) {
  ip(["-n", spec.hub, "link", "set", spec.hosts[i].link, "up"]);
}
