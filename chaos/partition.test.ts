/**
 * `npm run test:partition`: one run of chaos/run.mjs's `partition-leader-minority` (three network namespaces
 * with a 3-node R3 cluster, the leading scheduler's host cut off for 20 s and healed; about 75-95 s). It needs
 * root and iproute2: as root it always runs, and a missing `ip` fails it. Elsewhere it is skipped with the
 * reason, unless TASKJET_REQUIRE_NETNS=1 turns that into a failure. Not part of `npm test`: it failed 1 of 7
 * runs on this machine with the cause not captured (each assertion now carries the run's figures).
 *
 * What it asserts is what the suite measured to hold on nats-server 2.10 (bench/RESULTS.md, "Partitions"):
 * no accepted job lost; no fire run twice, except one whose first run was during the cut (its ack and
 * outcome could not get through: on the cut-off worker, or acked to a consumer leader on the cut-off side;
 * for taskjet that is a worker that died mid-run, which promise 3 allows; the suite counts those apart); no
 * period fire missed outside the fault window; runs
 * resume after the heal. The target for that stall, twice the lease time (4 s), is not asserted:
 * after the heal the rejoining node's higher raft term makes every stream it is in elect again, and
 * JetStream answers no store or stream request for 6-7 s in some runs (docs/operations.md, "Partitions").
 * 15 s still catches the stalls the issue saw (runs stopped for 80-91 s).
 */
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";

const reason = process.getuid?.() === 0 ? undefined : "network namespaces need root";
if (reason && process.env["TASKJET_REQUIRE_NETNS"] === "1")
  throw new Error(`chaos/partition.test.ts: TASKJET_REQUIRE_NETNS=1 but ${reason}`);

interface PartitionResult {
  scenario: string;
  error?: string;
  accepted: number;
  lostOnce: number;
  duplicateOnce: number;
  duplicatePeriod: number;
  duplicatesFirstRunInCut: number;
  periodFires: number;
  periodMissed: number;
  stallAfterHealMs: number;
}

/** Runs chaos/run.mjs for one scenario, one run; resolves to its JSON result line. */
function runScenario(scenario: string): Promise<PartitionResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["chaos/run.mjs"], {
      env: { ...process.env, CHAOS: scenario, REPEAT: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    p.stdout.on("data", (d) => (out += String(d)));
    p.stderr.on("data", (d) => (out += String(d)));
    p.once("error", reject);
    p.once("exit", () => {
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (!line) return reject(new Error(`chaos/run.mjs printed no result:\n${out.slice(-4000)}`));
      resolve(JSON.parse(line) as PartitionResult);
    });
  });
}

describe("network partitions (chaos/partition.mjs)", () => {
  it.skipIf(reason !== undefined)(
    "the leader's host cut off for 20 s and healed: 0 lost, no fire run twice but runs the cut interrupted, runs resume",
    async () => {
      const r = await runScenario("partition-leader-minority");
      // every figure of the run in each failure's message: a failed run says why without a second one
      const all = JSON.stringify(r);
      expect(r.error, all).toBeUndefined();
      expect(r.accepted, all).toBeGreaterThan(500);
      expect(r.lostOnce, all).toBe(0);
      expect(r.periodFires, all).toBeGreaterThan(1000);
      expect(r.duplicateOnce + r.duplicatePeriod - r.duplicatesFirstRunInCut, all).toBe(0);
      expect(r.periodMissed, all).toBe(0);
      expect(r.stallAfterHealMs, all).toBeLessThanOrEqual(15_000);
    },
    180_000,
  );
});
