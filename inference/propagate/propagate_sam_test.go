package propagate

import (
	"context"
	"errors"
	"testing"

	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/internal/modeltest"
	"github.com/polyseg/polyseg/internal/realdata"
	"github.com/polyseg/polyseg/metrics"
	"github.com/polyseg/polyseg/volume"
)

// largestSlice returns the anchor of evaluation.md: the reference mask of
// value on the axial slice where it is largest, and the organ's extent.
func largestSlice(t *testing.T, sl *section.Slicer, ref *volume.Labels, value uint16) (a Anchor, first, last int) {
	t.Helper()
	first, last = -1, -1
	area := 0
	for k := 0; k < sl.Slices; k++ {
		m, err := sl.Mask(ref, k, value)
		if err != nil {
			t.Fatal(err)
		}
		n := m.Area()
		if n == 0 {
			continue
		}
		if first < 0 {
			first = k
		}
		last = k
		if n > area {
			a, area = Anchor{Slice: k, Mask: m}, n
		}
	}
	if first < 0 {
		t.Fatalf("label %d absent", value)
	}
	return a, first, last
}

// The targets of the propagation issue, with floors a little below them:
// one anchor on the slice of largest area, 3D Dice against the reference,
// and no run more than 2 slices past the organ's ends.
func TestPropagateSAMRealPatients(t *testing.T) {
	sm := modeltest.SAM(t)
	vb, refB, _ := realdata.PatientB(t, realData)
	va, refA := realdata.PatientA(t, realData)
	for _, tc := range []struct {
		patient string
		v       *volume.Volume
		ref     *volume.Labels
		organ   string
		value   uint16
		floor   float64
	}{
		{"B", vb, refB, "liver", 5, 0.90},
		{"B", vb, refB, "spleen", 1, 0.83},
		{"A", va, refA, "liver", 5, 0.78},
		{"A", va, refA, "spleen", 1, 0.83},
	} {
		t.Run(tc.patient+" "+tc.organ, func(t *testing.T) {
			sl, err := section.NewSlicer(tc.v.Grid, section.Axial)
			if err != nil {
				t.Fatal(err)
			}
			anchor, first, last := largestSlice(t, sl, tc.ref, tc.value)
			streamed := map[int]int{}
			res, err := NewSAMEngine(sm, DefaultSAMOptions()).Propagate(context.Background(), Request{
				Volume: tc.v, Label: tc.value, Anchors: []Anchor{anchor},
				OnSlice: func(r SliceResult) { streamed[r.Slice]++ },
			})
			if err != nil {
				t.Fatal(err)
			}
			got := volume.NewLabels(tc.v.Grid)
			lo, hi := sl.Slices, -1
			for _, s := range res.Slices {
				if streamed[s.Slice] != 1 {
					t.Errorf("slice %d streamed %d times", s.Slice, streamed[s.Slice])
				}
				if s.Confidence < 0 || s.Confidence > 1 {
					t.Errorf("slice %d: confidence %v", s.Slice, s.Confidence)
				}
				if err := sl.WriteMask(got, s.Slice, s.Mask, tc.value); err != nil {
					t.Fatal(err)
				}
				if s.Mask.Area() > 0 {
					lo, hi = min(lo, s.Slice), max(hi, s.Slice)
				}
			}
			p, q := make([]bool, len(got.Data)), make([]bool, len(got.Data))
			for i := range p {
				p[i], q[i] = got.Data[i] == tc.value, tc.ref.Data[i] == tc.value
			}
			m, err := metrics.Compare(p, q, tc.v.Dims, tc.v.Spacing())
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("patient %s %s from slice %d: 3D Dice %.3f, HD95 %.1f mm, organ on %d..%d, propagated %d..%d",
				tc.patient, tc.organ, anchor.Slice, m.Dice, m.HD95, first, last, lo, hi)
			if m.Dice < tc.floor {
				t.Errorf("Dice %.3f below the floor %.2f", m.Dice, tc.floor)
			}
			if first-lo > 2 || hi-last > 2 {
				t.Errorf("ran %d slices below and %d above the organ; at most 2", first-lo, hi-last)
			}
			if res.Info.Engine != "sam" || len(res.Info.Models) != 2 || res.Info.Provider == "" {
				t.Errorf("engine info %+v", res.Info)
			}
		})
	}
}

