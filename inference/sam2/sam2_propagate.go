package sam2

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/propagate"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/models"
)

// Name implements Engine.
func (s *Model) Name() string { return "sam2" }

// Propagate implements propagate.Engine the way SAM 2 tracks an object through a
// video, each slice a frame: from an anchor, slice after slice, the memory
// attention conditions the slice's features on the memory bank (the
// anchor, the most recent slices' masks and object pointers), the decoder
// predicts the mask without a prompt, and the memory encoder turns that
// mask into the slice's memory for the next one.
//
// Between two neighbouring anchors every slice is predicted from both, one
// chain each way, and the two predictions are averaged with the nearer
// anchor weighing more. Outward from the outermost anchors a chain runs
// until the structure has ended: two slices in a row where the object
// score says it is absent, the predicted IoU is below MinIoU, or the mask
// is smaller than MinAreaFraction of the anchor's. Those two slices are
// decided empty, so a chain never goes more than two slices past the
// structure.
func (s *Model) Propagate(ctx context.Context, req propagate.Request) (*propagate.Result, error) {
	sl, rng, anchors, err := propagate.CheckRequest(req)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w := s.DefaultWindow()
	if req.Window != nil {
		w = *req.Window
	}
	if !(w.Width > 0) || math.IsInf(w.Width, 0) || math.IsNaN(w.Level) || math.IsInf(w.Level, 0) {
		return nil, fmt.Errorf("propagate: window %v/%v: want a finite level and a positive width", w.Level, w.Width)
	}
	r := &sam2Run{s: s, req: req, sl: sl, w: w, decided: map[int]propagate.SliceResult{}, anchors: map[int]*sam2Memory{}}
	r.total = rng.To - rng.From + 1
	for i := 1; i < len(anchors); i++ {
		r.total += anchors[i].Slice - anchors[i-1].Slice - 1 // the forward chain's steps
	}
	info := propagate.EngineInfo{Engine: s.Name(), Provider: string(s.enc.Provider()), Models: s.Models(),
		Options: map[string]any{
			"export": Export, "memories": s.opts.Memories, "object_pointers": sam2MaxPointers,
			"min_iou": s.opts.MinIoU, "min_area_fraction": s.opts.MinAreaFraction, "prior_min": s.opts.PriorMin,
		},
		Window: &w, Range: &rng}
	for _, a := range anchors {
		info.Anchors = append(info.Anchors, a.Slice)
		r.emit(propagate.SliceResult{Slice: a.Slice, Mask: a.Mask, Confidence: 1, Anchor: true}, fmt.Sprintf("anchor %d", a.Slice))
	}
	for i := 1; i < len(anchors); i++ {
		if err := r.between(ctx, anchors[i-1], anchors[i]); err != nil {
			return nil, err
		}
	}
	if err := r.outward(ctx, anchors[0], -1, rng.From); err != nil {
		return nil, err
	}
	if err := r.outward(ctx, anchors[len(anchors)-1], +1, rng.To); err != nil {
		return nil, err
	}
	res := &propagate.Result{Info: info}
	for _, d := range r.decided {
		res.Slices = append(res.Slices, d)
	}
	slices.SortFunc(res.Slices, func(a, b propagate.SliceResult) int { return a.Slice - b.Slice })
	onnxrt.Report(req.Progress, r.total, r.total, "done")
	return res, nil
}

// sam2Run is the state of one Propagate call.
type sam2Run struct {
	s       *Model
	req     propagate.Request
	sl      *section.Slicer
	w       models.Window
	anchors map[int]*sam2Memory // the anchors' memories, made once each
	decided map[int]propagate.SliceResult
	done    int // steps run, for the progress line
	total   int
}

// sam2Chain follows the structure from one anchor in one direction.
type sam2Chain struct {
	anchor propagate.Anchor
	dir    int // +1 or -1
	next   int // the slice its next step decides
	bank   *sam2Bank
}

// sam2Step is one chain's prediction on one slice.
type sam2Step struct {
	prob []float32     // per pixel of the slice image
	mask *section.Mask // prob > 0.5
	iou  float32
	occ  float32
}

// objectProb is the probability, from the object score, that the structure
// is on the slice.
func (st *sam2Step) objectProb() float64 { return sam2Sigmoid(float64(st.occ)) }

func sam2Sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func (r *sam2Run) emit(res propagate.SliceResult, msg string) {
	r.decided[res.Slice] = res
	if r.req.OnSlice != nil {
		r.req.OnSlice(res)
	}
	r.progress(msg)
}

func (r *sam2Run) progress(msg string) {
	r.done++
	onnxrt.Report(r.req.Progress, min(r.done, r.total), r.total, msg)
}

