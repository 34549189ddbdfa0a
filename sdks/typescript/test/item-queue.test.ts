// The transport's byte queue: order, exactly-once, limits, drop-oldest, 413 halves and the
// body it writes, including items of several pages, items larger than a page, and non-ASCII.

import { describe, expect, it } from "vitest";
import { Batch, ItemQueue, type ItemKind, type PageSupport } from "../src/item-queue.js";
import { nodePlatform } from "../src/platform-node.js";

const bufferPages: PageSupport = nodePlatform(); // kept pages are SharedArrayBuffers
const plainPages: PageSupport = { alloc: (size) => new Uint8Array(size), allocKept: (size) => new Uint8Array(size) };

/**
 * Pages that count how many of each kind were made. A page's item index comes from the same
 * allocator; it is smaller than a page (a few KiB for the items of these tests) and not counted.
 */
function countingPages(): PageSupport & { kept: number; oneOff: number } {
  const isPage = (size: number) => size >= 64 * 1024;
  const pages = {
    kept: 0,
    oneOff: 0,
    allocKept: (size: number) => (isPage(size) && pages.kept++, Buffer.allocUnsafeSlow(size)),
    alloc: (size: number) => (isPage(size) && pages.oneOff++, Buffer.allocUnsafeSlow(size)),
  };
  return pages;
}

/** Queues `json` as its UTF-8 bytes (a view into a larger array, as the client's writer gives them). */
function push(q: ItemQueue, kind: ItemKind, json: string): number {
  const bytes = Buffer.from(" " + json + " ");
  return q.push(kind, bytes.subarray(1), bytes.length - 2);
}

interface Body {
  events: { id: string; text?: string }[];
  sessions: { id: string }[];
}

const noPause = () => Promise.resolve();
const fresh = (size: number) => new Uint8Array(size);

async function bodyOf(batch: Batch, step = 1 << 30): Promise<Body> {
  const bytes = await batch.writeBody(step, noPause, fresh);
  return JSON.parse(Buffer.from(bytes).toString("utf8")) as Body;
}

/** An item's JSON; every 7th is a session update, some are large or not ASCII. */
function item(i: number): { kind: ItemKind; id: string; json: string } {
  const id = `i${i}`;
  if (i % 7 === 3) return { kind: "session", id, json: JSON.stringify({ id }) };
  const text = i % 50 === 0 ? "x".repeat(100_000) : i % 3 === 0 ? `héllo ✓ 🚀 ${i}` : `plain ${i}`;
  return { kind: "event", id, json: JSON.stringify({ id, text }) };
}

