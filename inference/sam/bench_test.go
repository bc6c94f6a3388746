package sam

import (
	"context"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/internal/bareort"
	"github.com/polyseg/polyseg/models"
)

// benchSlice returns patient B's slice with the largest liver area, its
// reference liver box and the image.
func benchSlice(b *testing.B) (img []float32, rows, cols int, box section.Box) {
	l := bareort.PatientBLiver(b, realData)
	box, _ = l.Mask.Bounds()
	img, err := l.Slicer.Image(l.Volume, l.Slice)
	if err != nil {
		b.Fatal(err)
	}
	return img, l.Slicer.Rows, l.Slicer.Cols, box
}

// BenchmarkSAMBox compares the app's box prompt (preprocessing, encoder,
// decoder, through SAM.Embed and SAM.Decode with the cache off) with bare
// onnxruntime_go sessions running the same two models on inputs prepared
// outside the timed loop. Each iteration runs both, alternately, so that
// the load of a shared machine hits them alike; the reported app-ms,
// bare-ms and app/bare are per iteration. app/bare - 1 is the app's
// overhead.
//
//	go test ./inference/sam -run '^$' -bench SAMBox -benchtime 10x
func BenchmarkSAMBox(b *testing.B) {
	rt := testRuntime(b)
	testSAM(b) // skips or fails as the app would
	img, rows, cols, box := benchSlice(b)
	w := models.Window{Level: 40, Width: 400}
	app, err := LoadDefault(rt, Options{NoCache: true})
	if err != nil {
		b.Fatal(err)
	}
	defer app.Close()
	ctx := context.Background()

	opts := bareort.Options(b, rt.Threads())
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
	dec := bareort.NewDecoder(b, rt.Threads(), app.dec.Manifest.ModelPath(), rows, cols, box, encOut, 0)
	defer dec.Close()

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
		if err := dec.S.Run(); err != nil {
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
//	go test ./inference/sam -run '^$' -bench SAMDecode
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
//	go test ./inference/sam -run '^$' -bench SAMAppWork
func BenchmarkSAMAppWork(b *testing.B) {
	img, rows, cols, box := benchSlice(b)
	s := &Model{size: 1024, mean: [3]float32{123.675, 116.28, 103.53}, std: [3]float32{58.395, 57.12, 57.375},
		enc: &onnxrt.Session{Manifest: &models.Manifest{SHA256: "x"}}}
	w := models.Window{Level: 40, Width: 400}
	logits := make([]float32, rows*cols)
	for b.Loop() {
		_ = s.embeddingKey(img, rows, cols, w)
		_ = s.Preprocess(img, rows, cols, w)
		ref := section.NewMask(rows, cols)
		for r := box.R0; r <= box.R1; r++ {
			ref.Data[r*cols+box.C0] = true
		}
		_ = s.LowResLogits(ref, 10)
		m := section.NewMask(rows, cols)
		for i, v := range logits {
			m.Data[i] = v > 0
		}
	}
}

// BenchmarkEncodeAhead is the background encoder (SAM.EmbedBackground over
// every slice of patient B, an empty cache each iteration) against a bare
// encoder session running the same preprocessed slices in the same
// iteration: bare/ours is the background encoder's relative throughput.
//
//	go test ./inference/sam -run '^$' -bench EncodeAhead -benchtime 2x
func BenchmarkEncodeAhead(b *testing.B) {
	rt := testRuntime(b)
	testSAM(b)
	liver := bareort.PatientBLiver(b, realData)
	v, sl := liver.Volume, liver.Slicer
	w := models.Window{Level: 40, Width: 400}
	probe, err := LoadDefault(rt, Options{NoCache: true})
	if err != nil {
		b.Fatal(err)
	}
	defer probe.Close()
	opts := bareort.Options(b, rt.Threads())
	defer opts.Destroy()
	var inputs [][]float32
	for k := 0; k < sl.Slices; k++ {
		img, _ := sl.Image(v, k)
		inputs = append(inputs, probe.Preprocess(img, sl.Rows, sl.Cols, w))
	}
	in, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 3, 1024, 1024))
	out, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 256, 64, 64))
	defer in.Destroy()
	defer out.Destroy()
	enc, err := ort.NewAdvancedSession(probe.enc.Manifest.ModelPath(), []string{"input"}, []string{"output"},
		[]ort.Value{in}, []ort.Value{out}, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Destroy()
	if err := enc.Run(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var oursT, bareT time.Duration
	n := 0
	for b.Loop() {
		n++
		b.StopTimer()
		sm, err := LoadDefault(rt, Options{DiskCache: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		bareort.WarmUp(b, func(img []float32, rows, cols int) error {
			_, err := sm.Embed(context.Background(), img, rows, cols, models.Window{Level: 40, Width: 400})
			return err
		})
		b.StartTimer()
		// Slice by slice, the two alternately first, so that a change of
		// the machine's load hits both alike.
		for k := 0; k < sl.Slices; k++ {
			img, _ := sl.Image(v, k)
			ours := func() {
				t0 := time.Now()
				if _, err := sm.EmbedBackground(ctx, img, sl.Rows, sl.Cols, w); err != nil {
					b.Fatal(err)
				}
				oursT += time.Since(t0)
			}
			bare := func() {
				t0 := time.Now()
				copy(in.GetData(), inputs[k])
				if err := enc.Run(); err != nil {
					b.Fatal(err)
				}
				bareT += time.Since(t0)
			}
			if k%2 == 0 {
				ours()
				bare()
			} else {
				bare()
				ours()
			}
		}
		b.StopTimer()
		sm.Close()
		b.StartTimer()
	}
	b.ReportMetric(oursT.Seconds()/float64(n*sl.Slices), "ours-s/slice")
	b.ReportMetric(bareT.Seconds()/float64(n*sl.Slices), "bare-s/slice")
	b.ReportMetric(float64(bareT)/float64(oursT), "throughput-ratio")
}
