/**
 * The corpus of the quartz differential test: every construct of Quartz's grammar (valid and invalid), the
 * seed's strings, the Quartz tutorial's examples, in UTC, Europe/Berlin and America/New_York, from ordinary
 * starts and from starts just before (and inside) each 2026 DST change of both zones.
 */

export interface Case {
  id: string;
  zone: string;
  afterMs: number;
  count: number;
  expression: string;
}

/** The seed's four strings, exactly as its users wrote them (trailing spaces included). */
export const seedStrings = ["0/5 * * * * ? ", "0/30 * * * * ? ", "0 0 0/2 * * ? ", "0 0/10 * * * ? *"];

/** The examples of Quartz's CronTrigger tutorial (years moved to 2026-2028 so they still fire). */
const tutorial = [
  "0 0 12 * * ?",
  "0 15 10 ? * *",
  "0 15 10 * * ?",
  "0 15 10 * * ? *",
  "0 15 10 * * ? 2027",
  "0 * 14 * * ?",
  "0 0/5 14 * * ?",
  "0 0/5 14,18 * * ?",
  "0 0-5 14 * * ?",
  "0 10,44 14 ? 3 WED",
  "0 15 10 ? * MON-FRI",
  "0 15 10 15 * ?",
  "0 15 10 L * ?",
  "0 15 10 L-2 * ?",
  "0 15 10 ? * 6L",
  "0 15 10 ? * 6L 2026-2028",
  "0 15 10 ? * 6#3",
  "0 0 12 1/5 * ?",
  "0 11 11 11 11 ?",
];

/** One or more expressions per construct of the grammar. */
const constructs = [
  // seconds, minutes, hours: values, lists, ranges, steps, wrap-around
  "* * * * * ?",
  "5 * * * * ?",
  "0,15,30,45 * * * * ?",
  "10-20 * * * * ?",
  "55-5 * * * * ?",
  "*/7 * * * * ?",
  "/20 * * * * ?",
  "5/15 * * * * ?",
  "10-50/20 * * * * ?",
  "50-10/5 * * * * ?",
  "0 */13 * * * ?",
  "0 55-5 * * * ?",
  "0 0 22-2 * * ?",
  "0 0 22-2/2 * * ?",
  "0 0 */5 * * ?",
  "0 0 0/23 * * ?",
  "0 0 9-17 ? * MON-FRI",
  "0 30 08 * * ?",
  "0\t30  9 * * ?",
  // day of month
  "0 0 12 1,15 * ?",
  "0 0 12 28-3 * ?",
  "0 0 12 29 * ?",
  "0 0 12 31 * ?",
  "0 0 12 */10 * ?",
  "0 0 12 L * ?",
  "0 0 12 L-0 * ?",
  "0 0 12 L-1 * ?",
  "0 0 12 L-15 * ?",
  "0 0 12 L-27 * ?",
  "0 0 12 LW * ?",
  "0 0 12 L-3W * ?",
  "0 0 12 L-30 * ?",
  "0 0 12 1W * ?",
  "0 0 12 15W * ?",
  "0 0 12 28W * ?",
  "0 0 12 30W * ?",
  "0 0 12 31W * ?",
  "0 0 0 lw * ?",
  // month
  "0 0 12 1 JAN,JUL ?",
  "0 0 12 1 NOV-FEB ?",
  "0 0 12 1 2-4 ?",
  "0 0 12 1 */4 ?",
  "0 0 12 1 11-2 ?",
  "0 0 12 1 jun ?",
  // day of week
  "0 0 12 ? * 1",
  "0 0 12 ? * 7",
  "0 0 12 ? * SUN",
  "0 0 12 ? * MON,WED,FRI",
  "0 0 12 ? * FRI-MON",
  "0 0 12 ? * 6-2",
  "0 0 12 ? * */2",
  "0 0 12 ? * 2/3",
  "0 0 0 ? * L",
  "0 0 12 ? * 1L",
  "0 0 12 ? * 2L",
  "0 0 12 ? * 7L",
  "0 0 12 ? * FRIL",
  "0 0 12 ? * 2#1",
  "0 0 12 ? * 4#5",
  "0 0 12 ? * MON#2",
  "0 0 12 ? * 1#5",
  "0 0 12 ? * tue",
  // years
  "0 0 12 1 1 ? 2027",
  "0 0 12 1 * ? 2026-2027",
  "0 0 12 1 1 ? 2026/2",
  "0 0 12 1 1 ? 2026,2029",
  "0 0 12 * * ? 2025",
  // DST-sensitive: fixed times in and around the shifted hours, intervals through them
  "0 30 2 * * ?",
  "0 30 1 * * ?",
  "0 0 2 * * ?",
  "0 0 3 * * ?",
  "0 30 2,3 * * ?",
  "0 0 1-3 * * ?",
  "0 * 2 * * ?",
  "0 0/30 * * * ?",
  "0 15 * * * ?",
  "0 0 * * * ?",
  "0 0 0/1 * * ?",
  "0 0/1 * * * ?",
  "0 59 1 * * ?",
  "0 30 2 ? * SUN",
  "0 30 2 L * ?",
];

