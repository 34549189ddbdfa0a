// Search across every session's events with the API's filters; a result opens its
// session with the event selected.
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, isAbort, queryString } from "../api/client";
import { EVENT_STATUSES, EVENT_TYPES, type AgentEvent, type Page } from "../api/types";
import { ErrorBanner, StatusBadge, TypeBadge } from "../components/bits";
import { SearchBox, SelectFilter, TextFilter, TimeRange } from "../components/filters";
import { GetStarted } from "../components/GetStarted";
import { VirtualList } from "../components/VirtualList";
import { formatAgo, formatCost, formatCount, formatDuration } from "../lib/format";
import { useKeys } from "../lib/keys";
import { navigate, patchQuery, readQuery, sessionPath, useLocation } from "../lib/router";

const PAGE = 100;
const ROW = 36;
export const EVENT_DEFAULTS = { q: "", type: "", name: "", status: "", model: "", agent: "", from: "", to: "" };

interface State {
  items: AgentEvent[];
  cursor: string | null;
  loading: boolean;
  error: unknown;
}

export function EventsPage(): JSX.Element {
  const loc = useLocation();
  const f = readQuery(loc.query, EVENT_DEFAULTS);
  const key = JSON.stringify(f);
  const [st, setSt] = useState<State>({ items: [], cursor: null, loading: true, error: null });
  const stRef = useRef(st);
  stRef.current = st;
  const [sel, setSel] = useState(-1);
  const [reload, setReload] = useState(0);
  const more = useRef<AbortController | null>(null);

  useEffect(() => {
    const ac = new AbortController();
    more.current?.abort();
    more.current = null;
    setSt((s) => ({ ...s, loading: true, error: null }));
    setSel(-1);
    api<Page<AgentEvent>>(`/v1/events${queryString({ ...f, limit: PAGE })}`, { signal: ac.signal })
      .then((p) => setSt({ items: p.data, cursor: p.next_cursor, loading: false, error: null }))
      .catch((e) => !isAbort(e) && setSt((s) => ({ ...s, loading: false, error: e })));
    return () => ac.abort();
  }, [key, reload]);

  const loadMore = () => {
    const s = stRef.current;
    if (!s.cursor || s.loading || more.current) return;
    const ac = new AbortController();
    more.current = ac;
    const cursor = s.cursor;
    api<Page<AgentEvent>>(`/v1/events${queryString({ ...f, limit: PAGE, cursor })}`, { signal: ac.signal })
      .then((p) => setSt((cur) => (cur.cursor === cursor ? { ...cur, items: [...cur.items, ...p.data], cursor: p.next_cursor } : cur)))
      .catch((e) => !isAbort(e) && setSt((cur) => ({ ...cur, error: e })))
      .finally(() => {
        if (more.current === ac) more.current = null;
      });
  };

  const open = (i: number) => {
    const e = st.items[i];
    if (e) navigate(sessionPath(e.session_id, e.id));
  };
  useKeys({
    j: () => setSel((i) => Math.min(st.items.length - 1, i + 1)),
    k: () => setSel((i) => Math.max(0, i - 1)),
    Enter: () => sel >= 0 && open(sel),
    Escape: (e) => (e.target instanceof HTMLInputElement ? e.target.blur() : setSel(-1)),
  });

  const filtered = Object.values(f).some((v) => v !== "");
  return (
    <div class="events-page list-page">
      <div class="toolbar filters">
        <SearchBox value={f.q} placeholder="Search text in events   ( / )" onChange={(q) => patchQuery({ q }, { replace: true })} />
        <SelectFilter label="Type" value={f.type} any="Any type" options={EVENT_TYPES} onChange={(type) => patchQuery({ type })} />
        <SelectFilter label="Status" value={f.status} any="Any status" options={EVENT_STATUSES} onChange={(status) => patchQuery({ status })} />
        <TextFilter label="Name" value={f.name} onChange={(name) => patchQuery({ name }, { replace: true })} width="9em" />
        <TextFilter label="Model" value={f.model} onChange={(model) => patchQuery({ model }, { replace: true })} width="9em" />
        <TextFilter label="Agent" value={f.agent} onChange={(agent) => patchQuery({ agent }, { replace: true })} width="9em" />
        <TimeRange from={f.from} to={f.to} onChange={(patch) => patchQuery(patch)} />
        {filtered && (
          <button class="link" onClick={() => navigate("/events")}>
            Clear
          </button>
        )}
      </div>
      {st.error ? <ErrorBanner error={st.error} onRetry={() => setReload((r) => r + 1)} /> : null}
      {!st.loading && !st.error && st.items.length === 0 ? (
        filtered ? (
          <div class="empty">
            <h2>No events match</h2>
            <p>
              Search matches whole words, and the last word as a prefix (<code>gpt-4o</code> is the words <code>gpt</code> and{" "}
              <code>4o</code>). <button class="link" onClick={() => navigate("/events")}>Clear filters</button>
            </p>
          </div>
        ) : (
          <GetStarted what="events" />
        )
      ) : (
        <div class="table events-table" data-testid="events-table">
          <div class="thead events-grid">
            <span>Time</span>
            <span>Type</span>
            <span>Name</span>
            <span>Agent</span>
            <span>Session</span>
            <span>Status</span>
            <span>Model</span>
            <span class="num">Duration</span>
            <span class="num">Tokens</span>
            <span class="num">Cost</span>
          </div>
          <VirtualList
            class="tbody"
            label="Events"
            count={st.items.length}
            rowHeight={ROW}
            reveal={sel}
            onNearEnd={loadMore}
            renderRow={(i) => <EventRow e={st.items[i]!} selected={i === sel} />}
          />
          <div class="tfoot dim">{st.loading ? "Searching…" : `${st.items.length} events${st.cursor ? " · scroll for more" : ""}`}</div>
        </div>
      )}
    </div>
  );
}

function EventRow({ e, selected }: { e: AgentEvent; selected: boolean }): JSX.Element {
  const href = sessionPath(e.session_id, e.id);
  return (
    <a
      href={href}
      class={`trow events-grid${selected ? " selected" : ""}`}
      data-event-id={e.id}
      onClick={(ev) => {
        if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey) return;
        ev.preventDefault();
        navigate(href);
      }}
    >
      <span title={e.started_at}>{formatAgo(e.started_at)}</span>
      <span>
        <TypeBadge type={e.type} />
      </span>
      <span class="ellipsis" title={e.error?.message ?? e.name ?? ""}>
        {e.name ?? <span class="dim">—</span>}
      </span>
      <span class="ellipsis">{e.agent ?? ""}</span>
      <span class="ellipsis mono small" title={e.session_id}>
        {e.session_id}
      </span>
      <span>
        <StatusBadge status={e.status} />
      </span>
      <span class="ellipsis dim">{e.model ?? ""}</span>
      <span class="num">{formatDuration(e.duration_ms)}</span>
      <span class="num">{e.usage ? formatCount(e.usage.total_tokens) : ""}</span>
      <span class="num">{e.cost_usd !== null ? formatCost(e.cost_usd) : ""}</span>
    </a>
  );
}
