// Public types of the SDK. Field names are camelCase here and snake_case on the wire
// (docs/api.md): sessionId -> session_id, costUsd -> cost_usd, usage.inputTokens ->
// usage.input_tokens, and so on.
//
// These declarations depend on nothing outside the ECMAScript library, so they type-check in
// Node, browser and edge projects alike.

import type { AgentLogError } from "./errors.js";

/** What an event records. Unknown values are sent as `custom` (and reported once). */
export type EventType =
  | "agent"
  | "step"
  | "llm"
  | "tool"
  | "retrieval"
  | "embedding"
  | "message"
  | "action"
  | "error"
  | "log"
  | "custom";

/** Outcome of an event. Spans set it themselves: `ok`, or `error` when `fn` threw. */
export type EventStatus = "ok" | "error" | "running";

/** Outcome of a session (one run of an agent). */
export type SessionStatus = "running" | "success" | "failure" | "cancelled";

/** A point in time: a `Date`, epoch milliseconds (may be fractional), or an RFC 3339 string. */
export type TimeInput = Date | number | string;

/** Token counts of an LLM call. Non-negative integers; `totalTokens` defaults to input + output. */
export interface Usage {
  inputTokens?: number | undefined;
  outputTokens?: number | undefined;
  totalTokens?: number | undefined;
  cachedTokens?: number | undefined;
}

/** An error as stored: every part optional. */
export interface ErrorInfo {
  type?: string | undefined;
  message?: string | undefined;
  stack?: string | undefined;
}

/**
 * Every field an event can carry (the event schema of docs/api.md, in camelCase).
 * All optional: the SDK fills `id`, `sessionId`, `parentId` and `startedAt` from the context.
 */
export interface EventFields {
  /** Event id, 1..128 bytes. Default: a UUIDv7 generated here (so re-sends are idempotent). */
  id?: string | undefined;
  /** Default: the current session (see `AgentLog.session`), else the client's implicit session. */
  sessionId?: string | undefined;
  /** Default: the current span. Pass `null` to record a top-level event inside a span. */
  parentId?: string | null | undefined;
  traceId?: string | undefined;
  spanId?: string | undefined;
  type?: EventType | undefined;
  name?: string | undefined;
  agent?: string | undefined;
  /** Default: now. */
  startedAt?: TimeInput | undefined;
  endedAt?: TimeInput | undefined;
  /** Default: `error` when `error` is given, else `ok`. */
  status?: EventStatus | undefined;
  /** Any value; made JSON-safe (cycles, BigInt, huge strings...) and capped at ~1 MB. */
  input?: unknown;
  output?: unknown;
  /** An `Error`, an `{type, message, stack}` object, or a message string. */
  error?: unknown;
  model?: string | undefined;
  provider?: string | undefined;
  usage?: Usage | undefined;
  costUsd?: number | undefined;
  attributes?: Record<string, unknown> | undefined;
  tags?: string[] | undefined;
}

/** Fields of `AgentLog.llm()`: an LLM call that already happened. `name` defaults to the model. */
export interface LlmFields extends Omit<EventFields, "type"> {
  model?: string | undefined;
  provider?: string | undefined;
  usage?: Usage | undefined;
  costUsd?: number | undefined;
}

/** Fields of `AgentLog.tool()`: a tool call that already happened. */
export interface ToolFields extends Omit<EventFields, "type"> {
  name: string;
}

/** Options of a span: the event fields known when it starts. The rest comes from `fn`. */
export interface SpanOptions
  extends Omit<EventFields, "type" | "name" | "startedAt" | "endedAt" | "status" | "output" | "error"> {
  /** Record the value `fn` returns (or resolves to) as the span's output. Default true. */
  captureOutput?: boolean | undefined;
}

/** What can be changed on a running span (the output wins over `fn`'s return value). */
export type SpanUpdate = Omit<EventFields, "id" | "sessionId" | "parentId" | "type" | "agent" | "startedAt" | "endedAt">;

