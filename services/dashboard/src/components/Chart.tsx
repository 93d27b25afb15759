/** A time-series line chart (uPlot, bundled): one x axis of sample times, one or more series. */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  label: string;
  color: string;
  values: (number | null)[];
  /** dashed line (two series that often coincide stay apart) */
  dash?: number[];
}

/** Tick labels: HH:MM, with seconds while the chart spans less than 10 minutes (ticks closer together). */
const timeTicks = (splits: number[]) => {
  const span = (splits.at(-1) ?? 0) - (splits[0] ?? 0);
  const opts: Intl.DateTimeFormatOptions = { hour: "2-digit", minute: "2-digit", hour12: false };
  if (span < 600) opts.second = "2-digit";
  return splits.map((s) => new Date(s * 1000).toLocaleTimeString(undefined, opts));
};

export function Chart(props: { title: string; times: number[]; series: Series[]; unit: string }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = props.series.map((s) => s.label).join("|");

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const width = () => Math.max(240, el.clientWidth);
    const u = new uPlot(
      {
        width: width(),
        height: 180,
        legend: { show: true, live: false },
        scales: { x: { time: true } },
        axes: [{ values: (_u, splits) => timeTicks(splits) }, { label: props.unit, size: 60 }],
        series: [
          {},
          ...props.series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            ...(s.dash ? { dash: s.dash } : {}),
          })),
        ],
      },
      [props.times, ...props.series.map((s) => s.values)] as uPlot.AlignedData,
      el,
    );
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: width(), height: 180 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // a new plot only when the series change; new data goes through setData below
  }, [shape, props.unit]);

  useEffect(() => {
    plot.current?.setData([props.times, ...props.series.map((s) => s.values)] as uPlot.AlignedData);
  }, [props.times, props.series]);

  const last = props.series.map((s) => `${s.label} ${fmt(s.values.at(-1) ?? null)} ${props.unit}`).join(", ");
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={host} role="img" aria-label={`${props.title}: latest ${last}`} />
      {props.times.length === 0 && <p class="muted">no samples yet</p>}
    </figure>
  );
}

function fmt(v: number | null): string {
  return v === null ? "—" : String(Math.round(v * 1000) / 1000);
}
