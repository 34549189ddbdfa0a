import { describe, expect, it } from "vitest";
import { session } from "../test/fixtures";
import { compareSessions, matchesFilter, mergeSession, parseSort, type SessionFilter } from "./sessions";

const none: SessionFilter = { agent: "", status: "", tag: "", q: "", from: "", to: "" };
const ids = (l: { id: string }[] | null) => l?.map((s) => s.id);

describe("matchesFilter", () => {
  it("applies agent, status, tag, q and the time range like the server", () => {
    const s = session({ id: "run-1", name: "Refund Order", agent: "support", user_id: "u-9", tags: ["prod"], status: "failure", at: 1000 });
    expect(matchesFilter(s, none)).toBe(true);
    expect(matchesFilter(s, { ...none, agent: "support", status: "failure", tag: "prod" })).toBe(true);
    expect(matchesFilter(s, { ...none, agent: "planner" })).toBe(false);
    expect(matchesFilter(s, { ...none, tag: "staging" })).toBe(false);
    expect(matchesFilter(s, { ...none, q: "refund" })).toBe(true);
    expect(matchesFilter(s, { ...none, q: "U-9" })).toBe(true);
    expect(matchesFilter(s, { ...none, q: "nothing" })).toBe(false);
    expect(matchesFilter(s, { ...none, from: "2026-11-25T10:00:00Z", to: "2026-11-25T10:00:02Z" })).toBe(true);
    expect(matchesFilter(s, { ...none, from: "2026-11-25T10:00:01Z" })).toBe(true); // inclusive
    expect(matchesFilter(s, { ...none, to: "2026-11-25T10:00:01Z" })).toBe(false); // exclusive
  });
});

describe("compareSessions", () => {
  it("sorts by the key in the given direction, missing values last, ties by id", () => {
    const a = session({ id: "a", cost_usd: 1 });
    const b = session({ id: "b", cost_usd: 3 });
    const c = session({ id: "c", cost_usd: 3 });
    expect(ids([a, b, c].sort(compareSessions("-cost_usd")))).toEqual(["c", "b", "a"]);
    expect(ids([c, b, a].sort(compareSessions("cost_usd")))).toEqual(["a", "b", "c"]);
    const noStart = session({ id: "n", started_at: null });
    expect(ids([noStart, a].sort(compareSessions("-started_at")))).toEqual(["a", "n"]);
  });
  it("falls back to -started_at for an unknown sort", () => {
    expect(parseSort("bogus")).toEqual({ key: "started_at", desc: true });
  });
});

describe("mergeSession", () => {
  const list = [session({ id: "s3", at: 3000 }), session({ id: "s2", at: 2000 }), session({ id: "s1", at: 1000 })];

  it("inserts a new session where the sort puts it", () => {
    expect(ids(mergeSession(list, session({ id: "s4", at: 4000 }), none, "-started_at", false))).toEqual(["s4", "s3", "s2", "s1"]);
    expect(ids(mergeSession(list, session({ id: "s25", at: 2500 }), none, "-started_at", false))).toEqual(["s3", "s25", "s2", "s1"]);
  });

  it("updates a session in place and moves it when its sort key changes", () => {
    const next = mergeSession(list, session({ id: "s1", at: 1000, event_count: 99 }), none, "-event_count", false)!;
    expect(next[0]!.id).toBe("s1");
    expect(next[0]!.event_count).toBe(99);
  });

  it("drops a session that no longer matches the filters", () => {
    const filtered = { ...none, status: "running" };
    expect(ids(mergeSession(list, session({ id: "s2", at: 2000, status: "success" }), filtered, "-started_at", false))).toEqual(["s3", "s1"]);
  });

  it("ignores a new session that does not match", () => {
    expect(mergeSession(list, session({ id: "x", agent: "other" }), { ...none, agent: "planner" }, "-started_at", false)).toBeNull();
  });

  it("leaves a new session past the loaded end to its page", () => {
    expect(mergeSession(list, session({ id: "s0", at: 0 }), none, "-started_at", true)).toBeNull();
    expect(ids(mergeSession(list, session({ id: "s0", at: 0 }), none, "-started_at", false))).toEqual(["s3", "s2", "s1", "s0"]);
  });
});
