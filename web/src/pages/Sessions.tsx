// The sessions list: filters, search and sort in the URL, cursor pagination as you
// scroll, and live `session` messages merged in place.
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, isAbort, queryString } from "../api/client";
import { SESSION_STATUSES, type AgentStats, type Page, type Session } from "../api/types";
import { ErrorBanner, StatusBadge } from "../components/bits";
import { SearchBox, SelectFilter, TextFilter, TimeRange } from "../components/filters";
import { GetStarted } from "../components/GetStarted";
import { VirtualList } from "../components/VirtualList";
import { formatAgo, formatCost, formatCount, formatDuration } from "../lib/format";
import { useKeys } from "../lib/keys";
import { FrameBatcher, LiveStream } from "../lib/live";
import { navigate, patchQuery, readQuery, sessionPath, useLocation } from "../lib/router";
import { DEFAULT_SORT, mergeSession, parseSort, type SessionFilter } from "../lib/sessions";

const PAGE = 100;
const ROW = 36;

export const SESSION_DEFAULTS = { agent: "", status: "", tag: "", q: "", from: "", to: "", sort: DEFAULT_SORT };

const SORT_LABELS: [string, string][] = [
  ["-started_at", "Newest first"],
  ["started_at", "Oldest first"],
  ["-last_event_at", "Recently active"],
  ["-cost_usd", "Cost (high → low)"],
  ["-total_tokens", "Tokens (high → low)"],
  ["-event_count", "Events (most)"],
  ["-error_count", "Errors (most)"],
];

interface ListState {
  items: Session[];
  cursor: string | null;
  loading: boolean;
  error: unknown;
  /** Ids updated live recently → when (for a brief highlight). */
  flashed: Map<string, number>;
}

export function SessionsPage(): JSX.Element {
  const loc = useLocation();
  const f = readQuery(loc.query, SESSION_DEFAULTS);
  const filter: SessionFilter = { agent: f.agent, status: f.status, tag: f.tag, q: f.q, from: f.from, to: f.to };
  const key = JSON.stringify(f);
  const [st, setSt] = useState<ListState>({ items: [], cursor: null, loading: true, error: null, flashed: new Map() });
  const stRef = useRef(st);
  stRef.current = st;
  const [sel, setSel] = useState(-1);
  const [agents, setAgents] = useState<string[]>([]);
  const [reload, setReload] = useState(0);
  const loadingMore = useRef<AbortController | null>(null);

  useEffect(() => {
    api<{ data: AgentStats[] }>("/v1/agents")
      .then((r) => setAgents(r.data.map((a) => a.agent).filter((a): a is string => a !== null)))
      .catch(() => undefined); // the filter still works as free text in the URL
  }, []);

  // Whenever the filters change: open the live stream of session changes, then (once it
  // is connected, so nothing committed in between is missed) load the first page.
  useEffect(() => {
    const ac = new AbortController();
    loadingMore.current?.abort();
    loadingMore.current = null;
    setSt((s) => ({ ...s, loading: true, error: null }));
    setSel(-1);
    // Messages that arrive before the first page are applied on top of it, not lost under it.
    let early: Session[] | null = [];
    const apply = (list: Session[]) =>
      setSt((cur) => {
        let items = cur.items;
        const flashed = new Map(cur.flashed);
        for (const s of list) {
          const next = mergeSession(items, s, filter, f.sort, cur.cursor !== null);
          if (next) {
            items = next;
            flashed.set(s.id, Date.now());
          }
        }
        return items === cur.items ? cur : { ...cur, items, flashed };
      });
    const batch = new FrameBatcher<Session>((list) => (early ? early.push(...list) : apply(list)));
    const stream = new LiveStream({ include: "sessions", ...(f.agent ? { agent: f.agent } : {}) }, {
      onSession: (s) => batch.push(s),
      onReset: () => setReload((r) => r + 1),
    });
    stream.ready
      .then(() => api<Page<Session>>(`/v1/sessions${queryString({ ...filter, sort: f.sort, limit: PAGE })}`, { signal: ac.signal }))
      .then((p) => {
        setSt({ items: p.data, cursor: p.next_cursor, loading: false, error: null, flashed: new Map() });
        const pending = early ?? [];
        early = null;
        if (pending.length) apply(pending);
      })
      .catch((e) => !isAbort(e) && setSt((s) => ({ ...s, loading: false, error: e })));
    return () => {
      ac.abort();
      stream.close();
    };
  }, [key, reload]);

  const loadMore = () => {
    const s = stRef.current;
    if (!s.cursor || s.loading || loadingMore.current) return;
    const ac = new AbortController();
    loadingMore.current = ac;
    const cursor = s.cursor;
    api<Page<Session>>(`/v1/sessions${queryString({ ...filter, sort: f.sort, limit: PAGE, cursor })}`, { signal: ac.signal })
      .then((p) =>
        setSt((cur) => {
          if (cur.cursor !== cursor) return cur;
          const seen = new Set(cur.items.map((x) => x.id));
          return { ...cur, items: [...cur.items, ...p.data.filter((x) => !seen.has(x.id))], cursor: p.next_cursor };
        }),
      )
      .catch((e) => !isAbort(e) && setSt((cur) => ({ ...cur, error: e })))
      .finally(() => {
        if (loadingMore.current === ac) loadingMore.current = null;
      });
  };

  const open = (i: number) => {
    const s = st.items[i];
    if (s) navigate(sessionPath(s.id));
  };
  useKeys({
    j: () => setSel((i) => Math.min(st.items.length - 1, i + 1)),
    k: () => setSel((i) => Math.max(0, i - 1)),
    Enter: () => sel >= 0 && open(sel),
    Escape: (e) => {
      if (e.target instanceof HTMLInputElement) e.target.blur();
      else setSel(-1);
    },
  });

  const filtered = Object.entries(filter).some(([, v]) => v !== "");
  const sort = parseSort(f.sort);
  const setSort = (k: string) => {
    const cur = parseSort(f.sort);
    patchQuery({ sort: cur.key === k && cur.desc ? k : `-${k}` }, { replace: true });
  };

  return (
    <div class="sessions-page list-page">
      <div class="toolbar filters">
        <SearchBox value={f.q} placeholder="Search id, name, agent, user   ( / )" onChange={(q) => patchQuery({ q }, { replace: true })} />
        <SelectFilter
          label="Agent"
          value={f.agent}
          any="All agents"
          options={[...new Set([...agents, ...(f.agent ? [f.agent] : [])])]}
          onChange={(agent) => patchQuery({ agent })}
        />
        <SelectFilter label="Status" value={f.status} any="Any status" options={SESSION_STATUSES} onChange={(status) => patchQuery({ status })} />
        <TextFilter label="Tag" value={f.tag} onChange={(tag) => patchQuery({ tag }, { replace: true })} />
        <TimeRange from={f.from} to={f.to} onChange={(patch) => patchQuery(patch)} />
        <select aria-label="Sort" value={f.sort} onChange={(e) => patchQuery({ sort: e.currentTarget.value })}>
          {SORT_LABELS.some(([v]) => v === f.sort) ? null : <option value={f.sort}>{f.sort}</option>}
          {SORT_LABELS.map(([v, l]) => (
            <option key={v} value={v}>
              {l}
            </option>
          ))}
        </select>
        {filtered && (
          <button class="link" onClick={() => navigate("/sessions" + (f.sort !== DEFAULT_SORT ? `?sort=${f.sort}` : ""))}>
            Clear filters
          </button>
        )}
      </div>
      {st.error ? <ErrorBanner error={st.error} onRetry={() => setReload((r) => r + 1)} /> : null}
      {!st.loading && st.items.length === 0 && !st.error ? (
        filtered ? (
          <div class="empty">
            <h2>No sessions match</h2>
            <p>
              Nothing matches these filters. <button class="link" onClick={() => navigate("/sessions")}>Clear filters</button>
            </p>
          </div>
        ) : (
          <GetStarted />
        )
      ) : (
        <div class="table sessions-table" data-testid="sessions-table">
          <div class="thead sessions-grid">
            <span>Agent</span>
            <span>Name</span>
            <span>Status</span>
            <SortHead label="Started" k="started_at" sort={sort} onSort={setSort} />
            <span class="num">Duration</span>
            <SortHead label="Events" k="event_count" sort={sort} onSort={setSort} num />
            <SortHead label="Errors" k="error_count" sort={sort} onSort={setSort} num />
            <SortHead label="Tokens" k="total_tokens" sort={sort} onSort={setSort} num />
            <SortHead label="Cost" k="cost_usd" sort={sort} onSort={setSort} num />
          </div>
          <VirtualList
            class="tbody"
            label="Sessions"
            count={st.items.length}
            rowHeight={ROW}
            reveal={sel}
            onNearEnd={loadMore}
            renderRow={(i) => <SessionRow s={st.items[i]!} selected={i === sel} flashedAt={st.flashed.get(st.items[i]!.id)} />}
          />
          <div class="tfoot dim">
            {st.loading ? "Loading…" : `${st.items.length} sessions${st.cursor ? " · scroll for more" : ""}`}
            <span class="live-dot" title="Live: new sessions appear as they start" />
          </div>
        </div>
      )}
    </div>
  );
}

