// The client-side copy of a session's events: kept in time order, merged from REST pages
// and the live stream in any order, a re-sent event replacing the copy it updates.
import type { AgentEvent } from "../api/types";
import { parseTs } from "./format";
import type { Timed } from "./waterfall";

export interface Item extends Timed {
  ev: AgentEvent;
}

/** Time order; ties by arrival (seq), then id, so the order is the same on every client. */
export function compareItems(a: Item, b: Item): number {
  return a.start - b.start || (a.ev.seq ?? 0) - (b.ev.seq ?? 0) || (a.ev.id < b.ev.id ? -1 : a.ev.id > b.ev.id ? 1 : 0);
}

export function toItem(ev: AgentEvent): Item {
  return { ev, start: parseTs(ev.started_at), end: ev.ended_at ? parseTs(ev.ended_at) : null };
}

export class EventStore {
  private list: Item[] = [];
  private byId = new Map<string, Item>();
  /** Highest seq seen: where the live stream resumes. */
  maxSeq = 0;
  /** Bumped on every change, so views can memoize on it. */
  version = 0;

  get items(): readonly Item[] {
    return this.list;
  }
  get size(): number {
    return this.list.length;
  }
  get(id: string): Item | undefined {
    return this.byId.get(id);
  }
  indexOf(id: string): number {
    const it = this.byId.get(id);
    return it ? this.find(it) : -1;
  }

  /**
   * Adds or replaces events; returns how many changed. A copy older than the one held
   * (smaller seq) is ignored: the stream and a REST page can deliver the same event in
   * either order.
   */
  upsert(events: readonly AgentEvent[]): number {
    let changed = 0;
    const fresh: Item[] = [];
    for (const ev of events) {
      if (ev.seq !== undefined && ev.seq > this.maxSeq) this.maxSeq = ev.seq;
      const old = this.byId.get(ev.id);
      if (old) {
        if (old.ev.seq !== undefined && ev.seq !== undefined && ev.seq < old.ev.seq) continue;
        const item = toItem(ev);
        const i = this.find(old);
        if (item.start === old.start && (ev.seq ?? 0) === (old.ev.seq ?? 0)) {
          this.list[i] = item; // same place in the order
        } else {
          this.list.splice(i, 1);
          this.insert(item);
        }
        this.byId.set(ev.id, item);
        changed++;
        continue;
      }
      const item = toItem(ev);
      this.byId.set(ev.id, item);
      fresh.push(item);
      changed++;
    }
    if (fresh.length > 32) {
      // A page: append and sort once (the pages mostly arrive in order already).
      this.list.push(...fresh);
      this.list.sort(compareItems);
    } else {
      for (const it of fresh) this.insert(it);
    }
    if (changed) this.version++;
    return changed;
  }

  private insert(item: Item): void {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareItems(this.list[mid]!, item) <= 0) lo = mid + 1;
      else hi = mid;
    }
    this.list.splice(lo, 0, item);
  }

  /** Index of an item that is in the list (binary search on its key, then identity). */
  private find(item: Item): number {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareItems(this.list[mid]!, item) < 0) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.list.length; i++) if (this.list[i] === item) return i;
    return this.list.indexOf(item); // unreachable unless the key changed under us
  }
}
