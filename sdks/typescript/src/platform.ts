// What the SDK needs from its runtime, so the core stays free of Node- and browser-specific
// imports. `node.ts` and `index.ts` (browsers, edge) each pass their own implementation.

import type { ByteSupport } from "./bytes.js";
import type { AgentLogError } from "./errors.js";
import type { BatchSender, DeliveryCounters, SenderConfig } from "./sender.js";
import type { FetchInit, FetchResponseLike } from "./types.js";

/**
 * How the SDK calls the platform's fetch (and the global one): like `FetchLike`, but the body
 * may also be a view of a buffer the SDK reuses once the answer arrived. The standard fetch
 * copies a body when it is called.
 */
export type PlatformFetch = (
  url: string,
  // (signal: an AbortSignal; typed loosely so that the declarations need no DOM or Node types)
  init: Omit<FetchInit, "body"> & { body: string | ArrayBuffer | Uint8Array; signal?: unknown },
) => Promise<FetchResponseLike>;

/** Carries a value through synchronous calls and, where the runtime can, across awaits. */
export interface ContextStore<T> {
  get(): T | undefined;
  /** Runs `fn(arg)` with `value` as the current value. */
  run<R, A>(value: T, fn: (arg: A) => R, arg: A): R;
}

/** As ByteSupport: the byte arrays of the queue, of request bodies and of encoding, and UTF-8. */
export interface Platform extends ByteSupport {
  /** A new context store (AsyncLocalStorage in Node). */
  createContext<T>(): ContextStore<T>;
  /** Whether contexts follow async continuations (false: only synchronous nesting). */
  readonly asyncContext: boolean;
  /** Fills `bytes` with cryptographically strong random values. */
  randomFill(bytes: Uint8Array): void;
  /** gzip of a request body, or undefined when the runtime cannot compress. */
  gzip: ((body: Uint8Array) => Promise<Uint8Array>) | undefined;
  /**
   * A byte array that the SDK keeps and reuses for as long as the client lives (the queue's
   * pages), so that the runtime need not count it towards garbage collection.
   */
  allocKept(size: number): Uint8Array;
  /** An environment variable, when the runtime has an environment. */
  env(name: string): string | undefined;
  /**
   * Runs `hook` when the program is about to end (`final`: it will not resume; false for a
   * hidden page that may come back); returns a function that unregisters it.
   */
  onExit(hook: (final: boolean) => Promise<void>): () => void;
  /**
   * Whether a pending timer keeps the runtime alive (Node `ref`/`unref`): background timers
   * must not delay exit, but one that a `flush()` someone awaits depends on must. No-op elsewhere.
   */
  setTimerRef(timer: unknown, ref: boolean): void;
  /** Value of the User-Agent header, when the runtime lets us set one. */
  readonly userAgent: string | undefined;
  /** The HTTP client used unless the options give a `fetch` (undefined: `globalThis.fetch`). */
  readonly fetch: PlatformFetch | undefined;
  /**
   * A sender that delivers on a thread of its own (Node), counting into `counters` and
   * reporting on this thread; it uses `fallback` if that thread cannot start or stops.
   * Undefined: batches are delivered on this thread.
   */
  readonly senderThread: ((config: SenderConfig, host: SenderHost) => BatchSender) | undefined;
}

/** What a sender on another thread works for. */
export interface SenderHost {
  counters: DeliveryCounters;
  report(error: AgentLogError): void;
  /** The sender on this thread, used once the other thread is not there. */
  fallback: BatchSender;
}

/**
 * A context store without async propagation: the value is visible during the synchronous part
 * of `fn` only. Used where no AsyncLocalStorage exists (browsers); spans created after an
 * `await` then need explicit parents (`span.span(...)`).
 */
export class SyncContextStore<T> implements ContextStore<T> {
  private current: T | undefined;

  get(): T | undefined {
    return this.current;
  }

  run<R, A>(value: T, fn: (arg: A) => R, arg: A): R {
    const previous = this.current;
    this.current = value;
    try {
      return fn(arg);
    } finally {
      this.current = previous;
    }
  }
}

/** UTF-8 byte length without TextEncoder allocations (lone surrogates count 3, as U+FFFD). */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 2; // 2 UTF-16 units -> 4 bytes
        i++;
      } else {
        bytes += 2;
      }
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/** UTF-8 encoding of `text` into `dest` at `offset`, as `utf8Length` counts; returns the bytes written. */
export function writeUtf8(text: string, dest: Uint8Array, offset: number): number {
  let o = offset;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = c <= 0xdbff && i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else {
        c = 0xfffd; // a lone surrogate
      }
    }
    if (c < 0x80) {
      dest[o++] = c;
    } else if (c < 0x800) {
      dest[o++] = 0xc0 | (c >> 6);
      dest[o++] = 0x80 | (c & 0x3f);
    } else if (c < 0x10000) {
      dest[o++] = 0xe0 | (c >> 12);
      dest[o++] = 0x80 | ((c >> 6) & 0x3f);
      dest[o++] = 0x80 | (c & 0x3f);
    } else {
      dest[o++] = 0xf0 | (c >> 18);
      dest[o++] = 0x80 | ((c >> 12) & 0x3f);
      dest[o++] = 0x80 | ((c >> 6) & 0x3f);
      dest[o++] = 0x80 | (c & 0x3f);
    }
  }
  return o - offset;
}

/** The text of UTF-8 bytes [start, end) (as `writeUtf8` writes them: valid UTF-8). */
export function readUtf8(bytes: Uint8Array, start: number, end: number): string {
  let out = "";
  const units: number[] = [];
  for (let i = start; i < end; ) {
    const b = bytes[i]!;
    let c: number;
    if (b < 0x80) {
      c = b;
      i += 1;
    } else if (b < 0xe0) {
      c = ((b & 0x1f) << 6) | (bytes[i + 1]! & 0x3f);
      i += 2;
    } else if (b < 0xf0) {
      c = ((b & 0x0f) << 12) | ((bytes[i + 1]! & 0x3f) << 6) | (bytes[i + 2]! & 0x3f);
      i += 3;
    } else {
      c = ((b & 0x07) << 18) | ((bytes[i + 1]! & 0x3f) << 12) | ((bytes[i + 2]! & 0x3f) << 6) | (bytes[i + 3]! & 0x3f);
      i += 4;
    }
    if (c >= 0x10000) {
      c -= 0x10000;
      units.push(0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff));
    } else {
      units.push(c);
    }
    // fromCharCode takes its units as arguments: a bounded number per call.
    if (units.length >= 4096) {
      out += String.fromCharCode.apply(null, units);
      units.length = 0;
    }
  }
  return out + String.fromCharCode.apply(null, units);
}
