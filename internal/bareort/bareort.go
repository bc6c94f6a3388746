// Package bareort holds what the benchmarks compare the app's model calls
// against: ONNX Runtime sessions made straight from onnxruntime_go with
// their inputs bound (the models alone, none of polyseg's work around
// them), and the real-data fixture they run on. It is for benchmarks and
// tests only.
package bareort

import (
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/internal/realdata"
	"github.com/polyseg/polyseg/volume"
)

// Liver is patient B's liver on the axial slice where the reference has
// most of it: the anchor every propagation benchmark starts from.
type Liver struct {
	Volume *volume.Volume
	Slicer *section.Slicer
	Slice  int
	Mask   *section.Mask
}

// PatientBLiver opens patient B (realdata.PatientB; dir is the fixtures'
// totalsegmentator folder as seen from the calling package) and finds its
// largest liver slice.
func PatientBLiver(tb testing.TB, dir string) Liver {
	tb.Helper()
	v, l, _ := realdata.PatientB(tb, dir)
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		tb.Fatal(err)
	}
	const liver = 5 // the fixture's TotalSegmentator value, not a rule of the engine
	best, area := 0, 0
	for k := 0; k < sl.Slices; k++ {
		m, _ := sl.Mask(l, k, liver)
		if a := m.Area(); a > area {
			best, area = k, a
		}
	}
	m, _ := sl.Mask(l, best, liver)
	return Liver{Volume: v, Slicer: sl, Slice: best, Mask: m}
}

// Options are a bare session's options: the threads the app's sessions
// get.
func Options(tb testing.TB, threads int) *ort.SessionOptions {
	tb.Helper()
	opts, err := ort.NewSessionOptions()
	if err != nil {
		tb.Fatal(err)
	}
	opts.SetIntraOpNumThreads(threads)
	opts.SetInterOpNumThreads(1)
	return opts
}

// Decoder is SAM's decoder as a bare session with its inputs bound (a box
// prompt on a rows x cols slice, a zero mask prompt flagged by hasMask),
// to time the model alone.
type Decoder struct {
	S    *ort.AdvancedSession
	emb  *ort.Tensor[float32]
	vals []ort.Value // the tensors it owns
}

// NewDecoder makes the decoder of model file path. It reads the embedding
// from emb, or from a tensor of its own (filled by Run) when emb is nil.
func NewDecoder(tb testing.TB, threads int, path string, rows, cols int, box section.Box, emb *ort.Tensor[float32], hasMask float32) *Decoder {
	tb.Helper()
	opts := Options(tb, threads)
	defer opts.Destroy()
	d := &Decoder{emb: emb}
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
	d.S, err = ort.NewAdvancedSession(path,
		[]string{"image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input", "orig_im_size"},
		[]string{"masks", "iou_predictions", "low_res_masks"}, ins, outs, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// Run decodes embedding e (256 x 64 x 64; for a decoder with its own
// embedding tensor).
func (d *Decoder) Run(tb testing.TB, e []float32) {
	copy(d.emb.GetData(), e)
	if err := d.S.Run(); err != nil {
		tb.Fatal(err)
	}
}

// Close destroys the session and the tensors it owns.
func (d *Decoder) Close() {
	d.S.Destroy()
	for _, v := range d.vals {
		v.Destroy()
	}
}

// TestImage is a small synthetic slice (a disc of soft tissue in fat, its
// centre moved by seed) that no fixture holds: encoding it warms a
// session without touching the cache entries of real slices.
func TestImage(seed int) ([]float32, int, int) {
	const n = 48
	img := make([]float32, n*n)
	for r := 0; r < n; r++ {
		for c := 0; c < n; c++ {
			dr, dc := r-n/2, c-n/2-seed
			if dr*dr+dc*dc < 100 {
				img[r*n+c] = 60
			} else {
				img[r*n+c] = -100
			}
		}
	}
	return img, n, n
}

// WarmUp runs a fresh encoder (through embed) on two images no benchmark
// times: its first two runs take about twice as long as the later ones
// (ONNX Runtime sizes its memory arenas then), which a long-lived session
// in the app has behind it.
func WarmUp(tb testing.TB, embed func(img []float32, rows, cols int) error) {
	tb.Helper()
	for seed := 10; seed < 12; seed++ {
		img, rows, cols := TestImage(seed)
		if err := embed(img, rows, cols); err != nil {
			tb.Fatal(err)
		}
	}
}
