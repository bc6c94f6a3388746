package inference

import (
	"context"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/polyseg/polyseg/internal/realdata"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/volume"
)

// benchLiver returns patient B, its slicer and the reference liver on the
// slice where it is largest, as the one anchor.
func benchLiver(b *testing.B) (*volume.Volume, *Slicer, Anchor) {
	v, l, _ := realdata.PatientB(b, realData)
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
	return v, sl, Anchor{Slice: best, Mask: m}
}

// BenchmarkPropagateWarm propagates patient B's liver from one slice with
// every slice already encoded, against a bare decoder session running one
// prompt on each of the same slices' embeddings in the same iteration: the
// engine's own work is engine/bare - 1. It also reports the embedding
// cache's hit rate over the timed runs.
//
//	go test ./inference -run '^$' -bench PropagateWarm -benchtime 5x
func BenchmarkPropagateWarm(b *testing.B) {
	rt := testRuntime(b)
	sam := testSAM(b)
	v, sl, anchor := benchLiver(b)
	ctx := context.Background()
	eng := NewSAMEngine(sam, DefaultSAMPropagationOptions())
	req := PropagateRequest{Volume: v, Label: 5, Anchors: []Anchor{anchor}}
	// Warm-up: encodes (or reads from the disk cache) every slice reached.
	res, err := eng.Propagate(ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	w := sam.Window(5)
	var embs []*Embedding
	for _, s := range res.Slices {
		if s.Anchor {
			continue
		}
		e, err := sam.SliceEmbedding(ctx, v, sl, s.Slice, w)
		if err != nil {
			b.Fatal(err)
		}
		embs = append(embs, e)
	}
	box, _ := anchor.Mask.Bounds()
	bare := newBareDecoder(b, rt, sam, sl.Rows, sl.Cols, box, nil, 1)
	defer bare.close()
	bare.run(b, embs[0])

	before := sam.Stats()
	var engT, bareT time.Duration
	slices := 0
	for b.Loop() {
		t0 := time.Now()
		if _, err := eng.Propagate(ctx, req); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		for _, e := range embs {
			bare.run(b, e)
		}
		t2 := time.Now()
		engT, bareT = engT+t1.Sub(t0), bareT+t2.Sub(t1)
		slices += len(embs)
	}
	after := sam.Stats()
	hits, enc := after.Hits-before.Hits, after.Encoded-before.Encoded
	dec := after.DecodeTime - before.DecodeTime
	// What the engine does besides running the decoder model, against the
	// decoder's own run time in the same propagations.
	b.ReportMetric(float64(engT-dec)/float64(dec), "own-work/decoder")
	b.ReportMetric(engT.Seconds()/float64(slices), "engine-s/slice")
	b.ReportMetric(bareT.Seconds()/float64(slices), "bare-decoder-s/slice")
	b.ReportMetric(float64(engT)/float64(bareT), "engine/bare")
	b.ReportMetric(float64(hits)/float64(max(hits+enc, 1)), "cache-hit-rate")
}

// BenchmarkPropagateFirstSlice is the cold start: SAM loaded but nothing
// encoded (an empty embedding cache), the time from the call until the
// first propagated slice (not the anchor) is decided.
//
//	go test ./inference -run '^$' -bench PropagateFirstSlice -benchtime 3x
func BenchmarkPropagateFirstSlice(b *testing.B) {
	rt := testRuntime(b)
	testSAM(b)
	v, _, anchor := benchLiver(b)
	var total time.Duration
	n := 0
	for b.Loop() {
		b.StopTimer()
		sam, err := rt.LoadDefaultSAM(SAMOptions{DiskCache: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		// In the app SAM is loaded, and its sessions have run, by the
		// background encoder before anyone presses P: warm the session on
		// other images, leaving the scan's slices unencoded.
		warmUp(b, sam)
		ctx, cancel := context.WithCancel(context.Background())
		var first time.Duration
		start := time.Now()
		b.StartTimer()
		_, err = NewSAMEngine(sam, DefaultSAMPropagationOptions()).Propagate(ctx, PropagateRequest{
			Volume: v, Label: 5, Anchors: []Anchor{anchor},
			OnSlice: func(r SliceResult) {
				if !r.Anchor && first == 0 {
					first = time.Since(start)
					cancel()
				}
			},
		})
		b.StopTimer()
		cancel()
		sam.Close()
		if err != nil && ctx.Err() == nil {
			b.Fatal(err)
		}
		total += first
		n++
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(n), "s-to-first-slice")
}

// BenchmarkEncodeAhead is the background encoder (SAM.EmbedBackground over
// every slice of patient B, an empty cache each iteration) against a bare
// encoder session running the same preprocessed slices in the same
// iteration: bare/ours is the background encoder's relative throughput.
//
//	go test ./inference -run '^$' -bench EncodeAhead -benchtime 2x
func BenchmarkEncodeAhead(b *testing.B) {
	rt := testRuntime(b)
	testSAM(b)
	v, sl, _ := benchLiver(b)
	w := models.Window{Level: 40, Width: 400}
	probe, err := rt.LoadDefaultSAM(SAMOptions{NoCache: true})
	if err != nil {
		b.Fatal(err)
	}
	defer probe.Close()
	opts := bareOptions(b, rt)
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
		sam, err := rt.LoadDefaultSAM(SAMOptions{DiskCache: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		warmUp(b, sam)
		b.StartTimer()
		// Slice by slice, the two alternately first, so that a change of
		// the machine's load hits both alike.
		for k := 0; k < sl.Slices; k++ {
			img, _ := sl.Image(v, k)
			ours := func() {
				t0 := time.Now()
				if _, err := sam.EmbedBackground(ctx, img, sl.Rows, sl.Cols, w); err != nil {
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
		sam.Close()
		b.StartTimer()
	}
	b.ReportMetric(oursT.Seconds()/float64(n*sl.Slices), "ours-s/slice")
	b.ReportMetric(bareT.Seconds()/float64(n*sl.Slices), "bare-s/slice")
	b.ReportMetric(float64(bareT)/float64(oursT), "throughput-ratio")
}

// warmUp runs a fresh SAM's encoder on two images no benchmark times: its
// first two runs take about twice as long as the later ones (ONNX Runtime
// sizes its memory arenas then), which a long-lived session in the app has
// behind it.
func warmUp(b *testing.B, sam *SAM) {
	for seed := 10; seed < 12; seed++ {
		img, rows, cols := testImage(seed)
		if _, err := sam.Embed(context.Background(), img, rows, cols, sam.Window(5)); err != nil {
			b.Fatal(err)
		}
	}
}
