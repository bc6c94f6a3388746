package unet

import (
	"context"
	"fmt"
	"sync"

	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/volume"
)

// HasLabel reports whether the model segments label value v.
func (u *Model) HasLabel(v uint16) bool {
	for _, l := range u.m.Labels {
		if l.Value == v {
			return true
		}
	}
	return false
}

// Prior returns the model's probability of label value lv on the axial
// slices of v, computed slice by slice when first asked for and kept: a
// propagation asks only for the slices it reaches.
func (u *Model) Prior(v *volume.Volume, lv uint16) (*Prior, error) {
	ch := -1
	for _, l := range u.m.Labels {
		if l.Value == lv {
			ch = l.Channel
		}
	}
	if ch < 0 {
		return nil, fmt.Errorf("model %q does not segment label %d", u.m.Name, lv)
	}
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		return nil, err
	}
	return &Prior{u: u, v: v, sl: sl, ch: ch, done: map[int][]float32{}}, nil
}

// Prior is the U-Net's probability of one label, slice by slice; it
// satisfies propagate.Prior. Safe for concurrent use.
type Prior struct {
	u  *Model
	v  *volume.Volume
	sl *section.Slicer
	ch int

	mu   sync.Mutex
	done map[int][]float32
}

// Probability returns the probability of the label on every pixel of axial
// slice k (rows x cols, radiological orientation), in [0, 1].
func (p *Prior) Probability(ctx context.Context, k int) ([]float32, error) {
	p.mu.Lock()
	prob, ok := p.done[k]
	p.mu.Unlock()
	if ok {
		return prob, nil
	}
	pre := p.u.m.Preprocess
	h, w := pre.Size[0], pre.Size[1]
	batch := batchSize(1, p.u.m.Inputs[0].Shape[0], 1)
	in := make([]float32, batch*h*w)
	img, err := p.sl.Image(p.v, k)
	if err != nil {
		return nil, err
	}
	lo, _ := pre.Window.Range()
	for i, x := range img {
		img[i] = float32(section.Windowed(x, lo, pre.Window.Width))
	}
	section.ResizeBilinearInto(in, w, img, p.sl.Rows, p.sl.Cols, h, w)
	probs, c, err := p.u.run(ctx, in, batch, h, w)
	if err != nil {
		return nil, err
	}
	if p.ch >= c {
		return nil, fmt.Errorf("model %q: label channel %d, output has %d", p.u.m.Name, p.ch, c)
	}
	px := h * w
	prob = section.ResizeBilinear(probs[p.ch*px:(p.ch+1)*px], h, w, p.sl.Rows, p.sl.Cols)
	p.mu.Lock()
	p.done[k] = prob
	p.mu.Unlock()
	return prob, nil
}
