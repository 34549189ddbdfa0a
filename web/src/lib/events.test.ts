import { describe, expect, it } from "vitest";
import { ev } from "../test/fixtures";
import { EventStore } from "./events";

const order = (s: EventStore) => s.items.map((i) => i.ev.id);

describe("EventStore", () => {
  it("keeps events in time order whatever order they arrive in", () => {
    const s = new EventStore();
    s.upsert([ev({ id: "c", at: 30 }), ev({ id: "a", at: 10 })]);
    s.upsert([ev({ id: "b", at: 20 })]);
    expect(order(s)).toEqual(["a", "b", "c"]);
  });

  it("sorts a large page once and keeps order", () => {
    const s = new EventStore();
    const page = Array.from({ length: 1000 }, (_, i) => ev({ id: `p${i}`, at: (i * 7919) % 1000 }));
    s.upsert(page);
    const starts = s.items.map((i) => i.start);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    expect(s.size).toBe(1000);
  });

  it("replaces a re-sent event (a running span completed) in place", () => {
    const s = new EventStore();
    s.upsert([ev({ id: "a", at: 0 }), ev({ id: "x", at: 5, dur: null, seq: 3 }), ev({ id: "z", at: 9 })]);
    s.upsert([ev({ id: "x", at: 5, dur: 4, seq: 7 })]);
    expect(order(s)).toEqual(["a", "x", "z"]);
    expect(s.get("x")!.ev.status).toBe("ok");
    expect(s.get("x")!.end).not.toBeNull();
    expect(s.size).toBe(3);
  });

  it("moves a replaced event whose start changed", () => {
    const s = new EventStore();
    s.upsert([ev({ id: "a", at: 0, seq: 1 }), ev({ id: "b", at: 10, seq: 2 })]);
    s.upsert([ev({ id: "a", at: 20, seq: 3 })]);
    expect(order(s)).toEqual(["b", "a"]);
    expect(s.indexOf("a")).toBe(1);
  });

  it("ignores an older copy arriving after a newer one (stream before REST page)", () => {
    const s = new EventStore();
    s.upsert([ev({ id: "x", at: 0, dur: 5, seq: 9 })]);
    const changed = s.upsert([ev({ id: "x", at: 0, dur: null, seq: 4 })]);
    expect(changed).toBe(0);
    expect(s.get("x")!.ev.status).toBe("ok");
  });

  it("tracks the highest seq and bumps its version only on change", () => {
    const s = new EventStore();
    s.upsert([ev({ id: "a", seq: 5 }), ev({ id: "b", seq: 12, at: 1 })]);
    expect(s.maxSeq).toBe(12);
    const v = s.version;
    s.upsert([ev({ id: "a", seq: 2 })]);
    expect(s.version).toBe(v);
  });

  it("orders events starting at the same time by seq, then id", () => {
    const s = new EventStore();
    s.upsert([ev({ id: "b", at: 0, seq: 2 }), ev({ id: "a", at: 0, seq: 2 }), ev({ id: "c", at: 0, seq: 1 })]);
    expect(order(s)).toEqual(["c", "a", "b"]);
  });
});
