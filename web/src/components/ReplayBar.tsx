// Replay controls: play/pause, step, speed and a scrubber over the session's events in
// the order they started.
import type { JSX } from "preact";
import { formatOffset } from "../lib/format";
import { SPEEDS } from "../lib/replay";
import { Icon } from "./Icon";

export interface ReplayBarProps {
  count: number;
  index: number;
  playing: boolean;
  speed: number;
  /** Offset of the cursor from the session start, ms. */
  offset: number;
  onPlay: () => void;
  onPause: () => void;
  onStep: (delta: number) => void;
  onSeek: (index: number) => void;
  onSpeed: (speed: number) => void;
  onExit: () => void;
}

export function ReplayBar(p: ReplayBarProps): JSX.Element {
  return (
    <div class="replay-bar" data-testid="replay-bar">
      <button aria-label="Step back (←)" title="Step back (←)" disabled={p.index <= 0} onClick={() => p.onStep(-1)}>
        <Icon name="prev" />
      </button>
      {p.playing ? (
        <button class="primary" aria-label="Pause (Space)" title="Pause (Space)" onClick={p.onPause}>
          <Icon name="pause" />
        </button>
      ) : (
        <button class="primary" aria-label="Play (Space)" title="Play (Space)" onClick={p.onPlay} disabled={p.count === 0}>
          <Icon name="play" />
        </button>
      )}
      <button aria-label="Step forward (→)" title="Step forward (→)" disabled={p.index >= p.count - 1} onClick={() => p.onStep(1)}>
        <Icon name="next" />
      </button>
      <select aria-label="Speed" value={String(p.speed)} onChange={(e) => p.onSpeed(Number(e.currentTarget.value))}>
        {SPEEDS.map((s) => (
          <option key={s} value={String(s)}>
            {s}×
          </option>
        ))}
      </select>
      <input
        type="range"
        class="scrubber"
        aria-label="Replay position"
        min={0}
        max={Math.max(0, p.count - 1)}
        value={Math.max(0, p.index)}
        onInput={(e) => p.onSeek(Number(e.currentTarget.value))}
      />
      <span class="replay-pos mono" data-testid="replay-pos">
        {p.index + 1} / {p.count} · {formatOffset(Math.max(0, p.offset))}
      </span>
      <button class="link" onClick={p.onExit} title="Leave replay (r)">
        Exit replay
      </button>
    </div>
  );
}
