package embedcache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polyseg/polyseg/internal/lockfile"
)

// text is a codec of strings that refuses files not ending in its
// terminator, as a real codec refuses a file cut short; a value's size is
// its length.
type text struct{}

func (text) Marshal(v string) ([]byte, error) { return []byte(v + "$"), nil }

func (text) Unmarshal(_ string, b []byte) (string, error) {
	if !bytes.HasSuffix(b, []byte("$")) {
		return "", errors.New("cut short")
	}
	return string(b[:len(b)-1]), nil
}

func (text) Size(v string) int64 { return int64(len(v)) }

func key(c byte) string { return strings.Repeat(string(c), 64) }

func TestCache(t *testing.T) {
	for _, behind := range []bool{false, true} {
		name := "sync"
		if behind {
			name = "write-behind"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Dir: dir, Magic: "TESTMAG1", Ext: ".t", MemoryEntries: 1, WriteBehind: behind}
			c := New[string](opts, text{})
			c.Put(key('a'), "first")
			c.Put(key('b'), "second") // evicts a from memory
			if v, ok := c.Get(key('a')); !ok || v != "first" {
				t.Fatalf("evicted value: %q, %v; want it from its file", v, ok)
			}
			if !c.Has(key('b')) || c.Has(key('c')) {
				t.Error("Has is wrong")
			}
			c.Close()

			fresh := New[string](opts, text{})
			defer fresh.Close()
			if v, ok := fresh.Get(key('b')); !ok || v != "second" {
				t.Fatalf("disk round trip: %q, %v", v, ok)
			}
			// A damaged file is ignored, and so is another cache's file.
			p := fresh.Path(key('a'))
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-1], 0o600)
			if _, ok := fresh.Get(key('a')); ok {
				t.Error("a truncated file was served")
			}
			other := New[string](Options{Dir: dir, Magic: "OTHERMAG", Ext: ".t"}, text{})
			if _, ok := other.Get(key('b')); ok || other.Has(key('b')) {
				t.Error("a file with another magic was served")
			}
			if got := filepath.Dir(p); filepath.Base(got) != "aa" {
				t.Errorf("file %s not under its key's first two characters", p)
			}
		})
	}
}

func TestMemoryBounds(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		put  []string // values, under keys a, b, c, ...
		kept string   // the keys still in memory afterwards
	}{
		{"entries", Options{MemoryEntries: 2}, []string{"a", "b", "c"}, "bc"},
		{"bytes", Options{MemoryBytes: 10}, []string{"xxxx", "yyyy", "zzzz"}, "bc"},
		{"bytes, small values", Options{MemoryBytes: 10}, []string{"xxxx", "y", "zz", "w"}, "abcd"},
		{"bytes, one too big", Options{MemoryBytes: 10}, []string{"xx", "yyyyyyyyyyyy"}, "a"},
		{"none", Options{}, []string{"a"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Magic = "TESTMAG1"
			c := New[string](tc.opts, text{})
			defer c.Close()
			for i, v := range tc.put {
				c.Put(key(byte('a'+i)), v)
			}
			var kept string
			for i := range tc.put {
				if c.Has(key(byte('a' + i))) {
					kept += string(rune('a' + i))
				}
			}
			if kept != tc.kept {
				t.Errorf("kept %q, want %q", kept, tc.kept)
			}
			c.mu.Lock()
			_, used := c.mem.len()
			c.mu.Unlock()
			if tc.opts.MemoryBytes > 0 && used > tc.opts.MemoryBytes {
				t.Errorf("memory holds %d bytes, bound %d", used, tc.opts.MemoryBytes)
			}
		})
	}
}

