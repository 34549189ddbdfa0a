// Delivery: a bounded in-memory queue of encoded items (events and session updates) and one
// background sender that posts them in batches to POST /v1/ingest.
//
// - Items are encoded to UTF-8 once, when recorded, and copied to the queue's byte pages
//   (item-queue.ts).
// - A request body is built in one buffer that is reused from batch to batch (up to 1 MiB), and
//   the queue's pages are reused once sent: a steady flow of events allocates no new memory
//   outside the JS heap (which V8 counts towards its next major GC).
// - The sender works in short steps with a turn of the event loop between them (taking a batch
//   and copying its body, compressing off the main thread, sending, reading the answer), so a
//   flush of any size never holds the event loop for long.
//
// - Batches go out when `maxBatchSize` items are queued, every `flushIntervalMs`, and on flush.
// - One request at a time, in queue order: a span's "running" snapshot always lands before
//   its final version, and the server's answer is the back-pressure signal.
// - Network errors, timeouts, 408, 429 and 5xx are retried with exponential backoff and jitter,
//   honouring Retry-After; other 4xx are not retried (413 splits the batch first). Items keep
//   their client-made ids, so a retry after a lost answer replaces instead of duplicating.
// - When the queue is full the oldest items are dropped and counted; the first drop is
//   reported through onError. Recording never waits for the network.
//
// Nothing here throws to the caller; problems go to `report`.

import { AgentLogError } from "./errors.js";
import { ItemQueue, type Batch, type ItemKind } from "./item-queue.js";
import type { Platform, PlatformFetch } from "./platform.js";
import type { AgentLogStats, FetchLike } from "./types.js";

export type { ItemKind } from "./item-queue.js";

type Timer = ReturnType<typeof setTimeout>;

export interface TransportConfig {
  ingestUrl: string;
  apiKey: string | undefined;
  flushIntervalMs: number;
  maxBatchSize: number;
  maxQueueSize: number;
  maxQueueBytes: number;
  maxBatchBytes: number;
  gzipThresholdBytes: number;
  maxRetries: number;
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
  requestTimeoutMs: number;
  fetch: FetchLike | undefined;
  platform: Platform;
  report: (error: AgentLogError) => void;
  /** Called on every interval tick, before sending (clock resync, running-span snapshots). */
  onTick: () => void;
}

type Outcome =
  | { kind: "ok"; status: number; text: string }
  | { kind: "retry"; reason: string; status?: number; retryAfterMs?: number }
  | { kind: "too_large"; status: number }
  | { kind: "fatal"; status: number; text: string }
  | { kind: "stopped" };

interface Waiter {
  target: number;
  resolve: () => void;
}

/** Keep-alive requests (sent while a page unloads) are limited to 64 KiB by browsers. */
const KEEPALIVE_MAX_BYTES = 60_000;

/** Body bytes copied per event-loop turn when a batch is large (a memcpy: ~0.1 ms or less). */
const BODY_STEP_BYTES = 256 * 1024;

/** Largest body built in the reused buffer; larger ones get a buffer of their own. */
const BODY_REUSE_MAX_BYTES = 1024 * 1024;

/** The body of a request as the platform's fetch and the global fetch take it. */
type BodyBytes = string | ArrayBuffer | Uint8Array;

export class Transport {
  private readonly queue: ItemQueue;
  private inflight: Batch | undefined;
  /** The sender keeps going until every item with seq <= flushTarget is done. */
  private flushTarget = 0;
  private waiters: Waiter[] = [];
  private holders = 0;
  private timer: Timer | undefined;
  private sleepTimer: Timer | undefined;
  private wakeSleep: (() => void) | undefined;
  private pumping = false;
  private pumpScheduled = false;
  private stopped = false;
  private overflowReported = false;
  private keepalive = false;
  /** The reused body buffer (see BODY_REUSE_MAX_BYTES); one request is built at a time. */
  private bodyBuffer: Uint8Array | undefined;
  private readonly abort = new AbortController();
  private readonly counters = { enqueued: 0, sent: 0, rejected: 0, dropped: 0, failed: 0, retries: 0, requests: 0 };

