/** Dead letters of the tenant (oldest first): inspect, requeue (trigger the job again), discard. */
import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { api, get, query } from "../api";
import { useLoad } from "../hooks";
import { jobHref } from "../router";
import { useCanAct } from "../session";
import type { DeadLetterView } from "../types";
import { Badge, ErrorLine, Json, Pager, TableHead, TableWrap, when } from "../components/ui";

const LIMIT = 50;

export function DeadLetters() {
  const canAct = useCanAct();
  const [after, setAfter] = useState<number[]>([0]);
  const cursor = after.at(-1) ?? 0;
  const { data, error, reload } = useLoad(
    () =>
      get<{ letters: DeadLetterView[]; nextAfter?: number; total: number }>(
        "/v1/dead-letters" + query({ after: cursor, limit: LIMIT }),
      ),
    [cursor],
  );
  const [open, setOpen] = useState<number | undefined>(undefined);
  const [actionError, setActionError] = useState<unknown>(undefined);
  const [note, setNote] = useState("");

  const act = async (seq: number, op: "requeue" | "discard") => {
    setActionError(undefined);
    try {
      if (op === "requeue") await api("POST", `/v1/dead-letters/${seq}/requeue`);
      else await api("DELETE", `/v1/dead-letters/${seq}`);
      setNote(`dead letter ${seq}: ${op === "requeue" ? "requeued" : "discarded"}`);
      await reload();
    } catch (err) {
      setActionError(err);
    }
  };

  return (
    <>
      <h1>Dead letters</h1>
      <p class="muted">
        Fires given up on after their last try, and messages no worker could read. Requeue runs the job again
        (a job given up on is started again, an active one triggered) and removes the letter; discard removes
        it.
      </p>
      <ErrorLine error={error ?? actionError} />
      {note && (
        <p class="muted" role="status">
          {note}
        </p>
      )}
      <p class="muted" data-testid="dead-letter-count">
        {data ? `${data.total} dead letters` : ""}
      </p>
      <TableWrap label="dead letters">
        <TableHead
          columns={["#", "job", "reason", "error", "stored", <span class="sr-only">actions</span>]}
        />
        <tbody>
          {(data?.letters ?? []).map((d) => (
            <Fragment key={d.seq}>
              <tr data-seq={d.seq}>
                <td>{d.seq}</td>
                <td class="mono">
                  <a href={jobHref(d.jobId)}>{d.jobId}</a>
                </td>
                <td>{d.letter ? <Badge value={d.letter.reason} /> : "unreadable"}</td>
                <td class="error-text">{d.letter?.error ?? d.decodeError}</td>
                <td>{when(d.storedAt)}</td>
                <td>
                  <div class="row-actions">
                    <button
                      type="button"
                      class="secondary"
                      aria-expanded={open === d.seq}
                      onClick={() => setOpen(open === d.seq ? undefined : d.seq)}
                    >
                      {open === d.seq ? "Hide" : "Inspect"}
                    </button>
                    {canAct && (
                      <>
                        <button type="button" onClick={() => void act(d.seq, "requeue")}>
                          Requeue
                        </button>
                        <button type="button" class="danger" onClick={() => void act(d.seq, "discard")}>
                          Discard
                        </button>
                      </>
                    )}
                  </div>
                </td>
              </tr>
              {open === d.seq && (
                <tr>
                  <td colSpan={6}>
                    <Json value={d.letter ?? { decodeError: d.decodeError }} label={`dead letter ${d.seq}`} />
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
          {data && data.letters.length === 0 && (
            <tr>
              <td colSpan={6}>no dead letters</td>
            </tr>
          )}
        </tbody>
      </TableWrap>
      <Pager
        label="pages of dead letters"
        hasPrevious={after.length > 1}
        hasNext={data?.nextAfter !== undefined}
        onPrevious={() => setAfter(after.slice(0, -1))}
        onNext={() => data?.nextAfter !== undefined && setAfter([...after, data.nextAfter])}
      />
    </>
  );
}
