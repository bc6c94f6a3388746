package app

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// liveHeap is what the last collection found live.
func liveHeap() int64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// BoundGoHeap puts the heap's limit at its floor while less is live, and
// above the live heap when more is live, never at or below it. (Other
// tests of this binary leave a live heap of their own: the floor is taken
// above it.)
func TestBoundGoHeap(t *testing.T) {
	orig := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(orig) })
	floor := liveHeap() + 128<<20
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		BoundGoHeap(ctx, floor, 5*time.Millisecond)
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
	if l := wait(func(l int64) bool { return l == floor }); l != floor {
		t.Errorf("limit %d MiB with little live, want the floor %d MiB", l>>20, floor>>20)
	}
	big := make([]byte, 256<<20)
	for i := range big {
		big[i] = byte(i)
	}
	live := liveHeap()
	want := live + live/16 + 32<<20
	if l := wait(func(l int64) bool { return l >= want }); l < want {
		t.Errorf("limit %d MiB with %d MiB live, want a sixteenth and 32 MiB above it", l>>20, live>>20)
	}
	runtime.KeepAlive(big)
	cancel()
	<-done
}
