// A growable UTF-8 buffer that events are encoded into, reused from item to item.
//
// Why: built as a string, the JSON of one span was about 3 KB of short-lived heap objects (a
// new string for every `+`, then a flat copy of the result to write it to the queue), so at
// tens of thousands of spans a second the application had a minor GC every few milliseconds.
// Written here, an event leaves no garbage: its bytes are copied to the queue and the buffer
// is reused.

/** What writers need from the runtime (Node: Buffers and their native UTF-8 codec). */
export interface ByteSupport {
  /** A byte array; its contents may start uninitialised. */
  alloc(size: number): Uint8Array;
  /** Writes `text` as UTF-8 at `offset` of an array made by `alloc`; returns the bytes written. */
  writeUtf8(text: string, dest: Uint8Array, offset: number): number;
  /** UTF-8 length of `text` (lone surrogates count 3, as U+FFFD). */
  byteLength(text: string): number;
  /** The text of UTF-8 bytes [start, end) of an array made by `alloc`. */
  readUtf8(bytes: Uint8Array, start: number, end: number): string;
}

/** Strings up to this length are encoded by a loop here; longer ones by the runtime's encoder. */
const SHORT_TEXT = 64;
/** Capacity a writer starts with, and keeps: one grown for a large item lets the rest go. */
const KEEP_BYTES = 16 * 1024;

export class ByteWriter {
  /** The buffer; bytes [0, length) are the item written so far. Replaced when it grows. */
  bytes: Uint8Array;
  length = 0;

  /** `capacity`: what the buffer starts with (one made for a single item needs little). */
  constructor(
    private readonly support: ByteSupport,
    capacity = KEEP_BYTES,
  ) {
    this.bytes = support.alloc(capacity);
  }

  /** Empties the writer for the next item. */
  reset(): void {
    this.length = 0;
    if (this.bytes.length > KEEP_BYTES) this.bytes = this.support.alloc(KEEP_BYTES);
  }

  /** The text of bytes [start, length). */
  textFrom(start: number): string {
    return this.support.readUtf8(this.bytes, start, this.length);
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    const need = this.length + n;
    if (need <= this.bytes.length) return;
    let capacity = this.bytes.length * 2;
    while (capacity < need) capacity *= 2;
    const grown = this.support.alloc(capacity);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  byte(c: number): void {
    if (this.length === this.bytes.length) this.reserve(1);
    this.bytes[this.length++] = c;
  }

  /** Text known to be ASCII (keys, literals, digits). */
  ascii(s: string): void {
    const n = s.length;
    this.reserve(n);
    const b = this.bytes;
    let p = this.length;
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.length = p;
  }

  /** Any text, as UTF-8 (lone surrogates as U+FFFD). */
  utf8(s: string): void {
    const n = s.length;
    if (n <= SHORT_TEXT) {
      this.reserve(n * 3);
      const b = this.bytes;
      const start = this.length;
      let p = start;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          this.length = start + this.support.writeUtf8(s, b, start);
          return;
        }
        b[p++] = c;
      }
      this.length = p;
      return;
    }
    // At most 3 bytes per UTF-16 unit: only text that may not fit is measured.
    if (this.bytes.length - this.length < n * 3) this.reserve(this.support.byteLength(s));
    this.length += this.support.writeUtf8(s, this.bytes, this.length);
  }

  /** A non-negative integer below 2^53, in decimal. */
  uint(n: number): void {
    if (n < 10) {
      this.byte(0x30 + n);
      return;
    }
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    this.reserve(digits);
    const b = this.bytes;
    let x = n;
    for (let p = this.length + digits - 1; p >= this.length; p--) {
      const digit = x % 10;
      b[p] = 0x30 + digit;
      x = (x - digit) / 10;
    }
    this.length += digits;
  }
}
