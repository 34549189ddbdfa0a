package agentlog

// The clock: wall-clock microseconds read through the monotonic clock, so that within
// a process a child never starts before its parent and no span ends before it starts,
// even when the wall clock is stepped. The anchor is moved to the wall clock when the
// two drift apart by more than resyncThreshold (NTP step, suspend), checked on every
// flush tick.

import (
	"sync/atomic"
	"time"
)

const resyncThreshold = 100 * time.Millisecond

type clockAnchor struct {
	mono   time.Time // carries a monotonic reading
	wallUS int64
}

type clock struct {
	anchor atomic.Pointer[clockAnchor]
}

func newClock() *clock {
	c := &clock{}
	c.reanchor()
	return c
}

func (c *clock) reanchor() {
	now := time.Now()
	c.anchor.Store(&clockAnchor{mono: now, wallUS: now.UnixMicro()})
}

// nowMicros is now in microseconds since the Unix epoch.
func (c *clock) nowMicros() int64 {
	a := c.anchor.Load()
	return a.wallUS + int64(time.Since(a.mono)/time.Microsecond)
}

// resync re-anchors when the wall clock moved away from the monotonic one.
func (c *clock) resync() {
	drift := time.Duration(time.Now().UnixMicro()-c.nowMicros()) * time.Microsecond
	if drift > resyncThreshold || drift < -resyncThreshold {
		c.reanchor()
	}
}

func nowMicrosUnanchored() int64 { return time.Now().UnixMicro() }
