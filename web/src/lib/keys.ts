// Keyboard shortcuts. A page binds its keys while mounted; typing in a field never
// triggers them (except Escape, which leaves the field).
import { useEffect, useRef } from "preact/hooks";

export type KeyMap = Record<string, (e: KeyboardEvent) => void>;

export function isTyping(t: EventTarget | null): boolean {
  if (!(t instanceof HTMLElement)) return false;
  const tag = t.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || t.isContentEditable;
}

/** Binds `map` (keys as KeyboardEvent.key: "j", "/", "Escape", " ") while mounted. */
export function useKeys(map: KeyMap): void {
  const ref = useRef(map);
  ref.current = map;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.metaKey || e.ctrlKey || e.altKey) return;
      if (isTyping(e.target) && e.key !== "Escape") return;
      const fn = ref.current[e.key];
      if (!fn) return;
      fn(e);
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);
}

/** "/" focuses the page's search box (the element marked data-search). */
export function focusSearch(e: KeyboardEvent): void {
  const el = document.querySelector<HTMLInputElement>("[data-search]");
  if (!el) return;
  e.preventDefault();
  el.focus();
  el.select();
}
