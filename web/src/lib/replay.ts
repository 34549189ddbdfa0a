// The replay clock: plays a session's events back in their own rhythm at 1×–16×, with
// idle gaps shortened so a session that waited minutes on a tool does not stall playback.

export const SPEEDS = [1, 2, 4, 8, 16] as const;
/** Longer pauses between events are cut to this (in session time). */
export const MAX_GAP_MS = 2000;

/** Index of the last event that started at or before `t`, or -1 before the first. */
export function indexAt(starts: readonly number[], t: number): number {
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

export interface Tick {
  /** Session time the replay has reached. */
  time: number;
  /** The event under the cursor. */
  index: number;
  /** The last event was reached: playback stops. */
  done: boolean;
}

/** Moves the clock on by `dtMs` of wall time at `speed`. `starts` is sorted. */
export function advance(starts: readonly number[], time: number, dtMs: number, speed: number): Tick {
  const n = starts.length;
  if (n === 0) return { time, index: -1, done: true };
  let t = time + dtMs * speed;
  for (let guard = 0; guard < n + 1; guard++) {
    const i = indexAt(starts, t);
    if (i >= n - 1) return { time: starts[n - 1]!, index: n - 1, done: true };
    const base = i >= 0 ? starts[i]! : Math.min(time, starts[0]!);
    // Past the gap allowance and still short of the next event: jump to it, keeping the
    // overshoot so fast speeds do not slow down at each gap.
    const over = t - base - MAX_GAP_MS;
    if (over > 0 && starts[i + 1]! > t) {
      t = starts[i + 1]! + over;
      continue;
    }
    return { time: t, index: i, done: false };
  }
  return { time: starts[n - 1]!, index: n - 1, done: true };
}
