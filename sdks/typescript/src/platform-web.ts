// Browsers and edge runtimes: Web Crypto for ids, CompressionStream for gzip where present,
// `pagehide` for the final flush. Context follows async continuations only where the runtime
// offers a global AsyncLocalStorage (some edge runtimes do); elsewhere it is synchronous.

import { readUtf8, SyncContextStore, utf8Length, writeUtf8, type ContextStore, type Platform } from "./platform.js";

interface AlsLike<T> {
  getStore(): T | undefined;
  run<R, A>(store: T, fn: (arg: A) => R, arg: A): R;
}

interface WebGlobals {
  AsyncLocalStorage?: new <T>() => AlsLike<T>;
  crypto?: { getRandomValues(bytes: Uint8Array): Uint8Array };
  CompressionStream?: new (format: string) => unknown;
  Blob?: new (parts: Uint8Array[]) => { stream(): { pipeThrough(t: unknown): unknown } };
  Response?: new (body: unknown) => { arrayBuffer(): Promise<ArrayBuffer> };
  TextEncoder?: new () => { encodeInto(text: string, dest: Uint8Array): { read: number; written: number } };
  TextDecoder?: new () => { decode(bytes: Uint8Array): string };
  process?: { env?: Record<string, string | undefined> };
  addEventListener?: (type: string, listener: () => void) => void;
  removeEventListener?: (type: string, listener: () => void) => void;
  document?: { visibilityState?: string };
}

const g = globalThis as unknown as WebGlobals;

class GlobalAlsContextStore<T> implements ContextStore<T> {
  constructor(private readonly als: AlsLike<T>) {}

  get(): T | undefined {
    return this.als.getStore();
  }

  run<R, A>(value: T, fn: (arg: A) => R, arg: A): R {
    return this.als.run(value, fn, arg);
  }
}

function randomFill(bytes: Uint8Array): void {
  const crypto = g.crypto;
  if (crypto && typeof crypto.getRandomValues === "function") {
    for (let off = 0; off < bytes.length; off += 65536) {
      crypto.getRandomValues(bytes.subarray(off, Math.min(bytes.length, off + 65536)));
    }
    return;
  }
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
}

function compressionGzip(): ((body: Uint8Array) => Promise<Uint8Array>) | undefined {
  const { CompressionStream, Blob, Response } = g;
  if (typeof CompressionStream !== "function" || typeof Blob !== "function" || typeof Response !== "function") {
    return undefined;
  }
  return async (body) =>
    new Uint8Array(await new Response(new Blob([body]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer());
}

function utf8Writer(): Platform["writeUtf8"] {
  const Encoder = g.TextEncoder;
  if (typeof Encoder !== "function") return writeUtf8;
  const encoder = new Encoder();
  return (text, dest, offset) => encoder.encodeInto(text, dest.subarray(offset)).written;
}

function utf8Reader(): Platform["readUtf8"] {
  const Decoder = g.TextDecoder;
  if (typeof Decoder !== "function") return readUtf8;
  const decoder = new Decoder();
  return (bytes, start, end) => decoder.decode(bytes.subarray(start, end));
}

export function webPlatform(): Platform {
  const Als = g.AsyncLocalStorage;
  const asyncContext = typeof Als === "function";
  return {
    createContext: <T>(): ContextStore<T> =>
      asyncContext && Als ? new GlobalAlsContextStore<T>(new Als<T>()) : new SyncContextStore<T>(),
    asyncContext,
    randomFill,
    gzip: compressionGzip(),
    byteLength: utf8Length,
    alloc: (size) => new Uint8Array(size),
    allocKept: (size) => new Uint8Array(size),
    writeUtf8: utf8Writer(),
    readUtf8: utf8Reader(),
    env: (name) => {
      try {
        return g.process?.env?.[name];
      } catch {
        return undefined;
      }
    },
    onExit: (hook) => {
      const add = g.addEventListener;
      const remove = g.removeEventListener;
      if (typeof add !== "function" || typeof remove !== "function" || g.document === undefined) return () => {};
      const onPageHide = () => void hook(false);
      const onVisibility = () => {
        if (g.document?.visibilityState === "hidden") void hook(false);
      };
      add.call(globalThis, "pagehide", onPageHide);
      add.call(globalThis, "visibilitychange", onVisibility);
      return () => {
        remove.call(globalThis, "pagehide", onPageHide);
        remove.call(globalThis, "visibilitychange", onVisibility);
      };
    },
    setTimerRef: () => {},
    userAgent: undefined,
    fetch: undefined,
    senderThread: undefined,
  };
}
