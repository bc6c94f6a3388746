package inference

import (
	"context"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/polyseg/polyseg/models"
)

// benchSlice returns patient B's slice with the largest liver area, its
// reference liver box and the image.
func benchSlice(b *testing.B) (img []float32, rows, cols int, box Box2D) {
	v, sl, anchor := benchLiver(b)
	box, _ = anchor.Mask.Bounds()
	img, err := sl.Image(v, anchor.Slice)
	if err != nil {
		b.Fatal(err)
	}
	return img, sl.Rows, sl.Cols, box
}

// bareOptions are the session options of the benchmarks' bare sessions:
// the threads the app's sessions get.
func bareOptions(b *testing.B, rt *Runtime) *ort.SessionOptions {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		b.Fatal(err)
	}
	opts.SetIntraOpNumThreads(rt.Threads())
	opts.SetInterOpNumThreads(1)
	return opts
}

// bareDecoder is SAM's decoder as a bare onnxruntime_go session with its
// inputs bound (a box prompt on a rows x cols slice, a zero mask prompt
// flagged by hasMask), to time the model alone.
type bareDecoder struct {
	s    *ort.AdvancedSession
	emb  *ort.Tensor[float32]
	vals []ort.Value // the tensors it owns
}

// newBareDecoder reads the embedding from emb, or from a tensor of its own
// (filled by run) when emb is nil.
func newBareDecoder(b *testing.B, rt *Runtime, sam *SAM, rows, cols int, box Box2D, emb *ort.Tensor[float32], hasMask float32) *bareDecoder {
	opts := bareOptions(b, rt)
	defer opts.Destroy()
	d := &bareDecoder{emb: emb}
	if emb == nil {
		d.emb, _ = ort.NewEmptyTensor[float32](ort.NewShape(1, 256, 64, 64))
		d.vals = append(d.vals, d.emb)
	}
	sc := float32(1024) / float32(max(rows, cols))
	coords, _ := ort.NewTensor(ort.NewShape(1, 3, 2), []float32{
		float32(box.C0) * sc, float32(box.R0) * sc, float32(box.C1) * sc, float32(box.R1) * sc, 0, 0})
	labels, _ := ort.NewTensor(ort.NewShape(1, 3), []float32{2, 3, -1})
	mask, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 1, 256, 256))
	has, _ := ort.NewTensor(ort.NewShape(1), []float32{hasMask})
	size, _ := ort.NewTensor(ort.NewShape(2), []float32{float32(rows), float32(cols)})
	masks, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 1, int64(rows), int64(cols)))
	iou, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 1))
	low, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 1, 256, 256))
	ins := []ort.Value{d.emb, coords, labels, mask, has, size}
	outs := []ort.Value{masks, iou, low}
	d.vals = append(d.vals, coords, labels, mask, has, size, masks, iou, low)
	var err error
	d.s, err = ort.NewAdvancedSession(sam.dec.Manifest.ModelPath(),
		[]string{"image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input", "orig_im_size"},
		[]string{"masks", "iou_predictions", "low_res_masks"}, ins, outs, opts)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// run decodes embedding e (for a decoder with its own embedding tensor).
func (d *bareDecoder) run(b *testing.B, e *Embedding) {
	copy(d.emb.GetData(), e.Data)
	if err := d.s.Run(); err != nil {
		b.Fatal(err)
	}
}

func (d *bareDecoder) close() {
	d.s.Destroy()
	for _, v := range d.vals {
		v.Destroy()
	}
}

// BenchmarkSAMBox compares the app's box prompt (preprocessing, encoder,
// decoder, through SAM.Embed and SAM.Decode with the cache off) with bare
// onnxruntime_go sessions running the same two models on inputs prepared
// outside the timed loop. Each iteration runs both, alternately, so that
// the load of a shared machine hits them alike; the reported app-ms,
// bare-ms and app/bare are per iteration. app/bare - 1 is the app's
// overhead.
//
//	go test ./inference -run '^$' -bench SAMBox -benchtime 10x
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

	opts := bareOptions(b, rt)
	defer opts.Destroy()
	encIn, _ := ort.NewTensor(ort.NewShape(1, 3, 1024, 1024), app.Preprocess(img, rows, cols, w))
	encOut, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 256, 64, 64))
	defer encIn.Destroy()
	defer encOut.Destroy()
	enc, err := ort.NewAdvancedSession(app.enc.Manifest.ModelPath(), []string{"input"}, []string{"output"},
		[]ort.Value{encIn}, []ort.Value{encOut}, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Destroy()
	// The decoder reads the encoder's output tensor itself.
	dec := newBareDecoder(b, rt, app, rows, cols, box, encOut, 0)
	defer dec.close()

	appCall := func() {
		e, err := app.Embed(ctx, img, rows, cols, w)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := app.Decode(ctx, e, Prompt{Box: &box}); err != nil {
			b.Fatal(err)
		}
	}
	bareCall := func() {
		if err := enc.Run(); err != nil {
			b.Fatal(err)
		}
		if err := dec.s.Run(); err != nil {
			b.Fatal(err)
		}
	}
	// Warm up both paths outside the timing (first runs allocate arenas).
	appCall()
	bareCall()
	var appT, bareT time.Duration
	n := 0
	for b.Loop() {
		first, second := appCall, bareCall
		if n%2 == 1 {
			first, second = bareCall, appCall
		}
		t0 := time.Now()
		first()
		t1 := time.Now()
		second()
		t2 := time.Now()
		if n%2 == 0 {
			appT, bareT = appT+t1.Sub(t0), bareT+t2.Sub(t1)
		} else {
			bareT, appT = bareT+t1.Sub(t0), appT+t2.Sub(t1)
		}
		n++
	}
	b.ReportMetric(float64(appT.Milliseconds())/float64(n), "app-ms")
	b.ReportMetric(float64(bareT.Milliseconds())/float64(n), "bare-ms")
	b.ReportMetric(float64(appT)/float64(bareT), "app/bare")
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

// BenchmarkSAMAppWork times what the app does around the two ONNX Runtime
// calls of a box prompt: windowing, resizing and normalising the slice,
// hashing it for the cache key, building the decoder's inputs and
// thresholding its output. Against BenchmarkSAMBox's bare-ms it is the
// app's overhead, measured without the noise of the models' own run time.
//
//	go test ./inference -run '^$' -bench SAMAppWork
func BenchmarkSAMAppWork(b *testing.B) {
	img, rows, cols, box := benchSlice(b)
	s := &SAM{size: 1024, mean: [3]float32{123.675, 116.28, 103.53}, std: [3]float32{58.395, 57.12, 57.375},
		enc: &Session{Manifest: &models.Manifest{SHA256: "x"}}}
	w := models.Window{Level: 40, Width: 400}
	logits := make([]float32, rows*cols)
	for b.Loop() {
		_ = s.embeddingKey(img, rows, cols, w)
		_ = s.Preprocess(img, rows, cols, w)
		ref := NewMask2D(rows, cols)
		for r := box.R0; r <= box.R1; r++ {
			ref.Data[r*cols+box.C0] = true
		}
		_ = s.LowResLogits(ref, 10)
		m := NewMask2D(rows, cols)
		for i, v := range logits {
			m.Data[i] = v > 0
		}
	}
}
