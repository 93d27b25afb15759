/**
 * Where taskjet's quartz dialect deliberately differs from Quartz 2.3.2, by expression. Each one is outside
 * Quartz's documented grammar (an accident of its parser or evaluator) and is listed in docs/scheduler.md
 * ("Quartz quirks taskjet does not copy"). The differential test fails on any difference not listed here,
 * and on any listed one that no longer shows, so this list and the docs stay true.
 */

export type DifferenceKind =
  /** Quartz accepts the expression (and fires on its own reading, or loops); taskjet rejects it */
  | "taskjet-rejects"
  /** both accept; the fire times differ */
  | "fires-differ"
  /** both accept; Quartz never answers (an endless loop), taskjet fires */
  | "quartz-loops";

export interface Difference {
  kind: DifferenceKind;
  why: string;
}

const skipsTrailing = "Quartz's parser skips the characters it does not expect; taskjet rejects them";

export const documentedDifferences: Record<string, Difference> = {
  "0 0 12X * * ?": { kind: "taskjet-rejects", why: `${skipsTrailing} (reads 12)` },
  "0 0 12 ? * MONDAY": { kind: "taskjet-rejects", why: `${skipsTrailing} (reads MON)` },
  "0 0 0 5C * ?": { kind: "taskjet-rejects", why: `${skipsTrailing} (C, calendar, is not implemented)` },
  "0 0 0 ?? * 1": { kind: "taskjet-rejects", why: `${skipsTrailing} (reads ?)` },
  "0 0 12 1-5W * ?": { kind: "taskjet-rejects", why: `${skipsTrailing}: W takes a single day (reads 1-5)` },
  "0 0 0 ? * MON/2": { kind: "taskjet-rejects", why: `${skipsTrailing}: no step after a name (reads MON)` },
  "0 0 0 1 JAN-JUN/2 ?": {
    kind: "taskjet-rejects",
    why: `${skipsTrailing}: no step after a name (reads JAN-JUN)`,
  },
  "0 0 0 * * ? * 5": { kind: "taskjet-rejects", why: "Quartz ignores fields after the seventh" },
  "0 0 12 15W,20 * ?": { kind: "taskjet-rejects", why: "W takes a single day; Quartz ignores the 20" },
  "0 0 0 ? * 0#3": {
    kind: "taskjet-rejects",
    why: "weekdays are 1-7; Quartz skips the range check before #",
  },
  "0 0 0 ? * LW": {
    kind: "taskjet-rejects",
    why: "LW is a day-of-month form; Quartz reads it as L (Saturday)",
  },
  "0 0 0 ? * L-2": {
    kind: "taskjet-rejects",
    why: "L-n is a day-of-month form; Quartz reads it as L (Saturday)",
  },
  "0 0 0 0W * ?": { kind: "taskjet-rejects", why: "days are 1-31; Quartz accepts 0W and loops forever" },
  "*/0 * * * * ?": { kind: "taskjet-rejects", why: "a step of 0; Quartz reads */0 as *" },
  "5/0 * * * * ?": { kind: "taskjet-rejects", why: "a step of 0; Quartz reads 5/0 as 5" },
  "0 0-59/60 * * * ?": {
    kind: "taskjet-rejects",
    why: "steps are at most the field's size less one everywhere; Quartz checks it for */n and a/n only",
  },
  "0 0 0 1 1 ? 2200": {
    kind: "taskjet-rejects",
    why: "years are 1970-2099 as Quartz documents; Quartz does not check",
  },
  "0 0 0 30 2 ?": {
    kind: "taskjet-rejects",
    why: "an expression that never fires is a mistake; Quartz accepts it",
  },
  "0 0 12 L-29W * ?": {
    kind: "quartz-loops",
    why: "L-nW skips a month whose last day less n is before the 1st (February); Quartz loops forever there",
  },
  "0 0 12 31W * ?": {
    kind: "fires-differ",
    why: "nW fires only in months that have day n; Quartz rolls 31W of a 30-day month into the next month",
  },
};
