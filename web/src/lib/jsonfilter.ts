// Searching inside a JSON value for the inspector's filter box: which nodes to show (the
// matches and the path down to them) so a large payload folds down to what was asked for.

/** A node's path: its keys and indexes from the root, joined by a separator no key uses in practice. */
export const SEP = "\u001f";
export const pathKey = (parts: readonly (string | number)[]): string => parts.join(SEP);

export interface FilterResult {
  /** Nodes to draw: every match and each ancestor of one. */
  visible: Set<string>;
  /** Nodes whose key or scalar value contains the needle (drawn highlighted). */
  hits: Set<string>;
}

/** Case-insensitive substring search over keys and scalar values. */
export function filterJson(value: unknown, needle: string): FilterResult {
  const visible = new Set<string>();
  const hits = new Set<string>();
  const n = needle.trim().toLowerCase();
  if (!n) return { visible, hits };
  // Iterative walk: payloads may nest deeply. Each frame remembers its ancestors' keys so
  // a hit can mark them visible.
  const stack: { v: unknown; path: string; key: string; ancestors: string[] }[] = [
    { v: value, path: "", key: "", ancestors: [] },
  ];
  while (stack.length) {
    const { v, path, key, ancestors } = stack.pop()!;
    let hit = key.toLowerCase().includes(n);
    if (v === null || typeof v !== "object") {
      hit ||= String(v).toLowerCase().includes(n);
    } else {
      const chain = [...ancestors, path];
      const entries: [string, unknown][] = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v);
      for (const [k, child] of entries) {
        stack.push({ v: child, path: path === "" ? k : path + SEP + k, key: Array.isArray(v) ? "" : k, ancestors: chain });
      }
    }
    if (hit) {
      hits.add(path);
      visible.add(path);
      for (const a of ancestors) visible.add(a);
    }
  }
  return { visible, hits };
}
