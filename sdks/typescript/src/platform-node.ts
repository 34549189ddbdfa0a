// The Node.js runtime: AsyncLocalStorage for context, zlib for gzip (on the libuv thread
// pool, so compression never blocks the event loop), node:http with keep-alive for requests,
// `beforeExit` for the final flush.
//
// Requests use node:http rather than the global fetch: its synchronous work per request is a
// fraction of fetch's (which matters for not blocking the event loop while sending), and it
// is loaded already, where the first fetch() of a process loads its implementation (~50 ms).

import { AsyncLocalStorage } from "node:async_hooks";
import { randomFillSync } from "node:crypto";
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { gzip } from "node:zlib";
import type { ContextStore, Platform, PlatformFetch } from "./platform.js";
import { senderThreadFrom } from "./sender-thread.js";
import type { FetchResponseLike } from "./types.js";
import { VERSION } from "./version.js";

class AlsContextStore<T> implements ContextStore<T> {
  private readonly als = new AsyncLocalStorage<T>();

  get(): T | undefined {
    return this.als.getStore();
  }

  run<R, A>(value: T, fn: (arg: A) => R, arg: A): R {
    return this.als.run(value, fn, arg);
  }
}

function gzipBytes(body: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    gzip(body, { level: 5 }, (err, out) => {
      if (err) reject(err);
      else resolve(out);
    });
  });
}

// Shared by all clients; idle keep-alive sockets do not keep the process alive.
const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 4 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 4 });

function headerGetter(headers: IncomingHttpHeaders): FetchResponseLike["headers"] {
  return {
    get: (name) => {
      const v = headers[name.toLowerCase()];
      if (v === undefined) return null;
      return Array.isArray(v) ? v.join(", ") : v;
    },
  };
}

/** The body as a Buffer over the same memory (no copy), or the UTF-8 of a string. */
function bodyBuffer(body: string | ArrayBuffer | Uint8Array): Buffer {
  if (typeof body === "string") return Buffer.from(body, "utf8");
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** A minimal fetch over node:http(s): the SDK's POSTs, with abort and keep-alive. */
const nodeFetch: PlatformFetch = (url, init) =>
  new Promise<FetchResponseLike>((resolve, reject) => {
    const signal = init.signal as AbortSignal | undefined;
    const target = new URL(url);
    const https = target.protocol === "https:";
    const body = bodyBuffer(init.body);
    const req = (https ? httpsRequest : httpRequest)(
      target,
      {
        method: init.method,
        headers: { ...init.headers, "Content-Length": String(body.length) },
        agent: https ? httpsAgent : httpAgent,
        ...(signal ? { signal } : {}),
      },
      (res) => {
        // Decoded as it arrives: no Buffer.concat, whose copy would be one more ArrayBuffer per
        // request for V8 to count towards its next major GC.
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        res.on("error", reject);
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, headers: headerGetter(res.headers), text: () => Promise.resolve(text) });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });

/**
 * Memory for the queue's pages, which are reused for as long as the client lives. V8 counts the
 * bytes of every new ArrayBuffer towards its next major GC, and its first in a fresh process
 * comes early: a burst of 50k events (17 MB of pages) brought a full mark-compact (6-19 ms of
 * event-loop blocking, measured) into the flush that sent them, with nothing to free. The
 * bytes of a SharedArrayBuffer are not counted per isolate (V8's
 * BackingStore::PerIsolateAccountingLength), and the pages are never garbage before the client
 * is: freed with it, like any other buffer.
 */
function allocKept(size: number): Buffer {
  return typeof SharedArrayBuffer === "function" ? Buffer.from(new SharedArrayBuffer(size)) : Buffer.allocUnsafeSlow(size);
}

// The sender thread's entry, beside this module. (CommonJS has no import.meta: scripts/build.mjs
// gives the CommonJS build this module's file URL instead.)
// @ts-ignore TS1343 in the CommonJS build only
const senderWorkerFile = new URL("./sender-worker.js", import.meta.url);

// One thread for all clients of the process, started when the first one is made.
const senderThread = senderThreadFrom(senderWorkerFile);

// One `beforeExit` listener for all clients (a listener each would trip Node's
// MaxListenersExceededWarning in programs that make many clients).
const exitHooks = new Set<(final: boolean) => Promise<void>>();

function runExitHooks(): void {
  for (const hook of [...exitHooks]) void hook(true);
}

export function nodePlatform(): Platform {
  return {
    createContext: <T>() => new AlsContextStore<T>(),
    asyncContext: true,
    randomFill: (bytes) => {
      randomFillSync(bytes);
    },
    gzip: gzipBytes,
    byteLength: (text) => Buffer.byteLength(text, "utf8"),
    // Not from Buffer's shared pool: a buffer's memory is freed with it, not with its neighbours.
    alloc: (size) => Buffer.allocUnsafeSlow(size),
    allocKept,
    writeUtf8: (text, dest, offset) => (dest as Buffer).write(text, offset, "utf8"),
    readUtf8: (bytes, start, end) => (bytes as Buffer).toString("utf8", start, end),
    env: (name) => process.env[name],
    onExit: (hook) => {
      exitHooks.add(hook);
      if (exitHooks.size === 1) process.on("beforeExit", runExitHooks);
      return () => {
        if (exitHooks.delete(hook) && exitHooks.size === 0) process.off("beforeExit", runExitHooks);
      };
    },
    setTimerRef: (timer, ref) => {
      const t = timer as { ref?: () => void; unref?: () => void } | undefined;
      if (ref) t?.ref?.();
      else t?.unref?.();
    },
    userAgent: `agentlog-sdk-typescript/${VERSION} node/${process.version}`,
    fetch: nodeFetch,
    senderThread,
  };
}