// Between two anchors each slice is decided once, from the nearer anchor;
// a range bounds what is decided; cancellation stops the engine.
func TestPropagateSAMAnchorsRangeCancel(t *testing.T) {
	sm := modeltest.SAM(t)
	v, ref, _ := realdata.PatientB(t, realData)
	sl, _ := section.NewSlicer(v.Grid, section.Axial)
	mask := func(k int) *section.Mask {
		m, err := sl.Mask(ref, k, 5)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	eng := NewSAMEngine(sm, DefaultSAMOptions())
	ctx := context.Background()
	var order []int
	res, err := eng.Propagate(ctx, Request{
		Volume: v, Label: 5, Anchors: []Anchor{{Slice: 14, Mask: mask(14)}, {Slice: 6, Mask: mask(6)}},
		Range:   &SliceRange{From: 4, To: 16},
		OnSlice: func(r SliceResult) { order = append(order, r.Slice) },
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, k := range order {
		if seen[k] {
			t.Errorf("slice %d decided twice", k)
		}
		seen[k] = true
		if k < 4 || k > 16 {
			t.Errorf("slice %d decided outside the range 4..16", k)
		}
	}
	for k := 4; k <= 16; k++ {
		if !seen[k] {
			t.Errorf("slice %d inside the range was not decided", k)
		}
	}
	for _, s := range res.Slices {
		if (s.Slice == 6 || s.Slice == 14) != s.Anchor {
			t.Errorf("slice %d: anchor %v", s.Slice, s.Anchor)
		}
	}
	// The anchors come first, then chains grow outward step by step: the
	// slices next to the anchors are decided before those far from them.
	if pos := func(k int) int {
		for i, x := range order {
			if x == k {
				return i
			}
		}
		return -1
	}; pos(7) > pos(10) || pos(13) > pos(10) {
		t.Errorf("order %v: slices next to the anchors should come before the middle", order)
	}

	cctx, cancel := context.WithCancel(ctx)
	n := 0
	_, err = eng.Propagate(cctx, Request{Volume: v, Label: 5, Anchors: []Anchor{{Slice: 10, Mask: mask(10)}},
		OnSlice: func(r SliceResult) {
			if n++; n == 3 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) || n > 4 {
		t.Errorf("cancelled after 3 slices: err %v, %d slices decided", err, n)
	}
}

func TestPropagateRefusesBadRequests(t *testing.T) {
	g := volume.Grid{Dims: [3]int{8, 6, 5}, Affine: volume.Identity()}
	v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	sl, _ := section.NewSlicer(g, section.Axial)
	full := section.NewMask(sl.Rows, sl.Cols)
	full.Data[3] = true
	for _, tc := range []struct {
		name string
		req  Request
	}{
		{"no volume", Request{Anchors: []Anchor{{Slice: 1, Mask: full}}}},
		{"no anchor", Request{Volume: v}},
		{"empty anchor", Request{Volume: v, Anchors: []Anchor{{Slice: 1, Mask: section.NewMask(sl.Rows, sl.Cols)}}}},
		{"wrong size", Request{Volume: v, Anchors: []Anchor{{Slice: 1, Mask: section.NewMask(2, 2)}}}},
		{"two on one slice", Request{Volume: v, Anchors: []Anchor{{Slice: 1, Mask: full}, {Slice: 1, Mask: full}}}},
		{"outside the range", Request{Volume: v, Anchors: []Anchor{{Slice: 4, Mask: full}}, Range: &SliceRange{From: 0, To: 2}}},
		{"range outside the scan", Request{Volume: v, Anchors: []Anchor{{Slice: 1, Mask: full}}, Range: &SliceRange{From: 0, To: 9}}},
		{"coronal", Request{Volume: v, Plane: "coronal", Anchors: []Anchor{{Slice: 1, Mask: full}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, _, err := CheckRequest(tc.req); err == nil {
				t.Error("accepted")
			}
		})
	}
}
