import { describe, expect, it } from "vitest";
import { DestinationPolicy, parseDestinationEntries } from "@taskjet/worker-runtime";

const byDefault = new DestinationPolicy();

describe("destination policy", () => {
  it.each([
    ["127.0.0.1", false],
    ["127.255.0.9", false],
    ["::1", false],
    ["0.0.0.0", false],
    ["::", false],
    ["169.254.169.254", false],
    ["fe80::1%eth0", false],
    ["10.1.2.3", false],
    ["172.16.0.1", false],
    ["172.31.255.255", false],
    ["192.168.1.1", false],
    ["fd12:3456::1", false],
    ["100.64.0.1", false],
    ["224.0.0.1", false],
    ["255.255.255.255", false],
    ["::ffff:127.0.0.1", false],
    ["::ffff:7f00:1", false],
    ["::ffff:10.0.0.1", false],
    ["64:ff9b::a9fe:a9fe", false],
    ["172.32.0.1", true],
    ["8.8.8.8", true],
    ["2606:4700::1111", true],
    ["::ffff:8.8.8.8", true],
  ])("by default %s allowed: %s", (address, allowed) => {
    expect(byDefault.check("example.com", address).allowed).toBe(allowed);
  });

  it("says why an address is refused and how to allow it", () => {
    expect(byDefault.check("localhost", "127.0.0.1").reason).toMatch(
      /127\.0\.0\.1 is a loopback address, refused unless the operator allows it \(httpAllow/,
    );
  });

  it("operator entries beat the built-in ranges; the most specific entry wins, deny at a tie", () => {
    const p = new DestinationPolicy({
      allow: ["127.0.0.1", "10.0.0.0/8", "internal.example", "*.svc.cluster.local"],
      deny: ["10.0.0.5", "8.8.0.0/16", "secret.svc.cluster.local"],
    });
    expect(p.check("x", "127.0.0.1").allowed).toBe(true);
    expect(p.check("x", "::ffff:127.0.0.1").allowed).toBe(true);
    expect(p.check("x", "127.0.0.2").allowed).toBe(false);
    expect(p.check("x", "10.9.9.9").allowed).toBe(true);
    expect(p.check("x", "10.0.0.5").allowed).toBe(false);
    expect(p.check("x", "8.8.8.8").allowed).toBe(false);
    expect(p.check("internal.example", "192.168.0.7").allowed).toBe(true);
    expect(p.check("api.svc.cluster.local", "172.20.0.3").allowed).toBe(true);
    expect(p.check("secret.svc.cluster.local", "172.20.0.3").allowed).toBe(false);
    expect(p.check("svc.cluster.local", "172.20.0.3").allowed).toBe(false);
    expect(
      new DestinationPolicy({ allow: ["10.0.0.0/8"], deny: ["10.0.0.0/8"] }).check("x", "10.1.1.1").allowed,
    ).toBe(false);
  });

  it("`*` allows every address; deny * with a host allowed admits only that host", () => {
    const open = new DestinationPolicy({ allow: ["*"] });
    expect(open.check("x", "127.0.0.1").allowed).toBe(true);
    expect(open.check("x", "::1").allowed).toBe(true);
    const only = new DestinationPolicy({ allow: ["api.example.com"], deny: ["*"] });
    expect(only.check("api.example.com", "93.184.216.34").allowed).toBe(true);
    expect(only.check("other.example.com", "93.184.216.34").allowed).toBe(false);
  });

  it("refuses a destination when any of its addresses is refused", () => {
    expect(byDefault.refusal("rebind.example", ["93.184.216.34", "127.0.0.1"])).toMatch(/loopback/);
    expect(byDefault.refusal("ok.example", ["93.184.216.34", "2606:4700::1111"])).toBeUndefined();
  });

  it("bad entries name the setting", () => {
    expect(() => parseDestinationEntries(["10.0.0.0/8", "10.0.0.0/33"], "httpAllow")).toThrow(
      expect.objectContaining({ code: "INVALID_ARGUMENT", field: "httpAllow.1" }),
    );
    expect(() => parseDestinationEntries("ok.example, not a host", "TASKJET_HTTP_DENY")).toThrow(
      expect.objectContaining({ field: "TASKJET_HTTP_DENY" }),
    );
    expect(() => new DestinationPolicy({ deny: ["http://x"] })).toThrow(
      expect.objectContaining({ field: "httpDeny.0" }),
    );
    expect(parseDestinationEntries(" 127.0.0.1 ,::1,", "TASKJET_HTTP_ALLOW")).toEqual(["127.0.0.1", "::1"]);
  });
});
