package lockfile

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// deadPID returns the id of a process that has ended (and been waited for,
// so it is not a zombie).
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// writeLock puts a lock file for h at path with the given heartbeat, as a
// process elsewhere would have left it.
func writeLock(t *testing.T, path string, h Holder, heartbeat time.Time) {
	t.Helper()
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, heartbeat, heartbeat); err != nil {
		t.Fatal(err)
	}
}

func TestAcquireRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks", "case.lock")
	l, err := Acquire(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	self := Self()
	if h := l.Holder(); h.PID != os.Getpid() || h.Host != self.Host || h.User != self.User || h.Token == "" {
		t.Errorf("holder %+v, want this process", h)
	}
	// The same process asking again is refused: a case open twice in one
	// app is a mistake too.
	_, err = Acquire(path, Options{})
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) || le.Stale || le.Holder.Token != l.Holder().Token {
		t.Fatalf("second Acquire: %v, want a live LockedError naming the first holder", err)
	}
	if !strings.Contains(err.Error(), self.Host) {
		t.Errorf("error %q does not name the host", err)
	}
	if err := l.Check(); err != nil {
		t.Errorf("Check of a held lock: %v", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Errorf("second Release: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file after Release: %v", err)
	}
	if !errors.Is(l.Check(), ErrLost) {
		t.Error("Check after Release does not say lost")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 0 {
		t.Errorf("files left in the lock folder: %v", entries)
	}
	l2, err := Acquire(path, Options{})
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()
}

func TestStale(t *testing.T) {
	self := Self()
	long := time.Now().Add(-time.Hour)
	tests := []struct {
		name      string
		holder    Holder
		heartbeat time.Time
		raw       string // file content instead of holder
		stale     bool
		why       string
	}{
		{"this host, process ended", Holder{User: "a", Host: self.Host, Boot: self.Boot, PID: deadPID(t), Token: "t1"}, time.Now(), "", true, "has ended"},
		{"this host, process alive", Holder{User: "a", Host: self.Host, Boot: self.Boot, PID: os.Getpid(), Token: "t2"}, time.Now(), "", false, ""},
		{"this host, process alive, heartbeat old", Holder{User: "a", Host: self.Host, Boot: self.Boot, PID: os.Getpid(), Token: "t2"}, long, "", true, "no heartbeat"},
		{"other host, recent heartbeat", Holder{User: "b", Host: "elsewhere", PID: deadPID(t), Token: "t3"}, time.Now(), "", false, ""},
		{"other host, old heartbeat", Holder{User: "b", Host: "elsewhere", PID: 1, Token: "t4"}, long, "", true, "no heartbeat"},
		{"this host name, other boot", Holder{User: "c", Host: self.Host, Boot: "another-boot", PID: deadPID(t), Token: "t5"}, time.Now(), "", false, ""},
		{"empty file, new", Holder{}, time.Now(), " ", false, ""},
		{"empty file, old", Holder{}, long, " ", true, "empty or unreadable"},
		{"garbage, old", Holder{}, long, "{not json", true, "empty or unreadable"},
		{"future heartbeat", Holder{User: "d", Host: "elsewhere", PID: 1, Token: "t6"}, time.Now().Add(time.Hour), "", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.lock")
			if tc.raw != "" {
				os.WriteFile(path, []byte(strings.TrimSpace(tc.raw)), 0o644)
				os.Chtimes(path, tc.heartbeat, tc.heartbeat)
			} else {
				writeLock(t, path, tc.holder, tc.heartbeat)
			}
			st, err := Inspect(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !st.Held || st.Stale != tc.stale || !strings.Contains(st.Why, tc.why) {
				t.Errorf("Inspect: %+v, want held, stale %v, why containing %q", st, tc.stale, tc.why)
			}
			_, err = Acquire(path, Options{})
			var le *LockedError
			if !errors.As(err, &le) || le.Stale != tc.stale {
				t.Errorf("Acquire: %v, want a LockedError with stale %v", err, tc.stale)
			}
		})
	}
}

func TestTakeOver(t *testing.T) {
	dir := t.TempDir()
	self := Self()
	old := Holder{User: "ghost", Host: self.Host, Boot: self.Boot, PID: deadPID(t), Since: time.Now().Add(-time.Minute), Token: "ghost-token"}

	t.Run("stale", func(t *testing.T) {
		path := filepath.Join(dir, "stale.lock")
		writeLock(t, path, old, time.Now())
		_, err := Acquire(path, Options{})
		var le *LockedError
		if !errors.As(err, &le) || !le.Stale {
			t.Fatalf("Acquire: %v, want stale", err)
		}
		l, err := TakeOver(path, le.Holder, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Release()
		if err := l.Check(); err != nil {
			t.Fatal(err)
		}
		// Taking over again with the old holder must not steal the new lock.
		_, err = TakeOver(path, le.Holder, Options{})
		if !errors.As(err, &le) || le.Holder.Token != l.Holder().Token || le.Stale {
			t.Fatalf("second TakeOver: %v, want refused, naming the live holder", err)
		}
		if err := l.Check(); err != nil {
			t.Fatalf("the new lock after a refused TakeOver: %v", err)
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.Contains(e.Name(), "takeover") {
				t.Errorf("left behind: %s", e.Name())
			}
		}
	})
	t.Run("not stale", func(t *testing.T) {
		path := filepath.Join(dir, "live.lock")
		live, err := Acquire(path, Options{Identity: Holder{Host: "elsewhere"}})
		if err != nil {
			t.Fatal(err)
		}
		defer live.Release()
		_, err = TakeOver(path, live.Holder(), Options{})
		var le *LockedError
		if !errors.As(err, &le) || le.Stale {
			t.Fatalf("TakeOver of a live lock: %v, want refused", err)
		}
		if err := live.Check(); err != nil {
			t.Fatalf("the live lock after a refused TakeOver: %v", err)
		}
		// The heartbeat was kept: the lock put back is as fresh as before.
		st, _ := Inspect(path, Options{})
		if time.Since(st.Holder.Heartbeat) > time.Minute {
			t.Errorf("heartbeat after put back: %v", st.Holder.Heartbeat)
		}
	})
	t.Run("another taker at work", func(t *testing.T) {
		path := filepath.Join(dir, "busy.lock")
		writeLock(t, path, old, time.Now())
		// A live process (this one) is in the middle of taking it over.
		writeLock(t, path+".takeover-"+old.Token, Holder{User: "other", Host: self.Host, Boot: self.Boot, PID: os.Getpid(), Token: "b1"}, time.Now())
		_, err := TakeOver(path, old, Options{})
		var le *LockedError
		if !errors.As(err, &le) || le.Holder.Token != old.Token {
			t.Fatalf("TakeOver while another is under way: %v", err)
		}
		// That taker died: its breaker is cleared and the takeover goes on.
		os.Remove(path + ".takeover-" + old.Token)
		writeLock(t, path+".takeover-"+old.Token, Holder{User: "other", Host: self.Host, Boot: self.Boot, PID: deadPID(t), Token: "b2"}, time.Now())
		l, err := TakeOver(path, old, Options{})
		if err != nil {
			t.Fatalf("TakeOver past a dead taker's breaker: %v", err)
		}
		l.Release()
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "busy.lock") {
				t.Errorf("left behind: %s", e.Name())
			}
		}
	})
	t.Run("unreadable", func(t *testing.T) {
		path := filepath.Join(dir, "garbage.lock")
		os.WriteFile(path, []byte("{"), 0o644)
		past := time.Now().Add(-time.Hour)
		os.Chtimes(path, past, past)
		_, err := Acquire(path, Options{})
		var le *LockedError
		if !errors.As(err, &le) || !le.Stale || le.Holder.Token != "" {
			t.Fatalf("Acquire: %v", err)
		}
		// The file changed since it was seen: not the lock confirmed.
		later := past.Add(time.Minute)
		os.Chtimes(path, later, later)
		if _, err := TakeOver(path, le.Holder, Options{}); !errors.As(err, &le) {
			t.Fatalf("TakeOver of a changed unreadable lock: %v", err)
		}
		l, err := TakeOver(path, le.Holder, Options{})
		if err != nil {
			t.Fatal(err)
		}
		l.Release()
	})
	t.Run("released meanwhile", func(t *testing.T) {
		path := filepath.Join(dir, "gone.lock")
		l, err := TakeOver(path, old, Options{})
		if err != nil {
			t.Fatalf("TakeOver of a lock that is gone: %v", err)
		}
		l.Release()
	})
}

