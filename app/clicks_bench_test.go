package app

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/internal/bareort"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

// medianMS returns the median of ds in milliseconds.
func medianMS(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return float64(s[len(s)/2]) / 1e6
}

// benchSession opens patient B with the liver's box accepted and
// propagated (record made), every slice's embedding in the cache, and
// returns the bare decoder the timings are compared against.
func benchSession(b *testing.B) (*Session, *volume.Labels, *section.Slicer, *bareort.Decoder, func(k int) []float32) {
	s, ref := newPatientBSession(b, Options{ClickDelay: -1})
	b.Cleanup(s.Close)
	slice, k, a, bb := liverBox(b, ref)
	job, err := s.BoxPrompt(viewer.Axial, slice, a, bb, liver)
	acceptJob(b, s, job, err)
	job, err = s.Propagate(PropagateRequest{Plane: viewer.Axial, Slice: slice, Label: liver})
	acceptJob(b, s, job, err)
	sl, bare, emb := bareDecoder(b, s, ref, k, liver)
	return s, ref, sl, bare, emb
}

// bareDecoder returns a bare decoder session prompted with the box of
// value in ref on axial slice k, and the embeddings of s's SAM in the
// window of value's segment, for the timings to be compared against.
func bareDecoder(b *testing.B, s *Session, ref *volume.Labels, k int, value uint16) (*section.Slicer, *bareort.Decoder, func(k int) []float32) {
	sm, err := s.models.SAM()
	if err != nil {
		b.Fatal(err)
	}
	rt, err := s.models.Runtime()
	if err != nil {
		b.Fatal(err)
	}
	sl, _ := section.NewSlicer(ref.Grid, section.Axial)
	v, _ := s.Volume()
	m, _ := sl.Mask(ref, k, value)
	box, _ := m.Bounds()
	bare := bareort.NewDecoder(b, rt.Threads(), sm.Decoder().ModelPath(), sl.Rows, sl.Cols, box, nil, 1)
	b.Cleanup(bare.Close)
	emb := func(k int) []float32 {
		e, err := sm.SliceEmbedding(context.Background(), v, sl, k, windowOr(s.samWindow(value), sm.DefaultWindow()))
		if err != nil {
			b.Fatal(err)
		}
		return e.Data
	}
	return sl, bare, emb
}

// BenchmarkClickRedecode times one SAM click on a propagated slice of
// patient B's liver, from the call to the preview holding SAM's answer
// (embeddings cached; the click taken back between iterations), against
// one run of a bare decoder session on the same slice's embedding in the
// same iteration: a positive click where the slice misses the reference
// and a negative one where it has more, which also measures the click's
// depth in the mask (refine.ClickOptions.NegativeOpenDepth). The issue's
// target: a median of at most 150 ms on two cores.
//
//	go test ./app -run '^$' -bench ClickRedecode -benchtime 20x
func BenchmarkClickRedecode(b *testing.B) {
	for _, sign := range []bool{true, false} {
		name := map[bool]string{true: "positive", false: "negative"}[sign]
		b.Run(name, func(b *testing.B) {
			s, ref, sl, bare, emb := benchSession(b)
			const k = 8
			vs := viewer.NewSlicer(ref.Grid, viewer.Axial)
			var labels *volume.Labels
			s.Read(func(_ *volume.Volume, o *viewer.Overlay) {
				labels = &volume.Labels{Grid: o.Labels.Grid, Data: slices.Clone(o.Labels.Data)}
			})
			pred, _ := sl.Mask(labels, k, liver)
			refm, _ := sl.Mask(ref, k, liver)
			voxel, positive, ok := clickOf(sl, pred, refm, k, func(p bool) bool { return p == sign })
			if !ok {
				b.Fatalf("slice %d: no %s click to make", k+1, name)
			}
			e := emb(k)
			bare.Run(b, e)
			var clicks, bares []time.Duration
			for b.Loop() {
				t0 := time.Now()
				job, err := s.Click(viewer.Axial, viewSlice(vs, sl, k), voxel, positive, liver)
				waitPreview(b, s, job, err)
				t1 := time.Now()
				bare.Run(b, e)
				t2 := time.Now()
				clicks, bares = append(clicks, t1.Sub(t0)), append(bares, t2.Sub(t1))
				b.StopTimer()
				s.RejectPreview()
				b.StartTimer()
			}
			b.ReportMetric(medianMS(clicks), "click-median-ms")
			b.ReportMetric(medianMS(bares), "bare-decoder-median-ms")
			b.ReportMetric(medianMS(clicks)/medianMS(bares), "click/bare")
		})
	}
}

