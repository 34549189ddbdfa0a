// A small history-API router. All view state lives in the URL (path + query), so every
// view is a link that can be shared and the back button undoes navigation.
import { useEffect, useState } from "preact/hooks";

export interface Location {
  path: string;
  query: URLSearchParams;
}

type Listener = () => void;
const listeners = new Set<Listener>();
const notify = () => listeners.forEach((l) => l());

if (typeof window !== "undefined") window.addEventListener("popstate", notify);

export function currentLocation(): Location {
  return { path: window.location.pathname, query: new URLSearchParams(window.location.search) };
}

/** Goes to `to` (path and query); `replace` for state changes that should not stack in history. */
export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const cur = window.location.pathname + window.location.search;
  if (to === cur) return;
  if (opts.replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  notify();
}

/** Re-renders the caller on every navigation. */
export function useLocation(): Location {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = () => setTick((t) => t + 1);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return currentLocation();
}

/** Matches "/sessions/:id" against a path; params are URI-decoded. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/");
  const s = path.replace(/\/+$/, "").split("/");
  if (p.length !== s.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i]!;
    if (seg.startsWith(":")) {
      if (!s[i]) return null;
      try {
        out[seg.slice(1)] = decodeURIComponent(s[i]!);
      } catch {
        return null;
      }
    } else if (seg !== s[i]) return null;
  }
  return out;
}

export type QueryState = Record<string, string>;

/** Reads the keys of `defaults` from a query; absent keys take their default. */
export function readQuery<T extends QueryState>(query: URLSearchParams, defaults: T): T {
  const out: QueryState = { ...defaults };
  for (const k of Object.keys(defaults)) {
    const v = query.get(k);
    if (v !== null) out[k] = v;
  }
  return out as T;
}

/**
 * The query string for `state`, leaving out values equal to their default so links stay
 * short; keys of `keep` not in `state` are carried over.
 */
export function writeQuery(state: QueryState, defaults: QueryState, keep?: URLSearchParams): string {
  const q = new URLSearchParams(keep);
  for (const [k, v] of Object.entries(state)) {
    if (v === (defaults[k] ?? "")) q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** Merges `patch` into the current URL's query ("" removes a key). */
export function patchQuery(patch: QueryState, opts: { replace?: boolean } = {}): void {
  const { path, query } = currentLocation();
  for (const [k, v] of Object.entries(patch)) {
    if (v === "") query.delete(k);
    else query.set(k, v);
  }
  const s = query.toString();
  navigate(path + (s ? `?${s}` : ""), opts);
}

/** Same-origin link clicks go through navigate(); modified clicks open tabs as usual. */
export function onLinkClick(e: MouseEvent, href: string): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(href);
}

export function sessionPath(id: string, eventId?: string): string {
  return `/sessions/${encodeURIComponent(id)}${eventId ? `?event=${encodeURIComponent(eventId)}` : ""}`;
}
