package unet

import (
	"context"
	"fmt"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/volume"
)

// Confidence is how sure a model is of its segmentation of a scan: the
// measure by which a worklist puts first the case the model knows least.
type Confidence struct {
	// Mean is the mean, over the pixels where the model sees some organ
	// (RegionFloor), of the probability of the class it decides there
	// (background included): 1 where it is sure, near 1/classes where it
	// hesitates. A scan where it sees no organ at all has Mean 1.
	Mean float64
	// Pixels counts those pixels, at the model's input size; Slices the
	// slices run.
	Pixels, Slices int
}

// Doubt is 1 - Mean: 0 for a model sure of every pixel it segments.
func (c Confidence) Doubt() float64 { return 1 - c.Mean }

// RegionFloor is the organ probability (1 - background for softmax, the
// largest label's for sigmoid) above which a pixel counts towards a
// Confidence. Pixels the model is sure are background would otherwise
// swamp the mean, whatever the organ.
const RegionFloor = 0.1

// ConfidenceOptions tune Confidence.
type ConfidenceOptions struct {
	// Batch is the number of slices per run; zero means 8.
	Batch int
	// MaxSlices bounds the slices run, evenly spread over the scan (the
	// first and the last included); zero runs every slice.
	MaxSlices int
	// Progress, if not nil, hears about every batch.
	Progress onnxrt.Progress
}

// Confidence runs the model over the axial slices of v (or MaxSlices of
// them) and measures, at the model's input size, how sure it is of the
// labels it decides (see Confidence).
func (u *Model) Confidence(ctx context.Context, v *volume.Volume, opts ConfidenceOptions) (Confidence, error) {
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		return Confidence{}, err
	}
	ks := spread(sl.Slices, opts.MaxSlices)
	p := u.m.Preprocess
	h, w := p.Size[0], p.Size[1]
	if in := u.m.Inputs[0].Shape; (in[2] > 0 && in[2] != int64(h)) || (in[3] > 0 && in[3] != int64(w)) {
		return Confidence{}, fmt.Errorf("model %q: preprocess.size %v differs from the input shape %v", u.m.Name, p.Size, in)
	}
	batch := batchSize(opts.Batch, u.m.Inputs[0].Shape[0], len(ks))
	lo, _ := p.Window.Range()
	px := h * w
	in := make([]float32, batch*px)
	var sum float64
	var pixels int
	for b0 := 0; b0 < len(ks); b0 += batch {
		if err := ctx.Err(); err != nil {
			return Confidence{}, err
		}
		onnxrt.Report(opts.Progress, b0, len(ks), fmt.Sprintf("slices %d-%d of %d", b0+1, min(b0+batch, len(ks)), len(ks)))
		n := min(batch, len(ks)-b0)
		clear(in)
		for b := 0; b < n; b++ {
			img, err := sl.Image(v, ks[b0+b])
			if err != nil {
				return Confidence{}, err
			}
			for i, x := range img {
				img[i] = float32(section.Windowed(x, lo, p.Window.Width))
			}
			section.ResizeBilinearInto(in[b*px:], w, img, sl.Rows, sl.Cols, h, w)
		}
		probs, c, err := u.run(ctx, in, batch, h, w)
		if err != nil {
			return Confidence{}, err
		}
		for b := 0; b < n; b++ {
			s, k := u.sliceConfidence(probs[b*c*px:(b+1)*c*px], c, px)
			sum += s
			pixels += k
		}
	}
	onnxrt.Report(opts.Progress, len(ks), len(ks), "done")
	out := Confidence{Mean: 1, Pixels: pixels, Slices: len(ks)}
	if pixels > 0 {
		out.Mean = sum / float64(pixels)
	}
	return out, nil
}

// sliceConfidence returns, for one slice's probabilities (c channels of
// px pixels), the sum of the decided class's probability over the pixels
// where the model sees some organ, and how many those are.
func (u *Model) sliceConfidence(probs []float32, c, px int) (float64, int) {
	var sum float64
	var n int
	softmax := u.m.Activation == "softmax"
	for i := 0; i < px; i++ {
		var organ, decided float32
		if softmax {
			bg := probs[i]
			organ, decided = 1-bg, bg
			for ch := 1; ch < c; ch++ {
				decided = max(decided, probs[ch*px+i])
			}
		} else {
			for _, l := range u.m.Labels {
				organ = max(organ, probs[l.Channel*px+i])
			}
			decided = max(organ, 1-organ)
		}
		if organ >= RegionFloor {
			sum += float64(decided)
			n++
		}
	}
	return sum, n
}

// spread returns max(limit) slice indices evenly spread over 0..n-1, the
// ends included; every slice when limit is 0 or at least n.
func spread(n, limit int) []int {
	if limit <= 0 || limit >= n {
		ks := make([]int, n)
		for i := range ks {
			ks[i] = i
		}
		return ks
	}
	if limit == 1 {
		return []int{n / 2}
	}
	ks := make([]int, limit)
	for i := range ks {
		ks[i] = i * (n - 1) / (limit - 1)
	}
	return ks
}
