// Delivery of one batch at a time to POST /v1/ingest: its body, gzip, the request, retries, and
// what the answer means. The transport (transport.ts) decides what to send and when; a sender
// decides how. It runs on the main thread (browsers, edge runtimes, a custom fetch, or where the
// sender thread cannot start) or on Node's sender thread (sender-thread.ts).
//
// - Network errors, timeouts, 408, 429 and 5xx are retried with exponential backoff and jitter,
//   honouring Retry-After; other 4xx are not retried (413 splits the batch first). Items keep
//   their client-made ids, so a retry after a lost answer replaces instead of duplicating.
// - On the main thread it works in short steps with a turn of the event loop between them
//   (copying a large body, compressing off the main thread, sending, reading the answer), so a
//   flush of any size never holds the event loop for long.
//
// Nothing here throws to the caller; problems go to `report`.

import { AgentLogError } from "./errors.js";
import type { Batch } from "./item-queue.js";
import type { Platform, PlatformFetch } from "./platform.js";
import type { FetchLike } from "./types.js";

type Timer = ReturnType<typeof setTimeout>;

/** How to deliver: plain data, the same on either thread. */
export interface SenderConfig {
  ingestUrl: string;
  apiKey: string | undefined;
  gzipThresholdBytes: number;
  maxRetries: number;
  retryInitialDelayMs: number;
  retryMaxDelayMs: number;
  requestTimeoutMs: number;
}

/** What happened to items and requests; a sender adds to these. */
export interface DeliveryCounters {
  sent: number;
  rejected: number;
  failed: number;
  retries: number;
  requests: number;
}

/** Delivers the batches of one transport, one at a time. */
export interface BatchSender {
  /** Delivers a batch until it is stored, refused, or given up (counted, reported); never rejects. */
  deliver(batch: Batch): Promise<void>;
  /** Aborts the delivery in progress, which then counts as failed; delivers nothing after. */
  stop(): void;
  /** Whether a wait between retries keeps the process alive (someone awaits a flush). */
  setHeld(held: boolean): void;
}

/** Where a sender runs. */
export interface SenderEnv {
  platform: Pick<Platform, "gzip" | "alloc" | "setTimerRef" | "userAgent" | "fetch">;
  /** The caller's own fetch (the `fetch` option), which gets bodies it may keep. */
  fetch: FetchLike | undefined;
  counters: DeliveryCounters;
  report(error: AgentLogError): void;
  /** Whether requests must outlive an unloading page (browsers). */
  keepalive(): boolean;
  /** On the main thread: leave a turn of the event loop between steps. */
  yieldTurns: boolean;
  /** Told when a wait between retries starts and ends. */
  onSleep?: ((sleeping: boolean) => void) | undefined;
}

type Outcome =
  | { kind: "ok"; status: number; text: string }
  | { kind: "retry"; reason: string; status?: number; retryAfterMs?: number }
  | { kind: "too_large"; status: number }
  | { kind: "fatal"; status: number; text: string }
  | { kind: "stopped" };

/** Keep-alive requests (sent while a page unloads) are limited to 64 KiB by browsers. */
const KEEPALIVE_MAX_BYTES = 60_000;

/** Body bytes copied per event-loop turn when a batch is large (a memcpy: ~0.1 ms or less). */
const BODY_STEP_BYTES = 256 * 1024;

/** Largest body built in the reused buffer; larger ones get a buffer of their own. */
const BODY_REUSE_MAX_BYTES = 1024 * 1024;

/** The body of a request as the platform's fetch and the global fetch take it. */
type BodyBytes = string | ArrayBuffer | Uint8Array;

export class Sender implements BatchSender {
  private stopped = false;
  private held = false;
  private sleepTimer: Timer | undefined;
  private wakeSleep: (() => void) | undefined;
  /** The reused body buffer (see BODY_REUSE_MAX_BYTES); one request is built at a time. */
  private bodyBuffer: Uint8Array | undefined;
  private readonly abort = new AbortController();