function SessionRow({ s, selected, flashedAt }: { s: Session; selected: boolean; flashedAt: number | undefined }): JSX.Element {
  const href = sessionPath(s.id);
  return (
    <a
      key={flashedAt ?? 0}
      href={href}
      class={`trow sessions-grid${selected ? " selected" : ""}${flashedAt && Date.now() - flashedAt < 2000 ? " flash" : ""}`}
      data-session-id={s.id}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
        e.preventDefault();
        navigate(href);
      }}
    >
      <span class="ellipsis">{s.agent ?? <span class="dim">—</span>}</span>
      <span class="ellipsis" title={s.name ?? s.id}>
        {s.name ?? <span class="dim mono">{s.id}</span>}
      </span>
      <span>
        <StatusBadge status={s.status} />
      </span>
      <span title={s.started_at ?? ""}>{formatAgo(s.started_at)}</span>
      <span class="num">{formatDuration(s.duration_ms)}</span>
      <span class="num">{formatCount(s.event_count)}</span>
      <span class={`num${s.error_count ? " err" : ""}`}>{s.error_count || "0"}</span>
      <span class="num">{formatCount(s.total_tokens)}</span>
      <span class="num">{formatCost(s.cost_usd)}</span>
    </a>
  );
}

function SortHead(p: { label: string; k: string; sort: { key: string; desc: boolean }; onSort: (k: string) => void; num?: boolean }): JSX.Element {
  const active = p.sort.key === p.k;
  return (
    <button class={`sort-head${p.num ? " num" : ""}${active ? " active" : ""}`} onClick={() => p.onSort(p.k)} title={`Sort by ${p.label.toLowerCase()}`}>
      {p.label}
      {active ? (p.sort.desc ? " ↓" : " ↑") : ""}
    </button>
  );
}
