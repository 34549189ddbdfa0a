// Nesting a session's events by parent_id, and flattening the tree into the rows the
// waterfall and the tree view draw. Both run on every live update of a 10k-event
// session, so they are linear and iterative (a deep chain must not blow the stack).
import type { Item } from "./events";

export interface TreeNode extends Item {
  children: TreeNode[];
}

export interface Tree {
  roots: TreeNode[];
  byId: Map<string, TreeNode>;
}

/**
 * Builds the forest. `items` come in display order (time order); children keep it.
 * An event whose parent is absent (not loaded yet, or never sent) is a root, and so is
 * one caught in a parent cycle (a → b → a): every event appears exactly once.
 */
export function buildTree(items: readonly Item[]): Tree {
  const byId = new Map<string, TreeNode>();
  for (const it of items) byId.set(it.ev.id, { ...it, children: [] });
  const roots: TreeNode[] = [];
  for (const { ev } of items) {
    const node = byId.get(ev.id)!;
    if (node.ev !== ev) continue; // a duplicate id: the last copy won
    const parent = ev.parent_id !== null && ev.parent_id !== ev.id ? byId.get(ev.parent_id) : undefined;
    if (parent) parent.children.push(node);
    else roots.push(node);
  }
  // Nodes not reachable from a root sit on a cycle: the earliest of each becomes a root
  // and is detached from its parent so it is not visited twice.
  const seen = new Set<TreeNode>();
  const mark = (root: TreeNode) => {
    const stack = [root];
    while (stack.length) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      for (const c of n.children) stack.push(c);
    }
  };
  for (const r of roots) mark(r);
  if (seen.size < byId.size) {
    for (const { ev } of items) {
      const node = byId.get(ev.id)!;
      if (seen.has(node) || node.ev !== ev) continue;
      const parent = byId.get(ev.parent_id!)!;
      parent.children = parent.children.filter((c) => c !== node);
      roots.push(node);
      mark(node);
    }
    const order = new Map(items.map((it, i) => [it.ev, i]));
    roots.sort((a, b) => order.get(a.ev)! - order.get(b.ev)!);
  }
  return { roots, byId };
}

export interface Row {
  node: TreeNode;
  depth: number;
  hasChildren: boolean;
  collapsed: boolean;
}

/** Depth-first rows, skipping the descendants of collapsed nodes. */
export function flatten(roots: readonly TreeNode[], collapsed: ReadonlySet<string> = new Set()): Row[] {
  const rows: Row[] = [];
  const stack: { node: TreeNode; depth: number }[] = [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push({ node: roots[i]!, depth: 0 });
  while (stack.length) {
    const { node, depth } = stack.pop()!;
    const isCollapsed = collapsed.has(node.ev.id);
    rows.push({ node, depth, hasChildren: node.children.length > 0, collapsed: isCollapsed });
    if (isCollapsed) continue;
    for (let i = node.children.length - 1; i >= 0; i--) stack.push({ node: node.children[i]!, depth: depth + 1 });
  }
  return rows;
}

/** Ids of the ancestors of `id`, nearest first (to expand the path to a selected event). */
export function ancestors(tree: Tree, id: string): string[] {
  const out: string[] = [];
  const guard = new Set<string>([id]);
  let cur = tree.byId.get(id)?.ev.parent_id ?? null;
  while (cur !== null && !guard.has(cur) && tree.byId.has(cur)) {
    out.push(cur);
    guard.add(cur);
    cur = tree.byId.get(cur)!.ev.parent_id;
  }
  return out;
}
