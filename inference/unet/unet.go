package unet

import (
	"context"
	"fmt"
	"math"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/volume"
)

// Model runs a 2D segmentation model (manifest kind "unet") over every axial
// slice of a volume. The model takes N x 1 x H x W window01-normalised
// slices and ends with its activation: its outputs are probabilities
// (sigmoid: one channel per label; softmax: channel 0 is background).
type Model struct {
	sess *onnxrt.Session
	m    *models.Manifest
}

// LoadUNet checks and loads a U-Net model.
func Load(r *onnxrt.Runtime, m *models.Manifest) (*Model, error) {
	s, err := r.LoadModel(m, models.KindUNet)
	if err != nil {
		return nil, err
	}
	if in := m.Inputs[0].Shape; in[1] != 1 {
		s.Close()
		return nil, fmt.Errorf("model %q: input has %d channels, a U-Net here takes 1", m.Name, in[1])
	}
	return &Model{sess: s, m: m}, nil
}

// Close releases the session.
func (u *Model) Close() error { return u.sess.Close() }

// Manifest returns the model's manifest.
func (u *Model) Manifest() *models.Manifest { return u.m }

// Provider returns the execution provider the model runs on.
func (u *Model) Provider() onnxrt.Provider { return u.sess.Provider() }

// SegmentOptions tune UNet.Segment.
type SegmentOptions struct {
	// Batch is the number of slices per run; zero means 8. A model with a
	// fixed batch dimension always gets that many (the last batch padded).
	Batch int
	// LargestComponent keeps, per label, only the largest 3D 6-connected
	// component: a liver is one piece, and stray islands are the U-Net's
	// typical false positives.
	LargestComponent bool
	// Progress, if not nil, hears about every batch.
	Progress onnxrt.Progress
}

// Segment runs the model over all axial slices of v and returns a label
// volume on v's grid holding the manifest's label values.
func (u *Model) Segment(ctx context.Context, v *volume.Volume, opts SegmentOptions) (*volume.Labels, error) {
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		return nil, err
	}
	p := u.m.Preprocess
	h, w := p.Size[0], p.Size[1]
	if in := u.m.Inputs[0].Shape; (in[2] > 0 && in[2] != int64(h)) || (in[3] > 0 && in[3] != int64(w)) {
		return nil, fmt.Errorf("model %q: preprocess.size %v differs from the input shape %v", u.m.Name, p.Size, in)
	}
	batch := batchSize(opts.Batch, u.m.Inputs[0].Shape[0], sl.Slices)
	out := volume.NewLabels(v.Grid)
	lo, _ := p.Window.Range()
	px := h * w
	in := make([]float32, batch*px)
	for k0 := 0; k0 < sl.Slices; k0 += batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		onnxrt.Report(opts.Progress, k0, sl.Slices, fmt.Sprintf("slices %d-%d of %d", k0+1, min(k0+batch, sl.Slices), sl.Slices))
		n := min(batch, sl.Slices-k0)
		clear(in)
		for b := 0; b < n; b++ {
			img, err := sl.Image(v, k0+b)
			if err != nil {
				return nil, err
			}
			for i, x := range img {
				img[i] = float32(section.Windowed(x, lo, p.Window.Width))
			}
			section.ResizeBilinearInto(in[b*px:], w, img, sl.Rows, sl.Cols, h, w)
		}
		probs, c, err := u.run(ctx, in, batch, h, w)
		if err != nil {
			return nil, err
		}
		for b := 0; b < n; b++ {
			if err := u.writeSlice(out, sl, k0+b, probs[b*c*px:(b+1)*c*px], c, h, w); err != nil {
				return nil, err
			}
		}
	}
	if opts.LargestComponent {
		for _, l := range u.m.Labels {
			on := make([]bool, len(out.Data))
			for i, x := range out.Data {
				on[i] = x == l.Value
			}
			if section.KeepLargest3D(on, out.Dims) > 0 {
				for i, x := range out.Data {
					if x == l.Value && !on[i] {
						out.Data[i] = 0
					}
				}
			}
		}
	}
	onnxrt.Report(opts.Progress, sl.Slices, sl.Slices, "done")
	return out, nil
}

