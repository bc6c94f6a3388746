package app

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/interp"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// ballSession returns a session on a 40×36×30 scan (1 × 1 × 2 mm) whose
// labels hold a ball of label 7 drawn on every 3rd slice of plane only,
// with a band of label 2 across the ball's middle slices, and the full
// ball.
func ballSession(t *testing.T, plane viewer.Plane) (*Session, *volume.Labels) {
	t.Helper()
	g := volume.Grid{Dims: [3]int{40, 36, 30}, Affine: volume.Identity()}
	g.Affine[2][2] = 2
	v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	ref := volume.NewLabels(g)
	for k := range g.Dims[2] {
		for j := range g.Dims[1] {
			for i := range g.Dims[0] {
				x, y, z := float64(i-20)/13, float64(j-18)/12, float64(2*k-30)/24
				if x*x+y*y+z*z <= 1 {
					ref.Data[g.Index(i, j, k)] = 7
				}
			}
		}
	}
	s := newTestSession(t, Options{})
	if err := s.SetVolume(v, ""); err != nil {
		t.Fatal(err)
	}
	sparse := interp.Sparse(ref, 7, interp.SliceAxis(g, plane.Normal()), 3)
	for k := 13; k <= 16; k++ {
		for j := range g.Dims[1] {
			for i := 18; i < 22; i++ {
				if sparse.Data[g.Index(i, j, k)] == 0 {
					sparse.Data[g.Index(i, j, k)] = 2
				}
			}
		}
	}
	if _, err := s.ReplaceLabels("Draw", sparse); err != nil {
		t.Fatal(err)
	}
	return s, ref
}

// TestFillBetweenShape fills a ball drawn on every 3rd slice of each plane:
// the preview adds the ball's other slices, leaves the other label alone,
// Enter (AcceptPreview) makes it one undo step and Esc (RejectPreview)
// leaves the labels as they were.
func TestFillBetweenShape(t *testing.T) {
	for _, plane := range viewer.Planes {
		t.Run(plane.String(), func(t *testing.T) {
			s, ref := ballSession(t, plane)
			before := labelsOf(s)
			job, err := s.FillBetween(plane, 7, FillShape)
			if err != nil {
				t.Fatal(err)
			}
			if err := job.Wait(); err != nil {
				t.Fatal(err)
			}
			info, ok := s.Preview()
			if !ok || info.Voxels == 0 || info.Slice != -1 || !strings.Contains(info.Name, plane.String()) {
				t.Fatalf("preview %+v, %v: want a whole-volume preview of the %s fill", info, ok, plane)
			}
			if !equalLabels(labelsOf(s), before) {
				t.Fatal("the preview changed the labels before it was accepted")
			}
			s.RejectPreview()
			if !equalLabels(labelsOf(s), before) {
				t.Fatal("rejecting the preview changed the labels")
			}
			job, err = s.FillBetween(plane, 7, FillShape)
			if err != nil {
				t.Fatal(err)
			}
			if err := job.Wait(); err != nil {
				t.Fatal(err)
			}
			n, err := s.AcceptPreview()
			if err != nil || n != info.Voxels {
				t.Fatalf("accept changed %d voxels (%v), the preview proposed %d", n, err, info.Voxels)
			}
			after := labelsOf(s)
			// Compared outside the band of label 2, which the fill must not
			// take.
			if d := dice(after, ref.Data, 7, func(i int) bool { return before[i] != 2 }); d < 0.95 {
				t.Errorf("Dice %.3f against the whole ball, want ≥ 0.95", d)
			}
			for i, x := range before {
				if x != 0 && after[i] != x {
					t.Fatalf("voxel %d changed from %d to %d: only background may be filled", i, x, after[i])
				}
			}
			if name, ok := s.Undo(); !ok || !strings.HasPrefix(name, "Fill") || !equalLabels(labelsOf(s), before) {
				t.Errorf("undo %q, %v: want one step back to the drawn slices", name, ok)
			}
		})
	}
}

func equalLabels(a, b []uint16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFillBetweenRefuses(t *testing.T) {
	empty := New(Options{AutosaveDir: t.TempDir()})
	t.Cleanup(empty.Close)
	s, _ := ballSession(t, viewer.Axial)
	// Label 2 covers slices 13 to 16 without a gap.
	tests := []struct {
		name  string
		s     *Session
		plane viewer.Plane
		value uint16
		mode  FillMode
		want  string
	}{
		{"no scan", empty, viewer.Axial, 7, FillShape, "no scan"},
		{"background", s, viewer.Axial, 0, FillShape, "background"},
		{"absent label", s, viewer.Axial, 9, FillShape, "drawn on no slice"},
		{"nothing between", s, viewer.Axial, 2, FillShape, "none empty between them"},
		{"SAM on coronal slices", s, viewer.Coronal, 7, FillGuided, "axial"},
		{"unknown mode", s, viewer.Axial, 7, FillMode(9), "mode"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before []uint16
			if v, _ := tc.s.Volume(); v != nil {
				before = labelsOf(tc.s)
			}
			job, err := tc.s.FillBetween(tc.plane, tc.value, tc.mode)
			if err == nil || job != nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("job %v, error %v; want no job and an error saying %q", job, err, tc.want)
			}
			if _, ok := tc.s.Preview(); ok {
				t.Error("a preview appeared")
			}
			if before != nil && !equalLabels(labelsOf(tc.s), before) {
				t.Error("the labels changed")
			}
		})
	}
}

// TestFillBetweenGuidedPatientB fills patient B's spleen from every 10th
// axial slice with SAM: the preview, accepted, is at least as good as the
// plain fill (the task's bound for patient B).
func TestFillBetweenGuidedPatientB(t *testing.T) {
	s, ref := newPatientBSession(t, Options{})
	const spleen = 1
	v, _ := s.Volume()
	axis := interp.SliceAxis(v.Grid, 2)
	sparse := interp.Sparse(ref, spleen, axis, 10)
	if _, err := s.ReplaceLabels("Draw", sparse); err != nil {
		t.Fatal(err)
	}
	plain, err := interp.Fill(context.Background(), sparse, spleen, interp.Options{Axis: axis})
	if err != nil {
		t.Fatal(err)
	}
	job, err := s.FillBetween(viewer.Axial, spleen, FillGuided)
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcceptPreview(); err != nil {
		t.Fatal(err)
	}
	got, want := dice(labelsOf(s), ref.Data, spleen, nil), dice(plain.Labels.Data, ref.Data, spleen, nil)
	t.Logf("spleen Dice: SAM-guided %.4f, plain %.4f", got, want)
	if got < want || math.IsNaN(got) {
		t.Errorf("SAM-guided fill Dice %.4f, below the plain fill's %.4f", got, want)
	}
}

func TestFillBetweenCancelled(t *testing.T) {
	s, _ := ballSession(t, viewer.Axial)
	before := labelsOf(s)
	job, err := s.FillBetween(viewer.Axial, 7, FillShape)
	if err != nil {
		t.Fatal(err)
	}
	job.Cancel()
	if err := job.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	// Cancelled before it finished, it leaves no preview; finished first, a
	// preview that Esc drops. Either way the labels stay.
	s.RejectPreview()
	if !equalLabels(labelsOf(s), before) {
		t.Error("the labels changed")
	}
}
