// The transport's queue: encoded items (events and session updates) in the order they were
// recorded, kept as UTF-8 bytes in pages rather than as strings.
//
// Why bytes: each item is encoded once, when it is recorded, into a reused buffer (bytes.ts)
// whose bytes are copied here. Kept as strings, tens of thousands of queued items would be live
// heap objects that every minor GC of the application has to copy, and each request would need
// a `join` of its items plus a UTF-8 encoding of the result, in one synchronous step of the
// event loop. Here a batch is a few ranges of pages; its body is a memcpy of those ranges
// (`writeBody`, which can pause between steps), and the pages live outside the JS heap.
//
// Pages are kept for as long as the queue lives: a page whose items are all taken goes back to
// a pool once no batch reads it any more (`Batch.release`), so the queue holds at most the pages
// of its largest backlog (bounded by maxQueueBytes and the batch in flight), and a flow or a
// burst that fits in them allocates no new memory. Why: V8 counts the bytes of every new
// ArrayBuffer towards its next major GC. A queue that allocated a fresh 64 KiB page per ~200
// events brought on a major GC (a 2-4 ms pause) every second or so at high rates, with nothing
// to free; the 17 MB of pages of a 50k-event burst brought a fresh process's first major GC, a
// full one (6-19 ms), into the flush that sent them. Kept pages come from
// `PageSupport.allocKept`, which in Node is memory V8 does not count at all (platform-node.ts):
// it is never garbage while the queue lives.
//
// A batch can be read on another thread (Node's sender thread, sender-thread.ts): `describe`
// gives its pages' bytes and index, which are SharedArrayBuffers in Node, and `Batch.of` makes
// a batch of them there. The other thread only reads items the queue has handed out, which are
// never written again, and a page is reused only once its batch is released, after the other
// thread said it is done.

import { Deque } from "./queue.js";

/** What a queued item is: it decides the array of the ingest body it goes to. */
export type ItemKind = "event" | "session";

/** Bytes a page is made with; an item larger than that gets a page of its own size. */
const PAGE_BYTES = 64 * 1024;
/** Items a page has index room for at first (grown by doubling). */
const PAGE_ITEMS = 512;
const EVENT = 0;
const SESSION = 1;
const COMMA = 0x2c;
const CLOSE_BRACKET = 0x5d;

function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}
const EVENTS_OPEN = ascii('{"events":[');
const SESSIONS_OPEN = ascii(',"sessions":[');
const BODY_CLOSE = ascii("}");

/** Where the queue gets its pages (the platform: Buffers in Node). */
export interface PageSupport {
  /** A page of the standard size, kept and reused for as long as the queue lives. */
  allocKept(size: number): Uint8Array;
  /** A page for one item larger than the standard size, let go once the item is sent. */
  alloc(size: number): Uint8Array;
}

/** What a batch reads of a page. */
export interface PageView {
  readonly bytes: Uint8Array;
  /** How many of its items are session updates: a page of events only is copied in one piece. */
  sessions: number;
  /** ends[i]: the offset just past item i, whose bytes end with a comma. */
  ends: Uint32Array;
  /** kinds[i]: EVENT or SESSION. */
  kinds: Uint8Array;
}

// The per-item index is in typed arrays too (outside the JS heap from 64 bytes on), so that
// queued items leave nothing on the heap for the garbage collector to trace or promote; one
// buffer holds both arrays, from the same memory as the bytes (shareable with another thread).
interface Page extends PageView {
  /** Bytes written so far; items are appended, never changed. */
  used: number;
  /** Items written so far. */
  count: number;
  /** Sequence number of item 0 (item i has firstSeq + i). */
  firstSeq: number;
  /** The oldest item of this page still queued. */
  head: number;
  /** Batches taken from this page and not released yet: they may still read its bytes. */
  readers: number;
  /** Whether the queue let go of the page (all its items taken or dropped). */
  retired: boolean;
}

