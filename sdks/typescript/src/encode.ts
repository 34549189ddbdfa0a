// Builds the wire JSON of events and session updates (snake_case, docs/api.md) from what the
// caller gave, and makes every field valid for the server: a value the server would refuse
// would cost the whole event, so it is fixed here (truncated, coerced or dropped) and
// reported once per kind through `warn` instead. Events are written as UTF-8 straight into a
// ByteWriter (bytes.ts), which the client hands to the queue.

import { ByteWriter, type ByteSupport } from "./bytes.js";
import { errorTypeName, Issue, JsonWriter, quoteString, writeJsonString } from "./json.js";
import type { EventType } from "./types.js";

/** Server field limits (docs/api.md); payloads keep a margin under the server's 1 MiB. */
export const LIMITS = {
  idBytes: 128,
  nameBytes: 1024,
  agentBytes: 256,
  modelBytes: 256,
  tagBytes: 256,
  tags: 100,
  payloadBytes: 1_000_000,
  errorMessageBytes: 100_000,
  errorStackBytes: 200_000,
  depth: 100,
} as const;

const EVENT_TYPES: ReadonlySet<string> = new Set<EventType>([
  "agent",
  "step",
  "llm",
  "tool",
  "retrieval",
  "embedding",
  "message",
  "action",
  "error",
  "log",
  "custom",
]);
const EVENT_STATUSES: ReadonlySet<string> = new Set(["ok", "error", "running"]);
const SESSION_STATUSES: ReadonlySet<string> = new Set(["running", "success", "failure", "cancelled"]);

// Years 0001..9999, the server's range.
const MIN_TIME_MS = -62135596800000;
const MAX_TIME_MS = 253402300799999;
/** Below 2^43 ms (year 2248) a time with 3 decimals has one shortest form: `writeTime` writes it. */
const TIME_TEXT_MAX_MS = 2 ** 43;
const RFC3339 = /^(\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)$/;

/**
 * An event ready to encode: ids (as JSON string literals, see `Encoder.id`) and times resolved;
 * input and output as JSON already encoded (`inputJson`, a span's taken when it started) or as
 * the value to encode (`input`, used when `inputJson` is undefined); the other fields as the
 * caller gave them.
 */
export interface EventDraft {
  id: string;
  sessionId: string;
  parentId: string | undefined;
  type: unknown;
  name: unknown;
  agent: unknown;
  startedAt: number;
  endedAt: number | undefined;
  status: unknown;
  inputJson: string | undefined;
  input: unknown;
  outputJson: string | undefined;
  output: unknown;
  error: unknown;
  model: unknown;
  provider: unknown;
  usage: unknown;
  costUsd: unknown;
  attributes: unknown;
  tags: unknown;
  traceId: unknown;
  spanId: unknown;
}

/** A draft with no field set (drafts are filled, encoded and reused: see `AgentLogBase.takeDraft`). */
export function emptyDraft(): EventDraft {
  return {
    id: "",
    sessionId: "",
    parentId: undefined,
    type: undefined,
    name: undefined,
    agent: undefined,
    startedAt: 0,
    endedAt: undefined,
    status: undefined,
    inputJson: undefined,
    input: undefined,
    outputJson: undefined,
    output: undefined,
    error: undefined,
    model: undefined,
    provider: undefined,
    usage: undefined,
    costUsd: undefined,
    attributes: undefined,
    tags: undefined,
    traceId: undefined,
    spanId: undefined,
  };
}

/** A session update; `id` as a JSON string literal, absent fields are left unchanged. */
export interface SessionDraft {
  id: string;
  name?: unknown;
  agent?: unknown;
  userId?: unknown;
  tags?: unknown;
  metadata?: unknown;
  status?: string;
  startedAt?: number;
  endedAt?: number;
}

export type Warn = (key: string, message: string) => void;

const PAYLOAD_LIMITS = { maxBytes: LIMITS.payloadBytes, maxDepth: LIMITS.depth } as const;

export class Encoder {
  private readonly json = new JsonWriter(PAYLOAD_LIMITS);
  private readonly reused: ByteWriter;
  private reusedBusy = false;
  /** Lone surrogates found by the last string written (see `quoteString`). */
  private readonly track = { issues: 0 };

