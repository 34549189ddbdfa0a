// The client: sessions, spans and events, recorded into the transport's queue.
//
// Promises kept by every public method here:
// - never throws into the caller (except re-throwing the caller's own error from a span's fn);
//   problems go to `onError`;
// - never waits for the network: recording is encoding plus an O(1) enqueue;
// - ids are made here, so retries are idempotent;
// - nesting follows the async context: a span started inside another span's fn (also after
//   awaits, in timers, in Promise.all branches) gets that span as parent.

import type { ByteWriter } from "./bytes.js";
import { Clock } from "./clock.js";
import { emptyDraft, Encoder, safeString, type EventDraft, type SessionDraft } from "./encode.js";
import { AgentLogError } from "./errors.js";
import { UuidV7Generator } from "./ids.js";
import type { ContextStore, Platform } from "./platform.js";
import { OpenList } from "./open-list.js";
import { Transport, type ItemKind } from "./transport.js";
import type {
  AgentLogOptions,
  AgentLogStats,
  EventFields,
  EventType,
  LlmFields,
  SessionEnd,
  SessionOptions,
  SessionUpdate,
  SpanOptions,
  SpanUpdate,
  ToolFields,
} from "./types.js";

const DEFAULT_URL = "http://127.0.0.1:7654";

const DEFAULTS = {
  flushIntervalMs: 1000,
  maxBatchSize: 500,
  maxQueueSize: 10_000,
  maxQueueBytes: 64 * 1024 * 1024,
  maxBatchBytes: 4 * 1024 * 1024,
  gzipThresholdBytes: 16 * 1024,
  maxRetries: 10,
  retryInitialDelayMs: 200,
  retryMaxDelayMs: 10_000,
  requestTimeoutMs: 10_000,
  shutdownTimeoutMs: 5_000,
} as const;

const NO_OPTIONS: SpanOptions = Object.freeze({});

/** What the async context carries: the innermost span, or a session entered with `run`. */
type Scope = Span | Session;

function isPromiseLike(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === "object" || typeof v === "function") &&
    typeof (v as { then?: unknown }).then === "function"
  );
}

function positive(value: unknown, fallback: number, min = 1): number {
  return typeof value === "number" && Number.isFinite(value) && value >= min ? value : fallback;
}

/** The fields an event draft takes from the caller's as they are (events and spans alike). */
type PassThrough = Pick<EventDraft, "model" | "provider" | "usage" | "costUsd" | "attributes" | "tags" | "traceId" | "spanId">;
function copyPassThrough(d: EventDraft, f: Partial<PassThrough>): void {
  d.model = f.model;
  d.provider = f.provider;
  d.usage = f.usage;
  d.costUsd = f.costUsd;
  d.attributes = f.attributes;
  d.tags = f.tags;
  d.traceId = f.traceId;
  d.spanId = f.spanId;
}

function defaultOnError(error: AgentLogError): void {
  console.warn(`[agentlog] ${error.code}: ${error.message}`);
}

/** Runtime-independent client; import `AgentLog` from the package, which picks the runtime. */
export class AgentLogBase {
  /** Base URL of the server this client sends to. */
  readonly url: string;
  /** @internal */ readonly enc: Encoder;
  /** @internal */ readonly clock = new Clock();
  /** @internal */ readonly ctx: ContextStore<Scope>;
  /** @internal */ readonly openSpans = new OpenList<Span>();
  /** @internal */ readonly agent: string | undefined;
  /** @internal */ readonly disabled: boolean;
  private readonly ids: UuidV7Generator;
  private readonly transport: Transport;
  private readonly onError: (error: AgentLogError) => void;
  private readonly reported = new Set<string>();
  private readonly snapshotAfterMs: number;
  private readonly shutdownTimeoutMs: number;
  private implicit: Session | undefined;
  /** The event draft `takeDraft` hands out while it is free (one object per event was ~230 B). */
  private readonly spareDraft = emptyDraft();
  private spareDraftTaken = false;
  private closing: Promise<void> | undefined;
  private removeExitHook: (() => void) | undefined;