/** Items [from, to) of one page. */
interface Slice {
  readonly page: PageView;
  readonly from: number;
  readonly to: number;
}

/** A batch as another thread gets it: its pages' memory (shared, not copied, where it can be). */
export interface BatchDescription {
  count: number;
  firstSeq: number;
  /** Per slice: the page's bytes, ends, kinds and whether it holds session updates, and the range. */
  slices: { bytes: Uint8Array; ends: Uint32Array; kinds: Uint8Array; sessions: number; from: number; to: number }[];
}

function itemStart(page: PageView, i: number): number {
  return i === 0 ? 0 : page.ends[i - 1]!;
}

/** An index for `capacity` items, in one buffer from `alloc` (whose byteOffset is 0). */
function newIndex(capacity: number, alloc: (size: number) => Uint8Array): { ends: Uint32Array; kinds: Uint8Array } {
  const index = alloc(capacity * 5);
  return { ends: new Uint32Array(index.buffer, index.byteOffset, capacity), kinds: index.subarray(capacity * 4, capacity * 5) };
}

function growIndex(page: Page, alloc: (size: number) => Uint8Array): void {
  const { ends, kinds } = newIndex(page.ends.length * 2, alloc);
  ends.set(page.ends);
  kinds.set(page.kinds);
  page.ends = ends;
  page.kinds = kinds;
}

/** Items taken from the queue for one request: consecutive sequence numbers, in order. */
export class Batch {
  constructor(
    private readonly slices: readonly Slice[],
    /** Number of items. */
    readonly count: number,
    /** Sequence number of the first item. */
    readonly firstSeq: number,
    private readonly done: (() => void) | undefined = undefined,
  ) {}

  /** A batch of the pages of a description (on the thread that got it); it has nothing to release. */
  static of(d: BatchDescription): Batch {
    return new Batch(
      d.slices.map(({ bytes, ends, kinds, sessions, from, to }) => ({ page: { bytes, ends, kinds, sessions }, from, to })),
      d.count,
      d.firstSeq,
    );
  }

  /** What another thread needs to read this batch (`Batch.of`); valid until it is released. */
  describe(): BatchDescription {
    return {
      count: this.count,
      firstSeq: this.firstSeq,
      slices: this.slices.map(({ page, from, to }) => ({
        bytes: page.bytes,
        ends: page.ends,
        kinds: page.kinds,
        // Taken now: items added to the page later are not in this batch.
        sessions: page.sessions,
        from,
        to,
      })),
    };
  }

  /**
   * Says the batch (and its halves) will not be read again, so its pages can be reused. Call it
   * once, on the batch `take` returned, when its request is over. Halves have nothing to release.
   */
  release(): void {
    this.done?.();
  }

  /** The first half and the rest, by item count. REQUIRES: count >= 2. */
  halves(): [Batch, Batch] {
    const half = this.count >> 1;
    const a: Slice[] = [];
    const b: Slice[] = [];
    let n = 0;
    for (const s of this.slices) {
      const len = s.to - s.from;
      if (n + len <= half) a.push(s);
      else if (n >= half) b.push(s);
      else {
        const cut = s.from + (half - n);
        a.push({ page: s.page, from: s.from, to: cut });
        b.push({ page: s.page, from: cut, to: s.to });
      }
      n += len;
    }
    return [new Batch(a, half, this.firstSeq), new Batch(b, this.count - half, this.firstSeq + half)];
  }

