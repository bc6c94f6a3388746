package lockfile

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout is how long a lock may go without a heartbeat before it is
// stale, when Options.Timeout is zero. Two minutes outlast any pause of a
// live process's heartbeat goroutine and any clock difference between
// machines that keep time by NTP, and are short enough for a person who
// found a colleague's crashed session to wait out.
const DefaultTimeout = 2 * time.Minute

// maxLockFile bounds what is read of a lock file: a real one is a few
// hundred bytes, and the file is as untrusted as the folder it lies in.
const maxLockFile = 64 << 10

// Holder says who holds a lock. It is stored in the lock file as JSON.
type Holder struct {
	User  string    `json:"user"`
	Host  string    `json:"host"`
	Boot  string    `json:"boot,omitempty"` // the host's boot id, where the system has one (Linux)
	PID   int       `json:"pid"`
	Since time.Time `json:"since"`
	// Token identifies one acquisition: a process that takes the same lock
	// twice holds two different tokens.
	Token string `json:"token"`
	// Heartbeat is the lock file's modification time when it was read; it
	// is not stored in the file.
	Heartbeat time.Time `json:"-"`
}

// String describes the holder for people: "alice on ws12 (process 4711)
// since 2024-05-01 14:03".
func (h Holder) String() string {
	if h.Token == "" {
		return "an unknown process (the lock file is empty or unreadable)"
	}
	u := h.User
	if u == "" {
		u = "an unknown user"
	}
	return fmt.Sprintf("%s on %s (process %d) since %s", u, h.Host, h.PID, h.Since.Local().Format("2006-01-02 15:04:05"))
}

// Self returns the holder a lock taken by this process names: the OS user,
// the host name, the boot id and the process id. Since and Token are left
// for Acquire to fill.
func Self() Holder {
	h := Holder{PID: os.Getpid(), Boot: bootID()}
	if u, err := user.Current(); err == nil {
		h.User = u.Username
	}
	if h.User == "" {
		h.User = cmpOr(os.Getenv("USER"), os.Getenv("USERNAME"))
	}
	h.Host, _ = os.Hostname()
	return h
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// bootID returns Linux's id of the current boot, which tells a host that
// was restarted (every process of the old boot is gone) from one that was
// not; "" elsewhere.
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Options tunes locking. The zero value uses DefaultTimeout and Self.
type Options struct {
	// Timeout is the heartbeat age after which a lock is stale.
	Timeout time.Duration
	// Interval is the heartbeat period; Timeout/4 when zero.
	Interval time.Duration
	// Identity names the holder instead of Self; zero fields are taken
	// from Self. Since and Token are always set by Acquire.
	Identity Holder
}

func (o Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultTimeout
}

func (o Options) interval() time.Duration {
	if o.Interval > 0 {
		return o.Interval
	}
	return o.timeout() / 4
}

func (o Options) self() Holder {
	s := Self()
	id := o.Identity
	if id.User != "" {
		s.User = id.User
	}
	if id.Host != "" {
		s.Host, s.Boot = id.Host, id.Boot
	}
	if id.PID != 0 {
		s.PID = id.PID
	}
	return s
}

// ErrLocked is wrapped by the error Acquire and TakeOver return when
// another holder has the lock; errors.As gives the *LockedError.
var ErrLocked = errors.New("locked")

// ErrLost is wrapped by the errors of a Lock whose file was taken over or
// removed.
var ErrLost = errors.New("lock lost")

// Status is what Inspect finds at a lock's path.
type Status struct {
	Held   bool
	Holder Holder
	// Stale reports whether the holder is known to be gone; Why says how
	// that is known.
	Stale bool
	Why   string
}

// LockedError reports that a lock is held by someone else.
type LockedError struct {
	Path string
	Status
}

func (e *LockedError) Error() string {
	if e.Stale {
		return fmt.Sprintf("%s is locked by %s, which looks gone (%s)", e.Path, e.Holder, e.Why)
	}
	return fmt.Sprintf("%s is locked by %s", e.Path, e.Holder)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// LostError reports that a Lock no longer holds its file.
type LostError struct {
	Path string
	// By is who holds the file now; its Token is empty when the file was
	// removed.
	By Holder
}

func (e *LostError) Error() string {
	if e.By.Token == "" {
		return fmt.Sprintf("lock %s lost: its file was removed", e.Path)
	}
	return fmt.Sprintf("lock %s lost: taken over by %s", e.Path, e.By)
}

func (e *LostError) Unwrap() error { return ErrLost }

// Inspect reads the lock at path without changing it.
func Inspect(path string, opt Options) (Status, error) {
	h, _, err := read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Status{}, nil
	}
	if err != nil {
		return Status{}, err
	}
	st := Status{Held: true, Holder: h}
	st.Stale, st.Why = stale(h, opt)
	return st, nil
}

// read returns the holder named in the lock file at path, with its
// heartbeat, and the file's bytes. A file that does not parse gives a
// holder with an empty Token and no error: it is a lock all the same.
func read(path string) (Holder, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return Holder{}, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Holder{}, nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxLockFile+1))
	if err != nil {
		return Holder{}, nil, fmt.Errorf("read lock %s: %w", path, err)
	}
	var h Holder
	if len(b) > maxLockFile || json.Unmarshal(b, &h) != nil {
		h = Holder{}
	}
	h.Heartbeat = st.ModTime()
	return h, b, nil
}

