package refine

import (
	"context"
	"testing"

	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/internal/modeltest"
	"github.com/polyseg/polyseg/internal/realdata"
	"github.com/polyseg/polyseg/volume"
)

// deepest is the click an annotator makes on a structure: the point of m
// farthest from its border.
func deepest(m *section.Mask, dr, dc float64) sam.Point {
	at, _ := section.Deepest(m, dr, dc)
	return sam.Point{Row: float64(at/m.Cols) + 0.5, Col: float64(at%m.Cols) + 0.5, Positive: true}
}

// One click at an organ's deepest point, on a slice where nothing is drawn
// and no box is given. SAM asked with the click alone answers with the
// whole body on every one of these (2D Dice 0.05–0.42); from the click's
// region it gives the organ (measured: A liver 0.941, A spleen 0.966, A
// left kidney 0.920, B liver 0.968, B spleen 0.941; floors a little
// under). Patient A's right kidney touches the liver, of its density
// without contrast, and the region takes the liver in (0.21): a second
// click corrects that, and the answer is never the body.
func TestFreshClickRealPatients(t *testing.T) {
	sm := modeltest.SAM(t)
	va, la := realdata.PatientA(t, realData)
	vb, lb, _ := realdata.PatientB(t, realData)
	for _, tc := range []struct {
		name  string
		v     *volume.Volume
		l     *volume.Labels
		value uint16
		floor float64
	}{
		{"A liver", va, la, 5, 0.9},
		{"A spleen", va, la, 1, 0.9},
		{"A kidney_left", va, la, 3, 0.88},
		{"A kidney_right", va, la, 2, 0},
		{"B liver", vb, lb, 5, 0.93},
		{"B spleen", vb, lb, 1, 0.9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr, err := NewPrompter(sm, tc.v, sm.DefaultWindow())
			if err != nil {
				t.Fatal(err)
			}
			sl := pr.Slicer
			best, area := 0, 0
			for k := 0; k < sl.Slices; k++ {
				m, _ := sl.Mask(tc.l, k, tc.value)
				if n := m.Area(); n > area {
					best, area = k, n
				}
			}
			ref, _ := sl.Mask(tc.l, best, tc.value)
			dr, dc := sl.PixelSpacing()
			click := deepest(ref, dr, dc)
			q := SlicePrompt{Points: []sam.Point{click}}
			a, err := pr.Ask(context.Background(), best, q, nil)
			if err != nil {
				t.Fatal(err)
			}
			alone, err := pr.AskWith(context.Background(), best, q, nil, ClickOptions{SeedMM: -1})
			if err != nil {
				t.Fatal(err)
			}
			img, _ := sl.Image(tc.v, best)
			d, was := section.Dice(a.Mask, ref), section.Dice(alone.Mask, ref)
			t.Logf("slice %d: SAM asked with the click alone %.3f (%d px), the answer %.3f (%d px, reference %d): %s",
				best, was, alone.Mask.Area(), d, a.Mask.Area(), ref.Area(), a.Guard)
			if d < tc.floor || tc.floor > 0 && d < was+0.3 {
				t.Errorf("2D Dice %.3f (the click alone %.3f): want at least %.2f and 0.3 better", d, was, tc.floor)
			}
			if wholeBody(a.Mask, bodyArea(img)) || !a.Mask.Data[int(click.Row)*sl.Cols+int(click.Col)] {
				t.Errorf("the answer (%d px) is the body, or leaves out the click", a.Mask.Area())
			}
			if len(a.LowRes) != sam.LowRes*sam.LowRes {
				t.Errorf("low-resolution answer of %d values", len(a.LowRes))
			}
		})
	}
}

// When the click's density reaches the slice's edge (a click at an edge of
// a tissue that fills the slice), the answer falls back to a disc at the
// click of the click's density; a negative click alone segments nothing.
func TestFreshClickRegions(t *testing.T) {
	const n = 40
	img := make([]float32, n*n)
	for i := range img {
		img[i] = 40 // one tissue, edge to edge
	}
	for r := 18; r < 22; r++ {
		for c := 18; c < 22; c++ {
			img[r*n+c] = 200 // a small bright structure
		}
	}
	o := GuardOptions{}.withDefaults()
	at := []sam.Point{{Row: 30.5, Col: 30.5, Positive: true}}
	if r := seedRegion(img, n, n, at, 5, o, 1, 1); !wholeBody(r, bodyArea(img)) {
		t.Errorf("the region of a tissue filling the slice (%d px) is not flagged as the body", r.Area())
	}
	d := clickDiscs(img, n, n, at, 10, o, 1, 1)
	if d.Area() == 0 || d.Area() > 320 || !d.Data[30*n+30] {
		t.Errorf("fallback disc of %d px: want the click's disc of radius 10 (about 314 px) at most", d.Area())
	}
	small := []sam.Point{{Row: 19.5, Col: 19.5, Positive: true}}
	if r := seedRegion(img, n, n, small, 1, o, 1, 1); r.Area() != 16 {
		t.Errorf("the region of a 4×4 structure clicked at its middle: %d px, want 16", r.Area())
	}
	if hasPositive([]sam.Point{{Row: 3, Col: 3}}) {
		t.Error("a negative click counted as positive")
	}
}
