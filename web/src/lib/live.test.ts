import { describe, expect, it } from "vitest";
import { ev } from "../test/fixtures";
import { backoffMs, FrameBatcher, LiveStream, streamUrl, type EventSourceLike, type StreamDeps } from "./live";

class FakeSource implements EventSourceLike {
  readyState = 0;
  onopen: ((ev: Event) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;
  closed = false;
  private listeners = new Map<string, ((ev: MessageEvent) => void)[]>();
  constructor(readonly url: string) {}
  addEventListener(type: string, fn: (ev: MessageEvent) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  close(): void {
    this.closed = true;
    this.readyState = 2;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }
  fail(): void {
    this.onerror?.(new Event("error"));
  }
  emit(type: string, data: unknown, id = ""): void {
    const m = new MessageEvent(type, { data: typeof data === "string" ? data : JSON.stringify(data), lastEventId: id });
    this.listeners.get(type)?.forEach((f) => f(m));
  }
}

function harness() {
  const sources: FakeSource[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const deps: StreamDeps = {
    createSource: (url) => {
      const s = new FakeSource(url);
      sources.push(s);
      return s;
    },
    setTimeout: (fn, ms) => {
      timers.push({ fn, ms });
      return timers.length - 1;
    },
    clearTimeout: (h) => {
      timers[h as number] = { fn: () => undefined, ms: -1 };
    },
    random: () => 0.5,
  };
  const runTimers = () => timers.splice(0).forEach((t) => t.fn());
  return { sources, timers, deps, runTimers };
}

describe("streamUrl", () => {
  it("carries the filters and the resume position", () => {
    expect(streamUrl({ session_id: "a b", type: "llm" }, 42)).toBe("/v1/stream?session_id=a+b&type=llm&last_event_id=42");
    expect(streamUrl({ include: "sessions" }, null)).toBe("/v1/stream?include=sessions");
    expect(streamUrl({}, null)).toBe("/v1/stream");
  });
});

describe("LiveStream", () => {
  it("delivers events (with their seq) and sessions, and remembers the highest seq", () => {
    const h = harness();
    const got: unknown[] = [];
    const s = new LiveStream({ session_id: "s1" }, { onEvent: (e) => got.push(e.id + "@" + e.seq), onSession: (x) => got.push(x.id) }, null, h.deps);
    const src = h.sources[0]!;
    src.open();
    src.emit("event", { ...ev({ id: "a" }), seq: 7 }, "7");
    src.emit("event", ev({ id: "b" }), "9");
    src.emit("session", { id: "s1" });
    src.emit("event", "{broken json", "10");
    expect(got).toEqual(["a@7", "b@9", "s1"]);
    expect(s.lastSeq).toBe(10);
    s.close();
  });

  it("reconnects after an error with last_event_id and backoff, resetting the backoff once open", () => {
    const h = harness();
    const s = new LiveStream({ session_id: "s1" }, {}, 5, h.deps);
    expect(h.sources[0]!.url).toContain("last_event_id=5");
    h.sources[0]!.open();
    h.sources[0]!.emit("event", ev(), "12");
    h.sources[0]!.fail();
    expect(h.sources[0]!.closed).toBe(true);
    expect(h.timers[0]!.ms).toBe(backoffMs(0, () => 0.5));
    h.runTimers();
    expect(h.sources[1]!.url).toBe("/v1/stream?session_id=s1&last_event_id=12");
    // Fails again before opening: the wait grows.
    h.sources[1]!.fail();
    expect(h.timers[0]!.ms).toBe(backoffMs(1, () => 0.5));
    expect(h.timers[0]!.ms).toBeGreaterThan(backoffMs(0, () => 0.5));
    h.runTimers();
    h.sources[2]!.open();
    h.sources[2]!.fail();
    expect(h.timers[0]!.ms).toBe(backoffMs(0, () => 0.5));
    s.close();
  });

  it("asks for a reload when it reconnects without a position", () => {
    const h = harness();
    const resets: string[] = [];
    new LiveStream({}, { onReset: (r) => resets.push(r) }, null, h.deps);
    h.sources[0]!.open();
    expect(resets).toEqual([]);
    h.sources[0]!.fail();
    h.runTimers();
    h.sources[1]!.open();
    expect(resets).toEqual(["reconnected"]);
  });

  it("passes the server's reset on", () => {
    const h = harness();
    const resets: string[] = [];
    new LiveStream({}, { onReset: (r) => resets.push(r) }, 1, h.deps);
    h.sources[0]!.emit("reset", { reason: "too far behind" });
    expect(resets).toEqual(["too far behind"]);
  });

  it("is ready once connected, or once the first attempt failed", async () => {
    const h = harness();
    const a = new LiveStream({}, {}, null, h.deps);
    let ready = false;
    void a.ready.then(() => (ready = true));
    await Promise.resolve();
    expect(ready).toBe(false);
    h.sources[0]!.open();
    await a.ready;
    const b = new LiveStream({}, {}, null, h.deps);
    h.sources[1]!.fail();
    await b.ready; // resolves: the page loads over REST meanwhile
  });

  it("stops for good on close, including a pending reconnect", () => {
    const h = harness();
    const s = new LiveStream({}, {}, null, h.deps);
    h.sources[0]!.fail();
    s.close();
    h.timers.forEach((t) => t.fn());
    expect(h.sources).toHaveLength(1);
  });
});

describe("FrameBatcher", () => {
  it("hands over everything pushed before the frame in one call", () => {
    let frame: (() => void) | null = null;
    const calls: number[][] = [];
    const b = new FrameBatcher<number>((xs) => calls.push(xs), (fn) => (frame = fn));
    b.push(1);
    b.push(2);
    b.push(3);
    expect(calls).toEqual([]);
    frame!();
    expect(calls).toEqual([[1, 2, 3]]);
    b.push(4);
    frame!();
    expect(calls).toEqual([[1, 2, 3], [4]]);
  });
});
