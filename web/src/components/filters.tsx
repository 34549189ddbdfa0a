// The filter bar's controls, shared by the sessions and events lists. Each control
// writes its value back through onChange; the pages keep the values in the URL.
import type { JSX } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { fromLocalInput, toLocalInput } from "../lib/format";

/** A search box that writes to the URL a moment after typing stops. */
export function SearchBox(p: { value: string; placeholder: string; onChange: (v: string) => void }): JSX.Element {
  const [v, setV] = useState(p.value);
  const timer = useRef<number>(0);
  useEffect(() => setV(p.value), [p.value]);
  useEffect(() => () => clearTimeout(timer.current), []);
  return (
    <input
      type="search"
      class="search"
      data-search
      aria-label="Search"
      placeholder={p.placeholder}
      value={v}
      onInput={(e) => {
        const next = e.currentTarget.value;
        setV(next);
        clearTimeout(timer.current);
        timer.current = window.setTimeout(() => p.onChange(next), 250);
      }}
      onKeyDown={(e) => {
        if (e.key === "Enter") {
          clearTimeout(timer.current);
          p.onChange(v);
        }
      }}
    />
  );
}

/** A small text filter committed on Enter or blur. */
export function TextFilter(p: { label: string; value: string; onChange: (v: string) => void; width?: string }): JSX.Element {
  const [v, setV] = useState(p.value);
  useEffect(() => setV(p.value), [p.value]);
  const commit = () => v !== p.value && p.onChange(v.trim());
  return (
    <input
      type="text"
      aria-label={p.label}
      placeholder={p.label}
      value={v}
      style={p.width ? { width: p.width } : undefined}
      onInput={(e) => setV(e.currentTarget.value)}
      onKeyDown={(e) => e.key === "Enter" && commit()}
      onBlur={commit}
    />
  );
}

/** A choice among `options`, or none ("" shown as `any`). */
export function SelectFilter(p: {
  label: string;
  value: string;
  any: string;
  options: readonly string[];
  onChange: (v: string) => void;
}): JSX.Element {
  return (
    <select aria-label={p.label} value={p.value} onChange={(e) => p.onChange(e.currentTarget.value)}>
      <option value="">{p.any}</option>
      {p.options.map((o) => (
        <option key={o} value={o}>
          {o}
        </option>
      ))}
    </select>
  );
}

/** From and To, as local date-times; values are ISO strings ("" for none). */
export function TimeRange(p: { from: string; to: string; onChange: (patch: { from?: string; to?: string }) => void }): JSX.Element {
  return (
    <>
      <label class="inline">
        From
        <input type="datetime-local" aria-label="From" value={p.from ? toLocalInput(p.from) : ""} onChange={(e) => p.onChange({ from: fromLocalInput(e.currentTarget.value) })} />
      </label>
      <label class="inline">
        To
        <input type="datetime-local" aria-label="To" value={p.to ? toLocalInput(p.to) : ""} onChange={(e) => p.onChange({ to: fromLocalInput(e.currentTarget.value) })} />
      </label>
    </>
  );
}