  constructor(options: AgentLogOptions, platform: Platform) {
    const opts: AgentLogOptions = options && typeof options === "object" ? options : {};
    this.onError = typeof opts.onError === "function" ? opts.onError : defaultOnError;
    const envUrl = platform.env("AGENTLOG_URL");
    this.url = safeString(opts.url || envUrl || DEFAULT_URL).replace(/\/+$/, "");
    const apiKey = opts.apiKey || platform.env("AGENTLOG_API_KEY") || undefined;
    const envDisabled = platform.env("AGENTLOG_DISABLED");
    this.disabled = opts.disabled ?? (envDisabled === "1" || envDisabled === "true");
    this.agent = opts.agent;
    this.ids = new UuidV7Generator((b) => platform.randomFill(b));
    this.enc = new Encoder(platform, (key, message) => this.warnOnce(key, message));
    this.ctx = platform.createContext<Scope>();
    const flushIntervalMs = positive(opts.flushIntervalMs, DEFAULTS.flushIntervalMs);
    const maxQueueSize = Math.floor(positive(opts.maxQueueSize, DEFAULTS.maxQueueSize));
    this.snapshotAfterMs = flushIntervalMs;
    this.shutdownTimeoutMs = positive(opts.shutdownTimeoutMs, DEFAULTS.shutdownTimeoutMs, 0);
    this.transport = new Transport({
      ingestUrl: `${this.url}/v1/ingest`,
      apiKey,
      flushIntervalMs,
      maxBatchSize: Math.floor(positive(opts.maxBatchSize, DEFAULTS.maxBatchSize)),
      maxQueueSize,
      maxQueueBytes: positive(opts.maxQueueBytes, DEFAULTS.maxQueueBytes),
      maxBatchBytes: positive(opts.maxBatchBytes, DEFAULTS.maxBatchBytes),
      gzipThresholdBytes: positive(opts.gzipThresholdBytes, DEFAULTS.gzipThresholdBytes, 0),
      maxRetries: Math.floor(positive(opts.maxRetries, DEFAULTS.maxRetries, 0)),
      retryInitialDelayMs: positive(opts.retryInitialDelayMs, DEFAULTS.retryInitialDelayMs, 0),
      retryMaxDelayMs: positive(opts.retryMaxDelayMs, DEFAULTS.retryMaxDelayMs, 0),
      requestTimeoutMs: positive(opts.requestTimeoutMs, DEFAULTS.requestTimeoutMs),
      fetch: typeof opts.fetch === "function" ? opts.fetch : undefined,
      // A disabled client sends nothing: no sender thread for it.
      platform: this.disabled ? { ...platform, senderThread: undefined } : platform,
      report: (e) => this.report(e),
      onTick: () => this.tick(),
    });
    if (!this.disabled && opts.flushOnExit !== false) {
      this.removeExitHook = platform.onExit((final) => this.onExit(final));
    }
  }

  // ------------------------------------------------------------------ public API

  /**
   * Starts a session (one run of an agent) and returns its handle. Events recorded through the
   * handle, or inside `session.run(fn)` / `session.span(...)`, belong to it.
   */
  session(options: SessionOptions = {}): Session {
    try {
      const opts = options && typeof options === "object" ? options : {};
      const idJson = (opts.id !== undefined && this.enc.id(opts.id, "session.id")) || this.newId();
      const agent = typeof opts.agent === "string" ? opts.agent : this.agent;
      const session = new Session(this, idJson, agent);
      this.enqueueSession({
        id: idJson,
        name: opts.name,
        agent,
        userId: opts.userId,
        tags: opts.tags,
        metadata: opts.metadata,
        status: "running",
        startedAt: this.enc.time(opts.startedAt, "session.started_at") ?? this.clock.now(),
      });
      return session;
    } catch (e) {
      this.internal(e);
      return new Session(this, this.newId(), this.agent);
    }
  }

