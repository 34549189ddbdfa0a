import { describe, expect, it } from "vitest";
import { formatCost, formatCount, formatDuration, formatPercent, fromLocalInput, parseTs, toLocalInput } from "./format";

describe("parseTs", () => {
  it("keeps microseconds", () => {
    expect(parseTs("2026-11-25T10:00:00.123456Z") - parseTs("2026-11-25T10:00:00Z")).toBeCloseTo(123.456, 3); // doubles keep ~0.25 µs at epoch scale
  });
  it("handles offsets and missing fractions", () => {
    expect(parseTs("2026-11-25T12:00:00+02:00")).toBe(Date.parse("2026-11-25T10:00:00Z"));
    expect(parseTs("2026-11-25T10:00:00.5Z")).toBe(Date.parse("2026-11-25T10:00:00.500Z"));
  });
});

describe("formatters", () => {
  it("formats durations at every scale", () => {
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(0.25)).toBe("0.25 ms");
    expect(formatDuration(5.2)).toBe("5.2 ms");
    expect(formatDuration(350)).toBe("350 ms");
    expect(formatDuration(1500)).toBe("1.50 s");
    expect(formatDuration(75_000)).toBe("1m 15s");
    expect(formatDuration(3 * 3600e3 + 60e3)).toBe("3h 1m");
    expect(formatDuration(50 * 3600e3)).toBe("2d 2h");
  });
  it("formats costs, counts and rates", () => {
    expect(formatCost(0)).toBe("$0");
    expect(formatCost(0.000123)).toBe("$0.00012");
    expect(formatCost(0.4421)).toBe("$0.4421");
    expect(formatCost(12.345)).toBe("$12.35");
    expect(formatCount(999)).toBe("999");
    expect(formatCount(1234)).toBe("1.2k");
    expect(formatCount(123456)).toBe("123k");
    expect(formatCount(2_500_000)).toBe("2.5M");
    expect(formatPercent(0.0769)).toBe("7.7%");
    expect(formatPercent(0.5)).toBe("50%");
  });
  it("round-trips datetime-local values", () => {
    const iso = fromLocalInput("2026-11-25T10:30");
    expect(toLocalInput(iso)).toBe("2026-11-25T10:30");
    expect(fromLocalInput("")).toBe("");
  });
});
