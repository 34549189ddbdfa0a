// The live stream (GET /v1/stream, Server-Sent Events) with our own reconnect: on any
// error the EventSource is closed and reopened after a backoff with `last_event_id` set to
// the highest seq received, so the server replays exactly what was missed whatever the
// browser's own retry would have sent.
import type { AgentEvent, Session } from "../api/types";

export interface StreamFilter {
  session_id?: string;
  agent?: string;
  type?: string;
  /** "events", "sessions" or both (the default): which kinds of message to send. */
  include?: "events" | "sessions";
}

export interface StreamHandlers {
  onEvent?(e: AgentEvent): void;
  onSession?(s: Session): void;
  /** The server could not replay what was missed: reload from the REST API. */
  onReset?(reason: string): void;
  onState?(state: "connecting" | "open" | "retrying"): void;
}

/** The part of EventSource used here, so tests can substitute a fake. */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((ev: Event) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  addEventListener(type: string, fn: (ev: MessageEvent) => void): void;
  close(): void;
}

export interface StreamDeps {
  createSource(url: string): EventSourceLike;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  random(): number;
}

const browserDeps = (): StreamDeps => ({
  createSource: (url) => new EventSource(url, { withCredentials: true }) as unknown as EventSourceLike,
  setTimeout: (fn, ms) => window.setTimeout(fn, ms),
  clearTimeout: (h) => window.clearTimeout(h as number),
  random: Math.random,
});

/** Backoff before reconnect attempt `n` (0-based): 0.5 s doubling to 15 s, ±25 % jitter. */
export function backoffMs(n: number, random: () => number): number {
  const base = Math.min(15000, 500 * 2 ** Math.min(n, 10));
  return Math.round(base * (0.75 + random() * 0.5));
}

export function streamUrl(filter: StreamFilter, lastSeq: number | null): string {
  const q = new URLSearchParams();
  if (filter.session_id) q.set("session_id", filter.session_id);
  if (filter.agent) q.set("agent", filter.agent);
  if (filter.type) q.set("type", filter.type);
  if (filter.include) q.set("include", filter.include);
  if (lastSeq !== null) q.set("last_event_id", String(lastSeq));
  const s = q.toString();
  return `/v1/stream${s ? `?${s}` : ""}`;
}

export class LiveStream {
  private source: EventSourceLike | null = null;
  private timer: unknown = null;
  private attempts = 0;
  private closed = false;
  private opened = false;
  /** Highest seq received (or given to start from); null = start at "now". */
  lastSeq: number | null;
  /** Resolves when the first connection is open: load REST data after it, and nothing
   * committed in between can be missed. */
  readonly ready: Promise<void>;
  private markReady: () => void = () => undefined;

  constructor(
    private readonly filter: StreamFilter,
    private readonly handlers: StreamHandlers,
    startAfter: number | null = null,
    private readonly deps: StreamDeps = browserDeps(),
  ) {
    this.lastSeq = startAfter;
    this.ready = new Promise((r) => (this.markReady = r));
    this.connect();
  }

  close(): void {
    this.closed = true;
    this.markReady();
    if (this.timer !== null) this.deps.clearTimeout(this.timer);
    this.timer = null;
    this.source?.close();
    this.source = null;
  }

  private connect(): void {
    if (this.closed) return;
    this.handlers.onState?.("connecting");
    const es = this.deps.createSource(streamUrl(this.filter, this.lastSeq));
    this.source = es;
    const resumable = this.lastSeq !== null;
    es.onopen = () => {
      this.attempts = 0;
      this.handlers.onState?.("open");
      if (!this.opened) {
        this.opened = true;
        this.markReady();
      } else if (!resumable) {
        // Reconnected without a position to resume from: whatever happened while we were
        // away is lost to the stream, so the page reloads it.
        this.handlers.onReset?.("reconnected");
      }
    };
    es.onerror = () => {
      if (this.source !== es || this.closed) return;
      if (!this.opened) {
        // The first attempt failed: let the page load what it can meanwhile; the reconnect
        // (with no position yet) then asks it to reload.
        this.opened = true;
        this.markReady();
      }
      es.close();
      this.source = null;
      this.handlers.onState?.("retrying");
      this.timer = this.deps.setTimeout(() => {
        this.timer = null;
        this.connect();
      }, backoffMs(this.attempts++, this.deps.random));
    };
    es.addEventListener("event", (m) => {
      const seq = Number(m.lastEventId);
      if (Number.isFinite(seq) && m.lastEventId !== "" && (this.lastSeq === null || seq > this.lastSeq)) this.lastSeq = seq;
      const ev = parse<AgentEvent>(m.data);
      if (ev) this.handlers.onEvent?.(ev.seq === undefined && Number.isFinite(seq) && m.lastEventId !== "" ? { ...ev, seq } : ev);
    });
    es.addEventListener("session", (m) => {
      const s = parse<Session>(m.data);
      if (s) this.handlers.onSession?.(s);
    });
    es.addEventListener("reset", (m) => {
      const r = parse<{ reason?: string }>(m.data);
      this.handlers.onReset?.(r?.reason ?? "reset");
    });
  }
}

function parse<T>(data: unknown): T | null {
  if (typeof data !== "string") return null;
  try {
    return JSON.parse(data) as T;
  } catch {
    return null;
  }
}

/**
 * Collects items and hands them over at most once per animation frame: a burst of
 * thousands of stream messages becomes one state update and one render.
 */
export class FrameBatcher<T> {
  private pending: T[] = [];
  private scheduled = false;
  constructor(
    private readonly flush: (items: T[]) => void,
    private readonly schedule: (fn: () => void) => void = (fn) => requestAnimationFrame(() => fn()),
  ) {}
  push(item: T): void {
    this.pending.push(item);
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      const items = this.pending;
      this.pending = [];
      if (items.length) this.flush(items);
    });
  }
}
