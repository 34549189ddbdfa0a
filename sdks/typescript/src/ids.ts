// Client-side event and session ids: UUIDv7 (RFC 9562) — 48-bit Unix milliseconds, version 7,
// 74 random bits. Ids are made here, not by the server, so a batch re-sent after a timeout
// replaces itself instead of duplicating. Random bytes come from a pool refilled in bulk
// because one crypto call per id would dominate the hot path.

// Character codes of each byte's two hex digits (HEX_CODES[2b], HEX_CODES[2b + 1]).
const HEX_CODES = new Uint8Array(512);
for (let i = 0; i < 256; i++) {
  const hex = (i < 16 ? "0" : "") + i.toString(16);
  HEX_CODES[2 * i] = hex.charCodeAt(0);
  HEX_CODES[2 * i + 1] = hex.charCodeAt(1);
}
/** Where the 16 bytes' hex digits go in `"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"` (quotes included). */
const DIGIT_AT = [1, 3, 5, 7, 10, 12, 15, 17, 20, 22, 25, 27, 29, 31, 33, 35];

const POOL_IDS = 256;
const RANDOM_BYTES_PER_ID = 10;

export class UuidV7Generator {
  private readonly pool = new Uint8Array(POOL_IDS * RANDOM_BYTES_PER_ID);
  private offset = this.pool.length;
  private readonly bytes = new Uint8Array(16);
  /** The character codes of the id being made, as a JSON string (one allocation per id). */
  private readonly codes: number[] = Array.from('"00000000-0000-0000-0000-000000000000"', (c) => c.charCodeAt(0));

  constructor(
    private readonly randomFill: (bytes: Uint8Array) => void,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** A new id. */
  next(): string {
    return this.nextJson().slice(1, 37);
  }

  /** A new id as a JSON string literal (in quotes). */
  nextJson(): string {
    if (this.offset + RANDOM_BYTES_PER_ID > this.pool.length) {
      this.randomFill(this.pool);
      this.offset = 0;
    }
    const r = this.pool;
    const o = this.offset;
    this.offset += RANDOM_BYTES_PER_ID;
    const ms = Math.floor(this.nowMs());
    // 48-bit timestamp (two halves keep the arithmetic within 2^53), version 7, variant 10.
    const hi = Math.floor(ms / 0x1000000);
    const lo = ms % 0x1000000;
    const b = this.bytes;
    b[0] = hi >>> 16;
    b[1] = hi >>> 8;
    b[2] = hi;
    b[3] = lo >>> 16;
    b[4] = lo >>> 8;
    b[5] = lo;
    b[6] = 0x70 | (r[o]! & 0x0f);
    b[7] = r[o + 1]!;
    b[8] = 0x80 | (r[o + 2]! & 0x3f);
    for (let i = 3; i < RANDOM_BYTES_PER_ID; i++) b[6 + i] = r[o + i]!;
    const codes = this.codes;
    for (let i = 0; i < 16; i++) {
      const at = DIGIT_AT[i]!;
      codes[at] = HEX_CODES[2 * b[i]!]!;
      codes[at + 1] = HEX_CODES[2 * b[i]! + 1]!;
    }
    return String.fromCharCode.apply(null, codes);
  }
}