describe("ItemQueue", () => {
  for (const [name, support] of [
    ["Node pages", bufferPages],
    ["Uint8Array pages", plainPages],
  ] as const) {
    it(`delivers every item once, in order, across pages and batches (${name})`, async () => {
      const q = new ItemQueue(support);
      const items = Array.from({ length: 3000 }, (_, i) => item(i));
      for (const it of items) push(q, it.kind, it.json);
      expect(q.length).toBe(3000);
      expect(q.bytes).toBe(items.reduce((n, it) => n + Buffer.byteLength(it.json) + 1, 0));
      const events: Body["events"] = [];
      const sessions: Body["sessions"] = [];
      let seq = 1;
      for (let batch = q.take(137, 64 * 1024); batch; batch = q.take(137, 64 * 1024)) {
        expect(batch.firstSeq).toBe(seq);
        seq += batch.count;
        const body = await bodyOf(batch);
        expect(body.events.length + body.sessions.length).toBe(batch.count);
        events.push(...body.events);
        sessions.push(...body.sessions);
      }
      expect(q.length).toBe(0);
      expect(q.bytes).toBe(0);
      expect(events.map((e) => e.id)).toEqual(items.filter((it) => it.kind === "event").map((it) => it.id));
      expect(sessions.map((s) => s.id)).toEqual(items.filter((it) => it.kind === "session").map((it) => it.id));
      expect(events.find((e) => e.id === "i3")).toBeUndefined(); // i3 is a session
      expect(events.find((e) => e.id === "i6")!.text).toBe("héllo ✓ 🚀 6");
      expect(events.find((e) => e.id === "i50")!.text).toHaveLength(100_000);
    });
  }

  it("takes what the per-item rule takes, from pages of events only and from mixed pages", async () => {
    for (const sessionEvery of [0, 5]) {
      const q = new ItemQueue(plainPages);
      const sizes: number[] = [];
      const kinds: ItemKind[] = [];
      for (let i = 0; i < 2000; i++) {
        const kind: ItemKind = sessionEvery && i % sessionEvery === 2 ? "session" : "event";
        const json = JSON.stringify({ id: `m${i}`, pad: "z".repeat((i * 7919) % 1500) });
        push(q, kind, json);
        sizes.push(Buffer.byteLength(json) + 1);
        kinds.push(kind);
      }
      let next = 0;
      const limits: [number, number][] = [[1, 1], [3, 1e9], [500, 4000], [50, 1e9], [1000, 70_000], [7, 10], [1e9, 200_000], [1e9, 1e12]];
      for (let round = 0; q.length > 0; round++) {
        const [maxItems, maxBytes] = limits[round % limits.length]!;
        // The rule: items in order while under both limits, and always the first.
        let expected = 0;
        let bytes = 0;
        while (next + expected < 2000 && expected < maxItems && (expected === 0 || bytes + sizes[next + expected]! <= maxBytes)) {
          bytes += sizes[next + expected]!;
          expected++;
        }
        const batch = q.take(maxItems, maxBytes)!;
        expect(batch.count).toBe(expected);
        const body = await bodyOf(batch);
        const ids = [...body.events, ...body.sessions].map((e) => Number(e.id.slice(1))).sort((a, b) => a - b);
        expect(ids).toEqual(Array.from({ length: expected }, (_, k) => next + k));
        expect(body.sessions.length).toBe(kinds.slice(next, next + expected).filter((k) => k === "session").length);
        batch.release();
        next += expected;
      }
      expect(next).toBe(2000);
    }
  });

  it("takes at most maxItems and maxBytes, but always one item", () => {
    const q = new ItemQueue(bufferPages);
    for (let i = 0; i < 10; i++) push(q, "event", JSON.stringify({ id: `e${i}`, pad: "p".repeat(90) }));
    const size = q.bytes / 10;
    expect(q.take(3, 1e9)!.count).toBe(3);
    expect(q.take(100, size * 2.5)!.count).toBe(2);
    expect(q.take(100, 1)!.count).toBe(1); // larger than maxBytes on its own: sent alone
    expect(q.take(100, 1e9)!.count).toBe(4);
    expect(q.take(100, 1e9)).toBeUndefined();
  });

  it("drops the oldest items and keeps count of sequence numbers and bytes", async () => {
    const q = new ItemQueue(bufferPages);
    expect(q.headSeq).toBeUndefined();
    const texts = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ id: `d${i}`, pad: "q".repeat(200) }));
    for (const t of texts) push(q, "event", t);
    for (let i = 0; i < 600; i++) q.dropOldest();
    expect(q.length).toBe(400);
    expect(q.bytes).toBe(texts.slice(600).reduce((n, t) => n + t.length + 1, 0));
    expect(q.headSeq).toBe(601);
    expect(q.lastSeq).toBe(1000);
    const body = await bodyOf(q.take(1000, 1e9)!);
    expect(body.events.map((e) => e.id)).toEqual(Array.from({ length: 400 }, (_, i) => `d${600 + i}`));
    push(q, "session", '{"id":"s"}');
    expect(q.headSeq).toBe(1001);
    expect(q.clear()).toBe(1);
    expect(q.length).toBe(0);
  });

  it("keeps taking after its last page was emptied and a new page began", async () => {
    const q = new ItemQueue(bufferPages);
    const big = (id: string) => JSON.stringify({ id, pad: "t".repeat(40_000) });
    push(q, "event", big("a"));
    expect(q.take(10, 1e9)!.count).toBe(1);
    push(q, "event", big("b")); // does not fit in the rest of the first page
    expect(q.headSeq).toBe(2);
    const batch = q.take(10, 1e9)!;
    expect(batch.firstSeq).toBe(2);
    expect((await bodyOf(batch)).events.map((e) => e.id)).toEqual(["b"]);
  });

  it("splits a batch in halves that together are the batch (413)", async () => {
    const q = new ItemQueue(bufferPages);
    const items = Array.from({ length: 901 }, (_, i) => item(i));
    for (const it of items) push(q, it.kind, it.json);
    const batch = q.take(1000, 1e9)!;
    const whole = await bodyOf(batch);
    const parts: Batch[] = [];
    const split = (b: Batch): void => {
      if (b.count <= 50) parts.push(b);
      else for (const half of b.halves()) split(half);
    };
    split(batch);
    expect(parts.reduce((n, p) => n + p.count, 0)).toBe(901);
    let seq = batch.firstSeq;
    const events: Body["events"] = [];
    const sessions: Body["sessions"] = [];
    for (const p of parts) {
      expect(p.firstSeq).toBe(seq);
      seq += p.count;
      const body = await bodyOf(p);
      expect(body.events.length + body.sessions.length).toBe(p.count);
      events.push(...body.events);
      sessions.push(...body.sessions);
    }
    expect(events).toEqual(whole.events);
    expect(sessions).toEqual(whole.sessions);
  });

  it("describes a batch for another thread: shared pages, the same body and halves there, and later items not in it", async () => {
    const q = new ItemQueue(bufferPages);
    const items = Array.from({ length: 901 }, (_, i) => item(i));
    for (const it of items.slice(0, 600)) push(q, it.kind, it.json);
    const batch = q.take(1000, 1e9)!;
    const d = structuredClone(batch.describe());
    for (const it of items.slice(600)) push(q, it.kind, it.json); // the pages' later items
    // Kept pages are shared; a page of one large item is copied.
    const kept = d.slices.filter((slice) => slice.bytes.length === 64 * 1024);
    expect(kept.length).toBeGreaterThan(1);
    expect(kept.length).toBeLessThan(d.slices.length);
    for (const slice of kept) {
      expect(slice.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(slice.ends.buffer).toBe(slice.kinds.buffer);
      expect(slice.ends.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
    const there = Batch.of(d);
    expect([there.count, there.firstSeq]).toEqual([batch.count, batch.firstSeq]);
    expect(await bodyOf(there)).toEqual(await bodyOf(batch));
    const [a, b] = there.halves();
    const [a0, b0] = batch.halves();
    expect(await bodyOf(a)).toEqual(await bodyOf(a0));
    expect(await bodyOf(b)).toEqual(await bodyOf(b0));
    batch.release();
  });

  it("writes a large body in steps, pausing between them, to the same bytes", async () => {
    const q = new ItemQueue(bufferPages);
    for (let i = 0; i < 300; i++) push(q, i % 10 === 0 ? "session" : "event", JSON.stringify({ id: `w${i}`, pad: "w".repeat(3000) }));
    const batch = q.take(1000, 1e9)!;
    const once = await batch.writeBody(1 << 30, noPause, fresh);
    let pauses = 0;
    const stepped = await batch.writeBody(
      64 * 1024,
      () => {
        pauses++;
        return Promise.resolve();
      },
      fresh,
    );
    expect(pauses).toBeGreaterThan(5);
    expect(Buffer.from(stepped).equals(Buffer.from(once))).toBe(true);
  });

  it("writes empty arrays when a batch has only events or only sessions", async () => {
    const q = new ItemQueue(bufferPages);
    push(q, "session", '{"id":"only"}');
    expect(Buffer.from(await q.take(10, 1e9)!.writeBody(1 << 30, noPause, fresh)).toString()).toBe('{"events":[],"sessions":[{"id":"only"}]}');
    push(q, "event", '{"id":"e"}');
    expect(Buffer.from(await q.take(10, 1e9)!.writeBody(1 << 30, noPause, fresh)).toString()).toBe('{"events":[{"id":"e"}],"sessions":[]}');
  });
});

describe("ItemQueue page reuse", () => {
  // ~1 KiB items: a 64 KiB page holds about 60.
  const text = (i: number) => JSON.stringify({ id: `r${i}`, pad: String(i % 10).repeat(1000) });
  const idsOf = async (batch: Batch) => (await bodyOf(batch)).events.map((e) => e.id);
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `r${from + i}`);

  it("reuses a sent page only once no batch reads it, and the unreleased batch stays intact", async () => {
    const pages = countingPages();
    const q = new ItemQueue(pages);
    for (let i = 0; i < 300; i++) push(q, "event", text(i));
    const pagesAtFirst = pages.kept;
    const held = q.take(200, 1e9)!; // not released: its pages must not be written over
    for (let i = 300; i < 600; i++) push(q, "event", text(i));
    expect(q.sparePages).toBe(0);
    expect(pages.kept).toBeGreaterThan(pagesAtFirst);
    expect(await idsOf(held)).toEqual(range(0, 200));
    held.release();
    const pooled = q.sparePages;
    expect(pooled).toBeGreaterThan(1);
    const before = pages.kept;
    for (let i = 600; i < 700; i++) push(q, "event", text(i));
    expect(pages.kept).toBe(before); // new items went to pooled pages
    expect(q.sparePages).toBeLessThan(pooled);
    const rest = q.take(1000, 1e9)!;
    expect(await idsOf(rest)).toEqual(range(200, 700));
    rest.release();
  });

  it("pools a page two batches read only after both are released, and halves release nothing", async () => {
    const pages = countingPages();
    const q = new ItemQueue(pages);
    let n = 0;
    while (pages.kept < 2) push(q, "event", text(n++)); // the first page is full; item n-1 began the second
    const perPage = n - 1;
    const a = q.take(10, 1e9)!;
    const b = q.take(perPage - 10, 1e9)!; // the rest of the first page: it retires
    for (const half of b.halves()) half.release();
    a.release();
    expect(q.sparePages).toBe(0);
    expect(await idsOf(b)).toEqual(range(10, perPage));
    b.release();
    expect(q.sparePages).toBe(1);
    const rest = q.take(1000, 1e9)!;
    expect(await idsOf(rest)).toEqual(range(perPage, n));
  });

  it("keeps every page of its largest backlog, so that a burst no larger allocates none, and no page larger than the standard", () => {
    const pages = countingPages();
    const q = new ItemQueue(pages);
    for (let i = 0; i < 40 * 60; i++) push(q, "event", text(i));
    push(q, "event", JSON.stringify({ id: "huge", pad: "h".repeat(100_000) }));
    push(q, "event", text(0));
    expect(pages.oneOff).toBe(1);
    q.take(1e9, 1e12)!.release();
    expect(q.sparePages).toBe(pages.kept - 1); // all but the tail page, which takes the next items
    const kept = pages.kept;
    for (let burst = 0; burst < 3; burst++) {
      for (let i = 0; i < 40 * 60; i++) push(q, "event", text(i));
      q.take(1e9, 1e12)!.release();
    }
    expect(pages.kept).toBe(kept);
    expect(q.sparePages).toBe(kept - 1);
  });
});
