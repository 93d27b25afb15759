import { describe, expect, expectTypeOf, it } from "vitest";
import { collect, uniqueName, waitFor, withDeadline } from "../src/index.js";

describe("waitFor", () => {
  it("resolves with the first truthy value, retrying through falsy values and throws", async () => {
    let calls = 0;
    const value = await waitFor(() => {
      calls++;
      if (calls < 3) throw new Error("not yet");
      if (calls < 5) return 0;
      return { calls };
    });
    expect(value).toEqual({ calls: 5 });
  });

  it("types the result without the falsy alternatives", async () => {
    const info = { messages: 3 };
    const result = await waitFor(() => info.messages === 3 && info);
    expectTypeOf(result).toEqualTypeOf<{ messages: number }>();
    expect(result).toBe(info);
  });

  it("accepts async functions", async () => {
    let calls = 0;
    await expect(waitFor(async () => ++calls >= 3 && "done")).resolves.toBe("done");
  });

  it("on timeout throws with the message and the last error as cause", async () => {
    const started = Date.now();
    const err = await waitFor(
      () => {
        throw new Error("boom");
      },
      { timeoutMs: 200, intervalMs: 10, message: "widget never appeared" },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^widget never appeared \(timed out after 200 ms/);
    expect((err as Error).message).toContain("boom");
    expect(((err as Error).cause as Error).message).toBe("boom");
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("times out even if an attempt never settles", async () => {
    const err = await waitFor(() => new Promise<boolean>(() => undefined), {
      timeoutMs: 100,
      message: "hung",
    }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/^hung \(timed out/);
  });
});

describe("withDeadline", () => {
  it("passes through a promise that settles in time", async () => {
    await expect(withDeadline(Promise.resolve(42), 1_000, "x")).resolves.toBe(42);
    await expect(withDeadline(Promise.reject(new Error("inner")), 1_000, "x")).rejects.toThrow("inner");
  });

  it("rejects with the message when the deadline passes", async () => {
    await expect(withDeadline(new Promise(() => undefined), 50, "slow thing")).rejects.toThrow(
      /^slow thing \(timed out after 50 ms\)$/,
    );
  });
});

describe("collect", () => {
  async function* numbers(n: number) {
    for (let i = 0; i < n; i++) yield i;
  }

  it("takes the first count items and closes the iterator", async () => {
    let closed = false;
    async function* tracked() {
      try {
        yield* numbers(10);
      } finally {
        closed = true;
      }
    }
    await expect(collect(tracked(), 3, 1_000)).resolves.toEqual([0, 1, 2]);
    await waitFor(() => closed, { message: "iterator was not closed" });
  });

  it("rejects with a count when items do not arrive in time", async () => {
    async function* stalls() {
      yield "a";
      await new Promise(() => undefined);
    }
    await expect(collect(stalls(), 2, 100)).rejects.toThrow("collect: got 1 of 2 items within 100 ms");
  });

  it("rejects when the iterator ends early", async () => {
    await expect(collect(numbers(1), 2, 1_000)).rejects.toThrow(/ended after 1 of 2/);
  });
});

describe("uniqueName", () => {
  it("is the prefix plus 8 lowercase base36 characters", () => {
    expect(uniqueName()).toMatch(/^t[0-9a-z]{8}$/);
    expect(uniqueName("jobs")).toMatch(/^jobs[0-9a-z]{8}$/);
    expect(uniqueName("")).toMatch(/^[0-9a-z]{8}$/);
  });

  it("does not repeat", () => {
    const names = new Set(Array.from({ length: 10_000 }, () => uniqueName()));
    expect(names.size).toBe(10_000);
  });

  it("rejects prefixes that are not subject-token and bucket safe", () => {
    expect(() => uniqueName("a.b")).toThrow(/prefix/);
    expect(() => uniqueName("a b")).toThrow(/prefix/);
    expect(() => uniqueName("a*")).toThrow(/prefix/);
  });
});
