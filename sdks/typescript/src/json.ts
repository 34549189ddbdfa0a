// Turns any JavaScript value into JSON text the server accepts, without ever throwing:
// cycles become "[Circular]", BigInt a decimal string, lone UTF-16 surrogates U+FFFD, Errors
// {type, message, stack}, Map/Set objects/arrays, binary data a base64 summary, values past the
// depth limit "[MaxDepth]", and text past the size budget is cut with a marker. The output is
// a snapshot: later mutation of the value does not change what is sent.

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

export interface Encoded {
  /** The JSON text; undefined when the value itself is undefined (field omitted). */
  json: string | undefined;
  issues: number;
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

const KEY_CACHE = new Map<string, string>();
const KEY_CACHE_MAX = 4096;

/** `s` cut to at most `n` UTF-16 units without splitting a surrogate pair. */
function cut(s: string, n: number): string {
  if (n <= 0) return "";
  const c = s.charCodeAt(n - 1);
  return s.slice(0, c >= 0xd800 && c <= 0xdbff ? n - 1 : n);
}

class Writer {
  /** Budget left, in UTF-16 units of output. */
  remaining: number;
  issues = 0;
  private readonly ancestors: object[] = [];

  constructor(
    budget: number,
    private readonly maxDepth: number,
  ) {
    this.remaining = budget;
  }

  quote(s: string): string {
    if (s.length + 2 > this.remaining) {
      const keep = Math.max(0, this.remaining - 40);
      s = cut(s, keep) + `…[truncated ${s.length - keep} chars]`;
      this.issues |= Issue.Truncated;
    }
    const q = quoteString(s, this);
    this.remaining -= q.length;
    return q;
  }

  /** A quoted object key; keys repeat across values of one shape, so short ones are cached. */
  key(k: string): string {
    if (k.length > 64) return this.quote(k);
    let q = KEY_CACHE.get(k);
    if (q === undefined) {
      const before = this.issues;
      q = quoteString(k, this);
      if (this.issues === before) {
        if (KEY_CACHE.size >= KEY_CACHE_MAX) KEY_CACHE.clear();
        KEY_CACHE.set(k, q);
      }
    }
    this.remaining -= q.length;
    return q;
  }

  /** JSON text of `v`, or undefined where JSON omits the value (undefined). */
  value(v: unknown, depth: number): string | undefined {
    switch (typeof v) {
      case "string":
        return this.quote(v);
      case "number":
        this.remaining -= 8;
        return Number.isFinite(v) ? String(v) : "null";
      case "boolean":
        this.remaining -= 5;
        return v ? "true" : "false";
      case "bigint":
        return this.quote(v.toString());
      case "undefined":
        return undefined;
      case "symbol":
        return this.quote(v.toString());
      case "function":
        return this.quote(`[Function: ${(v as { name?: unknown }).name || "anonymous"}]`);
      default:
        if (v === null) {
          this.remaining -= 4;
          return "null";
        }
        return this.object(v as object, depth);
    }
  }

  private object(v: object, depth: number): string {
    if (this.ancestors.includes(v)) {
      this.issues |= Issue.Circular;
      return this.quote("[Circular]");
    }
    if (depth >= this.maxDepth) {
      this.issues |= Issue.Depth;
      return this.quote("[MaxDepth]");
    }
    if (this.remaining <= 0) {
      this.issues |= Issue.Truncated;
      return '"[Truncated]"';
    }
    this.ancestors.push(v);
    try {
      return this.objectBody(v, depth + 1);
    } catch {
      // A throwing getter, Proxy trap or toJSON: keep the rest of the value.
      this.issues |= Issue.Threw;
      return this.quote("[Unserializable]");
    } finally {
      this.ancestors.pop();
    }
  }

