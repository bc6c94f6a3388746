package section

import (
	"math"
	"math/rand/v2"
	"testing"
)

// randomMask returns a mask of a few random discs and rectangles.
func randomMask(rng *rand.Rand, rows, cols int) *Mask {
	m := NewMask(rows, cols)
	for n := 0; n < 3; n++ {
		cr, cc, rad := rng.IntN(rows), rng.IntN(cols), 1+rng.IntN(6)
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				if (r-cr)*(r-cr)+(c-cc)*(c-cc) <= rad*rad {
					m.Data[r*cols+c] = true
				}
			}
		}
	}
	return m
}

// bruteDistance is the distance in mm from pixel (r, c) to the nearest set
// pixel of m, by looking at all of them.
func bruteDistance(m *Mask, r, c int, dr, dc float64) float64 {
	best := math.Inf(1)
	for rr := 0; rr < m.Rows; rr++ {
		for cc := 0; cc < m.Cols; cc++ {
			if m.Data[rr*m.Cols+cc] {
				best = min(best, math.Hypot(float64(rr-r)*dr, float64(cc-c)*dc))
			}
		}
	}
	return best
}

func TestDilateErodeMatchBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		rows, cols int
		dr, dc, r  float64
	}{
		{30, 40, 1, 1, 2.5},
		{25, 33, 0.7, 1.9, 3},
		{40, 20, 3, 3, 6},
		{17, 50, 2, 0.5, 0.4},
	} {
		for trial := 0; trial < 5; trial++ {
			m := randomMask(rng, tc.rows, tc.cols)
			dil := DilateMM(m, tc.r, tc.dr, tc.dc)
			ero := ErodeMM(m, tc.r, tc.dr, tc.dc)
			// The outside of the image counts as background for erosion.
			outside := NewMask(tc.rows+2, tc.cols+2)
			for i := range outside.Data {
				outside.Data[i] = true
			}
			for r := 0; r < tc.rows; r++ {
				for c := 0; c < tc.cols; c++ {
					outside.Data[(r+1)*outside.Cols+c+1] = !m.Data[r*tc.cols+c]
				}
			}
			for r := 0; r < tc.rows; r++ {
				for c := 0; c < tc.cols; c++ {
					i := r*tc.cols + c
					if want := bruteDistance(m, r, c, tc.dr, tc.dc) <= tc.r; dil.Data[i] != want {
						t.Fatalf("%+v trial %d: dilation at (%d,%d) = %v, want %v", tc, trial, r, c, dil.Data[i], want)
					}
					if want := bruteDistance(outside, r+1, c+1, tc.dr, tc.dc) > tc.r; ero.Data[i] != want {
						t.Fatalf("%+v trial %d: erosion at (%d,%d) = %v, want %v", tc, trial, r, c, ero.Data[i], want)
					}
				}
			}
		}
	}
	if DilateMM(NewMask(4, 4), 3, 1, 1).Area() != 0 {
		t.Error("dilating an empty mask set pixels")
	}
}

func TestFillHoles(t *testing.T) {
	// A ring with a hole, a C open to the border side, and a cup touching
	// the image edge.
	rows := []string{
		"..........",
		".#####....",
		".#...#.###",
		".#.#.#.#..",
		".#####.###",
		"..........",
	}
	want := []string{
		"..........",
		".#####....",
		".#####.###",
		".#####.#..",
		".#####.###",
		"..........",
	}
	m := NewMask(len(rows), len(rows[0]))
	for r, row := range rows {
		for c, ch := range row {
			m.Data[r*m.Cols+c] = ch == '#'
		}
	}
	got := FillHoles(m)
	for r, row := range want {
		for c, ch := range row {
			if got.Data[r*m.Cols+c] != (ch == '#') {
				t.Fatalf("pixel (%d,%d) = %v, want %c", r, c, got.Data[r*m.Cols+c], ch)
			}
		}
	}
}

// overlapping keeps exactly the 8-connected components of m that share a
// pixel with ref, as labelling every component (Components) says.
func TestOverlappingKeepsTouchingComponents(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 50; trial++ {
		m, ref := randomMask(rng, 30, 41), randomMask(rng, 30, 41)
		lab, n := Components(m)
		touch := make([]bool, n+1)
		for i, l := range lab {
			if l != 0 && ref.Data[i] {
				touch[l] = true
			}
		}
		got := Overlapping(m, ref)
		for i, l := range lab {
			if want := l != 0 && touch[l]; got.Data[i] != want {
				t.Fatalf("trial %d: pixel %d kept %v, want %v", trial, i, got.Data[i], want)
			}
		}
	}
}

// Two discs joined by a bridge 2 pixels wide fall into two pieces at a
// neck radius of 2; regrowing one gives back that disc, its rim
// included, and neither the other disc nor the bridge beyond the regrowth.
func TestNeckPiecesRegrow(t *testing.T) {
	const rows, cols = 30, 60
	disc := func(m *Mask, r0, c0, rad int) {
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				if (r-r0)*(r-r0)+(c-c0)*(c-c0) <= rad*rad {
					m.Data[r*cols+c] = true
				}
			}
		}
	}
	left, m := NewMask(rows, cols), NewMask(rows, cols)
	disc(left, 15, 12, 8)
	disc(m, 15, 12, 8)
	disc(m, 15, 45, 8)
	for c := 20; c <= 37; c++ {
		m.Data[15*cols+c], m.Data[16*cols+c] = true, true
	}
	lab, n := NeckPieces(m, 2, 1, 1)
	if n != 2 {
		t.Fatalf("%d pieces, want the two discs", n)
	}
	keep := make([]bool, n+1)
	keep[lab[15*cols+12]] = true
	got := Regrow(m, lab, keep, 3, 1, 1)
	for i, on := range left.Data {
		if on && !got.Data[i] {
			t.Fatalf("pixel (%d, %d) of the disc kept is gone", i/cols, i%cols)
		}
	}
	if got.Data[15*cols+45] || got.Data[15*cols+30] {
		t.Error("the other disc or the far bridge came back")
	}
	if none := Regrow(m, lab, make([]bool, n+1), 3, 1, 1); none.Area() != 0 {
		t.Errorf("no piece kept: %d pixels", none.Area())
	}
}
