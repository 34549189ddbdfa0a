// Per-agent rollups and time series over a chosen range (1h, 24h, 7d, 30d).
import type { JSX } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, isAbort, queryString } from "../api/client";
import type { AgentStats, TimeSeries } from "../api/types";
import { ErrorBanner, Spinner } from "../components/bits";
import { GetStarted } from "../components/GetStarted";
import { formatAgo, formatCost, formatCount, formatDuration, formatPercent, formatStep } from "../lib/format";
import { patchQuery, readQuery, useLocation, navigate } from "../lib/router";
import { useStore } from "../lib/store";
import { theme } from "../lib/theme";

/** Range → bucket size: about 60–170 points per chart. */
export const RANGES: Record<string, { ms: number; step: number; label: string }> = {
  "1h": { ms: 3600e3, step: 60, label: "1 hour" },
  "24h": { ms: 24 * 3600e3, step: 600, label: "24 hours" },
  "7d": { ms: 7 * 24 * 3600e3, step: 3600, label: "7 days" },
  "30d": { ms: 30 * 24 * 3600e3, step: 4 * 3600, label: "30 days" },
};
const DEFAULTS = { range: "7d" };

export function AgentsPage(): JSX.Element {
  const loc = useLocation();
  const { range } = readQuery(loc.query, DEFAULTS);
  const r = RANGES[range] ?? RANGES["7d"]!;
  const [agents, setAgents] = useState<AgentStats[] | null>(null);
  const [ts, setTs] = useState<TimeSeries | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    const ac = new AbortController();
    const to = new Date();
    const from = new Date(to.getTime() - r.ms);
    setError(null);
    const q = { from: from.toISOString(), to: to.toISOString() };
    Promise.all([
      api<{ data: AgentStats[] }>(`/v1/agents${queryString(q)}`, { signal: ac.signal }),
      api<TimeSeries>(`/v1/agents/timeseries${queryString({ ...q, step: r.step })}`, { signal: ac.signal }),
    ])
      .then(([a, t]) => {
        setAgents(a.data);
        setTs(t);
      })
      .catch((e) => !isAbort(e) && setError(e));
    return () => ac.abort();
  }, [range, reload]);

  return (
    <div class="agents-page">
      <div class="toolbar">
        <h2 class="page-title">Agents</h2>
        <div class="seg" role="tablist" aria-label="Range">
          {Object.entries(RANGES).map(([k, v]) => (
            <button key={k} role="tab" aria-selected={k === range} class={k === range ? "active" : ""} title={v.label} onClick={() => patchQuery({ range: k === DEFAULTS.range ? "" : k }, { replace: true })}>
              {k}
            </button>
          ))}
        </div>
      </div>
      {error ? <ErrorBanner error={error} onRetry={() => setReload((x) => x + 1)} /> : null}
      {agents === null && !error ? (
        <Spinner />
      ) : agents && agents.length === 0 ? (
        <div>
          <p class="dim">No sessions started in the last {r.label}.</p>
          <GetStarted what="agents" />
        </div>
      ) : agents ? (
        <>
          <AgentTable agents={agents} />
          {ts && <Charts ts={ts} />}
        </>
      ) : null}
    </div>
  );
}

