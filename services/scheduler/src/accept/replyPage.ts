/**
 * Fills a list or logs page without passing the connection's max_payload: an item goes in only while the
 * encoded reply stays within the budget, so a page of 1000 jobs of 64 KiB each is cut, not refused by
 * NATS (the probe's `'payload' max_payload size exceeded`, which left the whole tenant unlistable).
 *
 * The budget is max_payload minus room for the envelope, the headers and the page's own fields. Each item
 * is measured in the caller's encoding, as the reply will be.
 */
import { encode, type Encoding } from "@taskjet/protocol";

/** Envelope `{ ok, data: { jobs, total, nextOffset } }` plus the Content-Type header, with margin. */
const RESERVED_BYTES = 1024;
/** An item's separator or length prefix in the array (at most 5 bytes in msgpack, 1 in JSON). */
const PER_ITEM_BYTES = 8;

export class ReplyPage<T> {
  readonly items: T[] = [];
  /** items too big for any reply on their own */
  readonly oversized: T[] = [];
  private used = 0;
  private readonly budget: number;

  constructor(
    maxPayload: number,
    private readonly encoding: Encoding,
  ) {
    this.budget = Math.max(0, maxPayload - RESERVED_BYTES);
  }

  /**
   * Adds `item` when it fits: "added"; "full" when it would pass the budget (the page ends before it);
   * "oversized" when it cannot fit even in an empty page (recorded, the page goes on).
   */
  offer(item: T, extraBytes = 0): "added" | "full" | "oversized" {
    const size = encode(item, this.encoding).length + PER_ITEM_BYTES + extraBytes;
    if (size > this.budget) {
      this.oversized.push(item);
      return "oversized";
    }
    if (this.used + size > this.budget) return "full";
    this.used += size;
    this.items.push(item);
    return "added";
  }

  /** Reserves room for something the reply carries beside the items (an omitted job's id); false if full. */
  reserve(bytes: number): boolean {
    if (this.used + bytes > this.budget) return false;
    this.used += bytes;
    return true;
  }
}
