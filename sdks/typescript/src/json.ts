// Turns any JavaScript value into JSON text the server accepts, without ever throwing:
// cycles become "[Circular]", BigInt a decimal string, lone UTF-16 surrogates U+FFFD, Errors
// {type, message, stack}, Map/Set objects/arrays, binary data a base64 summary, values past the
// depth limit "[MaxDepth]", and text past the size budget is cut with a marker. The output is
// a snapshot: later mutation of the value does not change what is sent. The text is written
// as UTF-8 straight into a ByteWriter (bytes.ts), without building strings.

import type { ByteWriter } from "./bytes.js";

/** Problems found while encoding (a bit set), reported once per kind by the client. */
export const Issue = {
  Circular: 1,
  Truncated: 2,
  Depth: 4,
  Threw: 8,
  Surrogate: 16,
} as const;

export interface EncodeLimits {
  /** Most UTF-8 bytes of the JSON text. */
  maxBytes: number;
  /** Deepest nesting of objects and arrays kept. */
  maxDepth: number;
}

/** Characters JSON.stringify would escape, plus surrogates (which may be lone). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const BINARY_PREVIEW_BYTES = 3072;

/** Replaces lone surrogates (text that is not valid Unicode) with U+FFFD. */
export function toWellFormed(s: string): string {
  return s.replace(LONE_SURROGATE, "\ufffd");
}

/**
 * `s` as a JSON string literal, lone surrogates replaced by U+FFFD (which adds
 * `Issue.Surrogate` to `track.issues`). Text that needs no escaping, the common case, is only
 * scanned, not copied.
 */
export function quoteString(s: string, track?: { issues: number }): string {
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  const q = JSON.stringify(s);
  // JSON.stringify escapes exactly the lone surrogates as \udXXX (well-formed stringify);
  // the indexOf is a cheap pre-check (it also matches a literal backslash + "ud").
  if (q.indexOf("\\ud") !== -1) {
    const fixed = toWellFormed(s);
    if (fixed !== s) {
      if (track) track.issues |= Issue.Surrogate;
      return JSON.stringify(fixed);
    }
  }
  return q;
}

const hasOwn = Object.prototype.hasOwnProperty;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
/** Strings up to this length are checked for escapes by a loop as they are copied. */
const SHORT_STRING = 64;

/**
 * Writes `s` as a JSON string literal (like `quoteString`) to `out`; returns the literal's
 * length in UTF-16 units (the unit of `JsonWriter`'s budget).
 */
export function writeJsonString(out: ByteWriter, s: string, track?: { issues: number }): number {
  const n = s.length;
  if (n <= SHORT_STRING) {
    // Printable ASCII without quotes or backslashes, the common case, is copied as it is checked.
    out.reserve(n + 2);
    const b = out.bytes;
    let p = out.length;
    b[p++] = QUOTE;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c >= 0x80 || c === QUOTE || c === BACKSLASH) break;
      b[p++] = c;
    }
    if (i === n) {
      b[p++] = QUOTE;
      out.length = p;
      return n + 2;
    }
  }
  if (!NEEDS_ESCAPE.test(s)) {
    out.byte(QUOTE);
    out.utf8(s);
    out.byte(QUOTE);
    return n + 2;
  }
  const q = quoteString(s, track);
  out.utf8(q);
  return q.length;
}

/** `s` cut to at most `n` UTF-16 units without splitting a surrogate pair. */
function cut(s: string, n: number): string {
  if (n <= 0) return "";
  const c = s.charCodeAt(n - 1);
  return s.slice(0, c >= 0xd800 && c <= 0xdbff ? n - 1 : n);
}

/**
 * Writes the JSON text of values within limits. One is reused for every value; a value whose
 * own code (a getter, toJSON) records another item while it is written gets a writer of its own.
 */
export class JsonWriter {
  private out: ByteWriter | undefined;
  /** Budget left, in UTF-16 units of output. */
  private remaining = 0;
  /** Problems found so far in the value being written (`Issue` bits). */
  issues = 0;
  private readonly ancestors: object[] = [];
  private busy = false;

  constructor(private readonly limits: EncodeLimits) {}