  /**
   * Runs `fn` inside a new span and records it: start and end time, `options.input`, the
   * value `fn` returns (or resolves to) as output, and an error if it throws (or rejects) —
   * the error is then re-thrown unchanged. Spans started inside `fn` become its children.
   * Returns what `fn` returns.
   */
  span<T>(type: EventType, name: string, fn: (span: Span) => T, options?: SpanOptions): T {
    return this.runSpan(type, name, fn, options, this.ctx.get());
  }

  /**
   * Starts a span that you end yourself with `span.end()` (for callback-style code). It does
   * not become the current span; create children with `span.span(...)` / `span.log(...)`.
   */
  startSpan(type: EventType, name: string, options?: SpanOptions): Span {
    return this.openSpan(type, name, options, this.ctx.get());
  }

  /** Wraps `fn` so each call runs in a span whose input is the call's arguments. */
  wrap<A extends unknown[], R>(type: EventType, name: string, fn: (...args: A) => R, options?: SpanOptions): (...args: A) => R {
    const client = this;
    return function (this: unknown, ...args: A): R {
      return client.span(type, name, () => fn.apply(this, args), { input: args.length === 1 ? args[0] : args, ...options });
    };
  }

  /** Records one event (default type `log`) and returns its id. */
  log(fields: EventFields): string {
    return this.recordEvent(fields, "log", this.ctx.get());
  }

  /** Records an LLM call that already happened; `name` defaults to the model. Returns its id. */
  llm(fields: LlmFields): string {
    return this.recordEvent(fields, "llm", this.ctx.get());
  }

  /** Records a tool call that already happened. Returns its id. */
  tool(fields: ToolFields): string {
    return this.recordEvent(fields, "tool", this.ctx.get());
  }

  /** The innermost span running in this async context, if any. */
  currentSpan(): Span | undefined {
    const scope = this.ctx.get();
    return scope instanceof Span ? scope : undefined;
  }

  /** The session of this async context, if any. */
  currentSession(): Session | undefined {
    return this.ctx.get()?.session;
  }

  /**
   * Sends everything recorded so far and resolves when it is stored or given up (after
   * retries); never rejects. `timeoutMs` bounds the wait (delivery goes on in the background).
   */
  flush(options: { timeoutMs?: number } = {}): Promise<void> {
    try {
      if (this.disabled) return Promise.resolve();
      return this.transport.flush(options?.timeoutMs);
    } catch (e) {
      this.internal(e);
      return Promise.resolve();
    }
  }

