package propagate

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSelectKth(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.IntN(60)
		xs := make([]float32, n)
		for i := range xs {
			xs[i] = float32(rng.IntN(20)) // many ties
		}
		sorted := append([]float32(nil), xs...)
		slices.Sort(sorted)
		k := rng.IntN(n)
		if got := selectKth(append([]float32(nil), xs...), k); got != sorted[k] {
			t.Fatalf("selectKth(%v, %d) = %v, want %v", xs, k, got, sorted[k])
		}
	}
}