  /**
   * Writes the JSON of `value` to `out` (nothing for undefined, which JSON omits); returns the
   * problems found (`Issue` bits). Never throws. Text over the byte limit is written again with
   * a smaller budget until it fits.
   */
  write(value: unknown, out: ByteWriter): number {
    if (this.busy) return new JsonWriter(this.limits).write(value, out);
    this.busy = true;
    const { maxBytes } = this.limits;
    const start = out.length;
    let budget = maxBytes;
    let issues = 0;
    try {
      this.out = out;
      for (let attempt = 0; attempt < 4; attempt++) {
        this.remaining = budget;
        this.issues = 0;
        try {
          this.value(value, 0);
        } catch {
          // Only reachable through a bug or an exotic host object; never let it escape.
          out.length = start;
          out.ascii('"[Unserializable]"');
          this.issues |= Issue.Threw;
        }
        issues |= this.issues;
        const bytes = out.length - start;
        if (bytes <= maxBytes) return issues;
        out.length = start;
        issues |= Issue.Truncated;
        budget = Math.floor((budget * maxBytes * 0.95) / bytes);
      }
      out.ascii('"[Truncated]"');
      return issues | Issue.Truncated;
    } finally {
      // (ancestors is empty again: every push has its pop. Emptied by setting its length, it
      // would let go of its backing store and allocate a new one for the next value.)
      this.out = undefined;
      this.busy = false;
    }
  }

  private quote(s: string): void {
    if (s.length + 2 > this.remaining) {
      const keep = Math.max(0, this.remaining - 40);
      s = cut(s, keep) + `…[truncated ${s.length - keep} chars]`;
      this.issues |= Issue.Truncated;
    }
    this.remaining -= writeJsonString(this.out!, s, this);
  }

  private key(k: string): void {
    if (k.length > SHORT_STRING) this.quote(k);
    else this.remaining -= writeJsonString(this.out!, k, this);
  }

  /** Writes the JSON of `v`; false (nothing written) where JSON omits the value (undefined). */
  private value(v: unknown, depth: number): boolean {
    const out = this.out!;
    switch (typeof v) {
      case "string":
        this.quote(v);
        return true;
      case "number":
        this.remaining -= 8;
        if (!Number.isFinite(v)) out.ascii("null");
        else if (!Number.isSafeInteger(v)) out.ascii(String(v));
        else if (v < 0) {
          out.byte(0x2d);
          out.uint(-v);
        } else out.uint(v);
        return true;
      case "boolean":
        this.remaining -= 5;
        out.ascii(v ? "true" : "false");
        return true;
      case "bigint":
        this.quote(v.toString());
        return true;
      case "undefined":
        return false;
      case "symbol":
        this.quote(v.toString());
        return true;
      case "function":
        this.quote(`[Function: ${(v as { name?: unknown }).name || "anonymous"}]`);
        return true;
      default:
        if (v === null) {
          this.remaining -= 4;
          out.ascii("null");
        } else {
          this.object(v as object, depth);
        }
        return true;
    }
  }

  private object(v: object, depth: number): void {
    if (this.ancestors.includes(v)) {
      this.issues |= Issue.Circular;
      return this.quote("[Circular]");
    }
    if (depth >= this.limits.maxDepth) {
      this.issues |= Issue.Depth;
      return this.quote("[MaxDepth]");
    }
    if (this.remaining <= 0) {
      this.issues |= Issue.Truncated;
      return this.out!.ascii('"[Truncated]"');
    }
    const mark = this.out!.length;
    this.ancestors.push(v);
    try {
      this.objectBody(v, depth + 1);
    } catch {
      // A throwing getter, Proxy trap or toJSON: keep the rest of the value.
      this.out!.length = mark;
      this.issues |= Issue.Threw;
      this.quote("[Unserializable]");
    } finally {
      this.ancestors.pop();
    }
  }