  /**
   * Ends the implicit session, records still-open spans as running, delivers everything within
   * `timeoutMs` (default `shutdownTimeoutMs`) and stops; what could not be delivered is counted
   * as failed and reported. Later records are ignored. Idempotent; never rejects.
   */
  shutdown(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      try {
        this.removeExitHook?.();
        this.removeExitHook = undefined;
        if (this.disabled) return;
        this.finishForExit();
        await this.transport.close(positive(options?.timeoutMs, this.shutdownTimeoutMs, 0));
      } catch (e) {
        this.internal(e);
      }
    })();
    return this.closing;
  }

  /** Counters of what happened to recorded items (see `AgentLogStats`). */
  stats(): AgentLogStats {
    return this.transport.stats();
  }

  // ------------------------------------------------------------------ internals used by handles

  /** @internal */
  runSpan<T>(type: EventType, name: string, fn: (span: Span) => T, options: SpanOptions | undefined, scope: Scope | undefined): T {
    if (typeof fn !== "function") {
      this.warnOnce("span.fn", "span() needs a function to run; nothing was run or recorded");
      return undefined as T;
    }
    const span = this.openSpan(type, name, options, scope);
    let result: T;
    try {
      result = this.ctx.run(span, fn, span);
    } catch (err) {
      span.finish(undefined, err, true);
      throw err;
    }
    if (isPromiseLike(result)) {
      return Promise.resolve(result).then(
        (value) => {
          span.finish(value, undefined, false);
          return value;
        },
        (err: unknown) => {
          span.finish(undefined, err, true);
          throw err;
        },
      ) as T;
    }
    span.finish(result, undefined, false);
    return result;
  }

  /** @internal */
  openSpan(type: EventType, name: string, options: SpanOptions | undefined, scope: Scope | undefined): Span {
    if (this.disabled) return Span.noop(this, type, name);
    try {
      const opts: SpanOptions = options && typeof options === "object" ? options : {};
      const parent = scope instanceof Span ? scope : undefined;
      let session: Session | undefined;
      let sessionIdJson: string;
      if (opts.sessionId !== undefined) {
        sessionIdJson = this.sessionJson(opts.sessionId);
      } else if (scope !== undefined) {
        session = scope.session;
        sessionIdJson = scope.sessionIdJson;
      } else {
        session = this.implicitSession();
        sessionIdJson = session.idJson;
      }
      let parentIdJson = parent?.idJson;
      if (opts.parentId !== undefined) parentIdJson = opts.parentId === null ? undefined : this.enc.id(opts.parentId, "parent_id");
      const idJson = (opts.id !== undefined && this.enc.id(opts.id, "id")) || this.newId();
      const agent = opts.agent ?? parent?.agent ?? session?.agent ?? this.agent;
      const inputJson = this.enc.payload(opts.input, "input");
      const span = new Span(this, session, idJson, sessionIdJson, type, name, agent, this.clock.now(), parentIdJson, inputJson, opts);
      this.openSpans.add(span);
      this.transport.ensureTimer();
      return span;
    } catch (e) {
      this.internal(e);
      return Span.noop(this, type, name);
    }
  }

  /** @internal */
  recordEvent(fields: EventFields, defaultType: EventType, scope: Scope | undefined): string {
    if (this.disabled) return typeof fields?.id === "string" ? fields.id : this.ids.next();
    try {
      const f: EventFields = fields && typeof fields === "object" ? fields : {};
      const parent = scope instanceof Span ? scope : undefined;
      let session: Session | undefined;
      let sessionIdJson: string;
      if (f.sessionId !== undefined) {
        sessionIdJson = this.sessionJson(f.sessionId);
      } else if (scope !== undefined) {
        session = scope.session;
        sessionIdJson = scope.sessionIdJson;
      } else {
        session = this.implicitSession();
        sessionIdJson = session.idJson;
      }
      let parentIdJson = parent?.idJson;
      if (f.parentId !== undefined) parentIdJson = f.parentId === null ? undefined : this.enc.id(f.parentId, "parent_id");
      let id: string;
      let idJson: string | undefined;
      if (f.id !== undefined) idJson = this.enc.id(f.id, "id");
      if (idJson !== undefined) {
        id = JSON.parse(idJson) as string;
      } else {
        idJson = this.ids.nextJson();
        id = idJson.slice(1, -1);
      }
      const startedAt = this.enc.time(f.startedAt, "started_at") ?? this.clock.now();
      const d = this.takeDraft();
      try {
        d.id = idJson;
        d.sessionId = sessionIdJson;
        d.parentId = parentIdJson;
        d.type = f.type ?? defaultType;
        d.name = f.name ?? (defaultType === "llm" ? f.model : undefined);
        d.agent = f.agent ?? parent?.agent ?? session?.agent ?? this.agent;
        d.startedAt = startedAt;
        d.endedAt = this.enc.time(f.endedAt, "ended_at");
        d.status = f.status;
        d.inputJson = undefined;
        d.input = f.input;
        d.outputJson = undefined;
        d.output = f.output;
        d.error = f.error;
        copyPassThrough(d, f);
        this.enqueueEvent(d);
      } finally {
        this.releaseDraft(d);
      }
      return id;
    } catch (e) {
      this.internal(e);
      return "";
    }
  }

  /**
   * @internal An event draft to fill and pass to `enqueueEvent`, then to `releaseDraft`: the
   * reused one, or a new one while that is taken (the caller's code, run while an event was
   * being filled or encoded, recorded another).
   */
  takeDraft(): EventDraft {
    if (this.spareDraftTaken) return emptyDraft();
    this.spareDraftTaken = true;
    return this.spareDraft;
  }

  /** @internal */
  releaseDraft(draft: EventDraft): void {
    if (draft !== this.spareDraft) return;
    // Holds on to none of the caller's values.
    draft.type = draft.name = draft.agent = draft.status = draft.input = draft.output = draft.error = undefined;
    draft.model = draft.provider = draft.usage = draft.costUsd = draft.attributes = draft.tags = undefined;
    draft.traceId = draft.spanId = undefined;
    this.spareDraftTaken = false;
  }

  /** @internal */
  enqueueEvent(draft: EventDraft): void {
    if (this.disabled) return;
    const w = this.enc.writer();
    try {
      this.enc.event(draft, w);
      this.enqueue("event", w);
    } finally {
      this.enc.release(w);
    }
  }

  /** @internal */
  enqueueSession(draft: SessionDraft): void {
    if (this.disabled) return;
    const w = this.enc.writer();
    try {
      this.enc.session(draft, w);
      this.enqueue("session", w);
    } finally {
      this.enc.release(w);
    }
  }

  private enqueue(kind: ItemKind, item: ByteWriter): void {
    if (!this.transport.enqueue(kind, item.bytes, item.length)) {
      this.warnOnce("closed", "recorded after shutdown(); ignored", "closed");
    }
  }

  /** @internal */
  newId(): string {
    return this.ids.nextJson();
  }

  /** @internal A problem that must not reach the caller. */
  internal(e: unknown): void {
    this.report(new AgentLogError("internal", `unexpected SDK error: ${safeString((e as Error)?.message ?? e)}`, { cause: e }));
  }

  /** @internal Reports `message` the first time `key` is seen. */
  warnOnce(key: string, message: string, code: "invalid_value" | "closed" = "invalid_value"): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.report(new AgentLogError(code, message));
  }

  // ------------------------------------------------------------------ private

  private sessionJson(id: unknown): string {
    return this.enc.id(id, "session_id") ?? this.implicitSession().idJson;
  }

  /** The session of events recorded outside any session, created on first use. */
  private implicitSession(): Session {
    if (!this.implicit) this.implicit = this.session(this.agent === undefined ? {} : { agent: this.agent });
    return this.implicit;
  }

  /** Reports asynchronously, so onError never runs inside the caller's recording call. */
  private report(error: AgentLogError): void {
    queueMicrotask(() => {
      try {
        this.onError(error);
      } catch {
        // onError is the caller's; a throwing one must not break delivery.
      }
    });
  }

  /** Interval work: keep the clock honest and snapshot long-running spans as `running`. */
  private tick(): void {
    this.clock.resync();
    if (this.openSpans.size === 0) return;
    const now = this.clock.now();
    this.openSpans.forEach((span) => {
      if (!span.snapshotted && now - span.startedAt >= this.snapshotAfterMs) span.snapshot();
    });
    this.transport.ensureTimer();
  }

  private finishForExit(): void {
    this.openSpans.forEach((span) => {
      if (!span.snapshotted) span.snapshot();
    });
    if (this.implicit && !this.implicit.ended) this.implicit.end();
  }

  private async onExit(final: boolean): Promise<void> {
    try {
      if (this.closing || this.transport.isStopped) return;
      if (final) this.finishForExit();
      if (!this.transport.pending) return;
      await this.transport.flush(this.shutdownTimeoutMs, !final);
      if (final && this.transport.pending) this.transport.stop("the process exited before delivery finished");
    } catch (e) {
      this.internal(e);
    }
  }
}