func TestLost(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.lock")
	opt := Options{Timeout: 300 * time.Millisecond, Interval: 20 * time.Millisecond}
	l, err := Acquire(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	// Another process takes the lock over after the holder looked dead.
	thief := Holder{User: "thief", Host: "elsewhere", PID: 1, Token: "thief-token", Since: time.Now()}
	os.Remove(path)
	writeLock(t, path, thief, time.Now())
	err = l.Check()
	var lost *LostError
	if !errors.As(err, &lost) || !errors.Is(err, ErrLost) || lost.By.User != "thief" {
		t.Fatalf("Check: %v, want lost to thief", err)
	}
	// The heartbeat keeps away from a file that is not its own: after it
	// found the loss, the thief's heartbeat ages.
	time.Sleep(100 * time.Millisecond)
	before, _ := Inspect(path, opt)
	time.Sleep(100 * time.Millisecond)
	after, _ := Inspect(path, opt)
	if !after.Holder.Heartbeat.Equal(before.Holder.Heartbeat) {
		t.Error("a lost lock's heartbeat still touches the file")
	}
	if err := l.Release(); !errors.Is(err, ErrLost) {
		t.Errorf("Release of a lost lock: %v", err)
	}
	if st, _ := Inspect(path, opt); st.Holder.Token != "thief-token" {
		t.Errorf("Release removed the thief's lock: %+v", st)
	}
}

func TestHeartbeat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.lock")
	opt := Options{Timeout: 400 * time.Millisecond, Interval: 20 * time.Millisecond, Identity: Holder{Host: "elsewhere"}}
	l, err := Acquire(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	past := time.Now().Add(-time.Hour)
	os.Chtimes(path, past, past)
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := Inspect(path, opt)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Stale {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the heartbeat never refreshed the lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// FuzzInspect reads arbitrary bytes as a lock file: no panic; a file that
// does not parse is an unreadable lock, never a free one.
func FuzzInspect(f *testing.F) {
	b, _ := json.Marshal(Holder{User: "a", Host: "h", PID: 1, Token: "t", Since: time.Unix(1e9, 0)})
	for _, s := range [][]byte{b, []byte(""), []byte("{"), []byte(`{"token": 5}`), []byte(`{"pid": -1, "token": "x"}`)} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<17 {
			return
		}
		p := filepath.Join(dir, "x.lock")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := Inspect(p, Options{})
		if err != nil || !st.Held {
			t.Fatalf("Inspect: %+v, %v; want a held lock", st, err)
		}
		_ = st.Holder.String()
	})
}
