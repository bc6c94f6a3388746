package sam

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/internal/realdata"
	"github.com/polyseg/polyseg/models"
)

// A box around the liver on an axial slice of patient B (contrast CT):
// SAM's answer must match the reference on that slice. The slice with the
// largest liver area is used; its embedding is cached on disk after the
// first run.
func TestSegmentBoxLiverPatientB(t *testing.T) {
	sam := testSAM(t)
	v, l, _ := realdata.PatientB(t, realData)
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
	ref, _ := sl.Mask(l, best, liver)
	b, _ := ref.Bounds()
	// The box in voxel coordinates, as the app's box tool gives it.
	a := sl.Voxel(best, b.R0, b.C0)
	z := sl.Voxel(best, b.R1, b.C1)
	got, err := sam.SegmentBox(context.Background(), v, section.Axial, best, a, z, sam.DefaultWindow())
	if err != nil {
		t.Fatal(err)
	}
	d := section.Dice(got, ref)
	t.Logf("slice %d, liver area %d px, Model box Dice %.3f", best, bestArea, d)
	if d < 0.85 {
		t.Errorf("Dice %.3f < 0.85 for a box around the liver on slice %d", d, best)
	}
}

// Cancelling the context stops an encoder run in progress (ONNX Runtime's
// terminate flag), rather than waiting for it to finish.
func TestEmbedCancelled(t *testing.T) {
	rt := testRuntime(t)
	testSAM(t) // skips only when the weights were never fetched
	sam, err := LoadDefault(rt, Options{NoCache: true})
	if err != nil {
		t.Fatal(err)
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