  constructor(
    private readonly support: ByteSupport,
    private readonly warn: Warn,
  ) {
    this.reused = new ByteWriter(support);
  }

  /**
   * An empty writer for one item: the reused one, or a new one while that is in use (code of
   * the caller's, run while an item was being encoded, recorded another). Give it back with
   * `release` once its bytes were copied.
   */
  writer(): ByteWriter {
    if (this.reusedBusy) return new ByteWriter(this.support, 256);
    this.reusedBusy = true;
    this.reused.reset();
    return this.reused;
  }

  release(w: ByteWriter): void {
    if (w === this.reused) this.reusedBusy = false;
  }

  /** JSON text of an input/output value kept until its event is written, or undefined to omit it. */
  payload(value: unknown, field: string): string | undefined {
    if (value === undefined) return undefined;
    const w = this.writer();
    try {
      this.writePayload(value, field, w);
      return w.textFrom(0);
    } finally {
      this.release(w);
    }
  }

  /** A JSON string of at most `maxBytes` UTF-8 bytes, or undefined when `value` is absent. */
  text(value: unknown, maxBytes: number, field: string): string | undefined {
    const s = this.textValue(value, maxBytes, field);
    if (s === undefined) return undefined;
    this.track.issues = 0;
    const q = quoteString(s, this.track);
    if (this.track.issues) this.warnSurrogate(field);
    return q;
  }

  /** An id: 1..128 bytes. Longer ids are truncated (deterministically, so they still group). */
  id(value: unknown, field: string): string | undefined {
    const q = this.text(value, LIMITS.idBytes, field);
    return q === '""' ? undefined : q;
  }

  /** Epoch milliseconds of a Date, number or RFC 3339 string, or undefined (reported) if invalid. */
  time(value: unknown, field: string): number | undefined {
    if (value === undefined || value === null) return undefined;
    let ms = NaN;
    if (typeof value === "number") ms = value;
    else if (value instanceof Date) ms = value.getTime();
    else if (typeof value === "string") ms = parseTime(value);
    if (!Number.isFinite(ms) || ms < MIN_TIME_MS || ms > MAX_TIME_MS) {
      this.warn(`time:${field}`, `${field} is not a valid time (Date, epoch ms or RFC 3339); ignored`);
      return undefined;
    }
    return Math.round(ms * 1000) / 1000;
  }

  /** Writes the event's JSON to `out`. */
  event(d: EventDraft, out: ByteWriter): void {
    let type = "custom";
    if (typeof d.type === "string" && EVENT_TYPES.has(d.type)) type = d.type;
    else if (d.type !== undefined) this.warn("type", `unknown event type ${safeString(d.type)}; sent as custom`);

    out.ascii('{"id":');
    out.utf8(d.id);
    out.ascii(',"session_id":');
    out.utf8(d.sessionId);
    out.ascii(',"type":"');
    out.ascii(type);
    out.ascii('","started_at":');
    writeTime(out, d.startedAt);
    if (d.parentId !== undefined) {
      out.ascii(',"parent_id":');
      out.utf8(d.parentId);
    }
    if (d.endedAt !== undefined) {
      let ended = d.endedAt;
      if (ended < d.startedAt) {
        this.warn("ended_at", "ended_at was before started_at; set to started_at");
        ended = d.startedAt;
      }
      out.ascii(',"ended_at":');
      writeTime(out, ended);
    }
    this.textField(out, ',"name":', d.name, LIMITS.nameBytes, "name");
    this.textField(out, ',"agent":', d.agent, LIMITS.agentBytes, "agent");
    if (d.status !== undefined) {
      if (typeof d.status === "string" && EVENT_STATUSES.has(d.status)) {
        out.ascii(',"status":"');
        out.ascii(d.status);
        out.byte(0x22);
      } else {
        this.warn("status", `unknown event status ${safeString(d.status)}; ignored`);
      }
    }
    this.payloadField(out, ',"input":', d.inputJson, d.input, "input");
    this.payloadField(out, ',"output":', d.outputJson, d.output, "output");
    if (d.error !== undefined && d.error !== null) {
      out.ascii(',"error":');
      out.utf8(this.errorJson(d.error));
    }
    this.textField(out, ',"model":', d.model, LIMITS.modelBytes, "model");
    this.textField(out, ',"provider":', d.provider, LIMITS.modelBytes, "provider");
    if (d.usage !== undefined && d.usage !== null) this.usage(out, d.usage);
    if (d.costUsd !== undefined && d.costUsd !== null) {
      if (typeof d.costUsd === "number" && Number.isFinite(d.costUsd) && d.costUsd >= 0) {
        out.ascii(',"cost_usd":');
        out.ascii(String(d.costUsd));
      } else {
        this.warn("cost_usd", "costUsd must be a finite number >= 0; ignored");
      }
    }
    if (d.attributes !== undefined && d.attributes !== null) this.objectField(out, ',"attributes":', d.attributes, "attributes");
    if (d.tags !== undefined && d.tags !== null) this.tags(out, d.tags);
    this.idField(out, ',"trace_id":', d.traceId, "trace_id");
    this.idField(out, ',"span_id":', d.spanId, "span_id");
    out.byte(0x7d);
  }

