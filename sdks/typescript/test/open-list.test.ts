// The client's list of open spans: insertion order, O(1) unlinking anywhere, safe iteration.

import { describe, expect, it } from "vitest";
import { OpenList, type OpenLink } from "../src/open-list.js";

class Item implements OpenLink<Item> {
  prevOpen: Item | undefined = undefined;
  nextOpen: Item | undefined = undefined;
  constructor(readonly n: number) {}
}

function contents(list: OpenList<Item>): number[] {
  const out: number[] = [];
  list.forEach((item) => out.push(item.n));
  return out;
}

describe("OpenList", () => {
  it("keeps insertion order and unlinks the head, the tail and the middle", () => {
    const list = new OpenList<Item>();
    const items = [0, 1, 2, 3, 4].map((n) => new Item(n));
    for (const item of items) list.add(item);
    expect(contents(list)).toEqual([0, 1, 2, 3, 4]);
    expect(list.remove(items[2]!)).toBe(true);
    expect(list.remove(items[0]!)).toBe(true);
    expect(list.remove(items[4]!)).toBe(true);
    expect(contents(list)).toEqual([1, 3]);
    expect(list.size).toBe(2);
    list.add(items[0]!);
    expect(contents(list)).toEqual([1, 3, 0]);
  });

  it("ignores removing an item that is not linked, also twice in a row", () => {
    const list = new OpenList<Item>();
    const [a, b] = [new Item(1), new Item(2)];
    expect(list.remove(a)).toBe(false);
    list.add(a);
    list.add(b);
    expect(list.remove(b)).toBe(true);
    expect(list.remove(b)).toBe(false);
    expect(contents(list)).toEqual([1]);
    expect(list.size).toBe(1);
    expect(list.remove(a)).toBe(true);
    expect(list.remove(a)).toBe(false);
    expect(contents(list)).toEqual([]);
    expect(list.size).toBe(0);
  });

  it("lets the callback of forEach remove the item it is given, and add new ones", () => {
    const list = new OpenList<Item>();
    const items = [0, 1, 2, 3].map((n) => new Item(n));
    for (const item of items) list.add(item);
    const seen: number[] = [];
    list.forEach((item) => {
      seen.push(item.n);
      if (item.n % 2 === 0) list.remove(item);
      if (item.n === 3) list.add(new Item(9));
    });
    expect(seen).toEqual([0, 1, 2, 3, 9]);
    expect(contents(list)).toEqual([1, 3, 9]);
  });
});
