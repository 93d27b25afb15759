/**
 * Binary min-heap of job entries by `due`, with each entry's position stored on the entry so a change of
 * due time or a removal is O(log n). The ticker pops every entry due in the next few ms in one batch, so
 * work per tick is proportional to the fires due, never to the jobs stored.
 */
import type { JobEntry } from "../view/jobEntry.js";

export class DueHeap {
  private readonly items: JobEntry[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): JobEntry | undefined {
    return this.items[0];
  }

  /** Inserts, or moves an entry already in the heap to its (new) due time. */
  upsert(e: JobEntry): void {
    if (e.heapIndex >= 0 && this.items[e.heapIndex] === e) {
      this.siftUp(e.heapIndex);
      this.siftDown(e.heapIndex);
      return;
    }
    e.heapIndex = this.items.length;
    this.items.push(e);
    this.siftUp(e.heapIndex);
  }

  remove(e: JobEntry): boolean {
    const i = e.heapIndex;
    if (i < 0 || this.items[i] !== e) return false;
    const last = this.items.pop()!;
    e.heapIndex = -1;
    if (last !== e) {
      this.items[i] = last;
      last.heapIndex = i;
      this.siftUp(i);
      this.siftDown(last.heapIndex);
    }
    return true;
  }

  pop(): JobEntry | undefined {
    const top = this.items[0];
    if (top) this.remove(top);
    return top;
  }

  /** Pops entries with due <= `limitMs`, at most `max` of them, earliest first. */
  popDue(limitMs: number, max: number): JobEntry[] {
    const out: JobEntry[] = [];
    while (out.length < max) {
      const top = this.items[0];
      if (!top || top.due > limitMs) break;
      this.remove(top);
      out.push(top);
    }
    return out;
  }

  /** Calls `fn` for every entry with due <= `limitMs`, without popping (prunes subtrees above it). */
  forEachDue(limitMs: number, fn: (e: JobEntry) => void): void {
    const stack = [0];
    while (stack.length > 0) {
      const i = stack.pop()!;
      const e = this.items[i];
      if (!e || e.due > limitMs) continue;
      fn(e);
      stack.push(2 * i + 1, 2 * i + 2);
    }
  }

  private siftUp(i: number): void {
    const items = this.items;
    const e = items[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent]!;
      if (p.due <= e.due) break;
      items[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    items[i] = e;
    e.heapIndex = i;
  }

  private siftDown(i: number): void {
    const items = this.items;
    const n = items.length;
    const e = items[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && items[r]!.due < items[l]!.due ? r : l;
      const child = items[c]!;
      if (child.due >= e.due) break;
      items[i] = child;
      child.heapIndex = i;
      i = c;
    }
    items[i] = e;
    e.heapIndex = i;
  }
}