  private objectBody(v: object, depth: number): string {
    const proto: unknown = Object.getPrototypeOf(v);
    // Plain objects (the common case) skip the type checks below.
    if ((proto === Object.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== "function") {
      return this.plain(v as Record<string, unknown>, depth);
    }
    if (Array.isArray(v)) return this.array(v, depth);
    if (v instanceof Date) {
      const t = v.getTime();
      return Number.isNaN(t) ? "null" : this.quote(v.toISOString());
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
      return this.value(v.valueOf(), depth) ?? "null";
    }
    const toJSON = (v as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === "function") {
      const replaced: unknown = toJSON.call(v);
      if (replaced !== v) return this.value(replaced, depth) ?? "null";
    }
    return this.plain(v as Record<string, unknown>, depth);
  }

  /** Own enumerable string keys, like JSON.stringify; a throwing getter becomes "[Thrown]". */
  private plain(v: Record<string, unknown>, depth: number): string {
    let out = "{";
    let first = true;
    for (const k of Object.keys(v)) {
      if (this.remaining <= 0) {
        this.issues |= Issue.Truncated;
        out += (first ? "" : ",") + '"…":"[Truncated]"';
        break;
      }
      let val: unknown;
      try {
        val = v[k];
      } catch {
        this.issues |= Issue.Threw;
        val = "[Thrown]";
      }
      const json = this.value(val, depth);
      if (json === undefined) continue;
      out += (first ? "" : ",") + this.key(k) + ":" + json;
      first = false;
    }
    return out + "}";
  }

  private keyOf(k: unknown): string {
    if (typeof k === "object" && k !== null) return Object.prototype.toString.call(k);
    return String(k);
  }

  private entries(entries: [string, unknown][], depth: number): string {
    let out = "{";
    let first = true;
    for (const [k, val] of entries) {
      if (this.remaining <= 0) {
        this.issues |= Issue.Truncated;
        out += (first ? "" : ",") + '"…":"[Truncated]"';
        break;
      }
      const json = this.value(val, depth);
      if (json === undefined) continue;
      out += (first ? "" : ",") + this.quote(k) + ":" + json;
      first = false;
    }
    return out + "}";
  }

  private array(items: ArrayLike<unknown>, depth: number): string {
    let out = "[";
    for (let i = 0; i < items.length; i++) {
      if (this.remaining <= 0) {
        this.issues |= Issue.Truncated;
        out += (i === 0 ? "" : ",") + '"[Truncated]"';
        break;
      }
      out += (i === 0 ? "" : ",") + (this.value(items[i], depth) ?? "null");
      this.remaining -= 1;
    }
    return out + "]";
  }

  private error(e: Error, depth: number): string {
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
    return this.entries(fields, depth);
  }

  private binary(v: ArrayBufferView | ArrayBuffer): string {
    const bytes =
      v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    const kind = (v as { constructor?: { name?: string } }).constructor?.name || "ArrayBuffer";
    const preview = bytes.subarray(0, BINARY_PREVIEW_BYTES);
    let out = `{"type":${this.quote(kind)},"byteLength":${bytes.length},"base64":"${base64(preview)}"`;
    if (preview.length < bytes.length) out += ',"truncated":true';
    this.remaining -= out.length;
    return out + "}";
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

/**
 * JSON text of `value` within `limits`. Never throws. `byteLength` measures UTF-8 size; it is
 * only called for large outputs, which are re-encoded with a smaller budget until they fit.
 */
export function encodeJson(value: unknown, limits: EncodeLimits, byteLength: (s: string) => number): Encoded {
  let budget = limits.maxBytes;
  let issues = 0;
  for (let attempt = 0; attempt < 4; attempt++) {
    const w = new Writer(budget, limits.maxDepth);
    let json: string | undefined;
    try {
      json = w.value(value, 0);
    } catch {
      // Only reachable through a bug or an exotic host object; never let it escape.
      json = JSON.stringify("[Unserializable]");
      w.issues |= Issue.Threw;
    }
    issues |= w.issues;
    // UTF-8 needs at most 3 bytes per UTF-16 unit, so short text cannot be over the limit.
    if (json === undefined || json.length * 3 <= limits.maxBytes) return { json, issues };
    const bytes = byteLength(json);
    if (bytes <= limits.maxBytes) return { json, issues };
    issues |= Issue.Truncated;
    budget = Math.floor((budget * limits.maxBytes * 0.95) / bytes);
  }
  return { json: JSON.stringify("[Truncated]"), issues: issues | Issue.Truncated };
}