  /** Writes the session update's JSON to `out`. */
  session(d: SessionDraft, out: ByteWriter): void {
    out.ascii('{"id":');
    out.utf8(d.id);
    this.textField(out, ',"name":', d.name, LIMITS.nameBytes, "session.name");
    this.textField(out, ',"agent":', d.agent, LIMITS.agentBytes, "session.agent");
    this.textField(out, ',"user_id":', d.userId, LIMITS.agentBytes, "session.user_id");
    if (d.tags !== undefined && d.tags !== null) this.tags(out, d.tags);
    if (d.metadata !== undefined && d.metadata !== null) this.objectField(out, ',"metadata":', d.metadata, "metadata");
    if (d.status !== undefined) {
      if (SESSION_STATUSES.has(d.status)) {
        out.ascii(',"status":"');
        out.ascii(d.status);
        out.byte(0x22);
      } else {
        this.warn("session.status", `unknown session status ${safeString(d.status)}; ignored`);
      }
    }
    if (d.startedAt !== undefined) {
      out.ascii(',"started_at":');
      writeTime(out, d.startedAt);
    }
    if (d.endedAt !== undefined) {
      out.ascii(',"ended_at":');
      writeTime(out, d.endedAt);
    }
    out.byte(0x7d);
  }

  /** `value` as text of at most `maxBytes` UTF-8 bytes (coerced, cut and reported), or undefined. */
  private textValue(value: unknown, maxBytes: number, field: string): string | undefined {
    if (value === undefined || value === null) return undefined;
    let s: string;
    if (typeof value === "string") {
      s = value;
    } else {
      this.warn(`type:${field}`, `${field} should be a string; got ${typeof value}, sent as text`);
      s = safeString(value);
    }
    // 3 bytes per UTF-16 unit at most: short strings skip the byte count.
    if (s.length * 3 > maxBytes && this.support.byteLength(s) > maxBytes) {
      s = cutToBytes(s, maxBytes, (t) => this.support.byteLength(t));
      this.warn(`long:${field}`, `${field} was longer than ${maxBytes} bytes and was truncated`);
    }
    return s;
  }

  /** Writes `key` and the value as a JSON string (see `text`), unless it is absent. */
  private textField(out: ByteWriter, key: string, value: unknown, maxBytes: number, field: string): void {
    const s = this.textValue(value, maxBytes, field);
    if (s === undefined) return;
    out.ascii(key);
    this.string(out, s, field);
  }

  /** Writes `key` and the id (see `id`), unless it is absent or empty. */
  private idField(out: ByteWriter, key: string, value: unknown, field: string): void {
    const s = this.textValue(value, LIMITS.idBytes, field);
    if (s === undefined || s === "") return;
    out.ascii(key);
    this.string(out, s, field);
  }

  private string(out: ByteWriter, s: string, field: string): void {
    this.track.issues = 0;
    writeJsonString(out, s, this.track);
    if (this.track.issues) this.warnSurrogate(field);
  }

  private warnSurrogate(field: string): void {
    this.warn(`surrogate:${field}`, `${field} had invalid UTF-16 (lone surrogates), replaced with U+FFFD`);
  }

  private writePayload(value: unknown, field: string, out: ByteWriter): void {
    const issues = this.json.write(value, out);
    if (issues) this.reportIssues(issues, field);
  }

