import { describe, expect, it } from "vitest";
import { nearEnd, revealRow, visibleRange } from "./virtual";

describe("visibleRange", () => {
  it("renders a screenful plus overscan", () => {
    expect(visibleRange(0, 100, 10, 10000, 2)).toEqual({ start: 0, end: 12, total: 100000 });
    expect(visibleRange(5000, 100, 10, 10000, 2)).toEqual({ start: 498, end: 512, total: 100000 });
  });
  it("clamps at the end of the list", () => {
    expect(visibleRange(99950, 100, 10, 10000, 2)).toEqual({ start: 9988, end: 10000, total: 100000 });
    expect(visibleRange(1e9, 100, 10, 10000, 2).end).toBe(10000);
  });
  it("handles partial rows and short lists", () => {
    expect(visibleRange(15, 20, 10, 100, 0)).toEqual({ start: 1, end: 4, total: 1000 });
    expect(visibleRange(0, 500, 10, 3, 5)).toEqual({ start: 0, end: 3, total: 30 });
    expect(visibleRange(0, 500, 10, 0)).toEqual({ start: 0, end: 0, total: 0 });
  });
  it("keeps the DOM small for 10,000 rows anywhere in the list", () => {
    for (const top of [0, 12345, 99000]) {
      const w = visibleRange(top, 800, 26, 10000);
      expect(w.end - w.start).toBeLessThan(50);
    }
  });
});

describe("revealRow", () => {
  it("scrolls up or down only as far as needed", () => {
    expect(revealRow(5, 100, 50, 10)).toBe(50);
    expect(revealRow(20, 100, 50, 10)).toBe(160);
    expect(revealRow(12, 100, 50, 10)).toBeNull();
  });
});

describe("nearEnd", () => {
  it("is true within the margin of the end", () => {
    expect(nearEnd(900, 100, 1000, 0)).toBe(true);
    expect(nearEnd(500, 100, 1000, 100)).toBe(false);
    expect(nearEnd(800, 100, 1000, 100)).toBe(true);
  });
});
