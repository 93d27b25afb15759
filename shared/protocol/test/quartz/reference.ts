/**
 * Runs Quartz itself (QuartzReference.java on Debian's libquartz2-java) over a corpus, and taskjet's
 * quartz dialect with the `quartz` DST rule over the same corpus, as comparable outcomes.
 *
 * Java is found on PATH (or JAVA env: the java binary); the jar at QUARTZ_JAR or under /usr/share/java
 * (`apt-get install libquartz2-java`; .ci/run installs it). QuartzReference.java runs as a single-file
 * source launch, so nothing is compiled into the tree.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { compileCron, ValidationError } from "@taskjet/protocol";
import type { Case } from "./corpus.js";

/** `hang`: Quartz accepted the expression and then looped (the reference gave up after 3 s). */
export type Outcome = { kind: "ok"; fires: number[] } | { kind: "err"; message: string } | { kind: "hang" };

export function findJava(): string | undefined {
  const java = process.env.JAVA ?? "java";
  const r = spawnSync(java, ["-version"], { encoding: "utf8" });
  return r.status === 0 ? java : undefined;
}

export function findQuartzJar(): string | undefined {
  if (process.env.QUARTZ_JAR) return process.env.QUARTZ_JAR;
  const dir = "/usr/share/java";
  if (!existsSync(dir)) return undefined;
  const jars = readdirSync(dir).filter((f) => /^quartz2?(-2\.3\.2)?\.jar$/.test(f));
  const best = jars.find((f) => f.includes("2.3.2")) ?? jars.find((f) => f === "quartz2.jar");
  return best ? join(dir, best) : undefined;
}

/** Quartz's outcome of every case, by id. */
export function runQuartz(java: string, jar: string, cases: readonly Case[]): Map<string, Outcome> {
  const source = join(dirname(fileURLToPath(import.meta.url)), "QuartzReference.java");
  const out = new Map<string, Outcome>();
  let rest = cases;
  while (rest.length > 0) {
    const input = rest.map((c) => [c.id, c.zone, c.afterMs, c.count, c.expression].join("\t")).join("\n");
    const r = spawnSync(java, ["-cp", jar, source], { input, encoding: "utf8", maxBuffer: 64 << 20 });
    for (const line of r.stdout.split("\n")) {
      if (!line) continue;
      const [id, kind, text = ""] = line.split("\t");
      out.set(
        id!,
        kind === "ok"
          ? { kind: "ok", fires: text === "" ? [] : text.split(",").map(Number) }
          : kind === "hang"
            ? { kind: "hang" }
            : { kind: "err", message: text },
      );
    }
    // status 3: a case hung; go on after it
    if (r.status !== 0 && r.status !== 3)
      throw new Error(`QuartzReference failed (${r.status}): ${r.stderr}`);
    rest = rest.filter((c) => !out.has(c.id));
    if (r.status === 0 && rest.length > 0)
      throw new Error(`QuartzReference left ${rest.length} cases unanswered`);
  }
  return out;
}

/** taskjet's outcome of a case: the quartz dialect with the quartz DST rule. */
export function runTaskjet(c: Case): Outcome {
  try {
    const schedule = compileCron({
      expression: c.expression,
      dialect: "quartz",
      timeZone: c.zone,
      dstRule: "quartz",
    });
    const fires: number[] = [];
    let t = c.afterMs;
    for (let i = 0; i < c.count; i++) {
      const next = schedule.next(t);
      if (next === undefined) break;
      fires.push(next);
      t = next;
    }
    return { kind: "ok", fires };
  } catch (err) {
    if (err instanceof ValidationError && err.field === "cron") return { kind: "err", message: err.message };
    throw err;
  }
}
