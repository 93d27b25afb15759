/**
 * Property tests of the hand-written msgpack readers (msgpackCursor.ts, textFromBytes.ts and the job field
 * scanner built on them, jobFields.ts) against msgpackr, the decoder they stand in for.
 *
 * The promise under test: whatever the bytes, the scanner either answers exactly what msgpackr's decode
 * (then fieldsOf) gives, or answers undefined and leaves the record to the decoder. And for the plain
 * records taskjet itself writes, it does answer. Inputs: records as msgpackr writes them, records written
 * by a small msgpack writer here in every encoding the format allows (wide headers for short values,
 * float32, nil, bin, ext, duplicate and non-string keys), msgpackr's bytes with a byte changed, dropped or
 * added, and plain random bytes.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decode, encode, type JobRecord } from "@taskjet/protocol";
import { fieldsOf, scanJobFields } from "../src/view/jobFields.js";
import {
  arrayLength,
  closeCursor,
  cursorAtEnd,
  mapLength,
  num,
  openCursor,
  plainStr,
  poolStr,
  skip,
  timeMs,
} from "../src/view/msgpackCursor.js";
import { isoBytesMs, pooled } from "../src/view/textFromBytes.js";

const RUNS = 3_000;
const utf8 = new TextEncoder();

// ---- a msgpack writer that can choose any legal encoding (msgpackr always picks the shortest) ----

type Node =
  | { t: "int"; v: number; as: "fix" | "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64" }
  | { t: "f64" | "f32"; v: number }
  | { t: "str"; s: string; as: "fix" | "8" | "16" | "32" }
  | { t: "nil" | "true" | "false" | "undefined" }
  | { t: "bin"; b: Uint8Array }
  | { t: "ext"; type: number; b: Uint8Array }
  | { t: "arr"; items: Node[]; as: "fix" | "16" | "32" }
  | { t: "map"; entries: [Node, Node][]; as: "fix" | "16" | "32" }
  | { t: "raw"; b: Uint8Array };

function write(n: Node, out: number[]): void {
  /** `v` big-endian in `bytes` bytes */
  const be = (v: number, bytes: number): number[] =>
    Array.from({ length: bytes }, (_, i) => Math.floor(v / 2 ** (8 * (bytes - 1 - i))) & 0xff);
  switch (n.t) {
    case "int": {
      const v = n.v;
      const as = n.as;
      if (as === "fix") out.push(v & 0xff);
      else if (as === "u8" || as === "i8") out.push(as === "u8" ? 0xcc : 0xd0, v & 0xff);
      else if (as === "u16" || as === "i16") out.push(as === "u16" ? 0xcd : 0xd1, ...be(v & 0xffff, 2));
      else if (as === "u32" || as === "i32") out.push(as === "u32" ? 0xce : 0xd2, ...be(v >>> 0, 4));
      else {
        out.push(as === "u64" ? 0xcf : 0xd3);
        const big = BigInt.asUintN(64, BigInt(v));
        out.push(...be(Number(big >> 32n), 4), ...be(Number(big & 0xffffffffn), 4));
      }
      return;
    }
    case "f64":
    case "f32": {
      const view = new DataView(new ArrayBuffer(n.t === "f64" ? 8 : 4));
      if (n.t === "f64") view.setFloat64(0, n.v);
      else view.setFloat32(0, n.v);
      out.push(n.t === "f64" ? 0xcb : 0xca, ...new Uint8Array(view.buffer));
      return;
    }
    case "str": {
      const b = utf8.encode(n.s);
      if (n.as === "fix" && b.length < 32) out.push(0xa0 | b.length);
      else if ((n.as === "8" || n.as === "fix") && b.length < 256) out.push(0xd9, b.length);
      else if (n.as !== "32" && b.length < 65536) out.push(0xda, ...be(b.length, 2));
      else out.push(0xdb, ...be(b.length, 4));
      out.push(...b);
      return;
    }
    case "nil":
      return void out.push(0xc0);
    case "true":
      return void out.push(0xc3);
    case "false":
      return void out.push(0xc2);
    case "undefined":
      return void out.push(0xd4, 0, 0); // msgpackr's undefined
    case "bin":
      out.push(0xc4, n.b.length, ...n.b);
      return;
    case "ext": {
      const fixed = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 }[n.b.length];
      if (fixed) out.push(fixed, n.type & 0xff, ...n.b);
      else out.push(0xc7, n.b.length, n.type & 0xff, ...n.b);
      return;
    }
    case "arr":
    case "map": {
      const count = n.t === "arr" ? n.items.length : n.entries.length;
      const [fix, w16, w32] = n.t === "arr" ? [0x90, 0xdc, 0xdd] : [0x80, 0xde, 0xdf];
      if (n.as === "fix" && count < 16) out.push(fix | count);
      else if (n.as !== "32") out.push(w16, ...be(count, 2));
      else out.push(w32, ...be(count, 4));
      if (n.t === "arr") for (const item of n.items) write(item, out);
      else
        for (const [k, v] of n.entries) {
          write(k, out);
          write(v, out);
        }
      return;
    }
    case "raw":
      out.push(...n.b);
  }
}

