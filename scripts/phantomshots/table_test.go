package main

import (
	"testing"

	"github.com/polyseg/polyseg/volume"
)

func TestErode(t *testing.T) {
	g := volume.Grid{Dims: [3]int{5, 5, 5}, Affine: volume.Identity()}
	tests := []struct {
		name string
		in   func(i, j, k int) bool
		want int
	}{
		{"3×3×3 cube keeps its centre", func(i, j, k int) bool { return i >= 1 && i <= 3 && j >= 1 && j <= 3 && k >= 1 && k <= 3 }, 1},
		{"a plane keeps nothing", func(i, j, k int) bool { return k == 2 }, 0},
		{"everything keeps the interior", func(i, j, k int) bool { return true }, 27},
	}
	for _, tc := range tests {
		m := make([]bool, g.Len())
		for k := 0; k < 5; k++ {
			for j := 0; j < 5; j++ {
				for i := 0; i < 5; i++ {
					m[g.Index(i, j, k)] = tc.in(i, j, k)
				}
			}
		}
		n := 0
		for _, v := range erode(g, m) {
			if v {
				n++
			}
		}
		if n != tc.want {
			t.Errorf("%s: %d voxels left, want %d", tc.name, n, tc.want)
		}
	}
}

// TestOutside checks that air enclosed by the body (bowel gas) is not
// counted as outside, and the air around it is.
func TestOutside(t *testing.T) {
	const n = 9
	v := &volume.Volume{Grid: volume.Grid{Dims: [3]int{n, n, 1}, Affine: volume.Identity()}, Data: make([]float32, n*n)}
	for j := 0; j < n; j++ {
		for i := 0; i < n; i++ {
			hu := float32(-1000)
			if i >= 2 && i <= 6 && j >= 2 && j <= 6 && !(i == 4 && j == 4) {
				hu = 40 // a body with a bubble of gas at its centre
			}
			v.Data[j*n+i] = hu
		}
	}
	out := outside(v)
	if out[4*n+4] {
		t.Error("gas inside the body counted as outside")
	}
	if !out[0] || !out[n*n-1] || !out[4*n] {
		t.Error("air around the body not counted as outside")
	}
	if out[3*n+3] {
		t.Error("body counted as outside")
	}
}