/**
 * A running span. Passed to the function of `span()`; returned by `startSpan()`. Every method
 * is safe to call at any time and never throws.
 */
export class Span {
  /** @internal */ snapshotted = false;
  /** @internal Links of the client's open spans (open-list.ts). */ prevOpen: Span | undefined = undefined;
  /** @internal */ nextOpen: Span | undefined = undefined;
  private ended: boolean;
  private rawId: string | undefined;
  /** The caller's options until the first update() copies them (spans rarely update). */
  private fields: SpanUpdate & SpanOptions;
  private ownFields = false;
  private outputJson: string | undefined;
  private outputSet = false;

  /** @internal */
  constructor(
    private readonly client: AgentLogBase,
    /** The session the span belongs to (undefined when it was given by id only). */
    readonly session: Session | undefined,
    /** @internal */ readonly idJson: string,
    /** @internal */ readonly sessionIdJson: string,
    private readonly type: EventType,
    private name: string,
    /** @internal */ readonly agent: string | undefined,
    /** @internal */ readonly startedAt: number,
    private readonly parentIdJson: string | undefined,
    private inputJson: string | undefined,
    options: SpanOptions | undefined,
    noop = false,
  ) {
    this.ended = noop;
    this.fields = options ?? NO_OPTIONS;
  }

