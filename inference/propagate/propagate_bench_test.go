package propagate

import (
	"context"
	"testing"
	"time"

	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/internal/bareort"
	"github.com/polyseg/polyseg/internal/modeltest"
	"github.com/polyseg/polyseg/models"
)

// BenchmarkPropagateWarm propagates patient B's liver from one slice with
// every slice already encoded, against a bare decoder session running one
// prompt on each of the same slices' embeddings in the same iteration: the
// engine's own work is engine/bare - 1. It also reports the embedding
// cache's hit rate over the timed runs.
//
//	go test ./inference/propagate -run '^$' -bench PropagateWarm -benchtime 5x
func BenchmarkPropagateWarm(b *testing.B) {
	rt := modeltest.Runtime(b)
	sm := modeltest.SAM(b)
	liver := bareort.PatientBLiver(b, realData)
	v, sl, anchor := liver.Volume, liver.Slicer, Anchor{Slice: liver.Slice, Mask: liver.Mask}
	ctx := context.Background()
	eng := NewSAMEngine(sm, DefaultSAMOptions())
	req := Request{Volume: v, Label: 5, Anchors: []Anchor{anchor}}
	// Warm-up: encodes (or reads from the disk cache) every slice reached.
	res, err := eng.Propagate(ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	w := sm.DefaultWindow()
	var embs []*sam.Embedding
	for _, s := range res.Slices {
		if s.Anchor || s.Unchecked {
			continue
		}
		e, err := sm.SliceEmbedding(ctx, v, sl, s.Slice, w)
		if err != nil {
			b.Fatal(err)
		}
		embs = append(embs, e)
	}
	box, _ := anchor.Mask.Bounds()
	bare := bareort.NewDecoder(b, rt.Threads(), sm.Decoder().ModelPath(), sl.Rows, sl.Cols, box, nil, 1)
	defer bare.Close()
	bare.Run(b, embs[0].Data)

	before := sm.Stats()
	var engT, bareT time.Duration
	slices := 0
	for b.Loop() {
		t0 := time.Now()
		if _, err := eng.Propagate(ctx, req); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		for _, e := range embs {
			bare.Run(b, e.Data)
		}
		t2 := time.Now()
		engT, bareT = engT+t1.Sub(t0), bareT+t2.Sub(t1)
		slices += len(embs)
	}
	after := sm.Stats()
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
//	go test ./inference/propagate -run '^$' -bench PropagateFirstSlice -benchtime 3x
func BenchmarkPropagateFirstSlice(b *testing.B) {
	rt := modeltest.Runtime(b)
	modeltest.SAM(b)
	liver := bareort.PatientBLiver(b, realData)
	v, anchor := liver.Volume, Anchor{Slice: liver.Slice, Mask: liver.Mask}
	var total time.Duration
	n := 0
	for b.Loop() {
		b.StopTimer()
		sm, err := sam.LoadDefault(rt, sam.Options{DiskCache: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		// In the app SAM is loaded, and its sessions have run, by the
		// background encoder before anyone presses P: warm the session on
		// other images, leaving the scan's slices unencoded.
		bareort.WarmUp(b, func(img []float32, rows, cols int) error {
			_, err := sm.Embed(context.Background(), img, rows, cols, models.Window{Level: 40, Width: 400})
			return err
		})
		ctx, cancel := context.WithCancel(context.Background())
		var first time.Duration
		start := time.Now()
		b.StartTimer()
		_, err = NewSAMEngine(sm, DefaultSAMOptions()).Propagate(ctx, Request{
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
		sm.Close()
		if err != nil && ctx.Err() == nil {
			b.Fatal(err)
		}
		total += first
		n++
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(n), "s-to-first-slice")
}