// stale tells whether h is known to be gone, and how.
func stale(h Holder, opt Options) (bool, string) {
	age := time.Since(h.Heartbeat).Round(time.Second)
	if h.Token == "" {
		if age > opt.timeout() {
			return true, fmt.Sprintf("the lock file is empty or unreadable and %s old", age)
		}
		return false, ""
	}
	self := opt.self()
	if h.Host == self.Host && h.Boot == self.Boot && h.PID > 0 && !alive(h.PID) {
		return true, fmt.Sprintf("process %d has ended on this host", h.PID)
	}
	if age > opt.timeout() {
		return true, fmt.Sprintf("no heartbeat for %s, more than %s", age, opt.timeout())
	}
	return false, ""
}

// create makes the lock file for h, failing with fs.ErrExist when there is
// one. The file is filled and synced before create returns; a process
// killed in between leaves an empty file, which stale judges by its age.
func create(path string, content []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write lock %s: %w", path, err)
	}
	return nil
}

// Acquire takes the lock at path, creating its folder if need be (with
// permission 0777 less the umask: others sharing the folder must create
// and rename locks in it too). When the
// lock is held it returns a *LockedError (wrapping ErrLocked) saying by
// whom and whether the holder looks gone; it never takes a lock over.
func Acquire(path string, opt Options) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	h := opt.self()
	h.Since = time.Now().UTC().Truncate(time.Millisecond)
	h.Token = rand.Text()
	content, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	content = append(content, '\n')
	// A lock removed between the failed create and the look at it is
	// tried again; a few rounds settle any honest race.
	for range 5 {
		err := create(path, content)
		if err == nil {
			return newLock(path, h, opt), nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		st, err := Inspect(path, opt)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if st.Held {
			return nil, &LockedError{Path: path, Status: st}
		}
	}
	return nil, fmt.Errorf("lock %s: the lock file keeps appearing and vanishing", path)
}

// TakeOver takes the lock at path from a holder that Acquire or Inspect
// reported stale, once the caller has confirmed it. It fails with a
// *LockedError when the lock is no longer that holder's, or the holder is
// no longer stale (it came back); when the lock was released meanwhile it
// simply takes it. Of several processes taking over from the same holder
// at once, exactly one succeeds.
func TakeOver(path string, staleHolder Holder, opt Options) (*Lock, error) {
	for range 3 {
		l, retry, err := takeOver(path, staleHolder, opt)
		if !retry {
			return l, err
		}
	}
	return nil, fmt.Errorf("take over lock %s: another process keeps taking it over", path)
}

// takeOver is one attempt of TakeOver; retry reports that a stale breaker
// was cleared and the attempt should be made again.
func takeOver(path string, staleHolder Holder, opt Options) (l *Lock, retry bool, err error) {
	// The breaker makes the takers of one stale lock take turns: without
	// it, a taker that moved aside the lock another taker had just made
	// would leave the path empty for a moment, and a third process could
	// take the lock there while the second still believed it held it.
	breaker := path + ".takeover-" + breakerKey(staleHolder)
	me := opt.self()
	me.Since = time.Now().UTC().Truncate(time.Millisecond)
	me.Token = rand.Text()
	mine, err := json.Marshal(me)
	if err != nil {
		return nil, false, err
	}
	if err := create(breaker, mine); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return nil, false, fmt.Errorf("take over lock %s: %w", path, err)
		}
		// Another process is taking over from the same holder, or died
		// doing so, which its breaker tells.
		if bh, _, err := read(breaker); err == nil {
			if dead, _ := stale(bh, opt); dead {
				aside := breaker + ".stale-" + rand.Text()
				if gh, content, err := grab(breaker, aside); err == nil {
					if gh.Token == bh.Token {
						os.Remove(aside)
					} else {
						putBack(breaker, aside, content, gh.Heartbeat)
					}
					return nil, true, nil
				}
			}
		}
		st, err := Inspect(path, opt)
		if err != nil {
			return nil, false, fmt.Errorf("take over lock %s: %w", path, err)
		}
		if !st.Held {
			st = Status{Held: true, Holder: staleHolder, Why: "another process is taking the lock over"}
		}
		return nil, false, &LockedError{Path: path, Status: st}
	}
	defer os.Remove(breaker)

	// Only the holder that was confirmed is taken over: look before
	// moving anything.
	st, err := Inspect(path, opt)
	if err != nil {
		return nil, false, fmt.Errorf("take over lock %s: %w", path, err)
	}
	if !st.Held {
		l, err := Acquire(path, opt)
		return l, false, err
	}
	if !sameHolder(st.Holder, staleHolder) || !st.Stale {
		return nil, false, &LockedError{Path: path, Status: st}
	}
	aside := path + ".takeover-aside-" + me.Token
	h, content, err := grab(path, aside)
	if errors.Is(err, fs.ErrNotExist) {
		l, err := Acquire(path, opt)
		return l, false, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("take over lock %s: %w", path, err)
	}
	if isStale, why := stale(h, opt); !sameHolder(h, staleHolder) || !isStale {
		// The holder came back (or released and took the lock again)
		// between the look and the move: the lock goes back.
		putBack(path, aside, content, h.Heartbeat)
		return nil, false, &LockedError{Path: path, Status: Status{Held: true, Holder: h, Stale: isStale, Why: why}}
	}
	if err := os.Remove(aside); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("take over lock %s: %w", path, err)
	}
	l, err = Acquire(path, opt)
	return l, false, err
}