  constructor(private readonly cfg: TransportConfig) {
    this.queue = new ItemQueue(cfg.platform);
  }

  /** Queues a copy of one item, its JSON in `item[0, size)`; never waits. False once stopped. */
  enqueue(kind: ItemKind, item: Uint8Array, size: number): boolean {
    if (this.stopped) return false;
    this.queue.push(kind, item, size);
    this.counters.enqueued++;
    if (this.queue.length > this.cfg.maxQueueSize || this.queue.bytes > this.cfg.maxQueueBytes) this.dropOldest();
    if (this.queue.length >= this.cfg.maxBatchSize) this.schedulePump();
    else this.ensureTimer();
    return true;
  }

  /** Keeps the interval timer running (open spans need ticks even with an empty queue). */
  ensureTimer(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.timer = setTimeout(() => this.tick(), this.cfg.flushIntervalMs);
    this.cfg.platform.setTimerRef(this.timer, false);
  }

  /**
   * Resolves once everything queued before the call was delivered or given up (never rejects),
   * or after `timeoutMs`. `keepalive` marks requests that must outlive an unloading page.
   */
  flush(timeoutMs?: number, keepalive = false): Promise<void> {
    const target = this.queue.lastSeq;
    if (this.isDone(target)) return Promise.resolve();
    if (keepalive) this.keepalive = true;
    this.flushTarget = Math.max(this.flushTarget, target);
    return new Promise<void>((resolve) => {
      let deadline: Timer | undefined;
      const waiter: Waiter = {
        target,
        resolve: () => {
          if (deadline !== undefined) clearTimeout(deadline);
          this.release();
          resolve();
        },
      };
      this.hold();
      this.waiters.push(waiter);
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
        deadline = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          waiter.resolve();
        }, Math.max(0, timeoutMs));
      }
      this.schedulePump();
    });
  }

  /** Delivers what it can within `timeoutMs`, then stops for good; what is left counts as failed. */
  async close(timeoutMs: number): Promise<void> {
    if (this.stopped) return;
    await this.flush(timeoutMs);
    this.stop("client shut down");
  }

  /** Stops at once: aborts the request in flight; queued items count as failed and are reported. */
  stop(why: string): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    this.wakeSleep?.();
    const lost = this.queue.clear();
    if (lost > 0) {
      this.counters.failed += lost;
      this.cfg.report(new AgentLogError("delivery_failed", `${why}: ${lost} queued item(s) were not delivered`, { count: lost }));
    }
    this.settleWaiters(true);
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Whether anything is queued or being sent. */
  get pending(): boolean {
    return this.queue.length > 0 || this.inflight !== undefined;
  }

  stats(): AgentLogStats {
    return { ...this.counters, queued: this.queue.length, inFlight: this.inflight?.count ?? 0 };
  }

  // ---------------------------------------------------------------- queue bookkeeping

  private dropOldest(): void {
    let dropped = 0;
    while (this.queue.length > this.cfg.maxQueueSize || (this.queue.bytes > this.cfg.maxQueueBytes && this.queue.length > 1)) {
      this.queue.dropOldest();
      dropped++;
    }
    this.counters.dropped += dropped;
    if (!this.overflowReported) {
      this.overflowReported = true;
      this.cfg.report(
        new AgentLogError(
          "queue_overflow",
          `queue full (maxQueueSize ${this.cfg.maxQueueSize}, maxQueueBytes ${this.cfg.maxQueueBytes}): ` +
            "dropping the oldest items; stats().dropped counts them (reported once)",
          { count: dropped },
        ),
      );
    }
    this.settleWaiters(false);
  }

  private isDone(target: number): boolean {
    if (this.inflight !== undefined && this.inflight.firstSeq <= target) return false;
    const head = this.queue.headSeq;
    return head === undefined || head > target;
  }

  private settleWaiters(all: boolean): void {
    if (this.waiters.length === 0) return;
    const keep: Waiter[] = [];
    const ready: Waiter[] = [];
    for (const w of this.waiters) (all || this.isDone(w.target) ? ready : keep).push(w);
    this.waiters = keep;
    for (const w of ready) w.resolve();
  }

  /** While someone awaits a flush, the retry timer must keep the process alive. */
  private hold(): void {
    if (this.holders++ === 0 && this.sleepTimer !== undefined) this.cfg.platform.setTimerRef(this.sleepTimer, true);
  }

  private release(): void {
    if (--this.holders === 0) {
      this.keepalive = false;
      if (this.sleepTimer !== undefined) this.cfg.platform.setTimerRef(this.sleepTimer, false);
    }
  }

  // ---------------------------------------------------------------- sending

  private tick(): void {
    this.timer = undefined;
    try {
      this.cfg.onTick();
    } catch (e) {
      this.cfg.report(new AgentLogError("internal", "interval tick failed", { cause: e }));
    }
    if (this.queue.length > 0) {
      this.flushTarget = Math.max(this.flushTarget, this.queue.lastSeq);
      this.schedulePump();
    }
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.pumping || this.stopped) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const head = this.queue.headSeq;
        if (head === undefined || this.stopped) break;
        if (head > this.flushTarget && this.queue.length < this.cfg.maxBatchSize) break;
        // A turn of the event loop between batches: handling one answer and building the next
        // batch must not run as one long stretch that holds the event loop.
        await nextTurn();
        if (this.stopped) break;
        const batch = this.queue.take(this.cfg.maxBatchSize, this.cfg.maxBatchBytes);
        if (batch === undefined) break;
        this.inflight = batch;
        try {
          await this.send(batch);
        } finally {
          this.inflight = undefined;
          batch.release();
        }
        this.settleWaiters(false);
      }
    } catch (e) {
      this.cfg.report(new AgentLogError("internal", "the sender failed unexpectedly", { cause: e }));
    } finally {
      this.pumping = false;
    }
    this.settleWaiters(false);
    if (this.queue.length > 0) this.ensureTimer();
  }

  /** Sends one batch until it is stored, refused, or given up. Never throws. */
  private async send(batch: Batch): Promise<void> {
    const plain = await batch.writeBody(BODY_STEP_BYTES, nextTurn, (size) => this.bodyBytes(size));
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (this.cfg.apiKey) headers["Authorization"] = `Bearer ${this.cfg.apiKey}`;
    if (this.cfg.platform.userAgent) headers["User-Agent"] = this.cfg.platform.userAgent;
    // A fetch of the caller's own gets a body it may keep: text, or an ArrayBuffer of its own.
    // The platform's fetch and the global one are done with the body once they answer (the
    // standard fetch copies it at once), so they get the bytes as they are.
    const own = this.cfg.fetch !== undefined;
    let body: BodyBytes | undefined;
    const gzip = this.cfg.platform.gzip;
    if (gzip && plain.byteLength >= this.cfg.gzipThresholdBytes) {
      try {
        // Compressed off the main thread (Node: the libuv pool; browsers: CompressionStream).
        const packed = await gzip(plain);
        body = own ? ownBuffer(packed) : packed;
        headers["Content-Encoding"] = "gzip";
      } catch {
        // compression is an optimisation: send it plain
      }
      await nextTurn(); // finishing the compression and sending: two turns, not one
    }
    // A fetch of the caller's own has always been given plain bodies as text.
    body ??= !own ? plain : textDecoder !== undefined ? textDecoder.decode(plain) : ownBuffer(plain);

    for (let attempt = 0; ; attempt++) {
      const outcome = await this.post(body, headers);
      switch (outcome.kind) {
        case "ok":
          this.accept(batch, outcome.text);
          return;
        case "stopped":
          this.fail(batch, "client stopped before the batch was delivered");
          return;
        case "too_large":
          if (batch.count > 1) {
            const [first, rest] = batch.halves();
            await this.send(first);
            await this.send(rest);
          } else {
            this.fail(batch, "the server refused an item as too large (413)", 413);
          }
          return;
        case "fatal":
          if (outcome.status === 422) this.refuseAll(batch, outcome.text);
          else this.fail(batch, `the server answered ${outcome.status}: ${summarize(outcome.text)}`, outcome.status);
          return;
        case "retry":
          if (attempt >= this.cfg.maxRetries) {
            this.fail(batch, `gave up after ${attempt} retries (last: ${outcome.reason})`, outcome.status);
            return;
          }
          this.counters.retries++;
          await this.sleep(this.backoff(attempt, outcome.retryAfterMs));
          if (this.stopped) {
            this.fail(batch, "client stopped before the batch was delivered");
            return;
          }
      }
    }
  }

  /** A buffer of `size` bytes for a request body: a view of the reused one when it is small enough. */
  private bodyBytes(size: number): Uint8Array {
    if (size > BODY_REUSE_MAX_BYTES) return this.cfg.platform.alloc(size);
    if (this.bodyBuffer === undefined || this.bodyBuffer.length < size) {
      let capacity = 64 * 1024;
      while (capacity < size) capacity *= 2;
      this.bodyBuffer = this.cfg.platform.alloc(Math.min(capacity, BODY_REUSE_MAX_BYTES));
    }
    return this.bodyBuffer.subarray(0, size);
  }

  private async post(body: BodyBytes, headers: Record<string, string>): Promise<Outcome> {
    if (this.stopped) return { kind: "stopped" };
    // (A fetch of the caller's own only ever gets text or an ArrayBuffer: see send.)
    const fetchFn = (this.cfg.fetch ?? this.cfg.platform.fetch ?? (globalThis as { fetch?: FetchLike }).fetch) as PlatformFetch | undefined;
    if (typeof fetchFn !== "function") return { kind: "fatal", status: 0, text: "no fetch() in this runtime" };
    const ac = new AbortController();
    const onStop = () => ac.abort();
    this.abort.signal.addEventListener("abort", onStop);
    const timeout = setTimeout(() => ac.abort(), this.cfg.requestTimeoutMs);
    this.cfg.platform.setTimerRef(timeout, false);
    this.counters.requests++;
    try {
      const size = typeof body === "string" ? body.length : body.byteLength;
      const init = { method: "POST", headers, body, signal: ac.signal, keepalive: this.keepalive && size <= KEEPALIVE_MAX_BYTES };
      const res = await fetchFn(this.cfg.ingestUrl, init);
      const text = await res.text();
      const status = res.status;
      if (status >= 200 && status < 300) return { kind: "ok", status, text };
      if (status === 413) return { kind: "too_large", status };
      if (status === 408 || status === 429 || status >= 500) {
        const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
        return { kind: "retry", reason: `HTTP ${status}`, status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
      }
      return { kind: "fatal", status, text };
    } catch (e) {
      if (this.stopped) return { kind: "stopped" };
      const reason = ac.signal.aborted ? `no answer within ${this.cfg.requestTimeoutMs} ms` : describeNetworkError(e);
      return { kind: "retry", reason };
    } finally {
      clearTimeout(timeout);
      this.abort.signal.removeEventListener("abort", onStop);
    }
  }

  private backoff(attempt: number, retryAfterMs: number | undefined): number {
    const max = this.cfg.retryMaxDelayMs;
    if (retryAfterMs !== undefined) {
      // The server said when; spread clients a little so they do not return all at once.
      const base = Math.min(retryAfterMs, max);
      return base + Math.random() * Math.min(1000, base * 0.2 + 50);
    }
    const exp = Math.min(max, this.cfg.retryInitialDelayMs * 2 ** Math.min(attempt, 30));
    return exp / 2 + Math.random() * (exp / 2); // "equal jitter"
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(this.sleepTimer);
        this.sleepTimer = undefined;
        this.wakeSleep = undefined;
        resolve();
      };
      this.wakeSleep = done;
      this.sleepTimer = setTimeout(done, ms);
      this.cfg.platform.setTimerRef(this.sleepTimer, this.holders > 0);
    });
  }

  // ---------------------------------------------------------------- outcomes

  private accept(batch: Batch, text: string): void {
    // The common answer refuses nothing: skip parsing its (long) list of ids.
    const answer = /"rejected":0[,}]/.test(text) ? undefined : parseAnswer(text);
    const rejected = Math.min(batch.count, answer?.rejected ?? 0);
    this.counters.sent += batch.count - rejected;
    if (rejected > 0) {
      this.counters.rejected += rejected;
      this.cfg.report(
        new AgentLogError("rejected", `the server refused ${rejected} of ${batch.count} item(s): ${describeItemErrors(answer?.errors)}`, {
          status: 200,
          count: rejected,
          details: answer?.errors,
        }),
      );
    }
  }

  private refuseAll(batch: Batch, text: string): void {
    const answer = parseAnswer(text);
    this.counters.rejected += batch.count;
    this.cfg.report(
      new AgentLogError("rejected", `the server refused all ${batch.count} item(s): ${describeItemErrors(answer?.errors)}`, {
        status: 422,
        count: batch.count,
        details: answer?.errors,
      }),
    );
  }

  private fail(batch: Batch, why: string, status?: number): void {
    this.counters.failed += batch.count;
    this.cfg.report(
      new AgentLogError("delivery_failed", `${batch.count} item(s) not delivered: ${why}`, {
        count: batch.count,
        ...(status === undefined ? {} : { status }),
      }),
    );
  }
}

