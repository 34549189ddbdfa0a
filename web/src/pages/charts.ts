// uPlot time-series charts for the agents page. Loaded on demand (import()), so uPlot's
// ~20 KB stay out of the bundle every other page loads.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartSeries {
  label: string;
  values: number[];
}

export interface ChartSpec {
  t: number[];
  series: ChartSeries[];
  width: number;
  height: number;
  format: (v: number) => string;
  /** Counts: no ticks between whole numbers. */
  integer: boolean;
}

export const PALETTE = ["#4f9cf9", "#f5a524", "#17c964", "#f31260", "#9353d3", "#06b7db", "#ff7eb6", "#a3b18a"];

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export function lineChart(el: HTMLElement, spec: ChartSpec): uPlot {
  const axisColor = cssVar("--fg-dim", "#888");
  const grid = cssVar("--border", "#333");
  const axis = { stroke: axisColor, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  const opts: uPlot.Options = {
    width: spec.width,
    height: spec.height,
    legend: { show: true, live: true },
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(max, min + 1e-9) * 1.1] } },
    axes: [
      axis,
      {
        ...axis,
        size: 72,
        ...(spec.integer ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 1e4, 2e4, 5e4, 1e5, 1e6] } : {}),
        values: (_u, vals) => vals.map((v) => spec.format(v)),
      },
    ],
    series: [
      {},
      ...spec.series.map((s, i) => ({
        label: s.label,
        stroke: PALETTE[i % PALETTE.length],
        width: 1.5,
        points: { show: false },
        value: (_u: uPlot, v: number | null) => (v === null ? "—" : spec.format(v)),
      })),
    ],
  };
  return new uPlot(opts, [spec.t, ...spec.series.map((s) => s.values)], el);
}
