package sam

import (
	"context"
	"errors"
	"sync"
	"time"
)

// encoderSchedule makes the encoder's work fair to the user: a slice being
// encoded is never encoded again by a second caller (it waits for the
// first), and background encoding (slices nobody asked for yet) runs only
// while no foreground call is running, stepping aside at once when one
// starts. On two cores, a background encode beside a foreground one would
// double the time until the user sees a result.
type encoderSchedule struct {
	mu       sync.Mutex
	inflight map[string]*flight
	fg       int                            // foreground encodes and decodes running
	idle     chan struct{}                  // closed when fg falls to zero
	lastFg   time.Time                      // when the last foreground call ended
	bg       map[*flight]context.CancelFunc // background encodes running
	// preempted counts background encodes that gave way, for SAM.Stats.
	preempted int64
}

// backgroundGrace is how long the foreground must have been quiet before
// background encoding resumes: a propagation alternates encodes and
// decodes with gaps of microseconds, and a background encode started in
// such a gap would only be cancelled again.
const backgroundGrace = 150 * time.Millisecond

// flight is one encode in progress; its result is shared by every caller
// that asked for the same slice meanwhile.
type flight struct {
	done chan struct{}
	e    *Embedding
	err  error
}

func newEncoderSchedule() *encoderSchedule {
	idle := make(chan struct{})
	close(idle)
	return &encoderSchedule{inflight: map[string]*flight{}, idle: idle, bg: map[*flight]context.CancelFunc{}}
}

// foreground marks the start of a foreground call and cancels background
// encodes in progress; call the returned function when it ends.
func (s *encoderSchedule) foreground() (end func()) {
	s.mu.Lock()
	if s.fg == 0 {
		s.idle = make(chan struct{})
	}
	s.fg++
	for _, cancel := range s.bg {
		cancel()
	}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.fg--
		if s.fg == 0 {
			s.lastFg = time.Now()
			close(s.idle)
		}
		s.mu.Unlock()
	}
}

// errPreempted is the result a background encode that gave way to a
// foreground call leaves to callers waiting on it: they compute the slice
// themselves.
var errPreempted = errors.New("background encode preempted")

// embed returns the embedding under key, computing it with compute unless
// another call is computing it already. A background call waits for the
// foreground to be quiet, gives way (its run cancelled) when a foreground
// call starts while it computes, and tries again once it is quiet; it
// returns only with the embedding or ctx's error.
func (s *encoderSchedule) embed(ctx context.Context, key string, background bool, compute func(context.Context) (*Embedding, error)) (*Embedding, error) {
	for {
		s.mu.Lock()
		if f, ok := s.inflight[key]; ok {
			s.mu.Unlock()
			select {
			case <-f.done:
				if errors.Is(f.err, errPreempted) || (f.err != nil && ctx.Err() == nil && errors.Is(f.err, context.Canceled)) {
					continue // the other caller gave up; this one goes on
				}
				return f.e, f.err
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if background {
			if wait := s.busyLocked(); wait != nil {
				s.mu.Unlock()
				select {
				case <-wait:
					continue
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
		}
		f := &flight{done: make(chan struct{})}
		s.inflight[key] = f
		runCtx, cancel := context.WithCancel(ctx)
		var end func()
		if background {
			s.bg[f] = cancel
		}
		s.mu.Unlock()
		if !background {
			end = s.foreground()
		}

		f.e, f.err = compute(runCtx)
		preempted := background && runCtx.Err() != nil && ctx.Err() == nil
		cancel()
		if preempted {
			f.e, f.err = nil, errPreempted
		}
		if end != nil {
			end()
		}
		s.mu.Lock()
		delete(s.inflight, key)
		delete(s.bg, f)
		if preempted {
			s.preempted++
		}
		s.mu.Unlock()
		close(f.done)
		if preempted {
			continue
		}
		return f.e, f.err
	}
}

// busyLocked returns a channel to wait on while the foreground is busy or
// was busy less than backgroundGrace ago, nil when background work may
// start. The lock is held.
func (s *encoderSchedule) busyLocked() <-chan struct{} {
	if s.fg > 0 {
		return s.idle
	}
	if d := backgroundGrace - time.Since(s.lastFg); d > 0 {
		t := make(chan struct{})
		time.AfterFunc(d, func() { close(t) })
		return t
	}
	return nil
}
