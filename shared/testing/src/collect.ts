/**
 * Read the first `count` items of `iter` (e.g. a NATS subscription or consumer), or reject if
 * they do not all arrive within `timeoutMs`; the error says how many did. The iterator is closed
 * (`return()`) either way, which for a nats.js subscription iterator ends the iteration.
 */
export async function collect<T>(iter: AsyncIterable<T>, count: number, timeoutMs: number): Promise<T[]> {
  const items: T[] = [];
  if (count <= 0) return items;
  const it = iter[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    while (items.length < count) {
      const next = await Promise.race([it.next(), timeout]);
      if (next === "timeout") {
        throw new Error(`collect: got ${items.length} of ${count} items within ${timeoutMs} ms`);
      }
      if (next.done) {
        throw new Error(`collect: iterator ended after ${items.length} of ${count} items`);
      }
      items.push(next.value);
    }
    return items;
  } finally {
    clearTimeout(timer);
    // Not awaited: return() of an async generator blocked in next() only settles after that next().
    void it.return?.()?.catch(() => undefined);
  }
}