// BenchmarkCorrection times one correction end to end on patient B's
// propagated liver: a click on slice 8, its re-decode, and the
// propagation of the span between its neighbouring anchors (P), which
// carries the change as far as it changes anything, until the last slice
// is in the preview. Reported beside it: the time spent inside SAM's
// decoder during the correction (SAM.Stats), a bare decoder session's run
// on the same slice in the same iteration, and so about how many decoder
// runs the correction made, and the app's own work against its decoder
// time. The target: a median of at most 1.5 s on two cores.
//
//	go test ./app -run '^$' -bench Correction -benchtime 10x
func BenchmarkCorrection(b *testing.B) {
	s, ref, sl, bare, emb := benchSession(b)
	sm, _ := s.models.SAM()
	const k = 8
	vs := viewer.NewSlicer(ref.Grid, viewer.Axial)
	var labels *volume.Labels
	s.Read(func(_ *volume.Volume, o *viewer.Overlay) {
		labels = &volume.Labels{Grid: o.Labels.Grid, Data: slices.Clone(o.Labels.Data)}
	})
	pred, _ := sl.Mask(labels, k, liver)
	refm, _ := sl.Mask(ref, k, liver)
	voxel, positive := aClick(sl, pred, refm, k)
	e := emb(k)
	bare.Run(b, e)
	var ends, decs, bares []time.Duration
	for b.Loop() {
		d0 := sm.Stats().DecodeTime
		t0 := time.Now()
		job, err := s.Click(viewer.Axial, viewSlice(vs, sl, k), voxel, positive, liver)
		waitPreview(b, s, job, err)
		job, err = s.Propagate(PropagateRequest{Plane: viewer.Axial, Slice: viewSlice(vs, sl, k), Label: liver})
		waitPreview(b, s, job, err)
		t1 := time.Now()
		dec := sm.Stats().DecodeTime - d0
		bare.Run(b, e)
		t2 := time.Now()
		ends, decs, bares = append(ends, t1.Sub(t0)), append(decs, dec), append(bares, t2.Sub(t1))
		b.StopTimer()
		s.RejectPreview()
		b.StartTimer()
	}
	end, dec, one := medianMS(ends), medianMS(decs), medianMS(bares)
	b.ReportMetric(end, "correction-median-ms")
	b.ReportMetric(dec, "decoder-median-ms")
	b.ReportMetric(one, "bare-decoder-median-ms")
	b.ReportMetric(dec/one, "decoder-runs")
	b.ReportMetric((end-dec)/dec, "own-work/decoder")
}

// BenchmarkBoxPrompt times a box drawn around patient B's spleen on its
// largest slice, from the call to the preview holding the answer
// (embedding cached; the preview rejected between iterations), against
// one run of a bare decoder session on the same slice's embedding in the
// same iteration. On this box every step of the box's answer runs: SAM,
// the guards with the two-tissue split, SAM asked again with the guarded
// answer, and the growth to the box's sides (inference/refine, box.go).
//
//	go test ./app -run '^$' -bench BoxPrompt -benchtime 10x
func BenchmarkBoxPrompt(b *testing.B) {
	const spleen = 1
	s, ref := newPatientBSession(b, Options{ClickDelay: -1})
	slice, k, lo, hi := organBox(b, ref, spleen)
	box := func() {
		job, err := s.BoxPrompt(viewer.Axial, slice, lo, hi, spleen)
		waitPreview(b, s, job, err)
		s.RejectPreview()
	}
	box() // encodes the slice
	_, bare, emb := bareDecoder(b, s, ref, k, spleen)
	againstBare(b, "box", box, bare, emb(k))
}

// againstBare runs op in every iteration of b, then one run of bare on
// embedding e, and reports op's median as name-median-ms beside the bare
// decoder's and their ratio.
func againstBare(b *testing.B, name string, op func(), bare *bareort.Decoder, e []float32) {
	bare.Run(b, e)
	var ops, bares []time.Duration
	for b.Loop() {
		t0 := time.Now()
		op()
		t1 := time.Now()
		bare.Run(b, e)
		t2 := time.Now()
		ops, bares = append(ops, t1.Sub(t0)), append(bares, t2.Sub(t1))
	}
	b.ReportMetric(medianMS(ops), name+"-median-ms")
	b.ReportMetric(medianMS(bares), "bare-decoder-median-ms")
	b.ReportMetric(medianMS(ops)/medianMS(bares), name+"/bare")
}

// BenchmarkFreshClick times one positive click well inside
// patient B's spleen on its largest slice, where nothing is drawn and no
// box is given, from the call to the preview holding the answer
// (embedding cached; the click taken back between iterations), against one
// run of a bare decoder session on the same slice's embedding in the same
// iteration. The answer grows the click's density region over the whole
// 512² slice and asks SAM once with it (inference/refine, fresh.go).
//
//	go test ./app -run '^$' -bench FreshClick -benchtime 10x
func BenchmarkFreshClick(b *testing.B) {
	const spleen = 1
	s, ref := newPatientBSession(b, Options{ClickDelay: -1})
	_, k, _, _ := organBox(b, ref, spleen)
	sl, bare, emb := bareDecoder(b, s, ref, k, spleen)
	vs := viewer.NewSlicer(ref.Grid, viewer.Axial)
	refm, _ := sl.Mask(ref, k, spleen)
	voxel, positive := aClick(sl, section.NewMask(sl.Rows, sl.Cols), refm, k)
	click := func() {
		job, err := s.Click(viewer.Axial, viewSlice(vs, sl, k), voxel, positive, spleen)
		waitPreview(b, s, job, err)
		s.RejectPreview()
	}
	click() // encodes the slice
	againstBare(b, "click", click, bare, emb(k))
}
