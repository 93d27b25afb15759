// Reads a process's RSS and CPU time from /proc (Linux), for processes the benchmark spawned.
import { readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100;

export function procStat(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpuMs = ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND) * 1000;
    return { rssMb: rssKb / 1024, cpuMs };
  } catch {
    return { rssMb: NaN, cpuMs: NaN };
  }
}
