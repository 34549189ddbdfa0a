// Node's sender thread, main-thread side: one worker_threads Worker per process delivers the
// batches of every client (sender-worker.ts is its entry), so that building bodies, gzip,
// node:http requests, retries and reading answers take no turns of the application's event loop.
// Measured before it: with all of that on the main thread, a steady flow had turns over 1 ms
// that were sending a request (node:http's set-up and the socket write, ~0.3 ms each, stretched
// when the other CPU was busy), and the answers' text was garbage for the main thread's GC.
//
// - A batch goes over as its pages' memory (item-queue.ts `describe`), which postMessage shares
//   rather than copies (SharedArrayBuffers): one message per batch each way, none per event.
//   The transport releases the batch, and so may reuse its pages, only once the thread answered.
// - Counters and reports come back with each message and are applied here, before `onError`
//   runs on this thread, so stats() adds up whenever user code can look.
// - The thread never keeps the process alive by itself: it is referenced only while a batch is
//   being sent, and while waiting between retries only if someone awaits a flush (as the timer
//   of the sender on this thread does).
// - If the thread cannot start (worker_threads refused, the entry file missing as in a bundle)
//   or ends, each client's sender on this thread takes over, the batch in flight included (ids
//   make a second delivery harmless).

import { Worker } from "node:worker_threads";
import { AgentLogError, type AgentLogErrorCode } from "./errors.js";
import type { Batch, BatchDescription } from "./item-queue.js";
import type { SenderHost } from "./platform.js";
import type { BatchSender, DeliveryCounters, SenderConfig } from "./sender.js";

/** Messages to the thread. */
export type ToThread =
  | { t: "open"; c: number; config: SenderConfig }
  | { t: "batch"; c: number; batch: BatchDescription }
  | { t: "stop"; c: number };

/** What the counters grew by since the thread's previous message for that client. */
export type CounterDeltas = DeliveryCounters;

/** What the thread says about one client (it adds `c`, the client, and `d`, the counters). */
export type ThreadNews =
  | { t: "report"; code: AgentLogErrorCode; message: string; status: number | undefined; count: number; details: unknown }
  | { t: "sleep"; on: boolean }
  | { t: "done" };

/** Messages from the thread. */
export type FromThread = ThreadNews & { c: number; d: CounterDeltas };

/**
 * A `Platform.senderThread` that starts one thread from `file` on first use and gives each
 * client a sender on it.
 */
export function senderThreadFrom(file: string | URL): (config: SenderConfig, host: SenderHost) => BatchSender {
  let thread: SenderThread | undefined;
  return (config, host) => {
    thread ??= new SenderThread(file);
    return thread.open(config, host);
  };
}

class SenderThread {
  private worker: Worker | undefined;
  private readonly clients = new Map<number, ThreadSender>();
  private nextClient = 1;
  /** Clients whose delivery must keep the process alive. */
  private refs = 0;

  constructor(file: string | URL) {
    try {
      const worker = new Worker(file);
      worker.on("message", (m: FromThread) => this.clients.get(m.c)?.onMessage(m));
      worker.on("error", () => this.lost());
      worker.on("exit", () => this.lost());
      // After the listeners: a "message" listener references the worker's port again.
      worker.unref();
      this.worker = worker;
    } catch {
      this.worker = undefined; // worker_threads refused: every client sends on its own thread
    }
  }

  open(config: SenderConfig, host: SenderHost): BatchSender {
    if (!this.post({ t: "open", c: this.nextClient, config })) return host.fallback;
    const sender = new ThreadSender(this, this.nextClient, host);
    this.clients.set(this.nextClient++, sender);
    return sender;
  }

  /** Sends a message to the thread; false when there is no thread (any more) or it failed. */
  post(message: ToThread): boolean {
    if (this.worker === undefined) return false;
    try {
      this.worker.postMessage(message);
      return true;
    } catch {
      return false;
    }
  }

  close(client: number): void {
    this.clients.delete(client);
  }

  ref(on: boolean): void {
    const before = this.refs;
    this.refs += on ? 1 : -1;
    if (before === 0 && this.refs > 0) this.worker?.ref();
    else if (before > 0 && this.refs === 0) this.worker?.unref();
  }

  /** The thread failed to start or ended: every client goes on without it. */
  private lost(): void {
    if (this.worker === undefined) return;
    this.worker.unref();
    this.worker = undefined;
    this.refs = 0;
    const clients = [...this.clients.values()];
    this.clients.clear();
    for (const client of clients) client.onThreadLost();
  }
}

/** One client's sender: hands its batches to the thread and applies what comes back. */
class ThreadSender implements BatchSender {
  private inFlight: { batch: Batch; done: () => void } | undefined;
  private sleeping = false;
  private held = false;
  private stopped = false;
  private referenced = false;
  private lost = false;

  constructor(
    private readonly thread: SenderThread,
    private readonly id: number,
    private readonly host: SenderHost,
  ) {}

  deliver(batch: Batch): Promise<void> {
    if (this.lost) return this.host.fallback.deliver(batch);
    return new Promise<void>((done) => {
      this.inFlight = { batch, done };
      if (this.thread.post({ t: "batch", c: this.id, batch: batch.describe() })) this.updateRef();
      else this.onThreadLost();
    });
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.host.fallback.stop();
    if (this.lost) return;
    this.thread.post({ t: "stop", c: this.id });
    // What the thread says about the batch it is abandoning must still reach onError.
    if (this.inFlight === undefined) this.thread.close(this.id);
    else this.updateRef();
  }

  setHeld(held: boolean): void {
    this.held = held;
    this.host.fallback.setHeld(held);
    this.updateRef();
  }

  onMessage(m: FromThread): void {
    const c = this.host.counters;
    c.sent += m.d.sent;
    c.rejected += m.d.rejected;
    c.failed += m.d.failed;
    c.retries += m.d.retries;
    c.requests += m.d.requests;
    switch (m.t) {
      case "report": {
        const { code, message, status, count, details } = m;
        this.host.report(new AgentLogError(code, message, { count, ...(status === undefined ? {} : { status }), ...(details === undefined ? {} : { details }) }));
        break;
      }
      case "sleep":
        this.sleeping = m.on;
        this.updateRef();
        break;
      case "done": {
        const finished = this.inFlight;
        this.inFlight = undefined;
        this.sleeping = false;
        this.updateRef();
        if (this.stopped) this.thread.close(this.id);
        finished?.done();
        break;
      }
    }
  }

  /** Delivers the batch in flight, and every later one, on this thread. */
  onThreadLost(): void {
    if (this.lost) return;
    this.lost = true;
    this.referenced = false; // the thread and its references are gone
    const pending = this.inFlight;
    this.inFlight = undefined;
    if (pending !== undefined) void this.host.fallback.deliver(pending.batch).then(pending.done);
  }

  /** Referenced while a batch is being sent, and while it waits to be retried if held or stopping. */
  private updateRef(): void {
    const want = !this.lost && this.inFlight !== undefined && (!this.sleeping || this.held || this.stopped);
    if (want === this.referenced) return;
    this.referenced = want;
    this.thread.ref(want);
  }
}
