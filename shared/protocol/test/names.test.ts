import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  isName,
  JobInputSchema,
  MAX_TOKEN_LENGTH,
  nameOfToken,
  nameProblem,
  namespace,
  parseOrThrow,
  subjectToken,
  ValidationError,
} from "@taskjet/protocol";

// what a subject token, a KV key token and a JetStream consumer/stream name all accept
const SUBJECT_TOKEN = /^[^\s.*>]+$/;
const KV_KEY_TOKEN = /^[-/_=a-zA-Z0-9]+$/;
const CONSUMER_NAME_PART = /^[^\s.*>/\\\p{C}]+$/u;

/** mulberry32: seeded, so a failing case is the same case on every run */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// plain characters, the escape itself, the punctuation users write, and non-ASCII up to 4 UTF-8 bytes
const ALPHABET = [..."aZ09_-=.:, ;/\\*>%+~#@()[]<>'\"éüßЖ中😀"];

function randomName(next: () => number): string {
  const length = 1 + Math.floor(next() * 12);
  let s = "";
  for (let i = 0; i < length; i++) s += ALPHABET[Math.floor(next() * ALPHABET.length)];
  return s;
}

describe("subjectToken", () => {
  it("maps names of the old [A-Za-z0-9_-] rule to themselves", () => {
    for (const n of ["http", "console", "send-mail_2", "A", "default"]) expect(subjectToken(n)).toBe(n);
  });

  it("escapes everything else as =XX per UTF-8 byte, readably", () => {
    expect(subjectToken("email.send")).toBe("email=2Esend");
    expect(subjectToken("billing:invoice")).toBe("billing=3Ainvoice");
    expect(subjectToken("My.Company.Jobs.ConsoleJob, My.Company.Jobs")).toBe(
      "My=2ECompany=2EJobs=2EConsoleJob=2C=20My=2ECompany=2EJobs",
    );
    expect(subjectToken("a=b")).toBe("a=3Db");
    expect(subjectToken("é")).toBe("=C3=A9");
  });

  it("is injective, invertible and valid in subjects, KV keys and consumer names (20,000 seeded names)", () => {
    const next = rng(19);
    const byToken = new Map<string, string>();
    for (let i = 0; i < 20_000; i++) {
      const n = randomName(next);
      const t = subjectToken(n);
      const seen = byToken.get(t);
      if (seen !== undefined) expect(seen).toBe(n);
      byToken.set(t, n);
      expect(t).toMatch(SUBJECT_TOKEN);
      expect(t).toMatch(KV_KEY_TOKEN);
      expect(t).toMatch(CONSUMER_NAME_PART);
      expect(nameOfToken(t)).toBe(n);
    }
    expect(byToken.size).toBeGreaterThan(15_000);
  });

  it("nameOfToken refuses what subjectToken never makes", () => {
    for (const t of ["a.b", "=4", "=41", "=2e", "a b", "", "=FF", "=C3"])
      expect(nameOfToken(t)).toBeUndefined();
  });
});

describe("type and group names", () => {
  it("accepts the names users already use and shows them as written", () => {
    const job = parseOrThrow(JobInputSchema, {
      name: "n",
      type: "My.Company.Jobs.ConsoleJob, My.Company.Jobs",
      group: "billing:invoice",
    });
    expect(job.type).toBe("My.Company.Jobs.ConsoleJob, My.Company.Jobs");
    expect(job.group).toBe("billing:invoice");
    expect(isName("email.send")).toBe(true);
  });

  it("ids keep the safe alphabet, UUIDs included", () => {
    const uuid = randomUUID();
    expect(parseOrThrow(JobInputSchema, { id: uuid, name: "n", type: "t" }).id).toBe(uuid);
    expect(() => parseOrThrow(JobInputSchema, { id: "a.b", name: "n", type: "t" })).toThrow(
      /id may contain only/,
    );
  });

  it("refuses unprintable, padded and too long names, naming the field", () => {
    const refused = (v: unknown) => {
      try {
        parseOrThrow(JobInputSchema, { name: "n", type: v });
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as ValidationError).field).toBe("type");
        return (err as Error).message;
      }
      throw new Error(`type ${JSON.stringify(v)} was accepted`);
    };
    expect(refused("")).toMatch(/type must not be empty/);
    expect(refused("a\tb")).toMatch(/printable/);
    expect(refused("a\nb")).toMatch(/printable/);
    expect(refused("a\u0000b")).toMatch(/printable/);
    expect(refused(" a")).toMatch(/begin or end/);
    expect(refused("x".repeat(129))).toMatch(/at most 128/);
    expect(refused(".".repeat(50))).toMatch(/150 characters long once encoded/);
    expect(refused(7)).toMatch(/must be a string/);
    expect(nameProblem("group", "a".repeat(MAX_TOKEN_LENGTH))).toBeUndefined();
  });

  it("subjects and keys carry the token, plain names unchanged", () => {
    const ns = namespace("tj");
    const def = { tenantId: "acme", group: "billing:invoice", type: "email.send", id: "j1" };
    expect(ns.event(def, "after")).toBe("tj.evt.acme.billing=3Ainvoice.email=2Esend.j1.after");
    expect(ns.eventFilter({ type: "email.send" })).toBe("tj.evt.*.*.email=2Esend.*.*");
    expect(ns.jobKey(def)).toBe("acme.billing=3Ainvoice.j1");
    expect(ns.jobKeyFilter({ group: "billing:invoice" })).toBe("*.billing=3Ainvoice.*");
    expect(ns.event({ ...def, group: "g", type: "http" }, "before")).toBe("tj.evt.acme.g.http.j1.before");
  });
});