  private objectBody(v: object, depth: number): void {
    const proto: unknown = Object.getPrototypeOf(v);
    // Plain objects (the common case) skip the type checks below.
    if ((proto === Object.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== "function") {
      return this.plain(v as Record<string, unknown>, depth);
    }
    if (Array.isArray(v)) return this.array(v, depth);
    if (v instanceof Date) {
      const t = v.getTime();
      return Number.isNaN(t) ? this.out!.ascii("null") : this.quote(v.toISOString());
    }
    if (v instanceof Error) return this.error(v, depth);
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return this.binary(v);
    if (v instanceof Map) {
      const entries: [string, unknown][] = [];
      for (const [k, val] of v) entries.push([typeof k === "string" ? k : this.keyOf(k), val]);
      return this.entries(entries, depth);
    }
    if (v instanceof Set) return this.array(Array.from(v), depth);
    if (v instanceof String || v instanceof Number || v instanceof Boolean) {
      if (!this.value(v.valueOf(), depth)) this.out!.ascii("null");
      return;
    }
    const toJSON = (v as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") {
      const replaced: unknown = toJSON.call(v);
      if (replaced !== v) {
        if (!this.value(replaced, depth)) this.out!.ascii("null");
        return;
      }
    }
    return this.plain(v as Record<string, unknown>, depth);
  }

  /**
   * Own enumerable string keys, like JSON.stringify; a throwing getter becomes "[Thrown]".
   * (for-in with an own-property check, unlike Object.keys, allocates no array of keys.)
   */
  private plain(v: Record<string, unknown>, depth: number): void {
    const out = this.out!;
    out.byte(0x7b);
    let first = true;
    for (const k in v) {
      if (!hasOwn.call(v, k)) continue;
      if (this.remaining <= 0) {
        this.issues |= Issue.Truncated;
        if (!first) out.byte(COMMA);
        out.utf8('"…":"[Truncated]"');
        break;
      }
      let val: unknown;
      try {
        val = v[k];
      } catch {
        this.issues |= Issue.Threw;
        val = "[Thrown]";
      }
      if (val === undefined) continue;
      if (!first) out.byte(COMMA);
      this.key(k);
      out.byte(COLON);
      this.value(val, depth);
      first = false;
    }
    out.byte(0x7d);
  }

  private keyOf(k: unknown): string {
    if (typeof k === "object" && k !== null) return Object.prototype.toString.call(k);
    return String(k);
  }

  private entries(entries: [string, unknown][], depth: number): void {
    const out = this.out!;
    out.byte(0x7b);
    let first = true;
    for (const [k, val] of entries) {
      if (this.remaining <= 0) {
        this.issues |= Issue.Truncated;
        if (!first) out.byte(COMMA);
        out.utf8('"…":"[Truncated]"');
        break;
      }
      if (val === undefined) continue;
      if (!first) out.byte(COMMA);
      this.quote(k);
      out.byte(COLON);
      this.value(val, depth);
      first = false;
    }
    out.byte(0x7d);
  }

  private array(items: ArrayLike<unknown>, depth: number): void {
    const out = this.out!;
    out.byte(0x5b);
    for (let i = 0; i < items.length; i++) {
      if (this.remaining <= 0) {
        this.issues |= Issue.Truncated;
        if (i > 0) out.byte(COMMA);
        out.ascii('"[Truncated]"');
        break;
      }
      if (i > 0) out.byte(COMMA);
      if (!this.value(items[i], depth)) out.ascii("null");
      this.remaining -= 1;
    }
    out.byte(0x5d);
  }

  private error(e: Error, depth: number): void {
    const fields: [string, unknown][] = [
      ["type", errorTypeName(e)],
      ["message", e.message],
    ];
    if (typeof e.stack === "string") fields.push(["stack", e.stack]);
    for (const k of Object.keys(e)) {
      if (k !== "type" && k !== "message" && k !== "stack") fields.push([k, (e as unknown as Record<string, unknown>)[k]]);
    }
    const cause = (e as { cause?: unknown }).cause;
    if (cause !== undefined && !Object.keys(e).includes("cause")) fields.push(["cause", cause]);
    this.entries(fields, depth);
  }

  private binary(v: ArrayBufferView | ArrayBuffer): void {
    const out = this.out!;
    const mark = out.length;
    const bytes =
      v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    const kind = (v as { constructor?: { name?: string } }).constructor?.name || "ArrayBuffer";
    const preview = bytes.subarray(0, BINARY_PREVIEW_BYTES);
    out.ascii('{"type":');
    this.quote(kind);
    out.ascii(`,"byteLength":${bytes.length},"base64":"${base64(preview)}"`);
    if (preview.length < bytes.length) out.ascii(',"truncated":true');
    out.byte(0x7d);
    this.remaining -= out.length - mark;
  }
}

/** The name an error is recorded under: its `name`, else its class name, else "Error". */
export function errorTypeName(e: unknown): string {
  if (e === null || e === undefined) return String(e);
  if (typeof e !== "object" && typeof e !== "function") return typeof e;
  try {
    const name = (e as { name?: unknown }).name;
    if (typeof name === "string" && name && name !== "Error") return name;
    const ctor = (e as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof ctor === "string" && ctor) return ctor;
    return typeof name === "string" && name ? name : "Error";
  } catch {
    return "Error";
  }
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function base64(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
  }
  if (i < bytes.length) {
    const n = (bytes[i]! << 16) | ((i + 1 < bytes.length ? bytes[i + 1]! : 0) << 8);
    out += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]!;
    out += i + 1 < bytes.length ? B64[(n >> 6) & 63]! + "=" : "==";
  }
  return out;
}
