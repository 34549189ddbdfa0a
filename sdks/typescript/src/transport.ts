// Delivery: a bounded in-memory queue of encoded items (events and session updates) and one
// background sender that posts them in batches to POST /v1/ingest.
//
// - Items are encoded to UTF-8 once, when recorded, and copied to the queue's byte pages
//   (item-queue.ts), which are reused once sent.
// - Batches go out when `maxBatchSize` items are queued, every `flushIntervalMs`, and on flush.
// - One request at a time, in queue order: a span's "running" snapshot always lands before
//   its final version, and the server's answer is the back-pressure signal.
// - How a batch is delivered (its body, gzip, retries) is the sender's part (sender.ts). In Node
//   it runs on a thread of its own (sender-thread.ts), which reads the batch from the shared
//   pages; elsewhere, with a custom fetch, or where that thread cannot start, on this one.
// - When the queue is full the oldest items are dropped and counted; the first drop is
//   reported through onError. Recording never waits for the network.
//
// Nothing here throws to the caller; problems go to `report`.

import { AgentLogError } from "./errors.js";
import { ItemQueue, type Batch, type ItemKind } from "./item-queue.js";
import type { Platform } from "./platform.js";
import { nextTurn, Sender, type BatchSender, type SenderConfig } from "./sender.js";
import type { AgentLogStats, FetchLike } from "./types.js";

export type { ItemKind } from "./item-queue.js";

type Timer = ReturnType<typeof setTimeout>;

export interface TransportConfig extends SenderConfig {
  flushIntervalMs: number;
  maxBatchSize: number;
  maxQueueSize: number;
  maxQueueBytes: number;
  maxBatchBytes: number;
  /** The caller's own fetch: delivery then stays on this thread. */
  fetch: FetchLike | undefined;
  platform: Platform;
  report: (error: AgentLogError) => void;
  /** Called on every interval tick, before sending (clock resync, running-span snapshots). */
  onTick: () => void;
}

interface Waiter {
  target: number;
  resolve: () => void;
}

export class Transport {
  private readonly queue: ItemQueue;
  private inflight: Batch | undefined;
  /** The sender keeps going until every item with seq <= flushTarget is done. */
  private flushTarget = 0;
  private waiters: Waiter[] = [];
  private holders = 0;
  private timer: Timer | undefined;
  private pumping = false;
  private pumpScheduled = false;
  private stopped = false;
  private overflowReported = false;
  private keepalive = false;
  private readonly counters = { enqueued: 0, sent: 0, rejected: 0, dropped: 0, failed: 0, retries: 0, requests: 0 };
  private readonly sender: BatchSender;

  constructor(private readonly cfg: TransportConfig) {
    this.queue = new ItemQueue(cfg.platform);
    const { ingestUrl, apiKey, gzipThresholdBytes, maxRetries, retryInitialDelayMs, retryMaxDelayMs, requestTimeoutMs } = cfg;
    const senderConfig: SenderConfig = { ingestUrl, apiKey, gzipThresholdBytes, maxRetries, retryInitialDelayMs, retryMaxDelayMs, requestTimeoutMs };
    const here = new Sender(senderConfig, {
      platform: cfg.platform,
      fetch: cfg.fetch,
      counters: this.counters,
      report: cfg.report,
      keepalive: () => this.keepalive,
      yieldTurns: true,
    });
    // A fetch of the caller's own is a function of this thread: it cannot move.
    const thread = cfg.fetch === undefined ? cfg.platform.senderThread : undefined;
    this.sender = thread ? thread(senderConfig, { counters: this.counters, report: cfg.report, fallback: here }) : here;
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
    this.sender.stop();
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

  /** While someone awaits a flush, a wait between retries must keep the process alive. */
  private hold(): void {
    if (this.holders++ === 0) this.sender.setHeld(true);
  }

  private release(): void {
    if (--this.holders === 0) {
      this.keepalive = false;
      this.sender.setHeld(false);
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
          await this.sender.deliver(batch);
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
}