// TestDiskBound fills a bounded folder and checks that the least recently
// used files go first, that a read makes a file recent, and that files of
// other extensions stay.
func TestDiskBound(t *testing.T) {
	dir := t.TempDir()
	// Each file is 8 bytes of magic + 100 + 1. The files are made by an
	// unbounded cache and given uses an hour ago, a minute apart; then a
	// cache bounded to 400 bytes reads b (making it recent) and adds e:
	// 545 bytes, evicted down to 360, the least recently used first.
	unbounded := New[string](Options{Dir: dir, Magic: "TESTMAG1", Ext: ".t"}, text{})
	val := strings.Repeat("v", 100)
	old := time.Now().Add(-time.Hour)
	for i, k := range []byte("abcd") {
		unbounded.Put(key(k), val)
		at := old.Add(time.Duration(i) * time.Minute)
		os.Chtimes(unbounded.Path(key(k)), at, at)
	}
	unbounded.Close()
	c := New[string](Options{Dir: dir, Magic: "TESTMAG1", Ext: ".t", DiskBytes: 400}, text{})
	defer c.Close()
	foreign := filepath.Join(dir, "aa", "other.bin")
	os.WriteFile(foreign, bytes.Repeat([]byte{1}, 1000), 0o600)
	if _, ok := c.Get(key('b')); !ok {
		t.Fatal("b is not cached")
	}
	u, err := c.Usage()
	if err != nil || u.Entries != 4 || u.Bytes != 4*109 || u.Bound != 400 {
		t.Fatalf("usage %+v, %v; want 4 entries of 109 bytes", u, err)
	}
	c.Put(key('e'), val)
	var left string
	for _, k := range []byte("abcde") {
		if _, err := os.Stat(c.Path(key(k))); err == nil {
			left += string(k)
		}
	}
	if left != "bde" {
		t.Errorf("files left %q, want bde (a and c least recently used, b read)", left)
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("a file of another extension was removed: %v", err)
	}
	if u, _ := c.Usage(); u.Bytes > 360 {
		t.Errorf("%d bytes left, want at most nine tenths of the bound", u.Bytes)
	}
}

// TestClaim checks the claim's life within one process: taken, held
// against a second claimer, given up by Put (the waiter then gets the
// value) or by Abandon (the waiter then computes).
func TestClaim(t *testing.T) {
	ctx := context.Background()
	for _, behind := range []bool{false, true} {
		t.Run(fmt.Sprint("write-behind=", behind), func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Dir: dir, Magic: "TESTMAG1", Ext: ".t", WriteBehind: behind, ClaimWait: 10 * time.Second}
			a, b := New[string](opts, text{}), New[string](opts, text{})
			defer a.Close()
			defer b.Close()
			if _, ok, err := a.Claim(ctx, key('k')); ok || err != nil {
				t.Fatalf("first claim: %v, %v; want to compute", ok, err)
			}
			got := make(chan string)
			go func() {
				v, ok, err := b.Claim(ctx, key('k'))
				if !ok || err != nil {
					v = fmt.Sprintf("claim: %v, %v", ok, err)
				}
				got <- v
			}()
			time.Sleep(100 * time.Millisecond)
			a.Put(key('k'), "value")
			if v := <-got; v != "value" {
				t.Errorf("waiter got %q", v)
			}
			// The writer gives the claim up just after writing the file
			// the waiter saw.
			for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				_, err := os.Stat(a.Path(key('k')) + claimExt)
				if os.IsNotExist(err) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("claim file left after Put: %v", err)
				}
			}

			// Abandoned: the waiter computes.
			if _, ok, _ := a.Claim(ctx, key('m')); ok {
				t.Fatal("m is cached")
			}
			done := make(chan bool)
			go func() {
				_, ok, err := b.Claim(ctx, key('m'))
				done <- !ok && err == nil
			}()
			time.Sleep(100 * time.Millisecond)
			a.Abandon(key('m'))
			if !<-done {
				t.Error("after Abandon the waiter did not get the claim")
			}
			b.Abandon(key('m'))

			// A cancelled wait returns the context's error.
			a.Claim(ctx, key('n'))
			cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			if _, _, err := b.Claim(cctx, key('n')); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("cancelled wait: %v", err)
			}
			a.Abandon(key('n'))
		})
	}
}

