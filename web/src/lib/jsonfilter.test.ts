import { describe, expect, it } from "vitest";
import { filterJson, pathKey } from "./jsonfilter";

describe("filterJson", () => {
  const doc = { messages: [{ role: "user", content: "Find Lisbon flights" }, { role: "assistant", content: "Searching" }], model: "gpt-4o" };

  it("finds values case-insensitively and shows the path down to them", () => {
    const r = filterJson(doc, "lisbon");
    expect([...r.hits]).toEqual([pathKey(["messages", 0, "content"])]);
    expect(r.visible).toEqual(new Set(["", "messages", pathKey(["messages", 0]), pathKey(["messages", 0, "content"])]));
  });

  it("matches keys", () => {
    const r = filterJson(doc, "MODEL");
    expect(r.hits.has("model")).toBe(true);
  });

  it("does not match array indexes as keys", () => {
    expect(filterJson(["a", "b"], "0").hits.size).toBe(0);
  });

  it("matches numbers, booleans and null by their text", () => {
    const r = filterJson({ n: 1234, b: true, z: null }, "23");
    expect([...r.hits]).toEqual(["n"]);
    expect(filterJson({ z: null }, "null").hits.has("z")).toBe(true);
  });

  it("returns nothing for an empty needle or no match", () => {
    expect(filterJson(doc, "  ").visible.size).toBe(0);
    expect(filterJson(doc, "zzz").visible.size).toBe(0);
  });

  it("walks deep documents without recursion", () => {
    let deep: unknown = "needle";
    for (let i = 0; i < 5000; i++) deep = { a: deep };
    expect(filterJson(deep, "needle").hits.size).toBe(1);
  });
});
