// The safe JSON encoder: any value becomes JSON the server accepts, never an exception.

import { describe, expect, it } from "vitest";
import { ByteWriter } from "../src/bytes.js";
import { emptyDraft, Encoder, LIMITS, writeTime } from "../src/encode.js";
import { Issue, JsonWriter, toWellFormed } from "../src/json.js";
import { utf8Length } from "../src/platform.js";
import { nodePlatform } from "../src/platform-node.js";

const support = nodePlatform();
const limits = { maxBytes: 1_000_000, maxDepth: 100 };
/** The JSON text JsonWriter writes for `v` (undefined when it writes nothing), and its issues. */
function enc(v: unknown, l = limits): { json: string | undefined; issues: number } {
  const w = new ByteWriter(support);
  const issues = new JsonWriter(l).write(v, w);
  return { json: w.length === 0 ? undefined : w.textFrom(0), issues };
}
const parse = (v: unknown, l = limits): unknown => JSON.parse(enc(v, l).json!);

describe("encodeJson", () => {
  it("matches JSON.stringify on plain data", () => {
    const v = { a: 1, b: [true, null, "x", -0, 1.5e-7, 1e21], c: { d: "é😀\n\"\\" }, e: undefined, f: [undefined] };
    expect(enc(v).json).toBe(JSON.stringify(v));
    expect(enc(v).issues).toBe(0);
    expect(enc(undefined).json).toBeUndefined();
    expect(enc("s").json).toBe('"s"');
    expect(enc(null).json).toBe("null");
  });

  it("cuts cycles but keeps shared (non-circular) references", () => {
    const a: Record<string, unknown> = { name: "loop" };
    a["self"] = a;
    a["list"] = [a, { back: a }];
    const shared = { v: 1 };
    expect(parse(a)).toEqual({ name: "loop", self: "[Circular]", list: ["[Circular]", { back: "[Circular]" }] });
    expect(enc(a).issues & Issue.Circular).toBeTruthy();
    expect(parse({ x: shared, y: shared })).toEqual({ x: { v: 1 }, y: { v: 1 } });
  });

  it("writes BigInt as a decimal string, and NaN/Infinity as null", () => {
    expect(parse({ n: 12345678901234567890n, neg: -5n })).toEqual({ n: "12345678901234567890", neg: "-5" });
    expect(parse([NaN, Infinity, -Infinity])).toEqual([null, null, null]);
  });

  it("replaces lone surrogates in values and keys with U+FFFD, keeping valid pairs", () => {
    const r = enc({ ["k\udc00"]: "a\ud800b", ok: "😀", tail: "x\ud83d" });
    expect(r.issues & Issue.Surrogate).toBeTruthy();
    expect(r.json).not.toMatch(/\\ud[89a-f]/i);
    expect(JSON.parse(r.json!)).toEqual({ "k\ufffd": "a\ufffdb", ok: "😀", tail: "x\ufffd" });
    expect(toWellFormed("\udc00\ud800")).toBe("\ufffd\ufffd");
    // A literal backslash-u text is not a surrogate and stays as it is.
    expect(parse("\\ud800 literal")).toBe("\\ud800 literal");
  });

  it("truncates huge strings to the byte budget with a marker", () => {
    const huge = "x".repeat(5_000_000);
    const r = enc({ text: huge });
    expect(r.issues & Issue.Truncated).toBeTruthy();
    expect(Buffer.byteLength(r.json!)).toBeLessThanOrEqual(1_000_000);
    const text = (JSON.parse(r.json!) as { text: string }).text;
    expect(text.startsWith("xxxx")).toBe(true);
    expect(text).toMatch(/…\[truncated \d+ chars\]$/);
  });

  it("respects the byte budget for multi-byte text and never splits a surrogate pair", () => {
    for (const ch of ["é", "中", "😀"]) {
      const r = enc(ch.repeat(600_000));
      expect(Buffer.byteLength(r.json!)).toBeLessThanOrEqual(1_000_000);
      expect(JSON.parse(r.json!)).toMatch(new RegExp(`^(${ch})+…\\[truncated \\d+ chars\\]$`, "u"));
      expect(r.json).not.toMatch(/\\ud[89a-f]/i);
    }
  });

  it("bounds many small values too", () => {
    const many = Array.from({ length: 400_000 }, (_, i) => ({ i, s: "abc" }));
    const r = enc(many);
    expect(Buffer.byteLength(r.json!)).toBeLessThanOrEqual(1_000_000);
    const arr = JSON.parse(r.json!) as unknown[];
    expect(arr.at(-1)).toBe("[Truncated]");
    expect(arr.length).toBeGreaterThan(1000);
  });

  it("cuts deep nesting at maxDepth", () => {
    let deep: unknown = "bottom";
    for (let i = 0; i < 5000; i++) deep = [deep];
    const r = enc(deep, { maxBytes: 1_000_000, maxDepth: 10 });
    expect(r.issues & Issue.Depth).toBeTruthy();
    expect(r.json).toBe("[".repeat(10) + '"[MaxDepth]"' + "]".repeat(10));
  });

  it("survives throwing getters, Proxies and toJSON", () => {
    const getter = {
      ok: 1,
      get bad(): number {
        throw new Error("getter");
      },
    };
    const proxy = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error("trap");
        },
      },
    );
    const badToJSON = { toJSON: () => { throw new Error("toJSON"); } };
    const r = enc({ getter, proxy, badToJSON, after: "kept" });
    expect(r.issues & Issue.Threw).toBeTruthy();
    expect(JSON.parse(r.json!)).toEqual({ getter: { ok: 1, bad: "[Thrown]" }, proxy: "[Unserializable]", badToJSON: "[Unserializable]", after: "kept" });
  });

  it("describes errors, dates, maps, sets, binary, functions, symbols and boxed values", () => {
    class MyError extends Error {
      code = "E1";
    }
    const err = new MyError("boom", { cause: "why" });
    const v = parse({
      err,
      date: new Date(0),
      bad: new Date(NaN),
      map: new Map<unknown, unknown>([["a", 1], [2, "b"]]),
      set: new Set([1, 2]),
      bytes: new Uint8Array([0xff, 0xfe, 0x41]),
      buf: Buffer.from("hi"),
      fn: function named() {},
      sym: Symbol("s"),
      boxed: new String("box"),
      withJSON: { toJSON: () => ({ replaced: true }) },
    }) as Record<string, unknown>;
    expect(v["err"]).toMatchObject({ type: "MyError", message: "boom", code: "E1", cause: "why" });
    expect((v["err"] as { stack: string }).stack).toContain("boom");
    expect(v["date"]).toBe("1970-01-01T00:00:00.000Z");
    expect(v["bad"]).toBeNull();
    expect(v["map"]).toEqual({ a: 1, 2: "b" });
    expect(v["set"]).toEqual([1, 2]);
    expect(v["bytes"]).toEqual({ type: "Uint8Array", byteLength: 3, base64: "//5B" });
    expect(v["buf"]).toEqual({ type: "Buffer", byteLength: 2, base64: "aGk=" });
    expect(v["fn"]).toBe("[Function: named]");
    expect(v["sym"]).toBe("Symbol(s)");
    expect(v["boxed"]).toBe("box");
    expect(v["withJSON"]).toEqual({ replaced: true });
  });

  it("measures UTF-8 like Buffer.byteLength (lone surrogates as U+FFFD)", () => {
    for (const s of ["", "abc", "é", "中文", "😀", "a\ud800", "\udc00b", "x".repeat(1000) + "😀é"]) {
      expect(utf8Length(s)).toBe(Buffer.byteLength(s));
    }
  });
});

