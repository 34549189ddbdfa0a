// The reused UTF-8 buffer items are encoded into, and the portable UTF-8 codec of platforms
// without Buffer or TextEncoder/TextDecoder.

import { describe, expect, it } from "vitest";
import { ByteWriter, type ByteSupport } from "../src/bytes.js";
import { JsonWriter, toWellFormed, writeJsonString } from "../src/json.js";
import { readUtf8, utf8Length, writeUtf8 } from "../src/platform.js";
import { nodePlatform } from "../src/platform-node.js";

const portable: ByteSupport = { alloc: (size) => new Uint8Array(size), writeUtf8, byteLength: utf8Length, readUtf8 };
const supports = [
  ["Node Buffers", nodePlatform()],
  ["portable codec", portable],
] as const;

const texts = ["", "abc", "é", "✓", "🚀", "a\ud800b", "\udc00", "x\ud83d", "mixed é✓🚀 \ud800\udfff end", "q\"b\\n\n\u0001"];
const long = (s: string) => s.repeat(40); // past the writer's short-text loop

describe("ByteWriter", () => {
  for (const [name, support] of supports) {
    it(`writes text as UTF-8 like Buffer, lone surrogates as U+FFFD (${name})`, () => {
      const w = new ByteWriter(support, 8);
      for (const s of [...texts, ...texts.map(long)]) {
        w.reset();
        w.byte(0x5b);
        w.utf8(s);
        expect(Buffer.from(w.bytes.subarray(1, w.length)).equals(Buffer.from(s, "utf8"))).toBe(true);
        expect(w.textFrom(1)).toBe(Buffer.from(s, "utf8").toString());
      }
    });

    it(`writes JSON string literals as JSON.stringify does, reporting lone surrogates (${name})`, () => {
      const w = new ByteWriter(support, 8);
      for (const s of [...texts, ...texts.map(long)]) {
        w.reset();
        const track = { issues: 0 };
        const units = writeJsonString(w, s, track);
        const text = w.textFrom(0);
        const lone = toWellFormed(s) !== s;
        expect(JSON.parse(text)).toBe(toWellFormed(s));
        expect(units).toBe(lone ? JSON.stringify(toWellFormed(s)).length : JSON.stringify(s).length);
        expect(track.issues !== 0).toBe(lone);
      }
    });

    it(`grows for a large item, and lets the grown buffer go on reset (${name})`, () => {
      const w = new ByteWriter(support);
      const small = w.bytes;
      w.ascii("x".repeat(100_000));
      w.utf8("é".repeat(50_000));
      expect(w.length).toBe(200_000);
      expect(w.textFrom(99_998)).toBe("xx" + "é".repeat(50_000));
      w.reset();
      expect(w.length).toBe(0);
      expect(w.bytes.length).toBe(small.length);
    });
  }

  it("writes integers in decimal", () => {
    const w = new ByteWriter(portable, 4);
    for (const n of [0, 7, 10, 99, 100, 12345, 2 ** 31, 2 ** 53 - 1]) {
      w.reset();
      w.uint(n);
      expect(w.textFrom(0)).toBe(String(n));
    }
  });
});

describe("JsonWriter", () => {
  it("writes a value whose own code writes another meanwhile (a reentrant call gets its own state)", () => {
    const json = new JsonWriter({ maxBytes: 1000, maxDepth: 10 });
    const inner = new ByteWriter(portable);
    const value = {
      a: [1, 2],
      get b() {
        json.write({ nested: true }, inner);
        return "b";
      },
      c: { d: -3.5 },
    };
    const outer = new ByteWriter(portable);
    expect(json.write(value, outer)).toBe(0);
    expect(outer.textFrom(0)).toBe('{"a":[1,2],"b":"b","c":{"d":-3.5}}');
    expect(inner.textFrom(0)).toBe('{"nested":true}');
  });
});

describe("portable UTF-8 codec", () => {
  it("encodes as Buffer does, counts as utf8Length, and decodes what it wrote", () => {
    for (const s of [...texts, "x".repeat(10_000) + "🚀"]) {
      const dest = new Uint8Array(s.length * 3 + 4);
      const n = writeUtf8(s, dest, 2);
      expect(Buffer.from(dest.subarray(2, 2 + n)).equals(Buffer.from(s, "utf8"))).toBe(true);
      expect(n).toBe(utf8Length(s));
      expect(readUtf8(dest, 2, 2 + n)).toBe(toWellFormed(s));
    }
  });
});