  constructor(
    private readonly cfg: SenderConfig,
    private readonly env: SenderEnv,
  ) {}

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    this.wakeSleep?.();
  }

  setHeld(held: boolean): void {
    this.held = held;
    if (this.sleepTimer !== undefined) this.env.platform.setTimerRef(this.sleepTimer, held);
  }

  async deliver(batch: Batch): Promise<void> {
    try {
      await this.send(batch);
    } catch (e) {
      this.env.report(new AgentLogError("internal", "the sender failed unexpectedly", { cause: e }));
    }
  }

  /** Sends one batch until it is stored, refused, or given up. */
  private async send(batch: Batch): Promise<void> {
    const { platform, yieldTurns } = this.env;
    const plain = await batch.writeBody(yieldTurns ? BODY_STEP_BYTES : Infinity, nextTurn, (size) => this.bodyBytes(size));
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (this.cfg.apiKey) headers["Authorization"] = `Bearer ${this.cfg.apiKey}`;
    if (platform.userAgent) headers["User-Agent"] = platform.userAgent;
    // A fetch of the caller's own gets a body it may keep: text, or an ArrayBuffer of its own.
    // The platform's fetch and the global one are done with the body once they answer (the
    // standard fetch copies it at once), so they get the bytes as they are.
    const own = this.env.fetch !== undefined;
    let body: BodyBytes | undefined;
    const gzip = platform.gzip;
    if (gzip && plain.byteLength >= this.cfg.gzipThresholdBytes) {
      try {
        // Compressed off the calling thread (Node: the libuv pool; browsers: CompressionStream).
        const packed = await gzip(plain);
        body = own ? ownBuffer(packed) : packed;
        headers["Content-Encoding"] = "gzip";
      } catch {
        // compression is an optimisation: send it plain
      }
      if (yieldTurns) await nextTurn(); // finishing the compression and sending: two turns, not one
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
          this.env.counters.retries++;
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
    const { platform } = this.env;
    if (size > BODY_REUSE_MAX_BYTES) return platform.alloc(size);
    if (this.bodyBuffer === undefined || this.bodyBuffer.length < size) {
      let capacity = 64 * 1024;
      while (capacity < size) capacity *= 2;
      this.bodyBuffer = platform.alloc(Math.min(capacity, BODY_REUSE_MAX_BYTES));
    }
    return this.bodyBuffer.subarray(0, size);
  }

  private async post(body: BodyBytes, headers: Record<string, string>): Promise<Outcome> {
    if (this.stopped) return { kind: "stopped" };
    const { platform } = this.env;
    // (A fetch of the caller's own only ever gets text or an ArrayBuffer: see send.)
    const fetchFn = (this.env.fetch ?? platform.fetch ?? (globalThis as { fetch?: FetchLike }).fetch) as PlatformFetch | undefined;
    if (typeof fetchFn !== "function") return { kind: "fatal", status: 0, text: "no fetch() in this runtime" };
    const ac = new AbortController();
    const onStop = () => ac.abort();
    this.abort.signal.addEventListener("abort", onStop);
    const timeout = setTimeout(() => ac.abort(), this.cfg.requestTimeoutMs);
    platform.setTimerRef(timeout, false);
    this.env.counters.requests++;
    try {
      const size = typeof body === "string" ? body.length : body.byteLength;
      const init = { method: "POST", headers, body, signal: ac.signal, keepalive: this.env.keepalive() && size <= KEEPALIVE_MAX_BYTES };
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
    this.env.onSleep?.(true);
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(this.sleepTimer);
        this.sleepTimer = undefined;
        this.wakeSleep = undefined;
        this.env.onSleep?.(false);
        resolve();
      };
      this.wakeSleep = done;
      this.sleepTimer = setTimeout(done, ms);
      this.env.platform.setTimerRef(this.sleepTimer, this.held);
    });
  }

  // ---------------------------------------------------------------- outcomes

  private accept(batch: Batch, text: string): void {
    // The common answer refuses nothing: skip parsing its (long) list of ids.
    const answer = /"rejected":0[,}]/.test(text) ? undefined : parseAnswer(text);
    const rejected = Math.min(batch.count, answer?.rejected ?? 0);
    this.env.counters.sent += batch.count - rejected;
    if (rejected > 0) {
      this.env.counters.rejected += rejected;
      this.env.report(
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
    this.env.counters.rejected += batch.count;
    this.env.report(
      new AgentLogError("rejected", `the server refused all ${batch.count} item(s): ${describeItemErrors(answer?.errors)}`, {
        status: 422,
        count: batch.count,
        details: answer?.errors,
      }),
    );
  }

  private fail(batch: Batch, why: string, status?: number): void {
    this.env.counters.failed += batch.count;
    this.env.report(
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
export const nextTurn: () => Promise<void> =
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
