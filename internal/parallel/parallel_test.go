package parallel

import (
	"sync/atomic"
	"testing"
)

func TestForCallsEachIndexOnce(t *testing.T) {
	for _, tt := range []struct{ n, workers int }{{0, 4}, {1, 4}, {7, 1}, {100, 3}, {5, 16}} {
		counts := make([]atomic.Int32, tt.n)
		For(tt.n, tt.workers, func(i int) { counts[i].Add(1) })
		for i := range counts {
			if c := counts[i].Load(); c != 1 {
				t.Errorf("n %d, workers %d: index %d called %d times", tt.n, tt.workers, i, c)
			}
		}
	}
}
