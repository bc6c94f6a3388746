package section

import (
	"math"
	"testing"
)

func TestDepth(t *testing.T) {
	full := NewMask(5, 5)
	for i := range full.Data {
		full.Data[i] = true
	}
	one := NewMask(3, 4)
	one.Data[1*4+2] = true
	for _, tt := range []struct {
		name   string
		m      *Mask
		dr, dc float64
		want   map[[2]int]float64
	}{
		// Beyond the slice counts as outside: the centre of a full 5×5 slice
		// is 3 pixels from the nearest pixel past its edge.
		{"full slice", full, 1, 1, map[[2]int]float64{{2, 2}: 3, {0, 0}: 1, {1, 2}: 2}},
		{"non-square pixels", full, 2, 0.5, map[[2]int]float64{{2, 2}: 1.5, {0, 2}: 1.5}},
		{"one pixel", one, 1, 1, map[[2]int]float64{{1, 2}: 1, {0, 0}: 0, {1, 1}: 0}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := Depth(tt.m, tt.dr, tt.dc)
			for rc, want := range tt.want {
				if got := d[rc[0]*tt.m.Cols+rc[1]]; math.Abs(got-want) > 1e-9 {
					t.Errorf("depth at %v = %g, want %g", rc, got, want)
				}
			}
		})
	}
}

// Deepest is the pixel farthest from the mask's outside, the first in row
// order among equals, and nothing on an empty mask.
func TestDeepest(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    *Mask
		at   int
		ok   bool
	}{
		{"empty", MaskOf("...", "..."), -1, false},
		{"a block's middle", MaskOf(".....", ".###.", ".###.", ".###.", "....."), 2*5 + 2, true},
		{"the thick end of a strip", MaskOf("#####...", "#####...", "#####...", "###....."), 1*8 + 1, true},
		{"ties go to the first", MaskOf("#.#"), 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at, ok := Deepest(tc.m, 1, 1)
			if at != tc.at || ok != tc.ok {
				t.Errorf("Deepest = %d, %v; want %d, %v", at, ok, tc.at, tc.ok)
			}
		})
	}
}
