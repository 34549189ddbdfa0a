// The session's events as rows of the flattened tree: a timeline waterfall (a bar per
// event on a shared, zoomable time axis) or a tree with the numbers. Virtualized, so a
// 10,000-event session scrolls like a short one.
import type { JSX } from "preact";
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import { formatCost, formatCount, formatDuration, formatOffset } from "../lib/format";
import type { Row } from "../lib/tree";
import { bar, pan, ticks, zoom, type Span } from "../lib/waterfall";
import { VirtualList } from "./VirtualList";

export const ROW_HEIGHT = 26;
const LABEL_WIDTH = 340;
const INDENT = 14;

export interface WaterfallProps {
  mode: "timeline" | "tree";
  rows: Row[];
  view: Span;
  limits: Span;
  /** Where a running event's bar ends (now, for a live session). */
  runningEnd: number;
  origin: number;
  selectedId: string | null;
  selectedIndex: number;
  /** Replay: the cursor's time; events after it are drawn as not yet happened. */
  cursor: number | null;
  follow: boolean;
  onSelect: (id: string) => void;
  onToggle: (id: string) => void;
  onView: (v: Span) => void;
}

export function Waterfall(p: WaterfallProps): JSX.Element {
  const trackRef = useRef<HTMLDivElement>(null);
  const [trackWidth, setTrackWidth] = useState(600);
  const drag = useRef<{ x: number; moved: boolean } | null>(null);
  const suppressClick = useRef(false);

  useLayoutEffect(() => {
    const el = trackRef.current;
    if (!el) return;
    const measure = () => setTrackWidth(Math.max(50, el.clientWidth));
    measure();
    if (typeof ResizeObserver === "undefined") return;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [p.mode]);

  const timeline = p.mode === "timeline";
  const onWheel = (e: WheelEvent) => {
    if (!timeline) return;
    const rect = trackRef.current!.getBoundingClientRect();
    const anchor = Math.min(1, Math.max(0, (e.clientX - rect.left) / rect.width));
    if (e.ctrlKey || e.metaKey || e.altKey) {
      // Pinch gestures arrive as ctrl+wheel too.
      e.preventDefault();
      p.onView(zoom(p.view, Math.exp(-e.deltaY * 0.0025), anchor, p.limits));
    } else if (Math.abs(e.deltaX) > Math.abs(e.deltaY) || e.shiftKey) {
      e.preventDefault();
      p.onView(pan(p.view, -(e.shiftKey ? e.deltaY : e.deltaX), trackWidth, p.limits));
    }
  };
  const onPointerDown = (e: PointerEvent) => {
    if (!timeline || e.button !== 0) return;
    const onTrack = (e.target as HTMLElement).closest(".wf-track, .wf-axis");
    if (!onTrack) return;
    drag.current = { x: e.clientX, moved: false };
  };
  const onPointerMove = (e: PointerEvent) => {
    const d = drag.current;
    if (!d) return;
    const dx = e.clientX - d.x;
    if (!d.moved && Math.abs(dx) < 4) return;
    d.moved = true;
    d.x = e.clientX;
    p.onView(pan(p.view, dx, trackWidth, p.limits));
  };
  const endDrag = () => {
    suppressClick.current = drag.current?.moved ?? false;
    drag.current = null;
  };

  const tks = timeline ? ticks(p.view, trackWidth, p.origin) : [];
  const cursorX = p.cursor !== null && timeline ? ((p.cursor - p.view.t0) / (p.view.t1 - p.view.t0)) * trackWidth : null;

  const renderRow = (i: number) => {
    const r = p.rows[i]!;
    const ev = r.node.ev;
    const selected = ev.id === p.selectedId;
    const future = p.cursor !== null && r.node.start > p.cursor;
    const cls = `wf-row${selected ? " selected" : ""}${future ? " future" : ""}${ev.status === "error" ? " is-error" : ""}`;
    return (
      <div
        class={cls}
        data-event-id={ev.id}
        data-type={ev.type}
        onClick={() => {
          if (suppressClick.current) {
            suppressClick.current = false;
            return;
          }
          p.onSelect(ev.id);
        }}
      >
        <div class="wf-label" style={{ paddingLeft: `${6 + r.depth * INDENT}px`, width: timeline ? `${LABEL_WIDTH}px` : undefined }}>
          {r.hasChildren ? (
            <button
              class="caret"
              aria-label={r.collapsed ? "Expand" : "Collapse"}
              onClick={(e) => {
                e.stopPropagation();
                p.onToggle(ev.id);
              }}
            >
              {r.collapsed ? "▸" : "▾"}
            </button>
          ) : (
            <span class="caret-space" />
          )}
          <span class={`type-dot type-${ev.type}`} title={ev.type} />
          <span class="wf-name ellipsis" title={ev.name ?? ev.type}>
            {ev.name ?? <span class="dim">{ev.type}</span>}
          </span>
          {ev.status === "error" && (
            <span class="err-mark" title={ev.error?.message ?? "error"}>
              !
            </span>
          )}
          {ev.status === "running" && <span class="run-mark" title="running" />}
        </div>
        {timeline ? <TrackCell r={r} p={p} width={trackWidth} /> : <TreeCells r={r} origin={p.origin} />}
      </div>
    );
  };

  return (
    <div
      class={`waterfall mode-${p.mode}`}
      data-testid="waterfall"
      data-ready={p.rows.length > 0 ? "1" : undefined}
      onWheel={onWheel}
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={endDrag}
      onPointerLeave={endDrag}
    >
      <div class="wf-head">
        {timeline ? (
          <>
            <div class="wf-label wf-head-label" style={{ width: `${LABEL_WIDTH}px` }}>
              Event
            </div>
            <div class="wf-axis" ref={trackRef}>
              {tks.map((t) => (
                <span key={t.label} class="tick" style={{ left: `${t.x}px` }}>
                  {t.label}
                </span>
              ))}
            </div>
          </>
        ) : (
          <div class="tree-head">
            <span>Event</span>
            <span class="num">Start</span>
            <span class="num">Duration</span>
            <span>Model</span>
            <span class="num">Tokens</span>
            <span class="num">Cost</span>
          </div>
        )}
      </div>
      <div class="wf-body">
        <VirtualList
          label="Events"
          count={p.rows.length}
          rowHeight={ROW_HEIGHT}
          reveal={p.selectedIndex}
          revealKey={p.selectedId === null ? null : `${p.selectedId}:${p.selectedIndex >= 0}`}
          follow={p.follow}
          renderRow={renderRow}
        />
        {timeline && (
          <div class="wf-grid" style={{ left: `${LABEL_WIDTH}px` }}>
            {tks.map((t) => (
              <span key={t.label} class="gridline" style={{ left: `${t.x}px` }} />
            ))}
            {cursorX !== null && cursorX >= 0 && cursorX <= trackWidth && <span class="cursor-line" style={{ left: `${cursorX}px` }} />}
          </div>
        )}
      </div>
    </div>
  );
}

function TrackCell({ r, p, width }: { r: Row; p: WaterfallProps; width: number }): JSX.Element {
  const n = r.node;
  const b = bar(n, p.view, width, p.runningEnd);
  const dur = n.end !== null ? n.end - n.start : null;
  return (
    <div class="wf-track">
      {!b.hidden && (
        <div
          class={`wf-bar type-${n.ev.type}${n.ev.status === "error" ? " is-error" : ""}${n.end === null ? " running" : ""}`}
          style={{ left: `${b.x}px`, width: `${b.w}px` }}
        />
      )}
      {!b.hidden && (
        // Beside the bar where there is room, else inside it.
        <span
          class={`wf-dur${b.x + b.w + 70 < width ? "" : b.x > 70 ? " before" : " inside"}`}
          style={{ left: `${b.x + b.w + 70 < width ? b.x + b.w + 4 : b.x > 70 ? b.x - 4 : b.x + 4}px` }}
        >
          {dur !== null ? formatDuration(dur) : "running"}
        </span>
      )}
    </div>
  );
}

function TreeCells({ r, origin }: { r: Row; origin: number }): JSX.Element {
  const ev = r.node.ev;
  return (
    <>
      <span class="num dim">{formatOffset(r.node.start - origin)}</span>
      <span class="num">{r.node.end !== null ? formatDuration(r.node.end - r.node.start) : "running"}</span>
      <span class="ellipsis dim">{ev.model ?? ""}</span>
      <span class="num">{ev.usage ? formatCount(ev.usage.total_tokens) : ""}</span>
      <span class="num">{ev.cost_usd !== null ? formatCost(ev.cost_usd) : ""}</span>
    </>
  );
}
