/**
 * Which nats-server binary a test starts. A single server: `nats-server` on PATH (the machine's, 2.9.10 on
 * Debian bookworm). A replicated cluster needs one that serializes compare-and-set on replicated streams
 * (2.9.21+, nats-server#4320; taskjet refuses replicas > 1 on older servers), found in this order:
 *
 *   1. TASKJET_NATS_SERVER_REPLICATED   a path
 *   2. .cache/nats-server/nats-server   put there by `npm run nats:fetch` (shared/testing/bin)
 *   3. nats-server on PATH              when it is new enough
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { FEATURES, versionAtLeast } from "@taskjet/nats";
import { findExecutable } from "./findExecutable.js";

const versions = new Map<string, string>();

/** `nats-server --version` of `binary` (e.g. "2.9.10"), "0.0.0" when it does not answer. */
export function natsServerVersion(binary: string): string {
  let v = versions.get(binary);
  if (v === undefined) {
    const out = spawnSync(binary, ["--version"], { encoding: "utf8" }).stdout ?? "";
    v = /v(\d+\.\d+\.\d+)/.exec(out)?.[1] ?? "0.0.0";
    versions.set(binary, v);
  }
  return v;
}

/** The repository's .cache/nats-server/nats-server (this file is in shared/testing/src or dist). */
const fetched = fileURLToPath(new URL("../../../.cache/nats-server/nats-server", import.meta.url));

/** The binary for a replicated cluster; throws, saying how to get one, when none is new enough. */
export function replicatedNatsServer(): string {
  const min = FEATURES.serializableCas;
  const candidates = [process.env["TASKJET_NATS_SERVER_REPLICATED"], fetched, findExecutable("nats-server")];
  const seen: string[] = [];
  for (const c of candidates) {
    if (!c || !existsSync(c)) continue;
    const v = natsServerVersion(c);
    if (versionAtLeast(v, min)) return c;
    seen.push(`${c} is ${v}`);
  }
  throw new Error(
    `startCluster: a replicated cluster needs nats-server ${min} or newer (compare-and-set on replicated ` +
      `streams, nats-server#4320); ${seen.length ? seen.join(", ") : "none found"}. Run \`npm run nats:fetch\` ` +
      `(Debian trixie's package into .cache/nats-server), or set TASKJET_NATS_SERVER_REPLICATED to one`,
  );
}
