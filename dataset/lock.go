package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/polyseg/polyseg/internal/atomicfile"
	"github.com/polyseg/polyseg/internal/lockfile"
)

func (d *Dataset) lockPath(id string) string { return d.path(StateDir, locksDir, id+".lock") }

// CaseLock is a case held by this process: the only way to change the
// case. Release it when the case is closed. Its methods are safe for
// concurrent use (an autosave beside the user's own saves).
type CaseLock struct {
	d    *Dataset
	c    Case
	lock *lockfile.Lock
	mu   sync.Mutex // one save or state update at a time: each reads, then writes
}

// Acquire locks case id for this process. When someone else holds it, the
// error is a *LockedError (errors.As) naming the holder (user, host,
// process, since) and saying whether it looks gone (Stale, Why); the lock
// is then left alone, and TakeOver, once a person has agreed, takes it.
func (d *Dataset) Acquire(id string) (*CaseLock, error) {
	return d.acquire(id, func(path string) (*lockfile.Lock, error) {
		return lockfile.Acquire(path, d.opt.lockOptions())
	})
}

// TakeOver takes case id from a holder that Acquire reported stale. It
// fails with a *LockedError if the lock has changed hands or its holder
// has come back since.
func (d *Dataset) TakeOver(id string, stale Holder) (*CaseLock, error) {
	return d.acquire(id, func(path string) (*lockfile.Lock, error) {
		return lockfile.TakeOver(path, stale, d.opt.lockOptions())
	})
}

func (d *Dataset) acquire(id string, take func(path string) (*lockfile.Lock, error)) (*CaseLock, error) {
	if d.Layout == Plain {
		return nil, fmt.Errorf("case %s: %w", id, ErrReadOnly)
	}
	c, ok := d.Case(id)
	if !ok {
		return nil, fmt.Errorf("dataset %s: no case %q", d.Dir, id)
	}
	l, err := take(d.lockPath(id))
	if err != nil {
		var le *LockedError
		if errors.As(err, &le) {
			return nil, fmt.Errorf("case %s: %w", id, le)
		}
		return nil, fmt.Errorf("case %s: %w", id, err)
	}
	return &CaseLock{d: d, c: c, lock: l}, nil
}

// Case returns the locked case.
func (l *CaseLock) Case() Case { return l.c }

// Holder returns who holds the lock: this process.
func (l *CaseLock) Holder() Holder { return l.lock.Holder() }

// Check returns nil while the lock is still this process's, and an error
// wrapping ErrLost once someone took it over.
func (l *CaseLock) Check() error {
	if err := l.lock.Check(); err != nil {
		return fmt.Errorf("case %s: %w", l.c.ID, err)
	}
	return nil
}

// Release gives the case back.
func (l *CaseLock) Release() error {
	if err := l.lock.Release(); err != nil {
		return fmt.Errorf("case %s: %w", l.c.ID, err)
	}
	return nil
}

// UpdateState changes the case's worklist state through fn, records this
// process's user and host as the last to work on it, and writes it. It
// returns the state written.
func (l *CaseLock) UpdateState(fn func(*State)) (State, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.updateState(fn)
}

func (l *CaseLock) updateState(fn func(*State)) (State, error) {
	d := l.d
	path := d.statePath(l.c.ID)
	s, err := readState(path)
	if err != nil {
		// A state file that cannot be read is replaced rather than
		// blocking the case: the worklist state is advisory.
		s = State{Status: ToDo}
	}
	fn(&s)
	if _, err := ParseStatus(string(s.Status)); err != nil {
		return State{}, fmt.Errorf("case %s: %w", l.c.ID, err)
	}
	h := l.lock.Holder()
	s.User, s.Host = h.User, h.Host
	s.Updated = time.Now().UTC().Truncate(time.Second)
	s.EditTime = max(0, s.EditTime)
	if err := l.Check(); err != nil {
		return State{}, err
	}
	if err := writeState(path, s); err != nil {
		return State{}, err
	}
	return s, nil
}

// jsonLockTimeout is how old the dataset.json lock's heartbeat may grow
// before it is broken without asking: it is held for milliseconds, so a
// holder silent for this long is gone, and no one's work is lost by taking
// it.
const jsonLockTimeout = 30 * time.Second

// jsonLockWait is how long a change to dataset.json waits for others'.
const jsonLockWait = time.Minute

// updateDescription changes dataset.json under the dataset's lock: it
// reads the file afresh (another process may have changed it), lets fn
// change it, and writes it atomically when fn reports a change.
func (d *Dataset) updateDescription(ctx context.Context, fn func(*Description) (bool, error)) error {
	path := d.path(JSONName)
	return d.withJSONLock(ctx, func() error {
		desc, err := readDescription(path)
		if err != nil {
			return err
		}
		changed, err := fn(desc)
		if err != nil || !changed {
			d.desc.Store(desc)
			return err
		}
		if err := writeDescription(path, desc); err != nil {
			return err
		}
		d.desc.Store(desc)
		return nil
	})
}

func writeDescription(path string, desc *Description) error {
	b, err := desc.Encode()
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	err = atomicfile.WriteFile(path, 0o644, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Read-modify-write cycles of other processes start from this file.
	desc.raw, _ = parseObject(b)
	return nil
}

// withJSONLock runs fn holding polyseg/dataset.lock, waiting for other
// holders and breaking the lock of one that is gone.
func (d *Dataset) withJSONLock(ctx context.Context, fn func() error) error {
	path := d.path(StateDir, "dataset.lock")
	opt := lockfile.Options{Timeout: jsonLockTimeout, Identity: d.opt.As}
	deadline := time.Now().Add(jsonLockWait)
	for {
		l, err := lockfile.Acquire(path, opt)
		var le *LockedError
		if errors.As(err, &le) && le.Stale {
			l, err = lockfile.TakeOver(path, le.Holder, opt)
		}
		if err == nil {
			defer l.Release()
			return fn()
		}
		if !errors.As(err, &le) {
			return fmt.Errorf("dataset %s: %w", d.Dir, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dataset %s: dataset.json is being changed by %s and has been for over %s", d.Dir, le.Holder, jsonLockWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(5+rand.IntN(30)) * time.Millisecond):
		}
	}
}

// mkdirs makes the dataset's polyseg/ folders.
func (d *Dataset) mkdirs() error {
	for _, sub := range []string{casesDir, locksDir, pendingDir} {
		if err := os.MkdirAll(d.path(StateDir, sub), dirPerm); err != nil {
			return fmt.Errorf("dataset %s: %w", d.Dir, err)
		}
	}
	return nil
}
