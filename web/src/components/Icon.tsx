// The few icons the dashboard needs, as inline SVG (font glyphs for ⏮ ⏭ are missing on
// many systems).
import type { JSX } from "preact";

const PATHS = {
  play: "M5 3.5v9l8-4.5z",
  pause: "M4.5 3h2.5v10H4.5zM9 3h2.5v10H9z",
  prev: "M3.5 3h2v10h-2zM13 3.5v9L6.5 8z",
  next: "M10.5 3h2v10h-2zM3 3.5v9L9.5 8z",
} as const;

export function Icon({ name }: { name: keyof typeof PATHS }): JSX.Element {
  return (
    <svg class="icon-svg" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
      <path d={PATHS[name]} fill="currentColor" />
    </svg>
  );
}
