// Package parallel runs the iterations of a loop on a few goroutines, for
// the CPU-bound loops of meshing and rendering: each worker takes the next
// index until none is left, so uneven iterations (a slab dense with
// triangles beside an empty one) still keep every worker busy.
package parallel

import (
	"sync"
	"sync/atomic"
)

// For calls fn(0..n-1) on up to workers goroutines and returns when every
// call has returned. With one worker, or one iteration, it runs them in
// order on the caller's goroutine.
func For(n, workers int, fn func(i int)) {
	if workers <= 1 || n <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int32
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}
