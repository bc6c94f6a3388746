package refine

import (
	"context"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/internal/modeltest"
	"github.com/polyseg/polyseg/internal/realdata"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/volume"
)

// Refining one slice of an eroded liver (the app's preview) must bring it
// closer to the reference on that slice, and leave the label volume alone.
func TestRefineSlicePatientB(t *testing.T) {
	sm := modeltest.SAM(t)
	v, l, _ := realdata.PatientB(t, realData)
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		t.Fatal(err)
	}
	const liver, k = 5, 10
	ref, err := sl.Mask(l, k, liver)
	if err != nil {
		t.Fatal(err)
	}
	coarse := volume.NewLabels(v.Grid)
	if err := sl.WriteMask(coarse, k, erode2D(ref, 2), liver); err != nil {
		t.Fatal(err)
	}
	before := append([]uint16(nil), coarse.Data...)
	got, decs, err := Slice(context.Background(), sm, v, coarse, k, liver, Options{})
	if err != nil {
		t.Fatal(err)
	}
	eroded, _ := sl.Mask(coarse, k, liver)
	d0, d1 := section.Dice(eroded, ref), section.Dice(got, ref)
	t.Logf("slice %d: Dice %.3f -> %.3f, decisions %v", k, d0, d1, decs)
	if d1 <= d0 || d1 < 0.95 {
		t.Errorf("refined slice Dice %.3f (coarse %.3f), want better and at least 0.95", d1, d0)
	}
	if !slices.Equal(before, coarse.Data) {
		t.Errorf("RefineSlice changed the coarse label volume")
	}
}

// A coarse mask whose every component SAM's answer cannot replace (minimum
// IoU above any Model estimate) must come back from the real refinement
// exactly as it went in (issue 7, item 8). The slice is patient A's largest
// liver cross-section stored as an 8-bit windowed image (liver window to
// 0..255 grey), as another dataset ships it: before the fix the edge trim
// still cut into the kept mask there.
func TestRefineSliceKeptUnchangedPatientA8Bit(t *testing.T) {
	sm := modeltest.SAM(t)
	ctPath := realData + "/example_ct.nii.gz"
	if _, err := os.Stat(ctPath); err != nil {
		t.Skipf("real data absent: %v", err)
	}
	v, err := volume.Open(context.Background(), ctPath, volume.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l, _, err := volume.LoadLabels(realData+"/example_seg_fast_force_split.nii.gz", v.Grid)
	if err != nil {
		t.Fatal(err)
	}
	const lo, width = 30 - 75, 150 // the liver window 150/30
	for i, hu := range v.Data {
		v.Data[i] = float32(math.Round(math.Min(math.Max((float64(hu)-lo)/width*255, 0), 255)))
	}
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		t.Fatal(err)
	}
	const liver = 5
	best, bestArea := -1, 0
	for k := 0; k < sl.Slices; k++ {
		m, err := sl.Mask(l, k, liver)
		if err != nil {
			t.Fatal(err)
		}
		if a := m.Area(); a > bestArea {
			best, bestArea = k, a
		}
	}
	coarse, _ := sl.Mask(l, best, liver)
	opts := Options{
		MinIoU:  2, // SAM's estimate never reaches it: every component is kept
		Windows: map[uint16]models.Window{liver: {Level: 127.5, Width: 255}},
	}
	got, decs, err := Slice(context.Background(), sm, v, l, best, liver, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("slice %d, liver area %d px, decisions %v", best, bestArea, decs)
	for _, d := range decs {
		if d == Replaced {
			t.Fatalf("a component was replaced with a minimum IoU of 2")
		}
	}
	if !slices.Equal(got.Data, coarse.Data) {
		t.Errorf("kept liver changed: Dice %.3f against the coarse mask, want it unchanged", section.Dice(got, coarse))
	}
}