/** Whether an extension other than msgpackr's undefined (d4 00 00) is anywhere in `n`. */
const hasExtension = (n: Node): boolean =>
  n.t === "ext"
    ? !(n.type === 0 && n.b.length === 1 && n.b[0] === 0)
    : n.t === "arr"
      ? n.items.some(hasExtension)
      : n.t === "map"
        ? n.entries.some(([k, v]) => hasExtension(k) || hasExtension(v))
        : false;

const bytesOf = (n: Node): Uint8Array => {
  const out: number[] = [];
  write(n, out);
  return Uint8Array.from(out);
};

// ---- value generators ----

/** Integers near every boundary of msgpack's integer encodings, and doubles of every kind. */
const anInt = fc.oneof(
  fc.integer({ min: -40, max: 300 }),
  fc.constantFrom(127, 128, 255, 256, 65535, 65536, 2 ** 31, 2 ** 32 - 1, 2 ** 32, -32, -33, -129, -32769),
  fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
  fc.maxSafeInteger(),
);
const aDouble = fc.double();

/** An integer node in one of the encodings that can hold it (the shortest is not required). */
const intNode: fc.Arbitrary<Node> = anInt.chain((v) => {
  const fits: Extract<Node, { t: "int" }>["as"][] = ["u64", "i64"];
  if (v >= 0 && v <= 0x7f) fits.push("fix");
  if (v >= -32 && v < 0) fits.push("fix");
  if (v >= 0 && v <= 0xff) fits.push("u8");
  if (v >= 0 && v <= 0xffff) fits.push("u16");
  if (v >= 0 && v <= 0xffffffff) fits.push("u32");
  if (v >= -128 && v <= 127) fits.push("i8");
  if (v >= -32768 && v <= 32767) fits.push("i16");
  if (v >= -(2 ** 31) && v < 2 ** 31) fits.push("i32");
  if (v < 0) fits.splice(fits.indexOf("u64"), 1);
  return fc.constantFrom(...fits).map((as): Node => ({ t: "int", v, as }));
});

/** Words the scanner pools and compares: record keys, field names, enum values. */
const VOCAB = [
  "def",
  "state",
  "id",
  "name",
  "jobType",
  "type",
  "nodeName",
  "maxCount",
  "misfirePolicy",
  "overlapPolicy",
  "lockTimeoutSeconds",
  "catchUpWindowSeconds",
  "cron",
  "cronDialect",
  "timeZone",
  "dstRule",
  "intervalSeconds",
  "beginTime",
  "endTime",
  "status",
  "triggerCount",
  "tryCount",
  "running",
  "createdAt",
  "lastFireTime",
  "nextRunTime",
  "retryAt",
  "buffered",
  "period",
  "once",
  "persistent",
  "queuing",
  "Europe/Berlin",
  "__proto__",
  "constructor",
];

/** ISO times and near-misses: valid ones of any year, one character changed, other forms, anything. */
const aTime = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc
    .tuple(
      fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }),
      fc.nat(23),
      fc.constantFrom(..."0123456789-:.TZ+ x/\u0660"),
    )
    .map(([d, i, c]) => {
      const s = d.toISOString();
      return s.slice(0, i) + c + s.slice(i + 1);
    }),
  fc
    .record({
      y: fc.integer({ min: 0, max: 9999 }),
      mo: fc.integer({ min: 0, max: 13 }),
      d: fc.integer({ min: 0, max: 32 }),
      h: fc.integer({ min: 0, max: 25 }),
      mi: fc.integer({ min: 0, max: 60 }),
      s: fc.integer({ min: 0, max: 60 }),
      ms: fc.integer({ min: 0, max: 999 }),
    })
    .map(({ y, mo, d, h, mi, s, ms }) => {
      const p = (v: number, w = 2) => String(v).padStart(w, "0");
      return `${p(y, 4)}-${p(mo)}-${p(d)}T${p(h)}:${p(mi)}:${p(s)}.${p(ms, 3)}Z`;
    }),
  fc.constantFrom("2026-03-02", "2026-03-02T10:00:00Z", "2026-03-02T10:00:00.000+02:00", "soon", ""),
  fc.string(),
);