// run runs one batch and returns the probabilities (batch x c x h x w) and
// the channel count.
func (u *Model) run(ctx context.Context, in []float32, batch, h, w int) ([]float32, int, error) {
	t, err := ort.NewTensor(ort.NewShape(int64(batch), 1, int64(h), int64(w)), in)
	if err != nil {
		return nil, 0, fmt.Errorf("model %q input: %w", u.m.Name, err)
	}
	defer t.Destroy()
	outs := []ort.Value{nil}
	if err := u.sess.Run(ctx, []ort.Value{t}, outs); err != nil {
		return nil, 0, err
	}
	defer outs[0].Destroy()
	o, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		return nil, 0, fmt.Errorf("model %q: output is not a float32 tensor", u.m.Name)
	}
	s := o.GetShape()
	if len(s) != 4 || s[0] != int64(batch) || s[2] != int64(h) || s[3] != int64(w) {
		return nil, 0, fmt.Errorf("model %q: output shape %v, want %d x C x %d x %d", u.m.Name, s, batch, h, w)
	}
	c := int(s[1])
	for _, l := range u.m.Labels {
		if l.Channel >= c {
			return nil, 0, fmt.Errorf("model %q: label %q on channel %d, output has %d", u.m.Name, l.Name, l.Channel, c)
		}
	}
	data := o.GetData()
	for _, x := range data {
		if !(x >= -1e-4 && x <= 1+1e-4) { // also catches NaN
			return nil, 0, fmt.Errorf("model %q: output value %v is not a probability (the graph must end with its %s)", u.m.Name, x, u.m.Activation)
		}
	}
	return append([]float32(nil), data...), c, nil
}

// writeSlice resizes one slice's probabilities back to the slice grid and
// writes the labels.
func (u *Model) writeSlice(out *volume.Labels, sl *section.Slicer, k int, probs []float32, c, h, w int) error {
	px := h * w
	full := make([][]float32, c)
	need := map[int]bool{}
	for _, l := range u.m.Labels {
		need[l.Channel] = true
	}
	for ch := 0; ch < c; ch++ {
		if need[ch] || u.m.Activation == "softmax" {
			full[ch] = section.ResizeBilinear(probs[ch*px:(ch+1)*px], h, w, sl.Rows, sl.Cols)
		}
	}
	value := make(map[int]uint16, len(u.m.Labels))
	for _, l := range u.m.Labels {
		value[l.Channel] = l.Value
	}
	thr := float32(u.m.Threshold)
	for r := 0; r < sl.Rows; r++ {
		for cc := 0; cc < sl.Cols; cc++ {
			i := r*sl.Cols + cc
			best, bestP := -1, float32(math.Inf(-1))
			for ch := 0; ch < c; ch++ {
				if full[ch] == nil {
					continue
				}
				pr := full[ch][i]
				if u.m.Activation == "sigmoid" && pr <= thr {
					continue
				}
				if pr > bestP {
					best, bestP = ch, pr
				}
			}
			var lv uint16
			if best >= 0 {
				lv = value[best] // 0 for background or unmapped channels
			}
			out.Data[sl.Index(k, r, cc)] = lv
		}
	}
	return nil
}

// batchSize is the number of slices per model run: the model's fixed batch
// dimension when it has one, else the one asked for (8 when not positive),
// at most the slices there are, since the input buffer and ONNX Runtime's
// arena are sized by it: --batch 100000 on a 30-slice scan asked for 59 GB.
func batchSize(asked int, fixed int64, slices int) int {
	if fixed > 0 {
		return int(fixed)
	}
	if asked <= 0 {
		asked = 8
	}
	return max(min(asked, slices), 1)
}

// Placement returns where the U-Net runs.
func (u *Model) Placement() onnxrt.Placement { return u.sess.Placement() }

// Models returns the model the U-Net runs.
func (u *Model) Models() []onnxrt.ModelRef { return []onnxrt.ModelRef{u.sess.Ref()} }