  private payloadField(out: ByteWriter, key: string, json: string | undefined, value: unknown, field: string): void {
    if (json !== undefined) {
      out.ascii(key);
      out.utf8(json);
    } else if (value !== undefined) {
      out.ascii(key);
      this.writePayload(value, field, out);
    }
  }

  private objectField(out: ByteWriter, key: string, value: unknown, field: string): void {
    let v = value;
    if (typeof v !== "object" || Array.isArray(v) || v === null) {
      this.warn(`object:${field}`, `${field} must be an object; wrapped as {"value": ...}`);
      v = { value: v };
    }
    out.ascii(key);
    this.writePayload(v, field, out);
  }

  private tags(out: ByteWriter, value: unknown): void {
    if (!Array.isArray(value)) {
      this.warn("tags", "tags must be an array of strings; ignored");
      return;
    }
    let list = value;
    if (list.length > LIMITS.tags) {
      this.warn("tags.count", `more than ${LIMITS.tags} tags; the rest were dropped`);
      list = list.slice(0, LIMITS.tags);
    }
    out.ascii(',"tags":[');
    let first = true;
    for (const t of list) {
      const s = this.textValue(t, LIMITS.tagBytes, "tag");
      if (s === undefined) continue;
      if (!first) out.byte(0x2c);
      this.string(out, s, "tag");
      first = false;
    }
    out.byte(0x5d);
  }

  private usage(out: ByteWriter, value: unknown): void {
    if (typeof value !== "object" || value === null) {
      this.warn("usage", "usage must be an object {inputTokens, outputTokens, ...}; ignored");
      return;
    }
    const u = value as Record<string, unknown>;
    const mark = out.length;
    out.ascii(',"usage":{');
    const open = out.length;
    this.count(out, open, "input_tokens", u["inputTokens"]);
    this.count(out, open, "output_tokens", u["outputTokens"]);
    this.count(out, open, "total_tokens", u["totalTokens"]);
    this.count(out, open, "cached_tokens", u["cachedTokens"]);
    if (out.length === open) out.length = mark; // no valid count: no usage
    else out.byte(0x7d);
  }

  /** One token count of `usage` (`open`: where its first one goes). */
  private count(out: ByteWriter, open: number, wire: string, v: unknown): void {
    if (v === undefined || v === null) return;
    if (typeof v === "number" && Number.isFinite(v) && v >= 0) {
      if (out.length > open) out.byte(0x2c);
      out.byte(0x22);
      out.ascii(wire);
      out.ascii('":');
      out.uint(Math.min(Math.round(v), Number.MAX_SAFE_INTEGER));
    } else {
      this.warn(`usage.${wire}`, `usage ${wire} must be a non-negative number; ignored`);
    }
  }

  private errorJson(value: unknown): string {
    let type: unknown;
    let message: unknown;
    let stack: unknown;
    if (value instanceof Error) {
      type = errorTypeName(value);
      message = value.message;
      stack = stackWithCauses(value);
    } else if (typeof value === "string") {
      message = value;
    } else if (typeof value === "object" && value !== null) {
      const o = value as Record<string, unknown>;
      try {
        ({ type, message, stack } = o);
      } catch {
        // a throwing getter: fall through with what was read
      }
      if (type === undefined && message === undefined && stack === undefined) {
        type = errorTypeName(value);
        message = this.payload(value, "error");
      }
    } else {
      type = typeof value;
      message = safeString(value);
    }
    const parts: string[] = [];
    const t = this.text(type === undefined ? undefined : safeString(type), LIMITS.agentBytes, "error.type");
    if (t !== undefined) parts.push(`"type":${t}`);
    const m = this.text(message === undefined ? undefined : safeString(message), LIMITS.errorMessageBytes, "error.message");
    if (m !== undefined) parts.push(`"message":${m}`);
    const st = this.text(stack === undefined ? undefined : safeString(stack), LIMITS.errorStackBytes, "error.stack");
    if (st !== undefined) parts.push(`"stack":${st}`);
    return `{${parts.join(",")}}`;
  }

