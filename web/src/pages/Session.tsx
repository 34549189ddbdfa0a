// One session: header with its rollups, the waterfall or tree of its events, the event
// inspector, replay, and live updates while the agent runs. URL state: ?event= (the
// selected event), view=tree, win=<from>,<to> (zoom, ms from the first event),
// replay=<index>, speed=.
import type { JSX } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, ApiError, isAbort } from "../api/client";
import type { AgentEvent, Page, Session } from "../api/types";
import { ErrorBanner, Modal, Spinner, StatusBadge, errorText } from "../components/bits";
import { CopyButton } from "../components/CopyButton";
import { Inspector } from "../components/Inspector";
import { ReplayBar } from "../components/ReplayBar";
import { Waterfall } from "../components/Waterfall";
import { EventStore } from "../lib/events";
import { formatCost, formatCount, formatDuration, formatTime } from "../lib/format";
import { useKeys } from "../lib/keys";
import { FrameBatcher, LiveStream } from "../lib/live";
import { advance, SPEEDS } from "../lib/replay";
import { navigate, onLinkClick, patchQuery, readQuery, useLocation } from "../lib/router";
import { ancestors, buildTree, flatten } from "../lib/tree";
import { clampView, extent, isFull, zoom, type Span } from "../lib/waterfall";

const EVENTS_PAGE = 1000;
const IDLE_MS = 5 * 60_000;
const DEFAULTS = { event: "", view: "timeline", win: "", replay: "", speed: "1" };

export interface SessionData {
  store: EventStore;
  version: number;
  session: Session | null;
  /** "loading": nothing yet; "partial": first pages shown, more coming; "done". */
  phase: "loading" | "partial" | "done";
  error: unknown;
  notFound: boolean;
  live: "connecting" | "open" | "retrying";
}

/**
 * Loads a session and all its events (pages of 1000, shown as they arrive) and keeps
 * both current from the live stream. The stream opens first and the pages load after it
 * is connected, so an event committed in between reaches us one way or the other; the
 * store merges duplicates by id and seq.
 */