  /** @internal A span that records nothing (disabled client, or after an internal error). */
  static noop(client: AgentLogBase, type: EventType, name: string): Span {
    return new Span(client, undefined, '""', '""', type, name, undefined, 0, undefined, undefined, undefined, true);
  }

  /** The span's event id ("" for a span that records nothing). */
  get id(): string {
    return (this.rawId ??= JSON.parse(this.idJson) as string);
  }

  /** Changes what the span will record: output, usage, model, attributes (merged), error... */
  update(fields: SpanUpdate): this {
    if (this.ended || !fields || typeof fields !== "object") return this;
    try {
      if (!this.ownFields) {
        this.fields = { ...this.fields };
        this.ownFields = true;
      }
      const { attributes, input, output, ...rest } = fields;
      if (attributes !== undefined) this.fields.attributes = { ...this.fields.attributes, ...attributes };
      if (input !== undefined) this.inputJson = this.client.enc.payload(input, "input");
      if ("output" in fields) {
        this.outputJson = this.client.enc.payload(output, "output");
        this.outputSet = true;
      }
      if (typeof rest.name === "string") this.name = rest.name;
      Object.assign(this.fields, rest);
    } catch (e) {
      this.client.internal(e);
    }
    return this;
  }

  /** Runs `fn` in a child span of this one (explicit nesting, when no async context exists). */
  span<T>(type: EventType, name: string, fn: (span: Span) => T, options?: SpanOptions): T {
    return this.client.runSpan(type, name, fn, options, this);
  }

  /** Starts a child span that you end yourself. */
  startSpan(type: EventType, name: string, options?: SpanOptions): Span {
    return this.client.openSpan(type, name, options, this);
  }

  /** Records a child event (default type `log`); returns its id. */
  log(fields: EventFields): string {
    return this.client.recordEvent(fields, "log", this);
  }

  /** Records a child LLM call; returns its id. */
  llm(fields: LlmFields): string {
    return this.client.recordEvent(fields, "llm", this);
  }

  /** Records a child tool call; returns its id. */
  tool(fields: ToolFields): string {
    return this.client.recordEvent(fields, "tool", this);
  }

  /** Ends a span from `startSpan()`: status `error` when `error` is given, else `ok`. */
  end(fields: SpanUpdate = {}): void {
    if (this.ended) return;
    const { error, ...rest } = fields ?? {};
    this.update(rest);
    this.finish(undefined, error, error !== undefined && error !== null);
  }

  /** @internal Records the final event; `value` is fn's result, used unless output was set. */
  finish(value: unknown, error: unknown, failed: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.client.openSpans.remove(this);
    try {
      const endedAt = this.client.clock.now();
      const f = this.fields;
      const draft = this.client.takeDraft();
      try {
        this.fill(draft, endedAt, this.outputJson);
        if (!this.outputSet && !failed && f.captureOutput !== false) draft.output = value;
        if (failed) {
          draft.status = "error";
          draft.error = error === undefined ? "undefined was thrown" : error;
        } else {
          draft.status = f.status ?? (f.error !== undefined ? "error" : "ok");
          draft.error = f.error;
        }
        this.client.enqueueEvent(draft);
      } finally {
        this.client.releaseDraft(draft);
      }
    } catch (e) {
      this.client.internal(e);
    }
  }