// chain starts a chain from anchor a in direction dir.
func (r *sam2Run) chain(ctx context.Context, a propagate.Anchor, dir int) (*sam2Chain, error) {
	m, err := r.anchorMemory(ctx, a)
	if err != nil {
		return nil, fmt.Errorf("propagate: anchor slice %d: %w", a.Slice, err)
	}
	return &sam2Chain{anchor: a, dir: dir, next: a.Slice + dir, bank: newSAM2Bank(m, r.s.opts.Memories, r.s.temporal)}, nil
}

// anchorMemory is the conditioning frame an anchor gives its chains: the
// memory of the anchor's own mask, and an object pointer. The export's
// decoder takes no mask prompt, so the pointer is the decoder's for the
// mask's bounding box on the anchor's unconditioned features, as for a
// first frame prompted with a box.
func (r *sam2Run) anchorMemory(ctx context.Context, a propagate.Anchor) (*sam2Memory, error) {
	if m := r.anchors[a.Slice]; m != nil {
		return m, nil
	}
	f, err := r.frame(ctx, a.Slice)
	if err != nil {
		return nil, err
	}
	coords, labels, _ := sam2BoxPrompt(a.Mask) // anchors are never empty (checkRequest)
	d, err := r.s.decode(ctx, f.vision, f, coords, labels)
	if err != nil {
		return nil, err
	}
	feat, pos, _, err := r.s.memorize(ctx, f, sam2MaskForMem(a.Mask), sam2MaskLogit)
	if err != nil {
		return nil, err
	}
	m := &sam2Memory{slice: a.Slice, feat: feat, pos: pos, pointer: d.pointer}
	r.anchors[a.Slice] = m
	return m, nil
}

func (r *sam2Run) frame(ctx context.Context, k int) (*sam2Frame, error) {
	img, err := r.sl.Image(r.req.Volume, k)
	if err != nil {
		return nil, err
	}
	return r.s.encode(ctx, img, r.sl.Rows, r.sl.Cols, r.w)
}

// step decides the chain's next slice and adds its memory to the bank.
func (r *sam2Run) step(ctx context.Context, c *sam2Chain) (*sam2Step, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k := c.next
	wrap := func(err error) error {
		return fmt.Errorf("propagate slice %d from anchor %d: %w", k, c.anchor.Slice, err)
	}
	f, err := r.frame(ctx, k)
	if err != nil {
		return nil, wrap(err)
	}
	att, err := c.bank.inputs(k)
	if err != nil {
		return nil, wrap(err)
	}
	embed, err := r.s.attend(ctx, f, att)
	if err != nil {
		return nil, wrap(err)
	}
	// No prompt: SAM 2's decoder then sees one padding point (label -1),
	// as its video predictor gives frames without clicks.
	d, err := r.s.decode(ctx, embed, f, []float32{0, 0}, []float32{-1})
	if err != nil {
		return nil, wrap(err)
	}
	feat, pos, _, err := r.s.memorize(ctx, f, d.maskForMem, d.occ)
	if err != nil {
		return nil, wrap(err)
	}
	c.bank.push(&sam2Memory{slice: k, feat: feat, pos: pos, pointer: d.pointer})
	c.next += c.dir
	st := &sam2Step{prob: sam2Probabilities(d.low, r.sl.Rows, r.sl.Cols), iou: d.iou, occ: d.occ}
	st.mask = r.threshold(st.prob)
	return st, nil
}

func (r *sam2Run) threshold(prob []float32) *section.Mask {
	m := section.NewMask(r.sl.Rows, r.sl.Cols)
	for i, p := range prob {
		m.Data[i] = p > 0.5
	}
	return m
}

// guard removes the pixels the prior rules out; it never adds any.
func (r *sam2Run) guard(ctx context.Context, k int, m *section.Mask) error {
	if r.req.Prior == nil || m.Area() == 0 {
		return nil
	}
	p, err := r.req.Prior.Probability(ctx, k)
	if err != nil {
		return fmt.Errorf("propagate slice %d: prior: %w", k, err)
	}
	if len(p) != len(m.Data) {
		return fmt.Errorf("propagate slice %d: prior has %d pixels, the slice %d", k, len(p), len(m.Data))
	}
	for i, on := range m.Data {
		if on && float64(p[i]) < r.s.opts.PriorMin {
			m.Data[i] = false
		}
	}
	return nil
}

