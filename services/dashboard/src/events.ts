/**
 * Live job events from the gateway's server-sent event stream (GET /v1/events/stream). EventSource cannot
 * send an Authorization header, so the stream is read with fetch and parsed by eventsource-parser.
 */
import { EventSourceParserStream } from "eventsource-parser/stream";
import { apiUrl, authHeaders, ApiError, query, type ErrorBody } from "./api";
import type { JobEvent } from "./types";

export interface EventFilter {
  jobId?: string;
  group?: string;
  type?: string;
  phases?: string[];
}

export interface EventStream {
  close(): void;
}

/**
 * Subscribes; `onEvent` gets each event, `onOpen` fires once the gateway's subscription is in place (events
 * published after it are delivered), `onError` on a failure (the stream is then closed).
 */
export function streamEvents(
  filter: EventFilter,
  handlers: { onEvent: (e: JobEvent) => void; onOpen?: () => void; onError?: (err: unknown) => void },
): EventStream {
  const abort = new AbortController();
  const path =
    "/v1/events/stream" +
    query({
      jobId: filter.jobId,
      group: filter.group,
      type: filter.type,
      phases: filter.phases && filter.phases.length > 0 ? filter.phases.join(",") : undefined,
    });
  void (async () => {
    try {
      const res = await fetch(apiUrl(path), {
        headers: { ...authHeaders(), accept: "text/event-stream" },
        signal: abort.signal,
      });
      if (!res.ok || !res.body) {
        const body = (await res.json().catch(() => undefined)) as { error?: ErrorBody } | undefined;
        throw new ApiError(
          res.status,
          body?.error ?? { code: "INTERNAL", message: res.statusText, field: null },
        );
      }
      // the gateway's first comment says its subscription is registered: from then on nothing is missed
      let opened = false;
      const onComment = (comment: string) => {
        if (!opened && comment.trim() === "subscribed") {
          opened = true;
          handlers.onOpen?.();
        }
      };
      const reader = res.body
        .pipeThrough(new TextDecoderStream())
        .pipeThrough(new EventSourceParserStream({ onComment }))
        .getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (value.event === "job") handlers.onEvent(JSON.parse(value.data) as JobEvent);
      }
    } catch (err) {
      if (!abort.signal.aborted) handlers.onError?.(err);
    }
  })();
  return { close: () => abort.abort() };
}