  /** @internal Records the span as `running` so it shows while it lasts (replaced on finish). */
  snapshot(): void {
    if (this.ended || this.snapshotted) return;
    this.snapshotted = true;
    try {
      const draft = this.client.takeDraft();
      try {
        this.fill(draft, undefined, undefined);
        draft.status = "running";
        this.client.enqueueEvent(draft);
      } finally {
        this.client.releaseDraft(draft);
      }
    } catch (e) {
      this.client.internal(e);
    }
  }

  /** Fills `d` with the span as it stands (status, error and output unset). */
  private fill(d: EventDraft, endedAt: number | undefined, outputJson: string | undefined): void {
    const f = this.fields;
    d.id = this.idJson;
    d.sessionId = this.sessionIdJson;
    d.parentId = this.parentIdJson;
    d.type = this.type;
    d.name = this.name;
    d.agent = this.agent;
    d.startedAt = this.startedAt;
    d.endedAt = endedAt;
    d.status = undefined;
    d.inputJson = this.inputJson;
    d.input = undefined;
    d.outputJson = outputJson;
    d.output = undefined;
    d.error = undefined;
    copyPassThrough(d, f);
  }
}

/** A session: one run of an agent. Returned by `client.session()`. */
export class Session {
  /** The session id. */
  readonly id: string;
  /** @internal */ ended = false;

  /** @internal */
  constructor(
    private readonly client: AgentLogBase,
    /** @internal */ readonly idJson: string,
    /** @internal */ readonly agent: string | undefined,
  ) {
    this.id = JSON.parse(idJson) as string;
  }

  /** @internal The scope protocol: a session is its own session. */
  get session(): Session {
    return this;
  }

  /** @internal */
  get sessionIdJson(): string {
    return this.idJson;
  }

  /**
   * Runs `fn` in a span of this session (see `AgentLog.span`): a child of the current span when
   * called inside one of this session's spans, else top-level.
   */
  span<T>(type: EventType, name: string, fn: (span: Span) => T, options?: SpanOptions): T {
    return this.client.runSpan(type, name, fn, options, this.currentScope());
  }

  /** Starts a span of this session that you end yourself (nested like `span`). */
  startSpan(type: EventType, name: string, options?: SpanOptions): Span {
    return this.client.openSpan(type, name, options, this.currentScope());
  }

  /** Runs `fn` with this session as the current one: spans and events inside belong to it. */
  run<T>(fn: () => T): T {
    if (typeof fn !== "function") {
      this.client.warnOnce("session.run", "session.run() needs a function; nothing was run");
      return undefined as T;
    }
    return this.client.ctx.run(this, fn, undefined);
  }

  /** Records an event of this session (default type `log`); returns its id. */
  log(fields: EventFields): string {
    return this.client.recordEvent(fields, "log", this.currentScope());
  }

  /** Records an LLM call of this session; returns its id. */
  llm(fields: LlmFields): string {
    return this.client.recordEvent(fields, "llm", this.currentScope());
  }

  /** Records a tool call of this session; returns its id. */
  tool(fields: ToolFields): string {
    return this.client.recordEvent(fields, "tool", this.currentScope());
  }

  /** Changes the session's name, agent, user, tags or metadata. */
  update(fields: SessionUpdate): void {
    if (!fields || typeof fields !== "object") return;
    try {
      this.client.enqueueSession({
        id: this.idJson,
        name: fields.name,
        agent: fields.agent,
        userId: fields.userId,
        tags: fields.tags,
        metadata: fields.metadata,
      });
    } catch (e) {
      this.client.internal(e);
    }
  }

  /** Ends the session with `status` (default `success`). */
  end(options: SessionEnd = {}): void {
    try {
      const opts = options && typeof options === "object" ? options : {};
      this.ended = true;
      this.client.enqueueSession({
        id: this.idJson,
        status: opts.status ?? "success",
        endedAt: this.client.enc.time(opts.endedAt, "session.ended_at") ?? this.client.clock.now(),
      });
    } catch (e) {
      this.client.internal(e);
    }
  }

  /** Inside one of this session's spans, spans and events nest under the current span. */
  private currentScope(): Span | Session {
    const scope = this.client.ctx.get();
    return scope instanceof Span && scope.session === this ? scope : this;
  }
}
