/**
 * Which hosts the worker's outgoing HTTP (the `http` job, `webhook` actions) may reach. A URL in a job is
 * written by a tenant but fetched from inside the operator's network, so by default the worker refuses
 * addresses that only make sense from in there (docs/worker.md, "Outgoing HTTP"):
 *
 *   loopback 127.0.0.0/8, ::1; unspecified 0.0.0.0/8, ::; link-local 169.254.0.0/16 (cloud metadata),
 *   fe80::/10; private 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7; shared 100.64.0.0/10;
 *   multicast and reserved 224.0.0.0/3, ff00::/8.
 *
 * An IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::a.b.c.d) address is judged as the IPv4 address it
 * carries. Operators add entries (`httpAllow` / `httpDeny`): a host name (`api.example.com`), a subdomain
 * wildcard (`*.example.com`), an address or a CIDR range, or `*` (every address). The most specific matching
 * entry decides (a host name beats any range, a longer prefix a shorter one; at a tie deny wins), and any
 * operator entry beats the built-in ranges; with none matching, the built-in ranges are refused and the
 * rest allowed. A destination is allowed only when every address its name resolves to is.
 */
import { isIP } from "node:net";
import { ValidationError } from "@taskjet/protocol";

interface Range {
  bytes: Uint8Array;
  bits: number;
}

type Entry =
  | { kind: "host"; host: string; text: string }
  | { kind: "suffix"; suffix: string; text: string }
  | ({ kind: "range"; text: string } & Range);

const BUILT_IN: ReadonlyArray<[string, string]> = [
  ["0.0.0.0/8", "an unspecified address"],
  ["10.0.0.0/8", "a private address"],
  ["100.64.0.0/10", "a shared (carrier-grade NAT) address"],
  ["127.0.0.0/8", "a loopback address"],
  ["169.254.0.0/16", "a link-local address"],
  ["172.16.0.0/12", "a private address"],
  ["192.168.0.0/16", "a private address"],
  ["224.0.0.0/3", "a multicast or reserved address"],
  ["::/128", "an unspecified address"],
  ["::1/128", "a loopback address"],
  ["fc00::/7", "a private (unique local) address"],
  ["fe80::/10", "a link-local address"],
  ["ff00::/8", "a multicast address"],
];

/** The 4 or 16 bytes of an address, mapped and NAT64 IPv6 forms reduced to their IPv4 address. */
export function addressBytes(address: string): Uint8Array | undefined {
  const a = address.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const family = isIP(a);
  if (family === 4) return new Uint8Array(a.split(".").map(Number));
  if (family !== 6) return undefined;
  const v6 = ipv6Bytes(a);
  const zeros = v6.slice(0, 10).every((b) => b === 0);
  const mapped = zeros && v6[10] === 0xff && v6[11] === 0xff;
  const nat64 = [0, 0x64, 0xff, 0x9b].every((b, i) => v6[i] === b) && v6.slice(4, 12).every((b) => b === 0);
  return mapped || nat64 ? v6.slice(12) : v6;
}