// TestClaimStale checks that a claim left by a process that has ended is
// taken over at once, and that one whose heartbeat stopped is taken over
// after ClaimStale.
func TestClaimStale(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := New[string](Options{Dir: dir, Magic: "TESTMAG1", Ext: ".t", ClaimStale: 300 * time.Millisecond, ClaimWait: 10 * time.Second}, text{})
	defer c.Close()
	// A process that has ended: a child that exited.
	child := exec.Command("true")
	if err := child.Run(); err != nil {
		t.Skipf("cannot run a child process: %v", err)
	}
	path := c.Path(key('d')) + claimExt
	self := lockfile.Self()
	l, err := lockfile.Acquire(path, lockfile.Options{Identity: lockfile.Holder{PID: child.Process.Pid, Host: self.Host, Boot: self.Boot}})
	if err != nil {
		t.Fatal(err)
	}
	_ = l // never released: its holder is gone
	t0 := time.Now()
	if _, ok, err := c.Claim(ctx, key('d')); ok || err != nil {
		t.Fatalf("claim of a dead process's key: %v, %v", ok, err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("took %v to take over a dead process's claim", d)
	}
	c.Abandon(key('d'))

	// A holder on another host whose heartbeat stopped: an empty claim
	// file (its writer died between creating and filling it) that is old.
	path = c.Path(key('e')) + claimExt
	os.MkdirAll(filepath.Dir(path), 0o755)
	os.WriteFile(path, nil, 0o600)
	past := time.Now().Add(-time.Minute)
	os.Chtimes(path, past, past)
	if _, ok, err := c.Claim(ctx, key('e')); ok || err != nil {
		t.Fatalf("claim over a stale file: %v, %v", ok, err)
	}
	c.Abandon(key('e'))
}

// The cross-process test runs this test binary again as helper processes
// (TestHelperProcess), which claim the same keys as the parent.
const (
	helperEnv = "EMBEDCACHE_HELPER"
	helperDir = "EMBEDCACHE_DIR"
	helperLog = "EMBEDCACHE_LOG"
)

// TestHelperProcess is a second process of TestCrossProcess; it does
// nothing in a normal run.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("a helper of TestCrossProcess")
	}
	dir := os.Getenv(helperDir)
	os.WriteFile(filepath.Join(dir, "ready"), nil, 0o600)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, "go")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the parent never said go")
		}
	}
	claimAndCompute(t, dir, os.Getenv(helperLog), "child", "edcba")
}

// claimAndCompute asks for keys in the order given as the sam package does: Claim, and
// when it falls to this process, "compute" (append a line to the log,
// sleep as an encoder would) and Put.
func claimAndCompute(t *testing.T, dir, log, who, keys string) {
	c := New[string](Options{Dir: dir, Magic: "TESTMAG1", Ext: ".t", WriteBehind: true, ClaimWait: 30 * time.Second}, text{})
	defer c.Close()
	for _, k := range []byte(keys) {
		v, ok, err := c.Claim(context.Background(), key(k))
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			f, err := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(f, "%c %s\n", k, who)
			f.Close()
			time.Sleep(150 * time.Millisecond)
			v = "value " + string(k)
			c.Put(key(k), v)
		}
		if v != "value "+string(k) {
			t.Errorf("%s: key %c: %q", who, k, v)
		}
	}
}

// TestCrossProcess runs two processes asking for the same five keys at
// once, in opposite orders: each key is computed by exactly one of them,
// and both get every value.
func TestCrossProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second process")
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "computed.log")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"=1", helperDir+"="+dir, helperLog+"="+log)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Both start together: the child says when it is ready.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the helper process never got ready")
		}
	}
	os.WriteFile(filepath.Join(dir, "go"), nil, 0o600)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		claimAndCompute(t, dir, log, "parent", "abcde")
	}()
	err := cmd.Wait()
	wg.Wait()
	if err != nil {
		t.Fatalf("helper process: %v\n%s", err, out.String())
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	seen, by := map[string]int{}, map[string]int{}
	for _, l := range lines {
		f := strings.Fields(l)
		seen[f[0]]++
		by[f[1]]++
	}
	if by["parent"] == 0 || by["child"] == 0 {
		t.Errorf("one process computed everything (%v): the two did not run together", by)
	}
	for _, k := range "abcde" {
		if n := seen[string(k)]; n != 1 {
			t.Errorf("key %c computed %d times (log:\n%s)", k, n, b)
		}
	}
	t.Logf("computed: %s", strconv.Quote(string(b)))
}
