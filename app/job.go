package app

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
)

// Progress receives the progress of a long operation. fraction is in [0, 1],
// or negative when the amount of work is unknown; stage names what is being
// done ("reading", "inference 3/12"). Implementations must be safe for use
// from several goroutines, and cheap: callers may report often.
type Progress interface {
	Report(fraction float64, stage string)
}

// ProgressFunc adapts a function to Progress.
type ProgressFunc func(fraction float64, stage string)

// Report calls f.
func (f ProgressFunc) Report(fraction float64, stage string) { f(fraction, stage) }

// JobFunc is the work of a job. It must return promptly once ctx is done,
// with ctx.Err() or an error wrapping it.
type JobFunc func(ctx context.Context, p Progress) error

// Job is a piece of background work: opening a scan, a segmentation. It is
// created by Session.RunJob and ends exactly once.
type Job struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{}
	notify func()

	mu       sync.Mutex
	fraction float64
	stage    string
	err      error
}

// Name returns the name the job was started with.
func (j *Job) Name() string { return j.name }

// Cancel asks the job to stop. It returns at once; Wait tells when it did.
func (j *Job) Cancel() { j.cancel() }

// Done is closed when the job has ended.
func (j *Job) Done() <-chan struct{} { return j.done }

// Wait blocks until the job ends and returns its error: nil on success,
// an error wrapping context.Canceled when it was cancelled.
func (j *Job) Wait() error {
	<-j.done
	return j.Err()
}

// Err returns the job's error once it has ended, nil before.
func (j *Job) Err() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

// Progress returns the last fraction and stage reported.
func (j *Job) Progress() (fraction float64, stage string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.fraction, j.stage
}

// Report implements Progress for the job's own function.
func (j *Job) Report(fraction float64, stage string) {
	if math.IsNaN(fraction) {
		fraction = -1
	}
	if fraction > 1 {
		fraction = 1
	}
	j.mu.Lock()
	j.fraction, j.stage = fraction, stage
	j.mu.Unlock()
	if j.notify != nil {
		j.notify()
	}
}

// Canceled reports whether err means that a job was cancelled rather than
// that it failed; a UI shows no error dialog for it.
func Canceled(err error) bool {
	return errors.Is(err, context.Canceled)
}

// newJob returns a job that start will run.
func newJob(parent context.Context, name string, notify func()) (*Job, context.Context) {
	ctx, cancel := context.WithCancel(parent)
	return &Job{name: name, cancel: cancel, done: make(chan struct{}), notify: notify, fraction: -1}, ctx
}

// start runs fn on a new goroutine. finish is called with the job's result
// before Done is closed, so that whoever waits sees its effects.
func (j *Job) start(ctx context.Context, fn JobFunc, finish func(*Job)) {
	cancel := j.cancel
	go func() {
		defer close(j.done)
		defer cancel()
		err := runRecovered(ctx, fn, j)
		if err == nil && ctx.Err() != nil {
			// The work finished although it was cancelled: its result
			// stands, as the caller applied it already.
			err = nil
		}
		j.mu.Lock()
		j.err = err
		if err == nil {
			j.fraction = 1
		}
		j.mu.Unlock()
		finish(j)
	}()
}

// runRecovered turns a panic in a job into its error: a bug in one model
// runner must not take down the session and its unsaved labels.
func runRecovered(ctx context.Context, fn JobFunc, p Progress) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	return fn(ctx, p)
}
