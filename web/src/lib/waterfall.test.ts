import { describe, expect, it } from "vitest";
import { bar, clampView, extent, isFull, MIN_BAR_PX, pan, ticks, zoom } from "./waterfall";

describe("extent", () => {
  it("spans earliest start to latest end", () => {
    expect(extent([{ start: 10, end: 20 }, { start: 5, end: 8 }, { start: 12, end: 40 }])).toEqual({ t0: 5, t1: 40 });
  });
  it("extends running events to now", () => {
    expect(extent([{ start: 10, end: null }], 100)).toEqual({ t0: 10, t1: 100 });
  });
  it("is never empty", () => {
    expect(extent([])).toEqual({ t0: 0, t1: 1 });
    expect(extent([{ start: 7, end: 7 }])).toEqual({ t0: 7, t1: 8 });
  });
});

describe("bar", () => {
  const view = { t0: 0, t1: 1000 };
  it("maps times to pixels", () => {
    expect(bar({ start: 100, end: 300 }, view, 500, 0)).toMatchObject({ x: 50, w: 100, hidden: false });
  });
  it("gives instant events a visible minimum width", () => {
    expect(bar({ start: 500, end: 500 }, view, 500, 0).w).toBe(MIN_BAR_PX);
  });
  it("keeps a minimum-width bar inside the track at the right edge", () => {
    const b = bar({ start: 1000, end: 1000 }, view, 500, 0);
    expect(b.x + b.w).toBeLessThanOrEqual(500);
  });
  it("clips bars to the window and flags the clipped sides", () => {
    expect(bar({ start: -500, end: 2000 }, view, 500, 0)).toMatchObject({ x: 0, w: 500, clippedLeft: true, clippedRight: true });
  });
  it("hides bars outside the window", () => {
    expect(bar({ start: 2000, end: 3000 }, view, 500, 0).hidden).toBe(true);
  });
  it("draws running events up to the running end", () => {
    expect(bar({ start: 0, end: null }, view, 500, 500)).toMatchObject({ x: 0, w: 250 });
  });
});

describe("zoom and pan", () => {
  const limits = { t0: 0, t1: 1000 };
  it("zooms in around the anchor", () => {
    expect(zoom(limits, 2, 0.5, limits)).toEqual({ t0: 250, t1: 750 });
    expect(zoom(limits, 2, 0, limits)).toEqual({ t0: 0, t1: 500 });
  });
  it("keeps the anchored time fixed on screen", () => {
    const v = { t0: 200, t1: 600 };
    const z = zoom(v, 4, 0.25, limits);
    expect(z.t0 + (z.t1 - z.t0) * 0.25).toBeCloseTo(300);
  });
  it("does not zoom out past the session", () => {
    expect(zoom({ t0: 100, t1: 200 }, 0.01, 0.5, limits)).toEqual(limits);
    expect(isFull(zoom({ t0: 100, t1: 200 }, 0.01, 0.5, limits), limits)).toBe(true);
  });
  it("pans by pixels and stops at the edges", () => {
    expect(pan({ t0: 200, t1: 400 }, 100, 200, limits)).toEqual({ t0: 100, t1: 300 });
    expect(pan({ t0: 200, t1: 400 }, 10000, 200, limits)).toEqual({ t0: 0, t1: 200 });
    expect(pan({ t0: 200, t1: 400 }, -10000, 200, limits)).toEqual({ t0: 800, t1: 1000 });
  });
  it("clamps a window wider than the limits to the limits", () => {
    expect(clampView({ t0: -5, t1: 2000 }, limits)).toEqual(limits);
  });
});

describe("ticks", () => {
  it("places round offsets from the origin at least minPx apart", () => {
    const t = ticks({ t0: 0, t1: 10000 }, 1000, 0, 90);
    expect(t.map((x) => x.label)).toEqual(["0", "+1.00 s", "+2.00 s", "+3.00 s", "+4.00 s", "+5.00 s", "+6.00 s", "+7.00 s", "+8.00 s", "+9.00 s", "+10.0 s"]);
    for (let i = 1; i < t.length; i++) expect(t[i]!.x - t[i - 1]!.x).toBeGreaterThanOrEqual(90);
  });
  it("starts at the first round offset inside a zoomed window", () => {
    const t = ticks({ t0: 1234, t1: 1434 }, 400, 1000, 90);
    expect(t[0]!.label).toBe("+250 ms");
    expect(t[0]!.x).toBeCloseTo(((1250 - 1234) / 200) * 400);
  });
});
