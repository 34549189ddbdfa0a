import { describe, expect, it } from "vitest";
import { ev } from "../test/fixtures";
import { toItem } from "./events";
import { ancestors, buildTree, flatten } from "./tree";

const items = (...evs: ReturnType<typeof ev>[]) => evs.map(toItem);
const ids = (rows: ReturnType<typeof flatten>) => rows.map((r) => `${"  ".repeat(r.depth)}${r.node.ev.id}`);

describe("buildTree", () => {
  it("nests children under parents in time order", () => {
    const t = buildTree(
      items(ev({ id: "root", at: 0 }), ev({ id: "a", parent_id: "root", at: 1 }), ev({ id: "a1", parent_id: "a", at: 2 }), ev({ id: "b", parent_id: "root", at: 3 })),
    );
    expect(ids(flatten(t.roots))).toEqual(["root", "  a", "    a1", "  b"]);
  });

  it("makes an event whose parent is not loaded a root", () => {
    const t = buildTree(items(ev({ id: "x", parent_id: "missing", at: 0 }), ev({ id: "y", at: 1 })));
    expect(t.roots.map((r) => r.ev.id)).toEqual(["x", "y"]);
  });

  it("treats a self-parented event as a root", () => {
    const t = buildTree(items(ev({ id: "x", parent_id: "x" })));
    expect(t.roots.map((r) => r.ev.id)).toEqual(["x"]);
  });

  it("breaks parent cycles so every event appears exactly once", () => {
    const t = buildTree(items(ev({ id: "a", parent_id: "b", at: 0 }), ev({ id: "b", parent_id: "a", at: 1 }), ev({ id: "c", parent_id: "b", at: 2 })));
    const rows = flatten(t.roots);
    expect(rows.map((r) => r.node.ev.id).sort()).toEqual(["a", "b", "c"]);
    expect(t.roots.map((r) => r.ev.id)).toEqual(["a"]);
  });

  it("handles a 10,000-deep chain without recursion", () => {
    const list = [];
    for (let i = 0; i < 10000; i++) list.push(ev({ id: `n${i}`, parent_id: i ? `n${i - 1}` : null, at: i }));
    const rows = flatten(buildTree(items(...list)).roots);
    expect(rows).toHaveLength(10000);
    expect(rows[9999]!.depth).toBe(9999);
  });
});

describe("flatten", () => {
  it("hides the descendants of collapsed nodes and marks them", () => {
    const t = buildTree(items(ev({ id: "r" }), ev({ id: "c", parent_id: "r", at: 1 }), ev({ id: "g", parent_id: "c", at: 2 })));
    const rows = flatten(t.roots, new Set(["c"]));
    expect(ids(rows)).toEqual(["r", "  c"]);
    expect(rows[1]).toMatchObject({ hasChildren: true, collapsed: true });
  });
});

describe("ancestors", () => {
  it("lists the path up, nearest first", () => {
    const t = buildTree(items(ev({ id: "r" }), ev({ id: "c", parent_id: "r", at: 1 }), ev({ id: "g", parent_id: "c", at: 2 })));
    expect(ancestors(t, "g")).toEqual(["c", "r"]);
    expect(ancestors(t, "r")).toEqual([]);
  });
});
