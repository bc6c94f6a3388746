package interp

import (
	"math"
	"math/rand/v2"
	"testing"
)

// bruteSigned is the signed distance by definition: the nearest pixel of the
// other kind, searched over the whole image.
func bruteSigned(m *Mask, dr, dc float64, r, c int) float64 {
	in := m.Data[r*m.Cols+c]
	best := math.Inf(1)
	for rr := 0; rr < m.Rows; rr++ {
		for cc := 0; cc < m.Cols; cc++ {
			if m.Data[rr*m.Cols+cc] != in {
				y, x := float64(rr-r)*dr, float64(cc-c)*dc
				best = min(best, math.Sqrt(y*y+x*x))
			}
		}
	}
	if in {
		return -best
	}
	return best
}

func randomMask(rng *rand.Rand, rows, cols int, density float64, box Rect) *Mask {
	m := NewMask(rows, cols)
	for r := box.R0; r < box.R1; r++ {
		for c := box.C0; c < box.C1; c++ {
			m.Data[r*cols+c] = rng.Float64() < density
		}
	}
	return m
}

func TestSignedDistanceExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name       string
		rows, cols int
		dr, dc     float64
		density    float64
		box        Rect // where the mask may have pixels
		within     Rect
	}{
		{"square pixels, whole image", 23, 31, 1, 1, 0.3, Rect{0, 0, 23, 31}, Rect{0, 0, 23, 31}},
		{"anisotropic, sparse", 40, 17, 0.7, 2.5, 0.05, Rect{0, 0, 40, 17}, Rect{0, 0, 40, 17}},
		{"anisotropic, dense", 19, 29, 3, 0.98, 0.8, Rect{0, 0, 19, 29}, Rect{0, 0, 19, 29}},
		{"mask inside, rect around it", 30, 30, 1.5, 1, 0.5, Rect{10, 12, 18, 20}, Rect{9, 11, 19, 21}},
		{"rect smaller than the mask", 30, 30, 1, 2, 0.6, Rect{5, 5, 25, 25}, Rect{12, 12, 16, 16}},
		{"rect away from the mask", 30, 30, 1, 1, 0.6, Rect{0, 0, 8, 8}, Rect{20, 20, 30, 30}},
		{"mask touching the edges", 12, 14, 2, 1, 0.9, Rect{0, 0, 12, 14}, Rect{0, 0, 12, 14}},
		{"one pixel", 9, 9, 1, 3, 1, Rect{4, 4, 5, 5}, Rect{0, 0, 9, 9}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for trial := range 5 {
				m := randomMask(rng, tc.rows, tc.cols, tc.density, tc.box)
				f, err := SignedDistance(m, tc.dr, tc.dc, tc.within)
				if err != nil {
					t.Fatal(err)
				}
				if f.Rect != tc.within {
					t.Fatalf("field over %v, want %v", f.Rect, tc.within)
				}
				for r := tc.within.R0; r < tc.within.R1; r++ {
					for c := tc.within.C0; c < tc.within.C1; c++ {
						want := bruteSigned(m, tc.dr, tc.dc, r, c)
						if got := f.At(r, c); math.Abs(got-want) > 1e-9*max(1, math.Abs(want)) && got != want {
							t.Fatalf("trial %d: pixel (%d,%d): %g, want %g", trial, r, c, got, want)
						}
					}
				}
			}
		})
	}
}

func TestSignedDistanceSpecialMasks(t *testing.T) {
	full := NewMask(4, 5)
	for i := range full.Data {
		full.Data[i] = true
	}
	tests := []struct {
		name string
		m    *Mask
		want float64
	}{
		{"empty mask is outside everywhere", NewMask(4, 5), math.Inf(1)},
		{"full mask is inside everywhere", full, math.Inf(-1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := SignedDistance(tc.m, 1, 1, Rect{0, 0, 4, 5})
			if err != nil {
				t.Fatal(err)
			}
			for i, d := range f.D {
				if d != tc.want {
					t.Fatalf("pixel %d: %g, want %g", i, d, tc.want)
				}
			}
		})
	}
}

func TestSignedDistanceRefusesBadInput(t *testing.T) {
	tests := []struct {
		name   string
		m      *Mask
		dr, dc float64
	}{
		{"short data", &Mask{Rows: 3, Cols: 3, Data: make([]bool, 8)}, 1, 1},
		{"zero rows", &Mask{Rows: 0, Cols: 3}, 1, 1},
		{"zero spacing", NewMask(3, 3), 0, 1},
		{"negative spacing", NewMask(3, 3), 1, -1},
		{"NaN spacing", NewMask(3, 3), math.NaN(), 1},
		{"infinite spacing", NewMask(3, 3), 1, math.Inf(1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := SignedDistance(tc.m, tc.dr, tc.dc, Rect{0, 0, 3, 3}); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestBounds(t *testing.T) {
	m := NewMask(6, 7)
	if b := m.Bounds(); !b.Empty() {
		t.Errorf("empty mask: bounds %v, want empty", b)
	}
	m.Data[1*7+5] = true
	m.Data[4*7+2] = true
	if b, want := m.Bounds(), (Rect{1, 2, 5, 6}); b != want {
		t.Errorf("bounds %v, want %v", b, want)
	}
}