describe("Encoder field limits", () => {
  const warnings: string[] = [];
  const e = new Encoder(support, (key) => warnings.push(key));
  const base = { ...emptyDraft(), id: '"i"', sessionId: '"s"', type: "log" as const, startedAt: 1 };
  const event = (over: Partial<typeof base> | Record<string, unknown>) => {
    const w = new ByteWriter(support);
    e.event({ ...base, ...over }, w);
    return JSON.parse(w.textFrom(0)) as Record<string, unknown>;
  };

  it("truncates strings to the server's byte limits", () => {
    const ev = event({ name: "é".repeat(2000), agent: "a".repeat(300), model: "m".repeat(300), tags: ["t".repeat(300)] });
    expect(Buffer.byteLength(ev["name"] as string)).toBeLessThanOrEqual(LIMITS.nameBytes);
    expect(Buffer.byteLength(ev["agent"] as string)).toBeLessThanOrEqual(LIMITS.agentBytes);
    expect(Buffer.byteLength(ev["model"] as string)).toBeLessThanOrEqual(LIMITS.modelBytes);
    expect(Buffer.byteLength((ev["tags"] as string[])[0]!)).toBeLessThanOrEqual(LIMITS.tagBytes);
    expect(e.id("x".repeat(200), "id")!.length).toBe(LIMITS.idBytes + 2);
  });

  it("keeps at most 100 tags and coerces non-string ones", () => {
    const ev = event({ tags: Array.from({ length: 150 }, (_, i) => (i % 2 ? i : `t${i}`)) });
    expect((ev["tags"] as string[]).length).toBe(100);
    expect((ev["tags"] as string[])[1]).toBe("1");
  });

  it("clamps ended_at to started_at and rounds token counts", () => {
    const ev = event({ startedAt: 100, endedAt: 50, usage: { inputTokens: 2.6, outputTokens: 1 } });
    expect(ev["ended_at"]).toBe(100);
    expect(ev["usage"]).toEqual({ input_tokens: 3, output_tokens: 1 });
  });

  it("wraps non-object attributes and normalizes every shape of error", () => {
    expect(event({ attributes: [1, 2] })["attributes"]).toEqual({ value: [1, 2] });
    expect(event({ error: "msg" })["error"]).toEqual({ message: "msg" });
    expect(event({ error: { type: "T", message: 5, stack: "s" } })["error"]).toEqual({ type: "T", message: "5", stack: "s" });
    expect(event({ error: 42 })["error"]).toEqual({ type: "number", message: "42" });
    expect(event({ error: { code: 7 } })["error"]).toEqual({ type: "Object", message: '{"code":7}' });
  });

  it("writes times as String() does (writeTime), for every value it is given", () => {
    const w = new ByteWriter(support);
    const timeText = (t: number) => {
      w.reset();
      writeTime(w, t);
      return w.textFrom(0);
    };
    const times = [0, 0.001, 0.5, 0.05, 0.999, 1, 999, 1000, 1000.5, 1e12, 1764634808123.456, 1764634808123.4, 1764634808123,
      1764634808000.001, 2 ** 43 - 0.001, 2 ** 43, 2 ** 43 + 0.5, 253402300799999, -1.5, -62135596800000, 1e-7, 0.0001, 1 / 3, NaN];
    // Deterministic pseudo-random microsecond times, spread over all magnitudes up to 2^43 ms.
    let x = 12345;
    for (let i = 0; i < 20_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      times.push(Math.round((x / 2 ** 31) * 2 ** (i % 44) * 1000) / 1000);
    }
    // Times in order, as events come: many in one second, then the next one.
    for (let i = 0; i < 20_000; i++) times.push(Math.round((1764634808123.456 + i * 0.137) * 1000) / 1000);
    for (const t of times) expect(timeText(t)).toBe(String(t));
    const ev = event({ startedAt: 1764634808123.4, endedAt: 1764634808123.45 });
    expect(ev["started_at"]).toBe(1764634808123.4);
    expect(ev["ended_at"]).toBe(1764634808123.45);
  });

  it("rejects times the server would refuse", () => {
    expect(e.time("not a time", "t")).toBeUndefined();
    expect(e.time(new Date(NaN), "t")).toBeUndefined();
    expect(e.time(Date.UTC(10000, 0, 1), "t")).toBeUndefined();
    expect(e.time("2026-11-25T10:00:00.123456Z", "t")).toBeCloseTo(Date.UTC(2026, 10, 25, 10) + 123.456, 6);
    expect(warnings).toContain("time:t");
  });
});