export function useSessionData(id: string): SessionData {
  const storeRef = useRef<EventStore>(new EventStore());
  const [version, setVersion] = useState(0);
  const [session, setSession] = useState<Session | null>(null);
  const [phase, setPhase] = useState<SessionData["phase"]>("loading");
  const [error, setError] = useState<unknown>(null);
  const [notFound, setNotFound] = useState(false);
  const [live, setLive] = useState<SessionData["live"]>("connecting");
  const [reloads, setReloads] = useState(0);

  useEffect(() => {
    const store = storeRef.current;
    const ac = new AbortController();
    const batch = new FrameBatcher<AgentEvent>((evs) => {
      if (store.upsert(evs)) setVersion(store.version);
    });
    const stream = new LiveStream(
      { session_id: id },
      {
        onEvent: (e) => batch.push(e),
        onSession: (s) => {
          setSession(s);
          setNotFound(false);
        },
        onReset: () => setReloads((r) => r + 1),
        onState: setLive,
      },
    );
    const base = `/v1/sessions/${encodeURIComponent(id)}`;
    (async () => {
      await stream.ready;
      const head = api<Session>(base, { signal: ac.signal }).then(
        (s) => setSession(s),
        (e) => {
          if (e instanceof ApiError && e.status === 404) setNotFound(true);
          else if (!isAbort(e)) throw e;
        },
      );
      let cursor: string | null = null;
      do {
        const q: string = `?limit=${EVENTS_PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
        const page: Page<AgentEvent> = await api<Page<AgentEvent>>(`${base}/events${q}`, { signal: ac.signal });
        if (store.upsert(page.data)) setVersion(store.version);
        cursor = page.next_cursor;
        if (cursor) setPhase("partial");
      } while (cursor && !ac.signal.aborted);
      await head;
      // Everything up to here is loaded: a reconnect resumes after the newest of it.
      if (store.maxSeq > 0 && (stream.lastSeq === null || stream.lastSeq < store.maxSeq)) stream.lastSeq = store.maxSeq;
      setPhase("done");
    })().catch((e) => {
      if (!isAbort(e)) {
        setError(e);
        setPhase("done");
      }
    });
    return () => {
      ac.abort();
      stream.close();
    };
  }, [id, reloads]);

  return { store: storeRef.current, version, session, phase, error, notFound, live };
}

/** A clock for running sessions: bars of running events grow with it. */
function useNow(intervalMs: number | null): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (intervalMs === null) return;
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}

function parseWin(s: string): { a: number; b: number } | null {
  const m = /^(-?[\d.]+),(-?[\d.]+)$/.exec(s);
  if (!m) return null;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return Number.isFinite(a) && Number.isFinite(b) && b > a ? { a, b } : null;
}

export function SessionPage({ id, canWrite }: { id: string; canWrite: boolean }): JSX.Element {
  const loc = useLocation();
  const q = readQuery(loc.query, DEFAULTS);
  const data = useSessionData(id);
  const { store, version, session } = data;
  const items = store.items;

  const [collapsed, setCollapsed] = useState<Set<string>>(() => new Set());
  const tree = useMemo(() => buildTree(items), [version]);
  const rows = useMemo(() => flatten(tree.roots, collapsed), [tree, collapsed]);
  const rowIndex = useMemo(() => new Map(rows.map((r, i) => [r.node.ev.id, i])), [rows]);
  const starts = useMemo(() => items.map((it) => it.start), [version]);

  const running = session?.status === "running";
  const now = useNow(running ? 1000 : null);
  // A running session's open spans grow with the clock while it is active; one that has
  // been quiet for a while (an agent that died without ending its spans) is drawn up to its
  // last activity instead, so its real events are not squeezed against the left edge.
  const activity = useMemo(() => extent(items).t1, [version]);
  const liveEnd = running && now - activity < IDLE_MS ? now : null;
  const limits = useMemo(() => extent(items, liveEnd), [version, liveEnd]);
  const origin = limits.t0;

  // Zoom window, kept in the URL as offsets from the first event.
  const win = parseWin(q.win);
  const view: Span = win ? clampView({ t0: origin + win.a, t1: origin + win.b }, limits) : limits;
  const setView = (v: Span) => {
    const full = isFull(v, limits);
    patchQuery({ win: full ? "" : `${(v.t0 - origin).toFixed(3)},${(v.t1 - origin).toFixed(3)}` }, { replace: true });
  };

  // Replay.
  const replayOn = q.replay !== "";
  const speed = SPEEDS.includes(Number(q.speed) as (typeof SPEEDS)[number]) ? Number(q.speed) : 1;
  const [cursor, setCursor] = useState(() => Math.max(0, Number(q.replay) || 0));
  const [playing, setPlaying] = useState(false);
  const [clockTime, setClockTime] = useState<number | null>(null);
  const clock = useRef(0);
  const startsRef = useRef(starts);
  startsRef.current = starts;
  useEffect(() => {
    if (!playing) return;
    let last = performance.now();
    let raf = 0;
    const frame = (t: number) => {
      const r = advance(startsRef.current, clock.current, t - last, speed);
      last = t;
      clock.current = r.time;
      setClockTime(r.time);
      setCursor(Math.max(0, r.index));
      if (r.done) {
        setPlaying(false);
        patchQuery({ replay: String(Math.max(0, r.index)) }, { replace: true });
        return;
      }
      raf = requestAnimationFrame(frame);
    };
    raf = requestAnimationFrame(frame);
    return () => cancelAnimationFrame(raf);
  }, [playing, speed]);

  const seek = (i: number) => {
    const n = items.length;
    if (n === 0) return;
    const c = Math.max(0, Math.min(n - 1, i));
    setCursor(c);
    clock.current = starts[c]!;
    setClockTime(null);
    patchQuery({ replay: String(c) }, { replace: true });
  };
  const startReplay = () => {
    setCursor(0);
    clock.current = starts[0] ?? 0;
    setClockTime(null);
    patchQuery({ replay: "0", event: "" });
  };
  const exitReplay = () => {
    setPlaying(false);
    const cur = items[cursor]?.ev.id ?? "";
    patchQuery({ replay: "", speed: "", event: cur });
  };
  const play = () => {
    if (cursor >= items.length - 1) seek(0);
    else clock.current = starts[cursor] ?? 0;
    setPlaying(true);
  };
  const pause = () => {
    setPlaying(false);
    setClockTime(null);
    patchQuery({ replay: String(cursor) }, { replace: true });
  };

  // Selection: the URL's event, or the replay cursor's.
  const selectedId = replayOn ? (items[Math.min(cursor, items.length - 1)]?.ev.id ?? null) : q.event || null;
  const selectedItem = selectedId ? store.get(selectedId) : undefined;
  const select = (evId: string) => {
    if (replayOn) {
      setPlaying(false);
      seek(store.indexOf(evId));
    } else patchQuery({ event: evId }, { replace: q.event !== "" });
  };
  const closeInspector = () => (replayOn ? exitReplay() : patchQuery({ event: "" }));

  // A selected event inside a collapsed subtree opens the path to it.
  useEffect(() => {
    if (!selectedId) return;
    const up = ancestors(tree, selectedId).filter((a) => collapsed.has(a));
    if (up.length) setCollapsed((c) => new Set([...c].filter((x) => !up.includes(x))));
  }, [selectedId, tree]);

  const toggle = (evId: string) =>
    setCollapsed((c) => {
      const n = new Set(c);
      if (n.has(evId)) n.delete(evId);
      else n.add(evId);
      return n;
    });

  const selectedRow = selectedId ? (rowIndex.get(selectedId) ?? -1) : -1;
  const moveRow = (d: number) => {
    if (rows.length === 0) return;
    const i = selectedRow < 0 ? (d > 0 ? 0 : rows.length - 1) : Math.max(0, Math.min(rows.length - 1, selectedRow + d));
    select(rows[i]!.node.ev.id);
  };
  const zoomBy = (f: number) => setView(zoom(view, f, 0.5, limits));

  useKeys({
    j: () => moveRow(1),
    k: () => moveRow(-1),
    Escape: () => {
      if (playing) pause();
      else if (selectedId) closeInspector();
    },
    Enter: () => selectedId && tree.byId.get(selectedId)?.children.length && toggle(selectedId),
    "+": () => zoomBy(2),
    "=": () => zoomBy(2),
    "-": () => zoomBy(0.5),
    "0": () => setView(limits),
    t: () => patchQuery({ view: q.view === "tree" ? "" : "tree" }, { replace: true }),
    r: () => (replayOn ? exitReplay() : startReplay()),
    " ": (e) => {
      if (!replayOn) return;
      e.preventDefault();
      if (playing) pause();
      else play();
    },
    ArrowLeft: () => replayOn && (setPlaying(false), seek(cursor - 1)),
    ArrowRight: () => replayOn && (setPlaying(false), seek(cursor + 1)),
  });

  const [confirming, setConfirming] = useState(false);

  if (data.phase === "loading" && !data.error) return <Spinner label="Loading session…" />;
  const missingEvent = !replayOn && q.event && data.phase === "done" && !selectedItem;
  const cursorTime = replayOn ? (clockTime ?? items[cursor]?.start ?? null) : null;

  return (
    <div class={`session-page${selectedItem ? " with-inspector" : ""}`} data-phase={data.phase}>
      <SessionHeader
        id={id}
        session={session}
        loaded={items.length}
        phase={data.phase}
        live={data.live}
        canWrite={canWrite}
        onDelete={() => setConfirming(true)}
      />
      {data.error ? <ErrorBanner error={data.error} /> : null}
      {data.notFound && items.length === 0 ? (
        <div class="empty">
          <h2>No session “{id}”</h2>
          <p>
            It may have been deleted, or it has not started yet — this page shows it as soon as its first event arrives.{" "}
            <a href="/sessions" onClick={(e) => onLinkClick(e, "/sessions")}>
              All sessions
            </a>
          </p>
        </div>
      ) : (
        <>
          <div class="toolbar session-toolbar">
            <div class="seg" role="tablist" aria-label="View">
              <button role="tab" aria-selected={q.view !== "tree"} class={q.view !== "tree" ? "active" : ""} onClick={() => patchQuery({ view: "" }, { replace: true })}>
                Timeline
              </button>
              <button role="tab" aria-selected={q.view === "tree"} class={q.view === "tree" ? "active" : ""} onClick={() => patchQuery({ view: "tree" }, { replace: true })}>
                Tree
              </button>
            </div>
            {q.view !== "tree" && (
              <div class="seg" aria-label="Zoom">
                <button title="Zoom out (−)" aria-label="Zoom out" onClick={() => zoomBy(0.5)}>
                  −
                </button>
                <button title="Zoom in (+)" aria-label="Zoom in" onClick={() => zoomBy(2)}>
                  +
                </button>
                <button title="Fit (0)" onClick={() => setView(limits)} disabled={isFull(view, limits)}>
                  Fit
                </button>
              </div>
            )}
            <button class={replayOn ? "active" : ""} onClick={() => (replayOn ? exitReplay() : startReplay())} disabled={items.length === 0} title="Replay (r)">
              {replayOn ? "Exit replay" : "▶ Replay"}
            </button>
            <span class="spacer" />
            <span class="dim small">
              {collapsed.size > 0 ? (
                <button class="link" onClick={() => setCollapsed(new Set())}>
                  expand all
                </button>
              ) : (
                <span class="hint">drag to pan · ctrl+wheel to zoom</span>
              )}
            </span>
          </div>
          {replayOn && (
            <ReplayBar
              count={items.length}
              index={Math.min(cursor, items.length - 1)}
              playing={playing}
              speed={speed}
              offset={(cursorTime ?? origin) - origin}
              onPlay={play}
              onPause={pause}
              onStep={(d) => {
                setPlaying(false);
                seek(cursor + d);
              }}
              onSeek={(i) => {
                setPlaying(false);
                seek(i);
              }}
              onSpeed={(s) => patchQuery({ speed: s === 1 ? "" : String(s) }, { replace: true })}
              onExit={exitReplay}
            />
          )}
          {missingEvent && <div class="banner">Event “{q.event}” is not in this session.</div>}
          <div class="session-main">
            {items.length === 0 ? (
              <div class="empty">
                <h2>No events yet</h2>
                <p>This session has no events. {running ? "They appear here live as the agent sends them." : ""}</p>
              </div>
            ) : (
              <Waterfall
                mode={q.view === "tree" ? "tree" : "timeline"}
                rows={rows}
                view={view}
                limits={limits}
                runningEnd={liveEnd ?? limits.t1}
                origin={origin}
                selectedId={selectedId}
                selectedIndex={selectedRow}
                cursor={cursorTime}
                follow={running && !replayOn && !selectedId}
                onSelect={select}
                onToggle={toggle}
                onView={setView}
              />
            )}
            {selectedItem && (
              <Inspector
                item={selectedItem}
                origin={origin}
                parentName={selectedItem.ev.parent_id ? (store.get(selectedItem.ev.parent_id)?.ev.name ?? null) : null}
                onSelect={select}
                onClose={closeInspector}
              />
            )}
          </div>
        </>
      )}
      {confirming && session && (
        <DeleteDialog
          session={session}
          onClose={() => setConfirming(false)}
          onDeleted={() => navigate("/sessions")}
        />
      )}
    </div>
  );
}

function SessionHeader(p: {
  id: string;
  session: Session | null;
  loaded: number;
  phase: SessionData["phase"];
  live: SessionData["live"];
  canWrite: boolean;
  onDelete: () => void;
}): JSX.Element {
  const s = p.session;
  return (
    <div class="session-header">
      <div class="crumbs">
        <a href="/sessions" onClick={(e) => onLinkClick(e, "/sessions")}>
          Sessions
        </a>{" "}
        / <span class="mono">{p.id}</span> <CopyButton text={p.id} label="Copy id" />
      </div>
      <div class="session-title">
        <h1 class="ellipsis">{s?.name ?? p.id}</h1>
        {s && <StatusBadge status={s.status} />}
        {s?.status === "running" && (
          <span class={`live-badge ${p.live}`} data-testid="live-state" title="Events appear as the agent sends them">
            {p.live === "open" ? "● live" : p.live === "retrying" ? "reconnecting…" : "connecting…"}
          </span>
        )}
        <span class="spacer" />
        {p.canWrite && s && (
          <button class="danger" data-testid="delete-session" onClick={p.onDelete}>
            Delete
          </button>
        )}
      </div>
      {s && (
        <dl class="stats">
          <Stat k="Agent" v={s.agent ?? "—"} />
          <Stat k="Started" v={formatTime(s.started_at)} />
          <Stat k="Duration" v={formatDuration(s.duration_ms)} />
          <Stat k="Events" v={`${formatCount(s.event_count)}${p.phase === "partial" ? ` (${formatCount(p.loaded)} loaded)` : ""}`} testid="event-count" />
          <Stat k="Errors" v={String(s.error_count)} cls={s.error_count ? "err" : ""} />
          <Stat k="LLM / tool" v={`${s.llm_count} / ${s.tool_count}`} />
          <Stat k="Tokens" v={`${formatCount(s.total_tokens)}`} title={`${s.input_tokens} in · ${s.output_tokens} out`} />
          <Stat k="Cost" v={formatCost(s.cost_usd)} />
          {s.user_id && <Stat k="User" v={s.user_id} />}
          {s.tags.length > 0 && <Stat k="Tags" v={s.tags.join(", ")} />}
        </dl>
      )}
    </div>
  );
}

function Stat({ k, v, cls, title, testid }: { k: string; v: string; cls?: string; title?: string; testid?: string }): JSX.Element {
  return (
    <div class="stat" title={title}>
      <dt>{k}</dt>
      <dd class={cls} data-testid={testid}>
        {v}
      </dd>
    </div>
  );
}

function DeleteDialog({ session, onClose, onDeleted }: { session: Session; onClose: () => void; onDeleted: () => void }): JSX.Element {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const del = async () => {
    setBusy(true);
    try {
      await api<void>(`/v1/sessions/${encodeURIComponent(session.id)}`, { method: "DELETE" });
      onDeleted();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <Modal title="Delete session?" onClose={onClose}>
      <p>
        This deletes <b>{session.name ?? session.id}</b> and its {session.event_count} events. It cannot be undone.
      </p>
      {error ? <div class="banner error">{errorText(error)}</div> : null}
      <div class="modal-actions">
        <button data-autofocus onClick={onClose}>
          Cancel
        </button>
        <button class="danger" data-testid="confirm-delete" disabled={busy} onClick={del}>
          {busy ? "Deleting…" : "Delete"}
        </button>
      </div>
    </Modal>
  );
}
