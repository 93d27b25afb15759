// Draws a soak's samples (bench/out/soak-*.jsonl, from taskjet-soak.mjs) as bench/soak.png with gnuplot
// (Debian: apt-get install gnuplot-nox): each process's RSS, and the period fires' lateness p50/p99 per
// sample, over the soak's minutes.   node bench/plot-soak.mjs bench/out/soak-<time>.jsonl [out.png]
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const [file, out = fileURLToPath(new URL("soak.png", import.meta.url))] = process.argv.slice(2);
if (!file) throw new Error("usage: node bench/plot-soak.mjs <soak samples .jsonl> [out.png]");
const samples = readFileSync(file, "utf8")
  .split("\n")
  .filter(Boolean)
  .map((l) => JSON.parse(l));
const dir = mkdtempSync(join(tmpdir(), "soak-plot-"));
const data = join(dir, "soak.dat");
writeFileSync(
  data,
  samples
    .map((s) =>
      [
        s.minute.toFixed(3),
        s.rssMb.scheduler.toFixed(1),
        s.rssMb.worker.toFixed(1),
        s.rssMb.nats.toFixed(1),
        s.worker?.late?.p50 ?? "NaN",
        s.worker?.late?.p99 ?? "NaN",
        s.jobsBucket?.messages ?? "NaN",
      ].join(" "),
    )
    .join("\n"),
);
const script = `
set terminal pngcairo size 1200,800 font "sans,11"
set output "${out}"
set multiplot layout 2,1 title "taskjet soak: ${samples.length} samples, ${samples.at(-1)?.minute.toFixed(0)} minutes"
set grid
set xlabel "minutes"
set ylabel "RSS (MiB)"
set key outside right
plot "${data}" using 1:2 with lines lw 2 title "scheduler", "" using 1:3 with lines lw 2 title "worker", "" using 1:4 with lines lw 2 title "nats-server"
set ylabel "lateness (ms)"
set y2label "job bucket messages"
set y2tics
plot "${data}" using 1:5 with lines lw 2 title "p50", "" using 1:6 with lines lw 2 title "p99", 100 with lines dt 2 lc "red" title "100 ms target", "" using 1:7 axes x1y2 with lines lc "gray" title "job bucket messages"
unset multiplot
`;
execFileSync("gnuplot", { input: script });
console.log(`wrote ${out}`);
