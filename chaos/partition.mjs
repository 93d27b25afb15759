// Partition scenarios of `npm run chaos` (issue 18): three network namespaces stand in for three hosts
// (chaos/netns.mjs), each with one node of a 3-node R3 NATS cluster. Host 0 runs scheduler s1 (the first
// leader) and worker w1, host 1 scheduler s2 and worker w2, host 2 the client that queues the load (and the
// driver, chaos/partitionDriver.mjs, which runs there). The cut lasts CUT_S (20) seconds from FAULT_AT_S.
//   partition-leader-minority  the leading scheduler's host cut off (a minority of one), then healed
//   partition-worker-minority  the host with a worker and the follower scheduler cut off, then healed
//   partition-flap             the leader's host link down 2 s / up 2 s for CUT_S
//   partition-split3           every host cut off from every other for CUT_S (no quorum anywhere)
// Measured per run, besides chaos/tally.mjs's counts: the longest time without any run after the heal
// (stallAfterHealMs, limit twice the lease time) and during the cut, the NATS stream leaders on the cut
// side, and each replica's state of the run stream and job bucket after the drain.
// Load (own defaults, lighter than the other scenarios): PERIOD_JOBS=50 every-second jobs, ONCE_PER_S=50,
// DURATION_S=45 (the heal at 30 s leaves 15 s to see a stall).
// The NATS nodes run the replicated tests' nats-server (natsBinary.ts replicatedNatsServer: 2.9.21+, as
// taskjet refuses replicas on older ones); PARTITION_NATS_SERVER overrides it. PARTITION_KEEP=1 keeps each
// run's directory (every process's log, the runs file, the NATS stores) and prints its path;
// PARTITION_LOG_LEVEL=info logs the services' leadership changes there; PARTITION_NATS_TUNED=1 runs the
// servers with write_deadline and ping_interval 2 s, ping_max 2 (measured: no shorter stalls).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { replicatedNatsServer } from "@taskjet/testing";
import { createLab, netnsUnavailable } from "./netns.mjs";
import { atExit, child, root } from "./services.mjs";

export const partitionScenarios = [
  "partition-leader-minority",
  "partition-worker-minority",
  "partition-flap",
  "partition-split3",
];

/** The driver's deadline: startup, load, drain and a margin; it is killed past it. */
const DRIVER_DEADLINE_MS = 10 * 60_000;

/** One run of a partition scenario in a fresh lab; resolves to the run's result (with `error` on failure). */
export async function runPartition(scenario) {
  const unavailable = netnsUnavailable();
  if (unavailable) return { scenario, error: unavailable };
  const dir = mkdtempSync(join(tmpdir(), "taskjet-partition-"));
  const removeDir = () => {
    if (!process.env.PARTITION_KEEP) rmSync(dir, { recursive: true, force: true });
  };
  let lab;
  try {
    lab = createLab(3);
    // on a signal too, after the lab's teardown (registered first): nothing writes there any more
    atExit(removeDir);
    const env = {
      ...process.env,
      PARTITION_SCENARIO: scenario,
      PARTITION_LAB: JSON.stringify(lab.spec),
      PARTITION_DIR: dir,
      PARTITION_NATS_SERVER: process.env.PARTITION_NATS_SERVER ?? replicatedNatsServer(),
    };
    const driver = child(process.execPath, [join(root, "chaos/partitionDriver.mjs")], {
      env,
      netns: lab.spec.hosts[2].ns,
    });
    const deadline = setTimeout(() => void driver.kill(), DRIVER_DEADLINE_MS);
    const { code, signal } = await driver.exited;
    clearTimeout(deadline);
    try {
      return JSON.parse(readFileSync(join(dir, "result.json"), "utf8"));
    } catch {
      return {
        scenario,
        error: `the driver exited (${code ?? signal}) without a result`,
        log: driver.log().slice(-4000),
      };
    }
  } catch (err) {
    return { scenario, error: String(err?.stack ?? err) };
  } finally {
    lab?.teardown();
    if (process.env.PARTITION_KEEP)
      console.error(`partition: ${scenario}: kept ${dir} (logs, runs.log, stores)`);
    removeDir();
  }
}