/**
 * Resolves in a later turn of the event loop, after it polled for I/O (and ran due timers).
 * One setImmediate is not enough: called from an I/O callback, it runs in the same turn, right
 * after the poll phase; the second one runs in the next turn's check phase.
 */
const nextTurn: () => Promise<void> =
  typeof setImmediate === "function"
    ? () => new Promise((resolve) => setImmediate(() => setImmediate(resolve)))
    : () => new Promise((resolve) => setTimeout(resolve, 0));

const textDecoder = typeof TextDecoder === "function" ? new TextDecoder() : undefined;

/** The bytes as an ArrayBuffer of their own (a view into a larger or shared one is copied). */
function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  const { buffer, byteOffset, byteLength } = bytes;
  if (buffer instanceof ArrayBuffer && byteOffset === 0 && byteLength === buffer.byteLength) return buffer;
  return buffer.slice(byteOffset, byteOffset + byteLength) as ArrayBuffer;
}

interface IngestAnswer {
  rejected?: number;
  errors?: unknown;
}

function parseAnswer(text: string): IngestAnswer | undefined {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== "object" || v === null) return undefined;
    const o = v as Record<string, unknown>;
    return {
      ...(typeof o["rejected"] === "number" ? { rejected: o["rejected"] } : {}),
      ...(o["errors"] !== undefined ? { errors: o["errors"] } : {}),
    };
  } catch {
    return undefined;
  }
}

function describeItemErrors(errors: unknown): string {
  if (!Array.isArray(errors) || errors.length === 0) return "no details";
  const shown = errors.slice(0, 3).map((e) => {
    const o = (e ?? {}) as Record<string, unknown>;
    return `${String(o["item"] ?? "item")} #${String(o["index"] ?? "?")} ${String(o["field"] ?? "")}: ${String(o["message"] ?? "")}`;
  });
  return shown.join("; ") + (errors.length > 3 ? `; and ${errors.length - 3} more` : "");
}

function summarize(text: string): string {
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (typeof o["detail"] === "string") return o["detail"];
  } catch {
    // not JSON
  }
  return text.length > 200 ? text.slice(0, 200) + "…" : text;
}

function describeNetworkError(e: unknown): string {
  const err = e as { message?: unknown; cause?: { code?: unknown; message?: unknown } } | undefined;
  const code = err?.cause?.code ?? err?.cause?.message;
  const msg = typeof err?.message === "string" ? err.message : String(e);
  return code ? `${msg} (${String(code)})` : msg;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - Date.now());
}
