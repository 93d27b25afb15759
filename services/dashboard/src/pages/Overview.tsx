/** Overview: leader and replicas, workers and backlog per node and type, rates and lateness, dead letters. */
import type { ComponentChildren } from "preact";
import { useMemo } from "preact/hooks";
import { get } from "../api";
import { useLoad } from "../hooks";
import type { Overview as OverviewData } from "../types";
import { Chart } from "../components/Chart";
import { ago, Badge, Card, ErrorLine, TableHead, TableWrap, when } from "../components/ui";

export function Overview() {
  const { data, error } = useLoad(() => get<OverviewData>("/v1/dashboard/overview"), [], 5000);
  const charts = useMemo(() => {
    const s = data?.samples ?? [];
    return {
      times: s.map((x) => Date.parse(x.at) / 1000),
      rates: [
        { label: "fires/s", color: "#1d4ed8", values: s.map((x) => x.firesPerSecond) },
        { label: "runs/s", color: "#047857", values: s.map((x) => x.runsPerSecond), dash: [6, 4] },
      ],
      failures: [
        {
          label: "failure rate",
          color: "#b91c1c",
          values: s.map((x) => (x.failureRate === null ? null : x.failureRate * 100)),
        },
      ],
      lateness: [
        { label: "p50", color: "#7c3aed", values: s.map((x) => x.latenessP50Ms) },
        { label: "p99", color: "#c2410c", values: s.map((x) => x.latenessP99Ms) },
      ],
    };
  }, [data?.samples]);

  if (!data) {
    return (
      <>
        <h1>Overview</h1>
        <ErrorLine error={error} />
        {!error && <p class="muted">loading…</p>}
      </>
    );
  }
  const { status } = data;
  const workersByNode = groupWorkers(status.workers);
  const last = data.samples.at(-1);
  return (
    <>
      <h1>Overview</h1>
      <ErrorLine error={error} />
      <div class="stats">
        <Stat label="leader" value={status.leader ? status.leader.host : "none"} />
        <Stat label="epoch" value={status.leader ? String(status.leader.epoch) : "—"} />
        <Stat label="replicas" value={String(status.replicas.length)} />
        <Stat label="jobs (active / total)" value={`${status.jobs.active} / ${status.jobs.total}`} />
        <Stat label="fires/s" value={last ? String(last.firesPerSecond) : "—"} />
        <Stat label="runs/s" value={last ? String(last.runsPerSecond) : "—"} />
        <Stat
          label="failure rate"
          value={last?.failureRate != null ? `${(last.failureRate * 100).toFixed(1)} %` : "—"}
        />
        <Stat label="dead letters" value={String(data.deadLetters)} href="#/dead-letters" />
      </div>

      <div class="grid">
        <Card title="Scheduler replicas">
          {!status.leader && (
            <p class="error" role="alert">
              No leader: nothing fires.
            </p>
          )}
          <TableWrap label="scheduler replicas">
            <TableHead columns={["replica", "host", "role", "started"]} />
            <tbody>
              {status.replicas.map((r) => (
                <tr key={r.replicaId}>
                  <td class="mono">{r.replicaId}</td>
                  <td>
                    {r.host} (pid {r.pid})
                  </td>
                  <td>
                    <Badge value={r.role} />
                  </td>
                  <td>{ago(r.startedAt)}</td>
                </tr>
              ))}
            </tbody>
          </TableWrap>
          {status.leader && (
            <p class="muted">
              leader since {when(status.leader.since)}, epoch {status.leader.epoch}
            </p>
          )}
        </Card>

        <Card title="Workers per node and type">
          <RowsTable
            label="workers per node and type"
            columns={["node", "type", "workers", "running / slots"]}
            rows={workersByNode}
            rowKey={(w) => `${w.node}/${w.type}`}
            cells={(w) => [
              w.node,
              w.type,
              w.workers,
              <>
                {w.running} / {w.concurrency}
              </>,
            ]}
            empty="no worker has reported"
          />
        </Card>

        <Card title="Backlog per node and type">
          <RowsTable
            label="backlog per node and type"
            columns={["node", "type", "fires waiting"]}
            rows={status.backlog}
            rowKey={(b) => `${b.node}/${b.type}`}
            cells={(b) => [b.node, b.type, b.messages]}
            empty="no backlog"
          />
        </Card>
      </div>

      <div class="grid charts">
        <Chart title="Fires and runs per second" times={charts.times} series={charts.rates} unit="/s" />
        <Chart title="Failure rate" times={charts.times} series={charts.failures} unit="%" />
        <Chart
          title="Fire lateness (run start − nominal time)"
          times={charts.times}
          series={charts.lateness}
          unit="ms"
        />
      </div>
      <p class="muted">
        One sample every {data.sampleSeconds} s from the job events this gateway sees; the charts keep the
        last hour.
      </p>
    </>
  );
}

/** A table of one row per item, with a line saying so when there is none. */
function RowsTable<T>(props: {
  label: string;
  columns: string[];
  rows: T[];
  rowKey: (row: T) => string;
  cells: (row: T) => ComponentChildren[];
  empty: string;
}) {
  const { label, columns, rows, rowKey, cells, empty } = props;
  return (
    <TableWrap label={label}>
      <TableHead columns={columns} />
      <tbody>
        {rows.map((r) => (
          <tr key={rowKey(r)}>
            {cells(r).map((c, i) => (
              <td key={i}>{c}</td>
            ))}
          </tr>
        ))}
        {rows.length === 0 && (
          <tr>
            <td colSpan={columns.length}>{empty}</td>
          </tr>
        )}
      </tbody>
    </TableWrap>
  );
}

function Stat({ label, value, href }: { label: string; value: string; href?: string }) {
  return (
    <div class="stat">
      <div class="stat-value">{href ? <a href={href}>{value}</a> : value}</div>
      <div class="stat-label">{label}</div>
    </div>
  );
}

interface WorkerRow {
  node: string;
  type: string;
  workers: number;
  running: number;
  concurrency: number;
}

function groupWorkers(workers: OverviewData["status"]["workers"]): WorkerRow[] {
  const rows = new Map<string, WorkerRow>();
  for (const w of workers) {
    for (const type of w.types) {
      const key = `${w.node}\u0000${type}`;
      const r = rows.get(key) ?? { node: w.node, type, workers: 0, running: 0, concurrency: 0 };
      r.workers++;
      r.running += w.running;
      r.concurrency += w.concurrency;
      rows.set(key, r);
    }
  }
  return [...rows.values()].sort((a, b) => a.node.localeCompare(b.node) || a.type.localeCompare(b.type));
}