/** Well-formed text (no lone surrogates): what a JSON or msgpack client can send. */
const aText = fc.oneof(fc.constantFrom(...VOCAB), fc.string({ unit: "grapheme", maxLength: 40 }), aTime);

const strNode = (s: fc.Arbitrary<string>): fc.Arbitrary<Node> =>
  fc.record({ t: fc.constant("str" as const), s, as: fc.constantFrom("fix", "8", "16", "32") });

const { node } = fc.letrec<{ node: Node; leaf: Node }>((tie) => ({
  leaf: fc.oneof(
    { weight: 3, arbitrary: intNode },
    { weight: 3, arbitrary: strNode(aText) },
    aDouble.map((v): Node => ({ t: "f64", v })),
    fc.float().map((v): Node => ({ t: "f32", v })),
    fc.constantFrom<Node>({ t: "nil" }, { t: "true" }, { t: "false" }, { t: "undefined" }),
    fc.uint8Array({ maxLength: 8 }).map((b): Node => ({ t: "bin", b })),
    fc
      .record({
        type: fc.integer({ min: -128, max: 127 }),
        b: fc.uint8Array({ minLength: 1, maxLength: 20 }),
      })
      .map(({ type, b }): Node => ({ t: "ext", type, b })),
  ),
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { weight: 4, arbitrary: tie("leaf") },
    fc
      .record({ items: fc.array(tie("node"), { maxLength: 4 }), as: fc.constantFrom("fix", "16", "32") })
      .map(({ items, as }): Node => ({ t: "arr", items, as })),
    fc
      .record({
        entries: fc.array(fc.tuple(strNode(fc.constantFrom(...VOCAB)), tie("node")), { maxLength: 4 }),
        as: fc.constantFrom("fix", "16", "32"),
      })
      .map(({ entries, as }): Node => ({ t: "map", entries, as })),
  ),
}));

const DEF_STR = ["jobType", "type", "nodeName", "misfirePolicy", "overlapPolicy", "cron", "cronDialect"];
const DEF_STR2 = ["timeZone", "dstRule", "beginTime", "endTime"];
const DEF_NUM = ["maxCount", "lockTimeoutSeconds", "catchUpWindowSeconds", "intervalSeconds"];
const STATE_TIME = ["createdAt", "lastFireTime", "nextRunTime", "retryAt", "buffered"];

/** A value that the scanner reads as it is: the right type for the field, or msgpackr's undefined. */
function plainValue(field: string): fc.Arbitrary<unknown> {
  const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 6 });
  if (DEF_NUM.includes(field) || field === "triggerCount" || field === "tryCount")
    return maybe(fc.oneof(anInt, aDouble));
  if (STATE_TIME.includes(field) || field === "beginTime" || field === "endTime") return maybe(aTime);
  if (field === "running") return maybe(fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }));
  return maybe(aText);
}

/** A stored job as msgpackr writes it, every field the scanner reads of the right type, plus others. */
const plainRecord: fc.Arbitrary<JobRecord> = fc
  .record({
    def: fc.record(Object.fromEntries([...DEF_STR, ...DEF_STR2, ...DEF_NUM].map((f) => [f, plainValue(f)])), {
      requiredKeys: [],
    }),
    state: fc.record(
      Object.fromEntries(
        ["status", "triggerCount", "tryCount", "running", ...STATE_TIME].map((f) => [f, plainValue(f)]),
      ),
      { requiredKeys: [] },
    ),
    defExtra: fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
    stateExtra: fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 }),
  })
  .map(
    ({ def, state, defExtra, stateExtra }) =>
      ({ def: { ...defExtra, ...def }, state: { ...stateExtra, ...state } }) as unknown as JobRecord,
  );

/** A value for a field: mostly of its type (in any encoding) or msgpackr's undefined, sometimes anything. */
function fieldNode(field: string): fc.Arbitrary<Node> {
  const undef = fc.constant<Node>({ t: "undefined" });
  let typed: fc.Arbitrary<Node>;
  if (DEF_NUM.includes(field) || field === "triggerCount" || field === "tryCount")
    typed = fc.oneof(
      intNode,
      aDouble.map((v): Node => ({ t: "f64", v })),
    );
  else if (STATE_TIME.includes(field)) typed = strNode(aTime);
  else if (field === "running")
    typed = fc
      .record({ items: fc.array(node, { maxLength: 3 }), as: fc.constantFrom("fix", "16", "32") })
      .map(({ items, as }): Node => ({ t: "arr", items, as }));
  else typed = strNode(aText);
  return fc.oneof(
    { weight: 12, arbitrary: typed },
    { weight: 2, arbitrary: undef },
    { weight: 1, arbitrary: node },
  );
}