// sameHolder reports whether two reads of a lock found the same one: the
// same token, or, for an unreadable file, the same heartbeat.
func sameHolder(a, b Holder) bool {
	if a.Token != "" || b.Token != "" {
		return a.Token == b.Token
	}
	return a.Heartbeat.Equal(b.Heartbeat)
}

// breakerKey names the breaker of a stale holder: its token, or for an
// unreadable lock file its heartbeat.
func breakerKey(h Holder) string {
	if h.Token != "" {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
				return r
			}
			return '_'
		}, h.Token)
	}
	return fmt.Sprintf("unreadable-%d", h.Heartbeat.UnixNano())
}

// grab moves the lock file at path to aside, then reads it there: what is
// read is exactly the lock that was moved, whatever happened at path
// meanwhile.
func grab(path, aside string) (Holder, []byte, error) {
	if err := os.Rename(path, aside); err != nil {
		return Holder{}, nil, err
	}
	h, content, err := read(aside)
	if err != nil {
		return Holder{}, nil, err
	}
	return h, content, nil
}

// putBack restores a lock file that grab moved aside by mistake, with its
// heartbeat. If a new lock appeared at path meanwhile, the moved one's
// holder has lost its lock and will learn so at its next Check.
func putBack(path, aside string, content []byte, heartbeat time.Time) {
	if create(path, content) == nil {
		os.Chtimes(path, heartbeat, heartbeat)
	}
	os.Remove(aside)
}

// Lock is a lock held by this process. Its methods are safe for concurrent
// use.
type Lock struct {
	path   string
	holder Holder
	opt    Options

	mu       sync.Mutex
	lost     error
	released bool
	stop     chan struct{}
	done     chan struct{}
}

func newLock(path string, h Holder, opt Options) *Lock {
	l := &Lock{path: path, holder: h, opt: opt, stop: make(chan struct{}), done: make(chan struct{})}
	go l.heartbeat()
	return l
}

// Path returns the lock file's path.
func (l *Lock) Path() string { return l.path }

// Holder returns the holder this lock was taken as.
func (l *Lock) Holder() Holder { return l.holder }

// heartbeat refreshes the lock file's modification time until Release, or
// until the lock is found lost.
func (l *Lock) heartbeat() {
	defer close(l.done)
	t := time.NewTicker(l.opt.interval())
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		if err := l.Check(); err != nil {
			if errors.Is(err, ErrLost) {
				return
			}
			continue // the share may be briefly unreachable: try again
		}
		now := time.Now()
		os.Chtimes(l.path, now, now)
	}
}

// Check returns nil while the lock file is this Lock's, a *LostError
// (wrapping ErrLost) once it was taken over or removed, which it stays, and
// any other error when the file cannot be read now.
func (l *Lock) Check() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released && l.lost == nil {
		return &LostError{Path: l.path}
	}
	return l.verify()
}

// verify compares the lock file's token with this Lock's; l.mu is held.
func (l *Lock) verify() error {
	if l.lost != nil {
		return l.lost
	}
	h, _, err := read(l.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		l.lost = &LostError{Path: l.path}
	case err != nil:
		return fmt.Errorf("check lock %s: %w", l.path, err)
	case h.Token != l.holder.Token:
		l.lost = &LostError{Path: l.path, By: h}
	}
	return l.lost
}

// Release gives the lock up and removes its file. It returns a *LostError
// when the lock had been lost (the file, now someone else's, is left as it
// is). Releasing twice does nothing.
func (l *Lock) Release() error {
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return nil
	}
	l.released = true
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	// Look before moving the file: a lock taken over meanwhile is left
	// where it is.
	l.mu.Lock()
	err := l.verify()
	l.mu.Unlock()
	if err != nil {
		return err
	}
	aside := l.path + ".release-" + l.holder.Token
	h, content, err := grab(l.path, aside)
	if errors.Is(err, fs.ErrNotExist) {
		return &LostError{Path: l.path}
	}
	if err != nil {
		return fmt.Errorf("release lock %s: %w", l.path, err)
	}
	if h.Token != l.holder.Token {
		putBack(l.path, aside, content, h.Heartbeat)
		return &LostError{Path: l.path, By: h}
	}
	if err := os.Remove(aside); err != nil {
		return fmt.Errorf("release lock %s: %w", l.path, err)
	}
	return nil
}
