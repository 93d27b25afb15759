/**
 * The generated contract (docs/schemas/*.json, docs/asyncapi.yaml) matches the code, and the AsyncAPI
 * document is valid for the AsyncAPI parser. A failure here means: run `npm run protocol:generate` and commit.
 */
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { Parser } from "@asyncapi/parser";
import { apiOps, FireMessageSchema, JobInputSchema, namespace, sysOps } from "@taskjet/protocol";
// @ts-expect-error: a plain .mjs module of the generator, without types
import { renderContract } from "../bin/renderContract.mjs";

const root = resolve(import.meta.dirname, "../../..");
const read = (path: string) => readFileSync(resolve(root, path), "utf8");

describe("generated contract", () => {
  it("the committed files are what the code generates (npm run protocol:generate)", async () => {
    const files = (await renderContract()) as Record<string, string>;
    const committed = readdirSync(resolve(root, "docs/schemas"))
      .filter((f) => f.endsWith(".json"))
      .map((f) => `docs/schemas/${f}`);
    expect(committed.sort()).toEqual(
      Object.keys(files)
        .filter((p) => p.startsWith("docs/schemas/"))
        .sort(),
    );
    for (const [path, text] of Object.entries(files)) {
      expect(read(path), `${path} is stale: run npm run protocol:generate`).toBe(text);
    }
  });

  it("the AsyncAPI document parses without errors and has every channel of subjects.ts", async () => {
    const { document, diagnostics } = await new Parser().parse(read("docs/asyncapi.yaml"));
    // severity 0 = error (warnings and hints, e.g. style suggestions, are allowed)
    expect(diagnostics.filter((d) => d.severity === 0)).toEqual([]);
    expect(document).toBeDefined();
    const addresses = document!
      .channels()
      .all()
      .map((c) => c.address());
    const ns = namespace();
    for (const op of apiOps) expect(addresses).toContain(ns.api("{tenant}", op));
    for (const op of sysOps) expect(addresses).toContain(ns.sys(op));
    expect(addresses).toContain(ns.ctl("{node}"));
    expect(addresses).toContain(ns.log("{tenant}", "{jobId}"));
    expect(addresses).toContain(ns.dlq("{tenant}", "{jobId}"));
    expect(addresses.some((a) => a?.startsWith(`${ns.prefix}.run.`))).toBe(true);
    expect(addresses.some((a) => a?.startsWith(`${ns.prefix}.evt.`))).toBe(true);
    // the fire's payload schema is the generated one, with every field of the zod schema
    const fire = document!.components().messages().get("Fire");
    const props = Object.keys(fire?.payload()?.properties() ?? {});
    expect(props.sort()).toEqual(Object.keys(FireMessageSchema.shape).sort());
    // fires and fast-lane jobs share the run stream: fires on `...=fire`, fast-lane jobs (a JobInput with its
    // Nats-Msg-Id, received by taskjet) on their job id;
    // the document writes placeholders as `{name}`, where subjects.ts escapes the type's braces
    const unescape = (address: string) => address.replace(/=7B(\w+)=7D/g, "{$1}");
    const channelAt = (address: string) => {
      const c = document!
        .channels()
        .all()
        .find((ch) => ch.address() === unescape(address));
      return {
        address: c?.address(),
        messages: c
          ?.messages()
          .all()
          .map((m) => m.name()),
      };
    };
    const p = "{priority}" as never;
    const fireChannel = channelAt(ns.fire("{tenant}", "{node}", "{type}", p));
    expect(fireChannel.messages).toEqual(["Fire"]);
    expect(document!.operations().get("sendFire")?.channels().all()[0]?.address()).toBe(fireChannel.address);
    const run = channelAt(ns.run("{tenant}", "{node}", "{type}", p, "{jobId}"));
    expect(run.messages).toEqual(["FastJob"]);
    const fast = document!.components().messages().get("FastJob");
    expect(Object.keys(fast?.payload()?.properties() ?? {}).sort()).toEqual(
      Object.keys(JobInputSchema.shape).sort(),
    );
    expect(Object.keys(fast?.headers()?.properties() ?? {})).toContain("Nats-Msg-Id");
    const receive = document!.operations().get("receiveFastJob");
    expect(receive?.action()).toBe("receive");
    expect(receive?.channels().all()[0]?.address()).toBe(run.address);
  });
});