function AgentTable({ agents }: { agents: AgentStats[] }): JSX.Element {
  return (
    <div class="table-wrap">
      <table class="agents-table" data-testid="agents-table">
        <thead>
          <tr>
            <th>Agent</th>
            <th class="num">Sessions</th>
            <th class="num">Running</th>
            <th class="num">Success</th>
            <th class="num">Error rate</th>
            <th class="num">p50</th>
            <th class="num">p95</th>
            <th class="num">Events</th>
            <th class="num">LLM / tool</th>
            <th class="num">Tokens</th>
            <th class="num">Cost</th>
            <th>Last seen</th>
          </tr>
        </thead>
        <tbody>
          {agents.map((a) => {
            const href = `/sessions${a.agent ? `?agent=${encodeURIComponent(a.agent)}` : ""}`;
            return (
              <tr key={a.agent ?? "(none)"} data-agent={a.agent ?? ""} class="clickable" onClick={() => navigate(href)}>
                <td>
                  <a href={href} onClick={(e) => e.preventDefault()}>
                    {a.agent ?? <span class="dim">(no agent)</span>}
                  </a>
                </td>
                <td class="num">{formatCount(a.sessions)}</td>
                <td class="num">{a.running_sessions}</td>
                <td class="num">{formatPercent(a.sessions ? 1 - a.error_rate : null)}</td>
                <td class={`num${a.error_rate > 0 ? " err" : ""}`}>{formatPercent(a.error_rate)}</td>
                <td class="num">{formatDuration(a.p50_duration_ms)}</td>
                <td class="num">{formatDuration(a.p95_duration_ms)}</td>
                <td class="num">{formatCount(a.events)}</td>
                <td class="num">
                  {formatCount(a.llm_calls)} / {formatCount(a.tool_calls)}
                </td>
                <td class="num">{formatCount(a.total_tokens)}</td>
                <td class="num">{formatCost(a.cost_usd)}</td>
                <td>{formatAgo(a.last_seen_at)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

type ChartsModule = typeof import("./charts");

function Charts({ ts }: { ts: TimeSeries }): JSX.Element {
  // Built once per response: the charts are recreated only when the data (or theme) changes.
  const specs = useMemo(() => {
    const perMin = 60 / ts.step_seconds;
    const bucket = formatStep(ts.step_seconds);
    const label = (a: string | null) => a ?? "(no agent)";
    return [
      {
        testid: "chart-events",
        title: ts.step_seconds === 60 ? "Events / min" : `Events / min (average per ${bucket})`,
        series: ts.series.map((s) => ({ label: label(s.agent), values: s.events.map((v) => v * perMin) })),
        format: (v: number) => (v >= 10 || v === 0 ? formatCount(Math.round(v)) : v.toFixed(2)),
        integer: false,
      },
      {
        testid: "chart-errors",
        title: `Errors per ${bucket}`,
        series: ts.series.map((s) => ({ label: label(s.agent), values: s.errors })),
        format: (v: number) => formatCount(Math.round(v)),
        integer: true,
      },
      {
        testid: "chart-cost",
        title: `Cost per ${bucket}`,
        series: ts.series.map((s) => ({ label: label(s.agent), values: s.cost_usd })),
        format: (v: number) => formatCost(v),
        integer: false,
      },
    ];
  }, [ts]);
  return (
    <div class="charts">
      {specs.map((c) => (
        <Chart key={c.testid} title={c.title} t={ts.t} series={c.series} format={c.format} integer={c.integer} testid={c.testid} />
      ))}
    </div>
  );
}

let chartsModule: Promise<ChartsModule> | null = null;

function Chart(p: {
  title: string;
  t: number[];
  series: { label: string; values: number[] }[];
  format: (v: number) => string;
  integer: boolean;
  testid: string;
}): JSX.Element {
  const ref = useRef<HTMLDivElement>(null);
  const t = useStore(theme);
  const [failed, setFailed] = useState<unknown>(null);
  useEffect(() => {
    let chart: { destroy(): void; setSize(s: { width: number; height: number }): void } | null = null;
    let ro: ResizeObserver | null = null;
    let cancelled = false;
    chartsModule ??= import("./charts");
    chartsModule
      .then((m) => {
        const el = ref.current;
        if (cancelled || !el) return;
        el.textContent = "";
        const width = Math.max(280, el.clientWidth);
        chart = m.lineChart(el, { t: p.t, series: p.series, width, height: 200, format: p.format, integer: p.integer });
        ro = new ResizeObserver(() => chart?.setSize({ width: Math.max(280, el.clientWidth), height: 200 }));
        ro.observe(el);
      })
      .catch(setFailed);
    return () => {
      cancelled = true;
      ro?.disconnect();
      chart?.destroy();
    };
  }, [p.t, p.series, t]);
  return (
    <section class="chart-card" data-testid={p.testid}>
      <h3>{p.title}</h3>
      {failed ? <ErrorBanner error={failed} /> : null}
      <div class="chart" ref={ref} />
    </section>
  );
}