/** A record written entry by entry: fields in any order and encoding, repeated, mistyped, or foreign. */
const sectionNode = (fields: string[]): fc.Arbitrary<Node> =>
  fc
    .record({
      entries: fc.array(
        fc.oneof(
          {
            weight: 5,
            arbitrary: fc
              .constantFrom(...fields)
              .chain((f) => fc.tuple(strNode(fc.constant(f)), fieldNode(f))),
          },
          fc.tuple(node, node), // any key, any value
        ),
        { maxLength: 12 },
      ),
      as: fc.constantFrom("fix", "16", "32"),
    })
    .map(({ entries, as }): Node => ({ t: "map", entries, as }));

const handRecord: fc.Arbitrary<Node> = fc
  .record({
    def: sectionNode([...DEF_STR, ...DEF_STR2, ...DEF_NUM]),
    state: sectionNode(["status", "triggerCount", "tryCount", "running", ...STATE_TIME]),
    order: fc.constantFrom(
      "def-state",
      "state-def",
      "def-state-def",
      "def-x-state",
      "def",
      "state-state-def",
    ),
    extra: node,
    as: fc.constantFrom("fix", "16", "32"),
  })
  .map(({ def, state, order, extra, as }): Node => {
    const key = (s: string): Node => ({ t: "str", s, as: "fix" });
    const parts: Record<string, [Node, Node]> = {
      def: [key("def"), def],
      state: [key("state"), state],
      x: [key("x"), extra],
    };
    return { t: "map", entries: order.split("-").map((p) => parts[p]!), as };
  });

// ---- the property every input must keep ----

/** The scanner answers what the decoder does, or leaves the record to it. Returns whether it answered. */
function agreesWithDecoder(bytes: Uint8Array): boolean {
  const scanned = scanJobFields(bytes);
  if (scanned === undefined) return false;
  let decoded: unknown;
  try {
    decoded = decode(bytes);
  } catch (err) {
    throw new Error(
      `the scanner read ${JSON.stringify(scanned)} from bytes msgpackr refuses: ${String(err)}`,
    );
  }
  expect(scanned).toEqual(fieldsOf(decoded as JobRecord));
  return true;
}

describe("scanJobFields against msgpackr (property)", () => {
  it("reads every plain record as msgpackr writes it, with the decoder's values", () => {
    fc.assert(
      fc.property(plainRecord, (r) => {
        expect(agreesWithDecoder(encode(r))).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("agrees with the decoder or leaves it the record, whatever encoding, order, types and repeats", () => {
    let answered = 0;
    fc.assert(
      fc.property(handRecord, (n) => {
        if (agreesWithDecoder(bytesOf(n))) answered++;
      }),
      { numRuns: RUNS },
    );
    // not vacuous: a good share of these records are plain enough to be answered
    expect(answered).toBeGreaterThan(RUNS / 20);
  });

  it("agrees with the decoder or leaves it the record when a byte is changed, dropped or added", () => {
    const edit = fc.oneof(
      fc.record({ op: fc.constant("set" as const), at: fc.nat(), byte: fc.nat(255) }),
      fc.record({ op: fc.constant("drop" as const), at: fc.nat(), byte: fc.constant(0) }),
      fc.record({ op: fc.constant("add" as const), at: fc.nat(), byte: fc.nat(255) }),
    );
    fc.assert(
      fc.property(plainRecord, fc.array(edit, { minLength: 1, maxLength: 3 }), (r, edits) => {
        const b = [...encode(r)];
        for (const { op, at, byte } of edits) {
          const i = at % (b.length + 1);
          if (op === "set" && i < b.length) b[i] = byte;
          else if (op === "drop") b.splice(i, 1);
          else if (op === "add") b.splice(i, 0, byte);
        }
        agreesWithDecoder(Uint8Array.from(b));
      }),
      { numRuns: RUNS },
    );
  });

  it("agrees with the decoder or leaves it the record for random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => void agreesWithDecoder(b)),
      { numRuns: RUNS },
    );
    // random bytes behind a plain record header
    const head = [0x82, 0xa3, ...utf8.encode("def"), 0x80, 0xa5, ...utf8.encode("state")];
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 40 }),
        (b) => void agreesWithDecoder(Uint8Array.from([...head, ...b])),
      ),
      { numRuns: RUNS },
    );
  });
});

