package inference_test

import (
	"context"
	"fmt"
	"log"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/refine"
	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/inference/unet"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/volume"
)

// The app's three model tools, headless: segment a scan with the default
// U-Net, draw a box on a slice, and refine the result with SAM. (Compiled,
// not run: it needs the fetched runtime and a scan.)
func Example() {
	ctx := context.Background()
	v, err := volume.Open(ctx, "scan.nii.gz", volume.OpenOptions{})
	if err != nil {
		log.Fatal(err)
	}
	// One Runtime per process; sessions are created once and reused.
	rt, err := onnxrt.NewRuntime(onnxrt.Options{})
	if err != nil {
		log.Fatal(err) // errors.Is(err, onnxrt.ErrNoRuntime): tell the user to run scripts/fetch-runtime.sh
	}
	prov, note := rt.Provider() // show "running on cpu" (and why not CUDA) in the status bar
	fmt.Println(prov, note)

	// "Segment" job: progress goes to the jobs bar, ctx is its cancel button.
	m, err := models.Find("polycl-liver", "models", rt.ModelDir())
	if err != nil {
		log.Fatal(err)
	}
	model, err := unet.Load(rt, m)
	if err != nil {
		log.Fatal(err)
	}
	defer model.Close()
	labels, err := model.Segment(ctx, v, unet.SegmentOptions{LargestComponent: true,
		Progress: onnxrt.ProgressFunc(func(done, total int, msg string) { fmt.Println(done, total, msg) })})
	if err != nil {
		log.Fatal(err)
	}

	// "Draw a box": two opposite corners in voxel coordinates on slice k.
	sm, err := sam.LoadDefault(rt, sam.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer sm.Close()
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		log.Fatal(err)
	}
	k := sl.Slices / 2
	mask, err := sm.SegmentBox(ctx, v, section.Axial, k, sl.Voxel(k, 100, 80), sl.Voxel(k, 300, 260), sm.DefaultWindow())
	if err != nil {
		log.Fatal(err)
	}

	// "Refine with SAM" preview of the current slice, then of the volume.
	preview, decisions, err := refine.Slice(ctx, sm, v, labels, k, 5, refine.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(mask.Area(), preview.Area(), decisions)
	if err := sl.WriteMask(labels, k, preview, 5); err != nil { // on "accept"
		log.Fatal(err)
	}
	refined, stats, err := refine.Volume(ctx, sm, v, labels, refine.Options{Labels: []uint16{5}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(stats.Decisions[refine.Replaced], stats.Components)
	if err := volume.WriteLabels("refined.nii.gz", refined, v); err != nil {
		log.Fatal(err)
	}
}
