// Folded JSON: objects and arrays open on click, long strings and arrays are cut with a
// "more" control, and a filter narrows the tree to the keys and values that match.
import type { JSX } from "preact";
import { useMemo, useState } from "preact/hooks";
import { filterJson, SEP, type FilterResult } from "../lib/jsonfilter";

const MAX_CHILDREN = 200;
const MAX_STRING = 400;

export interface JsonViewProps {
  value: unknown;
  filter?: string;
  /** Levels open at first. */
  openDepth?: number;
}

export function JsonView({ value, filter = "", openDepth = 1 }: JsonViewProps): JSX.Element {
  const f = useMemo(() => (filter.trim() ? filterJson(value, filter) : null), [value, filter]);
  if (f && f.visible.size === 0) return <div class="json empty-note">No match for “{filter}”.</div>;
  return (
    <div class="json">
      <Node k={null} v={value} path="" depth={0} openDepth={openDepth} f={f} needle={filter.trim().toLowerCase()} showAll={false} />
    </div>
  );
}

interface NodeProps {
  k: string | null;
  v: unknown;
  path: string;
  depth: number;
  openDepth: number;
  f: FilterResult | null;
  needle: string;
  /** An ancestor's key matched the filter: show this subtree whole. */
  showAll: boolean;
}

function Node(p: NodeProps): JSX.Element | null {
  const [open, setOpen] = useState(p.depth < p.openDepth);
  const [limit, setLimit] = useState(MAX_CHILDREN);
  const filtering = p.f !== null && !p.showAll;
  if (filtering && !p.f!.visible.has(p.path)) return null;
  const hit = p.f?.hits.has(p.path) ?? false;
  const key = p.k === null ? null : (
    <span class="json-key">{highlight(p.k, p.needle)}: </span>
  );
  const v = p.v;
  if (v === null || typeof v !== "object") {
    return (
      <div class={`json-row${hit ? " json-hit" : ""}`} style={{ paddingLeft: `${p.depth}em` }}>
        {key}
        <Scalar v={v} needle={p.needle} />
      </div>
    );
  }
  const isArr = Array.isArray(v);
  const entries: [string, unknown][] = isArr ? v.map((x, i) => [String(i), x]) : Object.entries(v as object);
  // While filtering, matches force their ancestors open.
  const isOpen = filtering ? true : open;
  const brackets = isArr ? ["[", "]"] : ["{", "}"];
  const childPath = (k: string) => (p.path === "" ? k : p.path + SEP + k);
  const childShowAll = p.showAll || (p.f !== null && hit);
  return (
    <div class={hit ? "json-hit" : undefined}>
      <div class="json-row json-toggle" style={{ paddingLeft: `${p.depth}em` }} onClick={() => setOpen(!open)}>
        <span class="json-caret">{isOpen ? "▾" : "▸"}</span>
        {key}
        <span class="json-punct">{brackets[0]}</span>
        {!isOpen && (
          <span class="json-summary">
            {entries.length} {isArr ? (entries.length === 1 ? "item" : "items") : entries.length === 1 ? "key" : "keys"}
            {brackets[1]}
          </span>
        )}
      </div>
      {isOpen && (
        <>
          {entries.slice(0, limit).map(([k, x]) => (
            <Node
              key={k}
              k={isArr ? (p.f ? k : null) : k}
              v={x}
              path={childPath(k)}
              depth={p.depth + 1}
              openDepth={p.openDepth}
              f={p.f}
              needle={p.needle}
              showAll={childShowAll}
            />
          ))}
          {entries.length > limit && (
            <div class="json-row" style={{ paddingLeft: `${p.depth + 1}em` }}>
              <button class="link" onClick={() => setLimit(limit + MAX_CHILDREN)}>
                show {Math.min(MAX_CHILDREN, entries.length - limit)} more of {entries.length - limit}
              </button>
            </div>
          )}
          <div class="json-row json-punct" style={{ paddingLeft: `${p.depth}em` }}>
            {brackets[1]}
          </div>
        </>
      )}
    </div>
  );
}

function Scalar({ v, needle }: { v: unknown; needle: string }): JSX.Element {
  const [full, setFull] = useState(false);
  if (typeof v === "string") {
    const cut = !full && v.length > MAX_STRING;
    return (
      <span class="json-string">
        "{highlight(cut ? v.slice(0, MAX_STRING) : v, needle)}
        {cut && (
          <button class="link" onClick={() => setFull(true)}>
            … {v.length - MAX_STRING} more
          </button>
        )}
        "
      </span>
    );
  }
  const cls = v === null ? "json-null" : typeof v === "number" ? "json-number" : "json-bool";
  return <span class={cls}>{highlight(String(v), needle)}</span>;
}

function highlight(text: string, needle: string): JSX.Element | string {
  if (!needle) return text;
  const i = text.toLowerCase().indexOf(needle);
  if (i < 0) return text;
  return (
    <>
      {text.slice(0, i)}
      <mark>{text.slice(i, i + needle.length)}</mark>
      {text.slice(i + needle.length)}
    </>
  );
}

