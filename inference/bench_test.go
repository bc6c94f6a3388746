package inference

import (
	"context"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/polyseg/polyseg/models"
)

// benchSlice returns patient B's slice with the largest liver area, its
// reference liver box and the image.
func benchSlice(b *testing.B) (img []float32, rows, cols int, box Box2D) {
	v, l := patientB(b)
	sl, err := NewSlicer(v.Grid, Axial)
	if err != nil {
		b.Fatal(err)
	}
	best, area := 0, 0
	for k := 0; k < sl.Slices; k++ {
		m, _ := sl.Mask(l, k, 5)
		if a := m.Area(); a > area {
			best, area = k, a
		}
	}
	m, _ := sl.Mask(l, best, 5)
	box, _ = m.Bounds()
	img, err = sl.Image(v, best)
	if err != nil {
		b.Fatal(err)
	}
	return img, sl.Rows, sl.Cols, box
}

// BenchmarkSAMBox compares the app's box prompt (preprocessing, encoder,
// decoder, through SAM.Embed and SAM.Decode with the cache off) with bare
// onnxruntime_go sessions running the same two models on inputs prepared
// outside the timed loop. The ratio of the two is the app's overhead.
//
//	go test ./inference -run '^$' -bench SAMBox -benchtime 5x
func BenchmarkSAMBox(b *testing.B) {
	rt := testRuntime(b)
	img, rows, cols, box := benchSlice(b)
	w := models.Window{Level: 40, Width: 400}
	app, err := rt.LoadDefaultSAM(SAMOptions{NoCache: true})
	if err != nil {
		b.Skipf("SAM weights unavailable: %v", err)
	}
	defer app.Close()
	ctx := context.Background()

	b.Run("app", func(b *testing.B) {
		for b.Loop() {
			e, err := app.Embed(ctx, img, rows, cols, w)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := app.Decode(ctx, e, Prompt{Box: &box}); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("bare", func(b *testing.B) {
		encM, decM := app.enc.Manifest, app.dec.Manifest
		opts, err := ort.NewSessionOptions()
		if err != nil {
			b.Fatal(err)
		}
		defer opts.Destroy()
		opts.SetIntraOpNumThreads(rt.Threads())
		opts.SetInterOpNumThreads(1)
		encIn, _ := ort.NewTensor(ort.NewShape(1, 3, 1024, 1024), app.Preprocess(img, rows, cols, w))
		encOut, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 256, 64, 64))
		defer encIn.Destroy()
		defer encOut.Destroy()
		enc, err := ort.NewAdvancedSession(encM.ModelPath(), []string{"input"}, []string{"output"},
			[]ort.Value{encIn}, []ort.Value{encOut}, opts)
		if err != nil {
			b.Fatal(err)
		}
		defer enc.Destroy()
		sc := float32(1024) / float32(max(rows, cols))
		coords, _ := ort.NewTensor(ort.NewShape(1, 3, 2), []float32{
			float32(box.C0) * sc, float32(box.R0) * sc, float32(box.C1) * sc, float32(box.R1) * sc, 0, 0})
		labels, _ := ort.NewTensor(ort.NewShape(1, 3), []float32{2, 3, -1})
		mask, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 1, 256, 256))
		has, _ := ort.NewTensor(ort.NewShape(1), []float32{0})
		size, _ := ort.NewTensor(ort.NewShape(2), []float32{float32(rows), float32(cols)})
		masks, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 1, int64(rows), int64(cols)))
		iou, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 1))
		low, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 1, 256, 256))
		ins := []ort.Value{encOut, coords, labels, mask, has, size}
		outs := []ort.Value{masks, iou, low}
		for _, v := range append(ins[1:], outs...) {
			defer v.Destroy()
		}
		dec, err := ort.NewAdvancedSession(decM.ModelPath(),
			[]string{"image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input", "orig_im_size"},
			[]string{"masks", "iou_predictions", "low_res_masks"}, ins, outs, opts)
		if err != nil {
			b.Fatal(err)
		}
		defer dec.Destroy()
		for b.Loop() {
			if err := enc.Run(); err != nil {
				b.Fatal(err)
			}
			if err := dec.Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSAMDecode is one prompt on a cached embedding: what every box,
// click or refinement step costs once a slice has been encoded.
//
//	go test ./inference -run '^$' -bench SAMDecode
func BenchmarkSAMDecode(b *testing.B) {
	sam := testSAM(b)
	img, rows, cols, box := benchSlice(b)
	ctx := context.Background()
	e, err := sam.Embed(ctx, img, rows, cols, models.Window{Level: 40, Width: 400})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := sam.Decode(ctx, e, Prompt{Box: &box}); err != nil {
			b.Fatal(err)
		}
	}
}