// ---- the cursor's readers, one value at a time ----

/** Runs `read` over the bytes; its answer when it succeeded and read every byte, else a marker. */
function readAll<T>(bytes: Uint8Array, read: () => T): { value: T } | "refused" {
  openCursor(bytes);
  try {
    const value = read();
    return cursorAtEnd() ? { value } : "refused";
  } catch {
    return "refused";
  } finally {
    closeCursor();
  }
}

const decoded = (bytes: Uint8Array): { value: unknown } | "refused" => {
  try {
    return { value: decode(bytes) };
  } catch {
    return "refused";
  }
};

describe("the msgpack cursor against msgpackr (property)", () => {
  it("num reads every integer and double encoding as msgpackr does; refuses the rest", () => {
    const anyNumber = fc.oneof(
      intNode,
      aDouble.map((v): Node => ({ t: "f64", v })),
      node,
    );
    fc.assert(
      fc.property(anyNumber, (n) => {
        const bytes = bytesOf(n);
        const got = readAll(bytes, num);
        if (n.t === "int" || n.t === "f64" || n.t === "undefined") expect(got).not.toBe("refused");
        if (got !== "refused") expect(got).toEqual(decoded(bytes));
      }),
      { numRuns: RUNS },
    );
  });

  it("poolStr and plainStr read every string encoding as msgpackr does; refuse the rest", () => {
    const anyText = fc.oneof(strNode(fc.string({ unit: "grapheme", maxLength: 300 })), strNode(aText), node);
    fc.assert(
      fc.property(anyText, (n) => {
        const bytes = bytesOf(n);
        const pooledRead = readAll(bytes, poolStr);
        const plainRead = readAll(bytes, plainStr);
        expect(pooledRead).toEqual(plainRead);
        if (n.t === "str") expect(pooledRead).not.toBe("refused");
        if (pooledRead !== "refused") expect(pooledRead).toEqual(decoded(bytes));
      }),
      { numRuns: RUNS },
    );
  });

  it("timeMs reads a time string as Date.parse reads msgpackr's string", () => {
    fc.assert(
      fc.property(strNode(aTime), (n) => {
        const bytes = bytesOf(n);
        const got = readAll(bytes, timeMs);
        expect(got).toEqual({ value: Date.parse(decode(bytes) as string) });
      }),
      { numRuns: RUNS },
    );
  });

  it("skip moves past exactly one value of any type; arrayLength and mapLength count as msgpackr does", () => {
    fc.assert(
      fc.property(node, (n) => {
        const bytes = bytesOf(n);
        const after = decoded(bytes);
        const skipped = readAll(bytes, skip);
        // what skip passes over, the decoder reads (skip does not check UTF-8, and node writes valid UTF-8)
        if (skipped !== "refused") expect(after, "skip passed what the decoder refuses").not.toBe("refused");
        // and it passes over exactly every value without extensions (only msgpackr's undefined) the decoder reads
        if (after !== "refused" && !hasExtension(n)) expect(skipped).toEqual({ value: undefined });
        const items = readAll(bytes, arrayLength);
        if (items !== "refused") {
          expect(after, "arrayLength read what the decoder refuses").not.toBe("refused");
          expect(items.value).toBe((after as { value: unknown[] }).value.length);
        }
        if (n.t === "map") {
          openCursor(bytes);
          try {
            expect(mapLength()).toBe(n.entries.length);
          } finally {
            closeCursor();
          }
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe("textFromBytes against the platform (property)", () => {
  it("isoBytesMs is Date.parse of the same text", () => {
    fc.assert(
      fc.property(aTime, (s) => {
        const b = utf8.encode(s);
        expect(isoBytesMs(b, 0, b.length)).toBe(Date.parse(s));
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it("pooled gives the decoded text for every byte sequence, across pool slot collisions", () => {
    // enough distinct strings to fill the 4096 slots several times over, each read twice (pooled, then hit)
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: "binary", maxLength: 70 }), { minLength: 1, maxLength: 50 }),
        (ss) => {
          for (const s of [...ss, ...ss]) {
            const framed = utf8.encode(`..${s}..`);
            expect(pooled(framed, 2, framed.length - 4)).toBe(
              new TextDecoder().decode(framed.subarray(2, -2)),
            );
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