/** Valid forms on which Quartz loops forever (the reference gives up after 3 s): one case each, in UTC. */
const quartzLoops = ["0 0 12 L-29W * ?"];

/** Forms Quartz rejects, and forms taskjet rejects although Quartz's parser lets them through. */
const invalid = [
  "0 0 12 1 * MON",
  "0 0 12 * * MON-FRI",
  "0 0 12 * * *",
  "0 0 12 ? * ?",
  "0 0 0 L,15 * ?",
  "0 0 0 LW,1 * ?",
  "0 0 0 ? * 5L,6",
  "0 0 0 ? * 6#3,2#1",
  "0/60 * * * * ?",
  "0 0/60 * * * ?",
  "0 0 0/24 * * ?",
  "0 0 0 1/32 * ?",
  "0 0 0 ? * 1/8",
  "0 0 0 1 1/13 ?",
  "61 * * * * ?",
  "0 60 * * * ?",
  "0 0 24 * * ?",
  "0 0 0 0 * ?",
  "0 0 0 32 * ?",
  "0 0 0 1 13 ?",
  "0 0 0 1 0 ?",
  "0 0 0 ? * 8",
  "0 0 0 ? * 0",
  "0 0 0 * *",
  "* * * * *",
  "0 0 0 * * ? * 5",
  "0 0 12X * * ?",
  "0 0 12 ? * MONDAY",
  "0 0 12 15W,20 * ?",
  "0 0 12 1-5W * ?",
  "*/0 * * * * ?",
  "5/0 * * * * ?",
  "0 0 0 ? * LW",
  "0 0 0 ? * L-2",
  "0 0 0 0W * ?",
  "0 0 0 32W * ?",
  "0 0 0 ? * 6#6",
  "0 0 0 ? * 6#0",
  "0 0 0 ? * 0#3",
  "0 0 0 ? * 8L",
  "? 0 0 * * ?",
  "0 L 0 * * ?",
  "0 0 0 W * ?",
  "0 0 0 L-31 * ?",
  "0 0 0 L-2,5 * ?",
  "0 0 0 1 1 ? 2200",
  "0 0 0 1 1 ? 2030-2026",
  "0 0 0 ? * MON/2",
  "0 0 0 1 JAN-JUN/2 ?",
  "0 0 0 1 FOO ?",
  "0 0 0 ? * XYZ",
  "0 0 0 5C * ?",
  "0 0 0 ?? * 1",
  "0 0-59/60 * * * ?",
  "0 0 0 30 2 ?",
  "every monday",
  "0 0 0 1-  * ?",
  "0 0 0 * * ? */2",
];

const utc = (iso: string) => Date.parse(iso);

/** Ordinary starts, and for each zone the instants around its 2026 DST changes. */
const ordinaryStarts = [utc("2026-01-05T10:00:00Z"), utc("2026-06-15T12:34:56Z")];
const dstChanges: Record<string, number[]> = {
  UTC: [],
  "Europe/Berlin": [utc("2026-03-29T01:00:00Z"), utc("2026-10-25T01:00:00Z")],
  "America/New_York": [utc("2026-03-08T07:00:00Z"), utc("2026-11-01T06:00:00Z")],
};
export const zones = Object.keys(dstChanges);

function startsFor(zone: string, expression: string): number[] {
  const starts = [...ordinaryStarts];
  const everySecond = expression.trim().startsWith("*") || expression.startsWith("/");
  for (const change of dstChanges[zone]!) {
    // the day before, two hours before, and (fall) inside the first pass of the repeated hour
    if (!everySecond) starts.push(change - 86_400_000);
    starts.push(change - 2 * 3_600_000, change - 90_000, change - 1_800_000 - 5 * 60_000);
    starts.push(change + 20 * 60_000);
  }
  return starts;
}

export function buildCorpus(): Case[] {
  const cases: Case[] = [];
  const valid = [...seedStrings, ...tutorial, ...constructs];
  for (const expression of valid) {
    for (const zone of zones) {
      for (const afterMs of startsFor(zone, expression)) {
        cases.push({ id: String(cases.length), zone, afterMs, count: 6, expression });
      }
    }
  }
  for (const expression of [...quartzLoops, ...invalid]) {
    cases.push({ id: String(cases.length), zone: "UTC", afterMs: ordinaryStarts[0]!, count: 6, expression });
  }
  return cases;
}