/** How a session is described when it starts. */
export interface SessionOptions {
  /** Session id, 1..128 bytes. Default: a UUIDv7. Re-using an id continues that session. */
  id?: string | undefined;
  name?: string | undefined;
  agent?: string | undefined;
  /** The end user the agent works for (enables delete-by-user later). */
  userId?: string | undefined;
  tags?: string[] | undefined;
  metadata?: Record<string, unknown> | undefined;
  /** Default: now. */
  startedAt?: TimeInput | undefined;
}

/** Fields that can be changed on a live session. */
export type SessionUpdate = Omit<SessionOptions, "id" | "startedAt">;

/** How a session ends. `status` defaults to `success`. */
export interface SessionEnd {
  status?: Exclude<SessionStatus, "running"> | undefined;
  endedAt?: TimeInput | undefined;
}

/** The subset of a fetch `Response` the SDK reads. */
export interface FetchResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** The request the SDK makes. Assignable to the standard `RequestInit`. */
export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  body: string | ArrayBuffer;
  keepalive?: boolean | undefined;
}

/** A `fetch` implementation (the global one by default). */
export type FetchLike = (url: string, init: FetchInit) => Promise<FetchResponseLike>;

/** Client configuration. Every field is optional. */
export interface AgentLogOptions {
  /** Server base URL. Default: env `AGENTLOG_URL`, else `http://127.0.0.1:7654`. */
  url?: string | undefined;
  /** API key sent as `Authorization: Bearer <key>`. Default: env `AGENTLOG_API_KEY`. */
  apiKey?: string | undefined;
  /** Default agent name of sessions and events. */
  agent?: string | undefined;
  /** Send what is queued at least this often (ms). Default 1000. */
  flushIntervalMs?: number | undefined;
  /** Send as soon as this many items are queued; also the most per request. Default 500. */
  maxBatchSize?: number | undefined;
  /** Most items kept in memory; when full the oldest are dropped and counted. Default 10000. */
  maxQueueSize?: number | undefined;
  /** Most bytes (approximately) kept in memory, same policy. Default 64 MiB. */
  maxQueueBytes?: number | undefined;
  /** Most bytes of one request body before compression. Default 4 MiB. */
  maxBatchBytes?: number | undefined;
  /** Bodies larger than this are gzip-compressed when the runtime can. Default 16 KiB. */
  gzipThresholdBytes?: number | undefined;
  /** Retries of one batch on network errors, 429 and 5xx before it is given up. Default 10. */
  maxRetries?: number | undefined;
  /** First backoff delay (ms), doubled each retry, with jitter. Default 200. */
  retryInitialDelayMs?: number | undefined;
  /** Largest backoff delay (ms); also caps a server's `Retry-After`. Default 10000. */
  retryMaxDelayMs?: number | undefined;
  /** Abort a request that has not answered after this long (ms), then retry. Default 10000. */
  requestTimeoutMs?: number | undefined;
  /** How long `shutdown()` and the exit hook keep trying to deliver (ms). Default 5000. */
  shutdownTimeoutMs?: number | undefined;
  /** Flush when the process is about to exit (Node `beforeExit`, browser `pagehide`). Default true. */
  flushOnExit?: boolean | undefined;
  /** Record nothing (spans still run their functions). Default false, or env `AGENTLOG_DISABLED=1`. */
  disabled?: boolean | undefined;
  /** Where problems are reported instead of thrown. Default: `console.warn`. */
  onError?: ((error: AgentLogError) => void) | undefined;
  /** The fetch to use. Default: node:http in Node, `globalThis.fetch` elsewhere. */
  fetch?: FetchLike | undefined;
}

/** Counters of what happened to recorded items (events and session updates). */
export interface AgentLogStats {
  /** Items accepted into the queue since the client was created. */
  enqueued: number;
  /** Items the server acknowledged as stored. */
  sent: number;
  /** Items the server refused as invalid (reported through `onError`). */
  rejected: number;
  /** Items dropped because the queue was full (the oldest go first). */
  dropped: number;
  /** Items given up after retries, on a non-retryable answer, or at shutdown. */
  failed: number;
  /** Items waiting in the queue. */
  queued: number;
  /** Items in the request being sent now. */
  inFlight: number;
  /** HTTP requests that were retried. */
  retries: number;
  /** HTTP requests made (including retries). */
  requests: number;
}
