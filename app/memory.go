package app

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// GoHeapLimit is the least soft limit on the Go heap that BoundGoHeap
// sets. Left to the collector's default (GOGC=100), the heap grows to
// twice what is live before it is collected: with a 512×512×300 scan open
// (315 MB of voxels, 157 MB of labels, the undo steps, the embeddings in
// memory) it passed 1.2 GB while the background encoder ran, most of it
// garbage (docs/benchmarks.md, memory).
const GoHeapLimit = 640 << 20

// heapSlack is how far above the live heap BoundGoHeap puts the limit: a
// sixteenth of it and 32 MiB. A limit at or below what is live would make
// the collector run without a pause (the Go runtime caps it at about half
// the CPU); the app's garbage comes slowly once the encoder's buffers are
// reused (a few megabytes a slice), and a collection is cheap, as most of
// the heap is voxels and labels, arrays without pointers that it does not
// scan: so a small slack costs few and short collections. (An eighth and
// 48 MiB left 30 to 50 MB more resident with a 512×512×300 scan open,
// docs/benchmarks.md, memory.)
func heapSlack(live int64) int64 { return live/16 + 32<<20 }

// BoundGoHeap keeps the Go heap's soft limit (runtime/debug's
// SetMemoryLimit) a little above what the last collection found live
// (heapSlack), and at least floor, checking every interval until ctx
// ends. So garbage
// is collected before the heap doubles, yet a scan whose live data exceed
// floor never makes the collector run all the time. It changes a setting
// of the whole process: the app's binary calls it, once, unless the user
// set GOMEMLIMIT.
func BoundGoHeap(ctx context.Context, floor int64, interval time.Duration) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	set := func() {
		metrics.Read(sample)
		live := int64(0)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			live = int64(sample[0].Value.Uint64())
		}
		debug.SetMemoryLimit(max(floor, live+heapSlack(live)))
	}
	set()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			set()
		}
	}
}