  private reportIssues(issues: number, field: string): void {
    if (issues & Issue.Truncated) this.warn(`truncated:${field}`, `${field} was larger than ~1 MB and was truncated`);
    if (issues & Issue.Circular) this.warn(`circular:${field}`, `${field} had circular references, recorded as "[Circular]"`);
    if (issues & Issue.Depth) this.warn(`depth:${field}`, `${field} was nested deeper than ${LIMITS.depth} levels, cut at "[MaxDepth]"`);
    if (issues & Issue.Threw) this.warn(`threw:${field}`, `reading ${field} threw (a getter, Proxy or toJSON); recorded as "[Unserializable]"`);
    if (issues & Issue.Surrogate) this.warnSurrogate(field);
  }
}

// Digit groups for `writeTime`: LEAD[i] is i, GROUP[i] is i in 3 digits, FRACTION[i] is i
// thousandths without trailing zeros ("" for 0).
const LEAD: string[] = [];
const GROUP: string[] = [];
const FRACTION: string[] = [];
for (let i = 0; i < 1000; i++) {
  LEAD.push(String(i));
  GROUP.push(String(i).padStart(3, "0"));
  FRACTION.push(i === 0 ? "" : "." + GROUP[i]!.replace(/0+$/, ""));
}

/**
 * Writes `String(ms)` for an epoch-ms time rounded to the microsecond (what `Encoder.time` and
 * the clock make), from digit groups. Why: V8 allocates the string of each new number in its
 * old generation (for its number-to-string cache), so two event times per span were old
 * garbage that only a major GC collects.
 */
export function writeTime(out: ByteWriter, ms: number): void {
  if (!(ms >= 0 && ms < TIME_TEXT_MAX_MS)) return out.ascii(String(ms));
  const us = Math.round(ms * 1000);
  if (us / 1000 !== ms) return out.ascii(String(ms)); // not rounded to the microsecond
  const frac = us % 1000;
  const whole = (us - frac) / 1000;
  const milli = whole % 1000;
  const seconds = (whole - milli) / 1000;
  if (seconds === 0) {
    out.ascii(LEAD[milli]!);
  } else {
    // Event times come in order: the seconds' digits are those of the last call, most often.
    if (seconds !== lastSeconds) {
      let n = seconds;
      let text = "";
      while (n >= 1000) {
        const group = n % 1000;
        text = GROUP[group]! + text;
        n = (n - group) / 1000;
      }
      lastSeconds = seconds;
      lastSecondsText = LEAD[n]! + text;
    }
    out.ascii(lastSecondsText);
    out.ascii(GROUP[milli]!);
  }
  out.ascii(FRACTION[frac]!);
}
let lastSeconds = -1;
let lastSecondsText = "";

/** String(value) that never throws (symbols, objects with a throwing toString...). */
export function safeString(value: unknown): string {
  try {
    return typeof value === "string" ? value : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** The stack of `e` followed by those of its causes ("Caused by: ..."), like other runtimes show. */
function stackWithCauses(e: Error): string | undefined {
  let out = typeof e.stack === "string" ? e.stack : undefined;
  let cause: unknown = (e as { cause?: unknown }).cause;
  for (let depth = 0; depth < 5 && cause !== undefined && cause !== null; depth++) {
    const text = cause instanceof Error ? (cause.stack ?? `${errorTypeName(cause)}: ${cause.message}`) : safeString(cause);
    out = (out ?? "") + "\nCaused by: " + text;
    cause = cause instanceof Error ? (cause as { cause?: unknown }).cause : undefined;
  }
  return out;
}

/** Epoch ms of an RFC 3339 string, keeping fractional digits below the millisecond. */
function parseTime(s: string): number {
  const m = RFC3339.exec(s.trim());
  if (!m) return Date.parse(s);
  const base = Date.parse(`${m[1]!.replace(/[t ]/, "T")}${m[3]!.toUpperCase()}`);
  const frac = m[2] ? Number(`0.${m[2]}`) * 1000 : 0;
  return base + frac;
}

/** `s` cut so its UTF-8 encoding fits in `maxBytes`, without splitting a character. */
function cutToBytes(s: string, maxBytes: number, byteLength: (s: string) => number): string {
  let lo = 0;
  let hi = Math.min(s.length, maxBytes);
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (byteLength(s.slice(0, mid)) <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  const c = s.charCodeAt(lo - 1);
  return s.slice(0, c >= 0xd800 && c <= 0xdbff ? lo - 1 : lo);
}
