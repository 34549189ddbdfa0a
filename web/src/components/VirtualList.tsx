// A scrolling list of fixed-height rows that renders only the rows in view (plus a
// margin): 10,000 rows cost the same as 40.
import type { ComponentChildren, JSX } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { nearEnd, revealRow, visibleRange } from "../lib/virtual";

export interface VirtualListProps {
  count: number;
  rowHeight: number;
  renderRow: (index: number) => ComponentChildren;
  /** Brings this row into view whenever it (or `revealKey`) changes. */
  reveal?: number | null;
  revealKey?: unknown;
  /** Called when the user scrolls within a few rows of the end (load the next page). */
  onNearEnd?: () => void;
  /** Keep the list pinned to the bottom while new rows arrive, if it was at the bottom. */
  follow?: boolean;
  class?: string;
  label?: string;
  /** Extra content drawn over the rows (a cursor line), in the scrolled coordinate space. */
  overlay?: ComponentChildren;
  onScrollTop?: (top: number) => void;
}

export function VirtualList(props: VirtualListProps): JSX.Element {
  const { count, rowHeight } = props;
  const ref = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const frame = useRef(0);
  const atBottom = useRef(true);

  useLayoutEffect(() => {
    const el = ref.current!;
    setHeight(el.clientHeight || 600);
    if (typeof ResizeObserver === "undefined") return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight || 600));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const onScroll = () => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      const el = ref.current;
      if (!el) return;
      setScrollTop(el.scrollTop);
      props.onScrollTop?.(el.scrollTop);
      atBottom.current = el.scrollTop + el.clientHeight >= el.scrollHeight - rowHeight;
    });
  };
  useEffect(() => () => cancelAnimationFrame(frame.current), []);

  // Follow the tail of a live list.
  useLayoutEffect(() => {
    const el = ref.current!;
    if (props.follow && atBottom.current && count * rowHeight > el.clientHeight) {
      el.scrollTop = count * rowHeight;
      setScrollTop(el.scrollTop);
    }
  }, [count]);

  // Reveal when the target changes; with a revealKey, only when the key does (a live list
  // shifts indexes under a selection without yanking the scroll position each time).
  useLayoutEffect(() => {
    if (props.reveal === null || props.reveal === undefined || props.reveal < 0) return;
    const el = ref.current!;
    const top = revealRow(props.reveal, el.scrollTop, el.clientHeight || height, rowHeight);
    if (top !== null) {
      el.scrollTop = top;
      setScrollTop(el.scrollTop);
    }
  }, [props.revealKey === undefined ? props.reveal : props.revealKey]);

  const win = visibleRange(scrollTop, height, rowHeight, count);
  useEffect(() => {
    if (props.onNearEnd && count > 0 && nearEnd(scrollTop, height, win.total, rowHeight * 10)) props.onNearEnd();
  }, [scrollTop, height, count]);

  const rows: ComponentChildren[] = [];
  for (let i = win.start; i < win.end; i++) {
    rows.push(
      <div key={i} class="vrow" style={{ transform: `translateY(${i * rowHeight}px)`, height: `${rowHeight}px` }}>
        {props.renderRow(i)}
      </div>,
    );
  }
  return (
    <div
      ref={ref}
      class={`vlist ${props.class ?? ""}`}
      onScroll={onScroll}
      role="list"
      aria-label={props.label}
      data-count={count}
    >
      <div class="vlist-spacer" style={{ height: `${win.total}px` }}>
        {rows}
        {props.overlay}
      </div>
    </div>
  );
}
