// Windowing for fixed-height rows: which rows a scroll position shows, so a list of
// 10,000 rows keeps only a screenful (plus a margin) in the DOM.

export interface RowWindow {
  /** First row to render. */
  start: number;
  /** One past the last row to render. */
  end: number;
  /** Height of the whole list, for the scroll spacer. */
  total: number;
}

export function visibleRange(
  scrollTop: number,
  viewport: number,
  rowHeight: number,
  count: number,
  overscan = 6,
): RowWindow {
  const total = count * rowHeight;
  if (count === 0 || rowHeight <= 0) return { start: 0, end: 0, total };
  const top = Math.max(0, Math.min(scrollTop, Math.max(0, total - viewport)));
  const first = Math.floor(top / rowHeight);
  const last = Math.ceil((top + Math.max(viewport, 0)) / rowHeight);
  return {
    start: Math.max(0, first - overscan),
    end: Math.min(count, last + overscan),
    total,
  };
}

/**
 * The scrollTop that brings row `index` fully into view with the least movement, or
 * null when it is already visible.
 */
export function revealRow(index: number, scrollTop: number, viewport: number, rowHeight: number): number | null {
  const top = index * rowHeight;
  const bottom = top + rowHeight;
  if (top < scrollTop) return top;
  if (bottom > scrollTop + viewport) return Math.max(0, bottom - viewport);
  return null;
}

/** True when the list is scrolled (nearly) to its end: infinite scroll loads more then. */
export function nearEnd(scrollTop: number, viewport: number, total: number, margin: number): boolean {
  return scrollTop + viewport >= total - margin;
}