function ipv6Bytes(a: string): Uint8Array {
  let text = a;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [b0, b1, b2, b3] = v4[1]!.split(".").map(Number) as [number, number, number, number];
    text = `${text.slice(0, -v4[1]!.length)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const [head, rest] = text.split("::") as [string, string | undefined];
  const groups = (s: string) => (s === "" ? [] : s.split(":").map((g) => parseInt(g, 16)));
  const h = groups(head);
  const t = rest === undefined ? [] : groups(rest);
  const all = rest === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function inRange(bytes: Uint8Array, r: Range): boolean {
  if (bytes.length !== r.bytes.length) return false;
  for (let bit = 0; bit < r.bits; bit += 8) {
    const n = Math.min(8, r.bits - bit);
    const mask = (0xff << (8 - n)) & 0xff;
    if ((bytes[bit / 8]! & mask) !== (r.bytes[bit / 8]! & mask)) return false;
  }
  return true;
}

function parseRange(text: string): Range | undefined {
  const [addr, len] = text.split("/") as [string, string | undefined];
  const bytes = addressBytes(addr);
  if (!bytes) return undefined;
  // a mapped range given in IPv6 notation is judged in IPv4 terms, like the addresses it matches
  const reduced = bytes.length === 4 && isIP(addr.replace(/^\[|\]$/g, "")) === 6 ? 96 : 0;
  const max = bytes.length * 8;
  if (len === undefined) return { bytes, bits: max };
  if (!/^\d{1,3}$/.test(len)) return undefined;
  const bits = Number(len) - reduced;
  return bits >= 0 && bits <= max ? { bytes, bits } : undefined;
}

const HOST = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

function parseEntry(raw: string, field: string): Entry[] {
  const text = raw.trim().toLowerCase().replace(/\.$/, "");
  if (text === "*") {
    return ["0.0.0.0/0", "::/0"].map((r) => ({ kind: "range", text: "*", ...parseRange(r)! }));
  }
  if (text.startsWith("*.") && HOST.test(text.slice(2)))
    return [{ kind: "suffix", suffix: text.slice(1), text }];
  const range = /[:/]/.test(text) || isIP(text) ? parseRange(text) : undefined;
  if (range) return [{ kind: "range", text, ...range }];
  if (HOST.test(text) && !/^[\d.]+$/.test(text)) return [{ kind: "host", host: text, text }];
  throw new ValidationError(`${field}: "${raw}" is not a host name, *.domain, address, CIDR range or "*"`, {
    field,
  });
}

/** Operator entries from a list or a comma-separated string (env); ValidationError names the bad one. */
export function parseDestinationEntries(
  raw: string | readonly string[] | undefined,
  field: string,
): string[] {
  if (raw === undefined) return [];
  const list = typeof raw === "string" ? raw.split(",").filter((s) => s.trim() !== "") : [...raw];
  list.forEach((e, i) => parseEntry(e, typeof raw === "string" ? field : `${field}.${i}`));
  return list.map((e) => e.trim());
}

export interface Verdict {
  allowed: boolean;
  /** why, for the error: e.g. `127.0.0.1 is a loopback address` */
  reason: string;
}

export class DestinationPolicy {
  private readonly allow: Entry[];
  private readonly deny: Entry[];
  private readonly builtIn = BUILT_IN.map(([r, what]) => ({ ...parseRange(r)!, what }));

  /** `allow` / `deny`: host names, `*.domain`, addresses, CIDR ranges, `*`; bad entries throw, named. */
  constructor(opts: { allow?: readonly string[]; deny?: readonly string[] } = {}) {
    this.allow = (opts.allow ?? []).flatMap((e, i) => parseEntry(e, `httpAllow.${i}`));
    this.deny = (opts.deny ?? []).flatMap((e, i) => parseEntry(e, `httpDeny.${i}`));
  }

  /** The verdict on one resolved address of `host` (the URL's host name or address literal). */
  check(host: string, address: string): Verdict {
    const name = host.toLowerCase().replace(/\.$/, "");
    const bytes = addressBytes(address);
    if (!bytes) return { allowed: false, reason: `${address} is not an IP address` };
    const score = (e: Entry): number => {
      if (e.kind === "host") return e.host === name ? 10_000 : -1;
      if (e.kind === "suffix") return name.endsWith(e.suffix) ? 1_000 + e.suffix.length : -1;
      return inRange(bytes, e) ? e.bits : -1;
    };
    const best = (entries: Entry[]) =>
      entries.reduce<{ s: number; e?: Entry }>((b, e) => (score(e) > b.s ? { s: score(e), e } : b), {
        s: -1,
      });
    const a = best(this.allow);
    const d = best(this.deny);
    if (d.e && d.s >= a.s) {
      return { allowed: false, reason: `${address} is denied by the operator (httpDeny "${d.e.text}")` };
    }
    if (a.e) return { allowed: true, reason: `allowed by httpAllow "${a.e.text}"` };
    const hit = this.builtIn.find((r) => inRange(bytes, r));
    if (hit) {
      return {
        allowed: false,
        reason: `${address} is ${hit.what}, refused unless the operator allows it (httpAllow / TASKJET_HTTP_ALLOW)`,
      };
    }
    return { allowed: true, reason: "a public address" };
  }

  /** The first refused address of a destination, or undefined when every one is allowed. */
  refusal(host: string, addresses: readonly string[]): string | undefined {
    for (const address of addresses) {
      const v = this.check(host, address);
      if (!v.allowed) return v.reason;
    }
    return addresses.length === 0 ? `${host} resolved to no address` : undefined;
  }
}
