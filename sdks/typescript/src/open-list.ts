// The client's open spans, as a list threaded through the spans themselves.
//
// Why not a Set: every span is added when it starts and removed when it ends, and a Set that
// lived long enough to be in V8's old generation allocates its rehashed table there too (about
// 130 bytes per add/remove pair). At tens of thousands of spans a second that is megabytes of
// old-generation garbage, which is what brings on the major GCs (2–4 ms pauses) of an otherwise
// quiet application. Linking the spans costs two fields and allocates nothing.

/** What the list links: an item of at most one OpenList at a time. */
export interface OpenLink<T extends OpenLink<T>> {
  prevOpen: T | undefined;
  nextOpen: T | undefined;
}

/** Items in insertion order, with O(1) add and remove and no allocation. */
export class OpenList<T extends OpenLink<T>> {
  private head: T | undefined;
  private tail: T | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Appends `item`. REQUIRES: `item` is in no list. */
  add(item: T): void {
    item.prevOpen = this.tail;
    item.nextOpen = undefined;
    if (this.tail === undefined) this.head = item;
    else this.tail.nextOpen = item;
    this.tail = item;
    this.count++;
  }

  private isLinked(item: T): boolean {
    return item.prevOpen !== undefined || this.head === item;
  }

  /** Unlinks `item`; returns whether it was linked. REQUIRES: `item` is in this list or in none. */
  remove(item: T): boolean {
    if (!this.isLinked(item)) return false;
    if (item.prevOpen === undefined) this.head = item.nextOpen;
    else item.prevOpen.nextOpen = item.nextOpen;
    if (item.nextOpen === undefined) this.tail = item.prevOpen;
    else item.nextOpen.prevOpen = item.prevOpen;
    item.prevOpen = undefined;
    item.nextOpen = undefined;
    this.count--;
    return true;
  }

  /**
   * Calls `fn` on each item, oldest first. `fn` may remove the item it is given, and may add
   * items (visited too, as they are appended).
   */
  forEach(fn: (item: T) => void): void {
    let item = this.head;
    while (item !== undefined) {
      const next = item.nextOpen;
      fn(item);
      // Still linked: its successor now (items appended meanwhile included); removed: the old one.
      item = this.isLinked(item) ? item.nextOpen : next;
    }
  }
}