  /**
   * The ingest body, `{"events":[...],"sessions":[...]}` as UTF-8, written into `alloc(size)`
   * (which may hand out a buffer it reuses; every byte is written). Copies runs of items, and
   * awaits `pause()` whenever `step` bytes were copied since the last one, so that a large
   * batch does not hold the event loop in one piece.
   */
  async writeBody(step: number, pause: () => Promise<void>, alloc: (size: number) => Uint8Array): Promise<Uint8Array> {
    let eventBytes = 0;
    let sessionBytes = 0;
    for (const { page, from, to } of this.slices) {
      if (page.sessions === 0) {
        eventBytes += page.ends[to - 1]! - itemStart(page, from);
        continue;
      }
      for (let i = from; i < to; i++) {
        const size = page.ends[i]! - itemStart(page, i);
        if (page.kinds[i] === EVENT) eventBytes += size;
        else sessionBytes += size;
      }
    }
    // Each item ends with a comma; the last one of each array becomes its "]" (an empty array
    // is the "]" alone).
    const eventsLen = Math.max(1, eventBytes);
    const sessionsLen = Math.max(1, sessionBytes);
    const out = alloc(EVENTS_OPEN.length + eventsLen + SESSIONS_OPEN.length + sessionsLen + BODY_CLOSE.length);
    out.set(EVENTS_OPEN, 0);
    let eventPos = EVENTS_OPEN.length;
    const sessionsOpenAt = eventPos + eventsLen;
    out.set(SESSIONS_OPEN, sessionsOpenAt);
    let sessionPos = sessionsOpenAt + SESSIONS_OPEN.length;
    const closeAt = sessionPos + sessionsLen;
    out.set(BODY_CLOSE, closeAt);

    let sincePause = 0;
    for (const { page, from, to } of this.slices) {
      let i = from;
      while (i < to) {
        // A run of items of one kind is contiguous in the page: one copy.
        const kind = page.kinds[i];
        let j = page.sessions === 0 ? to : i + 1;
        while (j < to && page.kinds[j] === kind) j++;
        const start = itemStart(page, i);
        const end = page.ends[j - 1]!;
        const run = page.bytes.subarray(start, end);
        if (kind === EVENT) {
          out.set(run, eventPos);
          eventPos += end - start;
        } else {
          out.set(run, sessionPos);
          sessionPos += end - start;
        }
        sincePause += end - start;
        i = j;
        if (sincePause >= step) {
          sincePause = 0;
          await pause();
        }
      }
    }
    out[sessionsOpenAt - 1] = CLOSE_BRACKET;
    out[closeAt - 1] = CLOSE_BRACKET;
    return out;
  }
}

/** A FIFO of encoded items with O(1) push, drop-oldest and batch taking. */
export class ItemQueue {
  private pages = new Deque<Page>(16);
  private tail: Page | undefined;
  private nextSeq = 1;
  private count = 0;
  private byteCount = 0;
  private spare: Page[] = [];

  constructor(private readonly support: PageSupport) {}

  /** Items queued. */
  get length(): number {
    return this.count;
  }

  /** UTF-8 bytes queued (each item's plus one for its separator). */
  get bytes(): number {
    return this.byteCount;
  }

  /** Sequence number of the newest item pushed (0 before any). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** Sequence number of the oldest queued item, or undefined when empty. */
  get headSeq(): number | undefined {
    const page = this.pages.peek();
    return page !== undefined && page.head < page.count ? page.firstSeq + page.head : undefined;
  }

  /** Appends one item, its JSON text as UTF-8 in `item[0, size)`; returns its sequence number. */
  push(kind: ItemKind, item: Uint8Array, size: number): number {
    let page = this.tail;
    if (page === undefined || page.bytes.length - page.used < size + 1) page = this.addPage(Math.max(PAGE_BYTES, size + 1));
    const start = page.used;
    page.bytes.set(item.subarray(0, size), start);
    page.bytes[start + size] = COMMA;
    page.used = start + size + 1;
    if (page.count === page.ends.length) growIndex(page, this.indexAlloc(page));
    page.ends[page.count] = page.used;
    if (kind === "event") {
      page.kinds[page.count] = EVENT;
    } else {
      page.kinds[page.count] = SESSION;
      page.sessions++;
    }
    page.count++;
    this.count++;
    this.byteCount += size + 1;
    return this.nextSeq++;
  }

  /** Removes the oldest item. REQUIRES: length > 0. */
  dropOldest(): void {
    const page = this.pages.peek()!;
    const i = page.head++;
    this.count--;
    this.byteCount -= page.ends[i]! - itemStart(page, i);
    this.releaseConsumed();
  }

