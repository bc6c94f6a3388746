package inference

import (
	"context"
	"errors"
	"math"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/polyseg/polyseg/internal/realdata"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/volume"
)

// A box around the liver on an axial slice of patient B (contrast CT):
// SAM's answer must match the reference on that slice. The slice with the
// largest liver area is used; its embedding is cached on disk after the
// first run.
func TestSegmentBoxLiverPatientB(t *testing.T) {
	sam := testSAM(t)
	v, l, _ := realdata.PatientB(t, realData)
	sl, err := NewSlicer(v.Grid, Axial)
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
	ref, _ := sl.Mask(l, best, liver)
	b, _ := ref.Bounds()
	// The box in voxel coordinates, as the app's box tool gives it.
	a := sl.Voxel(best, b.R0, b.C0)
	z := sl.Voxel(best, b.R1, b.C1)
	got, err := sam.SegmentBox(context.Background(), v, Axial, best, a, z)
	if err != nil {
		t.Fatal(err)
	}
	d := dice2D(got, ref)
	t.Logf("slice %d, liver area %d px, SAM box Dice %.3f", best, bestArea, d)
	if d < 0.85 {
		t.Errorf("Dice %.3f < 0.85 for a box around the liver on slice %d", d, best)
	}
}

// Cancelling the context stops an encoder run in progress (ONNX Runtime's
// terminate flag), rather than waiting for it to finish.
func TestEmbedCancelled(t *testing.T) {
	rt := testRuntime(t)
	sam, err := rt.LoadDefaultSAM(SAMOptions{NoCache: true})
	if err != nil {
		t.Skipf("SAM weights unavailable (run scripts/fetch-runtime.sh): %v", err)
	}
	defer sam.Close()
	img := make([]float32, 64*64)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	_, err = sam.Embed(ctx, img, 64, 64, models.Window{Level: 40, Width: 400})
	switch {
	case err == nil:
		t.Skip("the encoder finished before the cancellation arrived")
	case !errors.Is(err, context.Canceled):
		t.Fatalf("cancelled encoder returned %v, want context.Canceled", err)
	}
}

// Refining one slice of an eroded liver (the app's preview) must bring it
// closer to the reference on that slice, and leave the label volume alone.
func TestRefineSlicePatientB(t *testing.T) {
	sam := testSAM(t)
	v, l, _ := realdata.PatientB(t, realData)
	sl, err := NewSlicer(v.Grid, Axial)
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
	got, decs, err := sam.RefineSlice(context.Background(), v, coarse, k, liver, RefineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eroded, _ := sl.Mask(coarse, k, liver)
	d0, d1 := dice2D(eroded, ref), dice2D(got, ref)
	t.Logf("slice %d: Dice %.3f -> %.3f, decisions %v", k, d0, d1, decs)
	if d1 <= d0 || d1 < 0.95 {
		t.Errorf("refined slice Dice %.3f (coarse %.3f), want better and at least 0.95", d1, d0)
	}
	if !slices.Equal(before, coarse.Data) {
		t.Errorf("RefineSlice changed the coarse label volume")
	}
}

// A coarse mask whose every component SAM's answer cannot replace (minimum
// IoU above any SAM estimate) must come back from the real refinement
// exactly as it went in (issue 7, item 8). The slice is patient A's largest
// liver cross-section stored as an 8-bit windowed image (liver window to
// 0..255 grey), as another dataset ships it: before the fix the edge trim
// still cut into the kept mask there.
func TestRefineSliceKeptUnchangedPatientA8Bit(t *testing.T) {
	sam := testSAM(t)
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
	sl, err := NewSlicer(v.Grid, Axial)
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
	opts := RefineOptions{
		MinIoU:  2, // SAM's estimate never reaches it: every component is kept
		Windows: map[uint16]models.Window{liver: {Level: 127.5, Width: 255}},
	}
	got, decs, err := sam.RefineSlice(context.Background(), v, l, best, liver, opts)
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
		t.Errorf("kept liver changed: Dice %.3f against the coarse mask, want it unchanged", dice2D(got, coarse))
	}
}
