// Wall-clock time in epoch milliseconds with microsecond resolution, from the monotonic
// performance clock anchored to the wall clock. Monotonic within a process, so a child span
// never starts before its parent and no span ends before it starts; re-anchored when the wall
// clock moves away from it (NTP step, laptop sleep).

const RESYNC_THRESHOLD_MS = 100;

interface PerformanceLike {
  now(): number;
  timeOrigin?: number;
}

export class Clock {
  private readonly perf: PerformanceLike | undefined;
  private anchor: number;

  constructor() {
    const perf = (globalThis as { performance?: PerformanceLike }).performance;
    this.perf = perf && typeof perf.now === "function" ? perf : undefined;
    this.anchor = this.perf ? Date.now() - this.perf.now() : 0;
    if (this.perf && typeof this.perf.timeOrigin === "number") {
      // timeOrigin is finer than Date.now(); use it unless it is far off.
      const fine = this.perf.timeOrigin;
      if (Math.abs(fine - this.anchor) < RESYNC_THRESHOLD_MS) this.anchor = fine;
    }
  }

  /** Now, in epoch milliseconds rounded to the microsecond. */
  now(): number {
    if (!this.perf) return Date.now();
    return Math.round((this.anchor + this.perf.now()) * 1000) / 1000;
  }

  /** Re-anchors to the wall clock when they drifted apart by more than 100 ms. */
  resync(): void {
    if (!this.perf) return;
    const drift = Date.now() - (this.anchor + this.perf.now());
    if (Math.abs(drift) > RESYNC_THRESHOLD_MS) this.anchor += drift;
  }
}