// between fills the slices strictly between anchors a and b from both
// ends: a chain from a runs up to b, keeping its predictions, then a chain
// from b runs down to a, and each slice is decided as it reaches it.
func (r *sam2Run) between(ctx context.Context, a, b propagate.Anchor) error {
	n := b.Slice - a.Slice - 1
	if n <= 0 {
		return nil
	}
	up, err := r.chain(ctx, a, +1)
	if err != nil {
		return err
	}
	ups := make([]*sam2Step, n)
	for i := range ups {
		if ups[i], err = r.step(ctx, up); err != nil {
			return err
		}
		r.progress(fmt.Sprintf("slice %d from anchor %d", a.Slice+1+i, a.Slice))
	}
	down, err := r.chain(ctx, b, -1)
	if err != nil {
		return err
	}
	for i := n - 1; i >= 0; i-- {
		k := a.Slice + 1 + i
		st, err := r.step(ctx, down)
		if err != nil {
			return err
		}
		res, err := r.fuse(ctx, k, ups[i], st, float64(b.Slice-k)/float64(n+1))
		if err != nil {
			return err
		}
		ups[i] = nil
		r.emit(res, fmt.Sprintf("slice %d from anchors %d and %d", k, a.Slice, b.Slice))
	}
	return nil
}

// fuse decides slice k from the predictions of the chain from below (lo)
// and from above (hi): the probabilities averaged with weight wLo for lo
// (the nearer anchor weighs more). The confidence is the weighted one of
// the two, lowered where they disagree.
func (r *sam2Run) fuse(ctx context.Context, k int, lo, hi *sam2Step, wLo float64) (propagate.SliceResult, error) {
	wHi := 1 - wLo
	m := section.NewMask(r.sl.Rows, r.sl.Cols)
	for i := range m.Data {
		m.Data[i] = wLo*float64(lo.prob[i])+wHi*float64(hi.prob[i]) > 0.5
	}
	if err := r.guard(ctx, k, m); err != nil {
		return propagate.SliceResult{}, err
	}
	iou := float32(wLo*float64(lo.iou) + wHi*float64(hi.iou))
	obj := wLo*lo.objectProb() + wHi*hi.objectProb()
	agree := 0.5 + 0.5*section.Dice(lo.mask, hi.mask)
	return propagate.SliceResult{Slice: k, Mask: m, Confidence: sam2Confidence(iou, obj, m.Area() == 0) * agree}, nil
}

// outward runs a chain from anchor a in direction dir up to slice limit,
// until the structure has ended.
func (r *sam2Run) outward(ctx context.Context, a propagate.Anchor, dir, limit int) error {
	if (dir < 0 && a.Slice <= limit) || (dir > 0 && a.Slice >= limit) {
		return nil
	}
	c, err := r.chain(ctx, a, dir)
	if err != nil {
		return err
	}
	area := a.Mask.Area()
	ended := 0
	for k := a.Slice + dir; (dir < 0 && k >= limit) || (dir > 0 && k <= limit); k += dir {
		st, err := r.step(ctx, c)
		if err != nil {
			return err
		}
		res := propagate.SliceResult{Slice: k, Mask: st.mask}
		if err := r.guard(ctx, k, res.Mask); err != nil {
			return err
		}
		why := r.ended(st, res.Mask, area)
		if why == "" {
			ended = 0
			res.Confidence = sam2Confidence(st.iou, st.objectProb(), false)
		} else {
			ended++
			res.Mask = section.NewMask(r.sl.Rows, r.sl.Cols)
			res.Confidence = sam2Confidence(st.iou, st.objectProb(), true)
			if ended == 2 {
				res.Stop = why + " on this slice and the one before"
			}
		}
		r.emit(res, fmt.Sprintf("slice %d from anchor %d", k, a.Slice))
		if res.Stop != "" {
			break
		}
	}
	return nil
}

// ended says why a chain's slice lies past the structure, or "" when the
// structure is there.
func (r *sam2Run) ended(st *sam2Step, m *section.Mask, anchorArea int) string {
	o := r.s.opts
	switch area := m.Area(); {
	case st.occ <= 0:
		return fmt.Sprintf("object score %.2f says the structure is absent", st.occ)
	case float64(st.iou) < o.MinIoU:
		return fmt.Sprintf("predicted IoU %.2f below %.2f", st.iou, o.MinIoU)
	case area == 0 || float64(area) < o.MinAreaFraction*float64(anchorArea):
		return fmt.Sprintf("mask of %d pixels, below %.3g of the anchor's %d", area, o.MinAreaFraction, anchorArea)
	}
	return ""
}

// sam2Confidence is how much a slice's answer can be trusted: for a mask,
// the decoder's IoU estimate times the probability that the object is
// there; for an empty slice, the probability that it is not.
func sam2Confidence(iou float32, objectProb float64, empty bool) float64 {
	if empty {
		return 1 - objectProb
	}
	return min(max(float64(iou), 0), 1) * objectProb
}
