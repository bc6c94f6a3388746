package app

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// BoundGoHeap puts the heap's limit at its floor while little is live,
// and above the live heap when more is live, never at or below it.
func TestBoundGoHeap(t *testing.T) {
	orig := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(orig) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		BoundGoHeap(ctx, 64<<20, 5*time.Millisecond)
		close(done)
	}()
	wait := func(ok func(int64) bool) int64 {
		deadline := time.Now().Add(5 * time.Second)
		for {
			l := debug.SetMemoryLimit(-1)
			if ok(l) || time.Now().After(deadline) {
				return l
			}
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
		}
	}
	if l := wait(func(l int64) bool { return l == 64<<20 }); l != 64<<20 {
		t.Errorf("limit %d with little live, want the floor %d", l, 64<<20)
	}
	big := make([]byte, 256<<20)
	for i := range big {
		big[i] = byte(i)
	}
	want := int64(256<<20) + 32<<20 + 48<<20 // at least live + an eighth + 48 MiB
	if l := wait(func(l int64) bool { return l >= want }); l < want {
		t.Errorf("limit %d MiB with 256 MiB live, want at least %d MiB", l>>20, want>>20)
	}
	runtime.KeepAlive(big)
	cancel()
	<-done
}
