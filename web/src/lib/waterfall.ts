// Geometry of the timeline waterfall: the visible time window, where each event's bar
// goes, zoom and pan that keep the window inside the session, and axis ticks.
// Times are epoch milliseconds (fractional).
import { formatDuration } from "./format";

export interface Span {
  t0: number;
  t1: number;
}

/** Events a waterfall can place: a start and, unless still running, an end. */
export interface Timed {
  start: number;
  end: number | null;
}

/**
 * The session's extent: earliest start to latest end. A running event (no end) reaches
 * `now` when given, else its own start. Never empty, so there is always a scale.
 */
export function extent(items: Iterable<Timed>, now: number | null = null): Span {
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const it of items) {
    if (it.start < t0) t0 = it.start;
    const e = it.end ?? (now !== null ? Math.max(now, it.start) : it.start);
    if (e > t1) t1 = e;
  }
  if (t0 === Infinity) return { t0: 0, t1: 1 };
  if (t1 - t0 < 1) t1 = t0 + 1; // a single instant still gets a 1 ms scale
  return { t0, t1 };
}

export interface Bar {
  x: number;
  w: number;
  /** The bar starts before / ends after the window (draw it open on that side). */
  clippedLeft: boolean;
  clippedRight: boolean;
  /** Entirely outside the window: nothing to draw. */
  hidden: boolean;
}

export const MIN_BAR_PX = 2;

/** Where an event's bar goes in a track `width` px wide showing `view`. */
export function bar(item: Timed, view: Span, width: number, runningEnd: number): Bar {
  const scale = width / (view.t1 - view.t0);
  const end = item.end ?? Math.max(runningEnd, item.start);
  let x0 = (item.start - view.t0) * scale;
  let x1 = (end - view.t0) * scale;
  const hidden = x1 < 0 || x0 > width;
  const clippedLeft = x0 < 0;
  const clippedRight = x1 > width;
  x0 = Math.max(0, x0);
  x1 = Math.min(width, x1);
  let w = x1 - x0;
  if (w < MIN_BAR_PX) {
    w = MIN_BAR_PX;
    if (x0 + w > width) x0 = Math.max(0, width - w);
  }
  return { x: x0, w, clippedLeft, clippedRight, hidden };
}

/** Smallest window, so zooming in stops at a readable scale. */
export const MIN_SPAN_MS = 0.05;

/** Keeps `v` inside `limits` (shifting, then shrinking if it is wider). */
export function clampView(v: Span, limits: Span): Span {
  const span = Math.max(MIN_SPAN_MS, v.t1 - v.t0);
  const full = limits.t1 - limits.t0;
  if (span >= full) return { ...limits };
  let t0 = v.t0;
  if (t0 < limits.t0) t0 = limits.t0;
  if (t0 + span > limits.t1) t0 = limits.t1 - span;
  return { t0, t1: t0 + span };
}

/**
 * Zooms by `factor` (> 1 zooms in) keeping the time under `anchor` (0..1 across the
 * track) where it is on screen.
 */
export function zoom(v: Span, factor: number, anchor: number, limits: Span): Span {
  const span = v.t1 - v.t0;
  const at = v.t0 + span * anchor;
  const next = Math.max(MIN_SPAN_MS, span / factor);
  return clampView({ t0: at - next * anchor, t1: at - next * anchor + next }, limits);
}

/** Shifts the window by `dx` px of a track `width` px wide (drag right = earlier). */
export function pan(v: Span, dx: number, width: number, limits: Span): Span {
  const dt = (dx / width) * (v.t1 - v.t0);
  return clampView({ t0: v.t0 - dt, t1: v.t1 - dt }, limits);
}

export function isFull(v: Span, limits: Span): boolean {
  const eps = (limits.t1 - limits.t0) * 1e-6;
  return v.t0 <= limits.t0 + eps && v.t1 >= limits.t1 - eps;
}

export interface Tick {
  x: number;
  label: string;
}

/**
 * Axis ticks on round offsets from `origin` (the session start) at least `minPx` apart,
 * labelled as offsets ("+1.5 s").
 */
export function ticks(v: Span, width: number, origin: number, minPx = 90): Tick[] {
  const span = v.t1 - v.t0;
  if (!(span > 0) || width <= 0) return [];
  const raw = (span * minPx) / width;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: Tick[] = [];
  const first = Math.ceil((v.t0 - origin) / step) * step;
  for (let off = first; origin + off <= v.t1 + step * 1e-9; off += step) {
    const x = ((origin + off - v.t0) / span) * width;
    // Round away float noise (0.30000000000000004 ms) before formatting.
    const clean = Math.round(off / step) * step;
    out.push({ x, label: clean === 0 ? "0" : `+${formatDuration(clean)}` });
    if (out.length > 1000) break;
  }
  return out;
}
