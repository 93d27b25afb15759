/**
 * The run stream's backlog per node and job type: fires stored and not yet acked (waiting, or running
 * unacked), read from the stream's per-subject counts (STREAM.INFO with subjects_filter, NATS 2.9+). A type
 * with no worker shows here while its fires wait: the workers' consumers exist only for types someone
 * registered, so consumer lag alone would not see it.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import { parseRunSubject, type BacklogEntry, type Namespace } from "@taskjet/protocol";

export async function runBacklog(jsm: JetStreamManager, ns: Namespace): Promise<BacklogEntry[]> {
  const info = await jsm.streams.info(ns.streams.run, { subjects_filter: ns.runAll });
  const by = new Map<string, BacklogEntry>();
  for (const [subject, messages] of Object.entries(info.state.subjects ?? {})) {
    const s = parseRunSubject(ns, subject);
    if (!s) continue;
    const node = s.node ?? "_any";
    const key = `${node}\u0000${s.type}`;
    const e = by.get(key);
    if (e) e.messages += messages;
    else by.set(key, { node, type: s.type, messages });
  }
  return [...by.values()].sort((a, b) => a.node.localeCompare(b.node) || a.type.localeCompare(b.type));
}
