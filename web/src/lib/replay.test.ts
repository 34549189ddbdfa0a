import { describe, expect, it } from "vitest";
import { advance, indexAt, MAX_GAP_MS } from "./replay";

describe("indexAt", () => {
  it("finds the last event started at or before t", () => {
    const s = [0, 10, 10, 30];
    expect(indexAt(s, -1)).toBe(-1);
    expect(indexAt(s, 0)).toBe(0);
    expect(indexAt(s, 10)).toBe(2);
    expect(indexAt(s, 29)).toBe(2);
    expect(indexAt(s, 99)).toBe(3);
  });
});

describe("advance", () => {
  const starts = [0, 100, 200, 300];
  it("moves in session time scaled by speed", () => {
    expect(advance(starts, 0, 50, 1)).toEqual({ time: 50, index: 0, done: false });
    expect(advance(starts, 0, 50, 4)).toEqual({ time: 200, index: 2, done: false });
  });
  it("stops at the last event", () => {
    expect(advance(starts, 250, 1000, 1)).toEqual({ time: 300, index: 3, done: true });
  });
  it("shortens idle gaps to MAX_GAP_MS", () => {
    const gap = [0, 60_000, 60_010];
    // After MAX_GAP_MS plus a bit, the clock has jumped to the next event.
    const r = advance(gap, 0, MAX_GAP_MS + 5, 1);
    expect(r.index).toBe(1);
    expect(r.time).toBe(60_005);
  });
  it("crosses several long gaps in one big step", () => {
    const far = [0, 100_000, 200_000, 300_000];
    expect(advance(far, 0, 3 * MAX_GAP_MS + 1, 1).index).toBe(3);
  });
  it("handles an empty session", () => {
    expect(advance([], 0, 10, 1).done).toBe(true);
  });
});