  /** Removes and returns up to `maxItems` of the oldest items, at most `maxBytes` unless one is larger. */
  take(maxItems: number, maxBytes: number): Batch | undefined {
    const firstSeq = this.headSeq;
    if (firstSeq === undefined) return undefined;
    const slices: Slice[] = [];
    const read: Page[] = [];
    let count = 0;
    let bytes = 0;
    for (;;) {
      const page = this.pages.peek();
      if (page === undefined || page.head >= page.count || count >= maxItems) break;
      const from = page.head;
      const start = itemStart(page, from);
      // Items [from, i) as the item limit allows, fewer if they are over the byte limit: as
      // many as fit (`ends` only grows), and at least one in all.
      let i = Math.min(page.count, from + (maxItems - count));
      if (bytes + page.ends[i - 1]! - start > maxBytes) {
        let lo = from;
        let hi = i - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (bytes + page.ends[mid - 1]! - start <= maxBytes) lo = mid;
          else hi = mid - 1;
        }
        i = lo === from && count === 0 ? from + 1 : lo;
      }
      if (i > from) {
        slices.push({ page, from, to: i });
        read.push(page);
        page.readers++;
        count += i - from;
        bytes += page.ends[i - 1]! - start;
      }
      page.head = i;
      this.releaseConsumed();
      if (i < page.count) break; // a limit was reached inside this page
    }
    this.count -= count;
    this.byteCount -= bytes;
    return new Batch(slices, count, firstSeq, () => {
      for (const page of read) {
        page.readers--;
        this.recycle(page);
      }
    });
  }

  /** Removes everything; returns how many items that was. */
  clear(): number {
    const n = this.count;
    this.pages = new Deque<Page>(16);
    this.tail = undefined;
    this.spare = [];
    this.count = 0;
    this.byteCount = 0;
    return n;
  }

  /** Emptied pages kept for reuse. */
  get sparePages(): number {
    return this.spare.length;
  }

  private addPage(size: number): Page {
    let page = size === PAGE_BYTES ? this.spare.pop() : undefined;
    if (page !== undefined) {
      page.used = 0;
      page.count = 0;
      page.sessions = 0;
      page.firstSeq = this.nextSeq;
      page.head = 0;
      page.retired = false;
    } else {
      const alloc = size === PAGE_BYTES ? this.allocKept : this.allocOnce;
      const index = newIndex(PAGE_ITEMS, alloc);
      page = {
        bytes: alloc(size),
        used: 0,
        count: 0,
        sessions: 0,
        ends: index.ends,
        kinds: index.kinds,
        firstSeq: this.nextSeq,
        head: 0,
        readers: 0,
        retired: false,
      };
    }
    this.pages.push(page);
    this.tail = page;
    this.releaseConsumed(); // the previous tail, if all its items are gone
    return page;
  }

  private readonly allocKept = (size: number): Uint8Array => this.support.allocKept(size);
  private readonly allocOnce = (size: number): Uint8Array => this.support.alloc(size);

  /** Where a page's index comes from: kept with a kept page. */
  private indexAlloc(page: Page): (size: number) => Uint8Array {
    return page.bytes.length === PAGE_BYTES ? this.allocKept : this.allocOnce;
  }

  /** Frees pages whose items are all gone; the tail page stays to take new items. */
  private releaseConsumed(): void {
    for (;;) {
      const page = this.pages.peek();
      if (page === undefined || page === this.tail || page.head < page.count) return;
      this.pages.shift();
      page.retired = true;
      this.recycle(page);
    }
  }

  /** Pools a page the queue let go of, once no batch reads it (pages of the standard size only). */
  private recycle(page: Page): void {
    if (page.retired && page.readers === 0 && page.bytes.length === PAGE_BYTES) {
      page.retired = false; // pooled: not to be pooled twice
      this.spare.push(page);
    }
  }
}
