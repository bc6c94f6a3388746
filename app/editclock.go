package app

import "time"

// DefaultIdle is how long the editing clock of a dataset case runs on
// after the user's last edit or gesture: a minute covers looking at a
// slice before the next stroke, and no more is counted while the user is
// away.
const DefaultIdle = time.Minute

// editClock sums the active editing time of a case. Opening the case
// starts it; every activity (an edit, a gesture that changes the view's
// state) adds the time since the previous one, at most idle, so that a
// pause longer than idle counts as idle and no more. A case opened and
// left without any activity has no editing time at all.
type editClock struct {
	idle    time.Duration
	last    time.Time
	total   time.Duration
	touched bool
}

// start starts the clock at now, with nothing counted.
func (c *editClock) start(now time.Time) {
	c.last, c.total, c.touched = now, 0, false
}

// touch records an activity at now.
func (c *editClock) touch(now time.Time) {
	if d := now.Sub(c.last); d > 0 {
		c.total += min(d, c.idle)
		c.last = now
	}
	c.touched = true
}

// elapsed returns the editing time counted up to now, the running pause
// included (up to idle), without resetting anything.
func (c *editClock) elapsed(now time.Time) time.Duration {
	if !c.touched {
		return 0
	}
	return c.total + min(max(now.Sub(c.last), 0), c.idle)
}

// commit restarts the count at now once the time up to now was written:
// the clock runs on, from zero.
func (c *editClock) commit(now time.Time) {
	c.total, c.touched = 0, false
	if now.After(c.last) {
		c.last = now
	}
}
