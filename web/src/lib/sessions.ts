// The sessions list's filters and sort, applied on the client to live `session` messages
// so a new or updated session lands where the server would have put it.
import type { Session } from "../api/types";
import { parseTs } from "./format";

export interface SessionFilter {
  agent: string;
  status: string;
  tag: string;
  q: string;
  /** ISO times on started_at: from inclusive, to exclusive. */
  from: string;
  to: string;
}

export const SORTS = ["started_at", "last_event_at", "cost_usd", "total_tokens", "event_count", "error_count"] as const;
export type SortKey = (typeof SORTS)[number];
export const DEFAULT_SORT = "-started_at";

export function parseSort(s: string): { key: SortKey; desc: boolean } {
  const desc = s.startsWith("-");
  const key = (desc ? s.slice(1) : s) as SortKey;
  return SORTS.includes(key) ? { key, desc } : { key: "started_at", desc: true };
}

const lower = (s: string | null) => (s ?? "").toLowerCase();

/** The server's filter semantics (docs/api.md, GET /v1/sessions). */
export function matchesFilter(s: Session, f: SessionFilter): boolean {
  if (f.agent && s.agent !== f.agent) return false;
  if (f.status && s.status !== f.status) return false;
  if (f.tag && !s.tags.includes(f.tag)) return false;
  if (f.q) {
    const q = f.q.toLowerCase();
    if (![s.id, s.name, s.agent, s.user_id].some((v) => lower(v).includes(q))) return false;
  }
  if (f.from || f.to) {
    if (!s.started_at) return false;
    const t = parseTs(s.started_at);
    if (f.from && t < parseTs(f.from)) return false;
    if (f.to && t >= parseTs(f.to)) return false;
  }
  return true;
}

function sortValue(s: Session, key: SortKey): number | null {
  switch (key) {
    case "started_at":
    case "last_event_at": {
      const v = s[key];
      return v ? parseTs(v) : null;
    }
    default:
      return s[key];
  }
}

/** Comparator for a sort parameter; missing values last, ties by id in the same direction. */
export function compareSessions(sort: string): (a: Session, b: Session) => number {
  const { key, desc } = parseSort(sort);
  const dir = desc ? -1 : 1;
  return (a, b) => {
    const va = sortValue(a, key);
    const vb = sortValue(b, key);
    if (va === null || vb === null) {
      if (va !== vb) return va === null ? 1 : -1;
    } else if (va !== vb) return (va - vb) * dir;
    return a.id === b.id ? 0 : (a.id < b.id ? -1 : 1) * dir;
  };
}

/**
 * The loaded list after a live session message, or null when it does not change. A session
 * that no longer matches leaves; a new one enters only where it falls inside the loaded
 * range (past the end of a partly loaded list, its page will bring it).
 */
export function mergeSession(
  list: readonly Session[],
  s: Session,
  f: SessionFilter,
  sort: string,
  hasMore: boolean,
): Session[] | null {
  const cmp = compareSessions(sort);
  const at = list.findIndex((x) => x.id === s.id);
  const rest = at >= 0 ? [...list.slice(0, at), ...list.slice(at + 1)] : [...list];
  if (!matchesFilter(s, f)) return at >= 0 ? rest : null;
  const last = rest[rest.length - 1];
  if (at < 0 && hasMore && last && cmp(s, last) > 0) return null;
  let lo = 0;
  let hi = rest.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cmp(rest[mid]!, s) <= 0) lo = mid + 1;
    else hi = mid;
  }
  rest.splice(lo, 0, s);
  return rest;
}
