// Client-side event and session ids: UUIDv7 (RFC 9562) — 48-bit Unix milliseconds, version 7,
// 74 random bits. Ids are made here, not by the server, so a batch re-sent after a timeout
// replaces itself instead of duplicating. Random bytes come from a pool refilled in bulk
// because one crypto call per id would dominate the hot path.

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i < 16 ? "0" : "") + i.toString(16));

const POOL_IDS = 256;
const RANDOM_BYTES_PER_ID = 10;

export class UuidV7Generator {
  private readonly pool = new Uint8Array(POOL_IDS * RANDOM_BYTES_PER_ID);
  private offset = this.pool.length;

  constructor(
    private readonly randomFill: (bytes: Uint8Array) => void,
    private readonly nowMs: () => number = Date.now,
  ) {}

  next(): string {
    if (this.offset + RANDOM_BYTES_PER_ID > this.pool.length) {
      this.randomFill(this.pool);
      this.offset = 0;
    }
    const r = this.pool;
    const o = this.offset;
    this.offset += RANDOM_BYTES_PER_ID;
    const ms = Math.floor(this.nowMs());
    // 48-bit timestamp as 12 hex digits (two halves keep the arithmetic within 2^53).
    const hi = Math.floor(ms / 0x1000000);
    const lo = ms % 0x1000000;
    return (
      HEX[(hi >>> 16) & 0xff]! +
      HEX[(hi >>> 8) & 0xff]! +
      HEX[hi & 0xff]! +
      HEX[(lo >>> 16) & 0xff]! +
      "-" +
      HEX[(lo >>> 8) & 0xff]! +
      HEX[lo & 0xff]! +
      "-" +
      HEX[0x70 | (r[o]! & 0x0f)]! +
      HEX[r[o + 1]!]! +
      "-" +
      HEX[0x80 | (r[o + 2]! & 0x3f)]! +
      HEX[r[o + 3]!]! +
      "-" +
      HEX[r[o + 4]!]! +
      HEX[r[o + 5]!]! +
      HEX[r[o + 6]!]! +
      HEX[r[o + 7]!]! +
      HEX[r[o + 8]!]! +
      HEX[r[o + 9]!]!
    );
  }
}
