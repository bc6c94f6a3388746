package propagate

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/models"
)

// SAMOptions tune the "sam" engine. Start from DefaultSAMOptions: the
// zero value is not the default (a zero margin or growth limit is a
// choice the sweeps in docs/propagation.md made on purpose), and
// Propagate refuses options Check refuses. Every threshold and every
// tuned constant is here, by name and with the reason for its default,
// so that the command line and the docs can show it. The defaults were
// chosen on patient A only (docs/propagation.md says which sweep chose
// which); patient B is held out.
type SAMOptions struct {
	// MarginMM widens the box taken from the previous slice's mask on
	// every side: the structure may grow from one slice to the next.
	MarginMM float64 `json:"margin_mm"`
	// MaskLogit is the amplitude of the previous slice's (guarded) mask
	// given to the decoder as its mask prompt; zero gives the decoder its
	// own low-resolution logits of the previous slice instead (outside the
	// guarded mask pushed to background).
	MaskLogit float64 `json:"mask_logit"`
	// GrowMM bounds how far the structure's edge may move from one slice
	// to the next, in mm in the slice plane, per ReferenceSpacingMM of
	// slice spacing: thin slices allow less. SAM's pixels beyond it are a
	// leak into a neighbour.
	GrowMM float64 `json:"grow_mm"`
	// ReferenceSpacingMM is the slice spacing GrowMM is given for (3 mm:
	// the spacing of patient A, on which GrowMM was tuned).
	ReferenceSpacingMM float64 `json:"reference_spacing_mm"`
	// HUStd: pixels whose HU lies more than HUStd robust standard
	// deviations from the anchors' median (inside their cores) are not the
	// structure; holes this leaves inside it are filled (vessels).
	HUStd float64 `json:"hu_std"`
	// MinHUSpread is the least half-width of the density range, in HU
	// (10): a flat region (a phantom, a uniform label) still gets a usable
	// range.
	MinHUSpread float64 `json:"min_hu_spread"`
	// CoreErosionPx is how far, in pixels of the larger pixel side, the
	// anchors are eroded before their density is measured (1.5): their
	// edge pixels mix the structure with its neighbours (partial volume).
	CoreErosionPx float64 `json:"core_erosion_px"`
	// MinCorePixels: an anchor whose core holds fewer pixels than this (16)
	// is measured whole, as a tiny structure has no core to speak of.
	MinCorePixels int `json:"min_core_pixels"`
	// MinHUFraction stops a chain when less than this fraction of SAM's
	// mask has the structure's density: SAM found another tissue.
	MinHUFraction float64 `json:"min_hu_fraction"`
	// MinIoU stops a chain when SAM's own IoU estimate falls below it.
	MinIoU float64 `json:"min_iou"`
	// MinAreaRatio stops a chain when the guarded mask's area falls below
	// this fraction of the previous slice's: the structure has ended.
	MinAreaRatio float64 `json:"min_area_ratio"`
	// MinAreaMM2 stops a chain when the guarded mask covers less than
	// this many mm².
	MinAreaMM2 float64 `json:"min_area_mm2"`
	// MaxOutside stops a chain when more than this fraction of SAM's mask
	// lies beyond GrowMM of the previous slice's mask: it jumped.
	MaxOutside float64 `json:"max_outside"`
	// MaxMeanShift stops a chain when SAM's mask's median HU lies more than
	// this many of the anchors' (robust) standard deviations from theirs.
	MaxMeanShift float64 `json:"max_mean_shift"`
	// MinShiftStdHU is the least standard deviation MaxMeanShift counts
	// in, in HU (5): a structure of uniform density would otherwise stop
	// at the first slice whose noise differs.
	MinShiftStdHU float64 `json:"min_shift_std_hu"`
	// PriorMin removes the pixels whose prior probability (a U-Net's, when
	// one for the label is loaded) is below it.
	PriorMin float64 `json:"prior_min"`
	// ConfidenceIoUFrom: the confidence stretches SAM's IoU estimate from
	// [ConfidenceIoUFrom, 1] to [0, 1] (0.8): the estimate is 0.95–1 on
	// most slices, good or bad, and only its last fifth tells them apart
	// (patient A's slices).
	ConfidenceIoUFrom float64 `json:"confidence_iou_from"`
	// ConfidenceAreaShare: a slice whose area is below this share (0.25) of
	// the largest the chain has seen loses confidence in proportion: an
	// organ's end slices, where chains go wrong, are a quarter of its
	// largest cross-section or less (patient A's slices).
	ConfidenceAreaShare float64 `json:"confidence_area_share"`
	// SettleDice: when a propagation runs again over slices it decided
	// before (Request.Previous, after a correction), each chain carries
	// only its anchor's change (what the correction added or removed),
	// within GrowMM of where it was on the slice before, and stops where
	// the slice's mask agrees with its previous one at this Dice or
	// better: the change has died out, and the slices beyond keep what
	// they had (0.99). A correction that made one slice better should not
	// re-decide its neighbours from a mask still worse than theirs. Zero
	// switches it off: every slice of the span is decided afresh.
	SettleDice float64 `json:"settle_dice"`
	// EndKeep: on the slice where a chain going outward stops, the part of
	// SAM's mask that passed the guards (the structure's density, within
	// GrowMM of the previous slice's mask and touching it) stays when its
	// area is at most EndKeep times the previous slice's: at an organ's
	// end, partial volume mixes it with the fat around it and SAM's mask
	// with that, so a stop rule fires on a slice that still holds the
	// organ's tip (0.7: an end narrows; chosen on patient A, where it took
	// the kidneys' 3D Dice up by 0.003 to 0.006 from every anchor setup
	// and cost no organ anything, where 1 also kept a slice below the
	// liver's end, docs/propagation.md). Zero leaves every stopped slice
	// empty.
	EndKeep float64 `json:"end_keep"`
	// NeckMM: a piece of a slice's guarded mask joined to the rest
	// through a neck narrower than twice this many mm, lying mostly off
	// the previous slice's mask, is a neighbour coming in and goes
	// (continuing; 4, the box guard's neck: chosen on patient A, where it
	// took the liver from its largest slice from 3D Dice 0.888 to 0.912
	// and changed no other organ, docs/propagation.md). Zero switches it
	// off.
	NeckMM float64 `json:"neck_mm"`
	// DoubtBelow is the confidence under which a slice counts as doubtful
	// (Doubtful): the app's strip, its "next doubtful slice" and the
	// command line all use it; it does not change the result.
	DoubtBelow float64 `json:"doubt_below"`
}

// DefaultSAMOptions returns the defaults of the "sam" engine.
func DefaultSAMOptions() SAMOptions {
	return SAMOptions{
		MarginMM:            6,
		MaskLogit:           0,
		GrowMM:              6,
		ReferenceSpacingMM:  3,
		HUStd:               3,
		MinHUSpread:         10,
		CoreErosionPx:       1.5,
		MinCorePixels:       16,
		MinHUFraction:       0.5,
		MinIoU:              0.5,
		MinAreaRatio:        0.15,
		MinAreaMM2:          20,
		MaxOutside:          0.5,
		MaxMeanShift:        2,
		MinShiftStdHU:       5,
		PriorMin:            0.1,
		ConfidenceIoUFrom:   0.8,
		ConfidenceAreaShare: 0.25,
		SettleDice:          0.99,
		EndKeep:             0.7,
		NeckMM:              4,
		DoubtBelow:          DefaultDoubtBelow,
	}
}

// DefaultDoubtBelow is the confidence under which a slice is doubtful.
const DefaultDoubtBelow = 0.1

// Check refuses options outside their meaning; NaN would switch a rule off
// silently. Errors name the option as its JSON name.
func (o SAMOptions) Check() error {
	for _, f := range []struct {
		name   string
		x      float64
		lo, hi float64
	}{
		{"margin_mm", o.MarginMM, 0, 1000},
		{"mask_logit", o.MaskLogit, 0, 1000},
		{"grow_mm", o.GrowMM, 0, 1e6},
		{"reference_spacing_mm", o.ReferenceSpacingMM, 1e-3, 1e3},
		{"hu_std", o.HUStd, 0, 1e6},
		{"min_hu_spread", o.MinHUSpread, 0, 1e6},
		{"core_erosion_px", o.CoreErosionPx, 0, 100},
		{"min_core_pixels", float64(o.MinCorePixels), 0, 1e9},
		{"min_hu_fraction", o.MinHUFraction, 0, 1},
		{"min_iou", o.MinIoU, 0, 1},
		{"min_area_ratio", o.MinAreaRatio, 0, 1},
		{"min_area_mm2", o.MinAreaMM2, 0, 1e9},
		{"max_outside", o.MaxOutside, 0, 1},
		{"max_mean_shift", o.MaxMeanShift, 0, 1e6},
		{"min_shift_std_hu", o.MinShiftStdHU, 0, 1e6},
		{"prior_min", o.PriorMin, 0, 1},
		{"confidence_iou_from", o.ConfidenceIoUFrom, 0, 0.999},
		{"confidence_area_share", o.ConfidenceAreaShare, 0, 1},
		{"settle_dice", o.SettleDice, 0, 1},
		{"end_keep", o.EndKeep, 0, 1e6},
		{"neck_mm", o.NeckMM, 0, 1e3},
		{"doubt_below", o.DoubtBelow, 0, 1},
	} {
		if math.IsNaN(f.x) || f.x < f.lo || f.x > f.hi {
			return &OptionError{Name: f.name, Value: f.x, Min: f.lo, Max: f.hi}
		}
	}
	return nil
}

// OptionError is an option outside the range it has a meaning in.
type OptionError struct {
	Name     string
	Value    float64
	Min, Max float64
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("propagate: option %s = %g: want %g to %g", e.Name, e.Value, e.Min, e.Max)
}

// asMap lists the options for provenance records.
func (o SAMOptions) asMap() map[string]any {
	return map[string]any{
		"margin_mm": o.MarginMM, "mask_logit": o.MaskLogit, "grow_mm": o.GrowMM, "reference_spacing_mm": o.ReferenceSpacingMM,
		"hu_std": o.HUStd, "min_hu_spread": o.MinHUSpread, "core_erosion_px": o.CoreErosionPx, "min_core_pixels": o.MinCorePixels,
		"min_hu_fraction": o.MinHUFraction, "min_iou": o.MinIoU, "min_area_ratio": o.MinAreaRatio,
		"min_area_mm2": o.MinAreaMM2, "max_outside": o.MaxOutside, "max_mean_shift": o.MaxMeanShift,
		"min_shift_std_hu": o.MinShiftStdHU, "prior_min": o.PriorMin,
		"confidence_iou_from": o.ConfidenceIoUFrom, "confidence_area_share": o.ConfidenceAreaShare, "settle_dice": o.SettleDice,
		"end_keep": o.EndKeep, "neck_mm": o.NeckMM, "doubt_below": o.DoubtBelow,
	}
}

// SAMEngine is the "sam" propagation engine: SAM slice to slice, each
// slice prompted with the box of the previous slice's mask and that mask
// as the decoder's mask prompt, with leak guards and stop rules built from
// what the anchors say about the structure.
type SAMEngine struct {
	sam  *sam.Model
	opts SAMOptions
}

// NewSAMEngine returns the "sam" engine running s with opts; start from
// DefaultSAMOptions.
func NewSAMEngine(s *sam.Model, opts SAMOptions) *SAMEngine {
	return &SAMEngine{sam: s, opts: opts}
}

// Name implements Engine.
func (e *SAMEngine) Name() string { return "sam" }

// Options returns the options the engine runs with.
func (e *SAMEngine) Options() SAMOptions { return e.opts }

// organModel is what the anchors say about the structure: its density.
type organModel struct {
	mean, std float64
	lo, hi    float64 // the HU range the structure's pixels lie in
}

// chain carries the structure from one anchor in one direction.
type chain struct {
	dir     int // +1 or -1
	next    int // the next slice to decide
	limit   int // the last slice it may decide
	outer   bool
	prev    *section.Mask
	prevBox section.Box // prev's bounding box and area, kept rather than
	prevN   int         // recounted: each is a pass over the whole slice
	prevLow []float32
	maxArea int // the largest area the chain has seen, its anchor's included
	done    bool
	// add and rem, when the propagation runs again over earlier slices
	// (Request.Previous), are what the chain's latest slice added to and
	// removed from what that slice had before: the change it carries.
	add, rem *section.Mask
}

// newChain starts a chain at slice next from mask prev (an anchor's, or
// a decided slice's) with mask prompt low.
func newChain(dir, next, limit int, outer bool, prev *section.Mask, low []float32) *chain {
	b, _ := prev.Bounds()
	return &chain{dir: dir, next: next, limit: limit, outer: outer, prev: prev, prevBox: b, prevN: prev.Area(), prevLow: low}
}

// propagation is the state of one Propagate call.
type propagation struct {
	e       *SAMEngine
	req     Request
	sl      *section.Slicer
	rng     SliceRange
	dr, dc  float64 // pixel size in mm
	grow    float64 // GrowMM scaled to the slice spacing
	organ   organModel
	img     []float32 // the slice image of the step, reused
	hu      []float32 // scratch for medians, reused
	decided map[int]SliceResult
	total   int
}

// Propagate implements Engine.
func (e *SAMEngine) Propagate(ctx context.Context, req Request) (*Result, error) {
	sl, rng, anchors, err := CheckRequest(req)
	if err != nil {
		return nil, err
	}
	if err := e.opts.Check(); err != nil {
		return nil, err
	}
	w := e.sam.DefaultWindow()
	if req.Window != nil {
		w = *req.Window
	}
	p := &propagation{e: e, req: req, sl: sl, rng: rng, decided: map[int]SliceResult{}}
	p.dr, p.dc = sl.PixelSpacing()
	p.grow = e.opts.GrowMM * max(sl.SliceSpacing(), 0.5) / e.opts.ReferenceSpacingMM
	if p.organ, err = p.model(anchors); err != nil {
		return nil, err
	}
	info := EngineInfo{Engine: e.Name(), Provider: string(e.sam.Provider()), Models: e.sam.Models(),
		Options: e.opts.asMap(), Window: &w, Range: &rng}
	for _, a := range anchors {
		info.Anchors = append(info.Anchors, a.Slice)
	}

	o := e.opts
	// Anchors are decided as they are; then one chain outward from each
	// side of every anchor, stopping at the next anchor's chain or the
	// range. Between two anchors the two chains meet in the middle: each
	// slice is decided from its nearer anchor, the one SAM is likelier to
	// have carried well.
	var chains []*chain
	for i, a := range anchors {
		p.emit(SliceResult{Slice: a.Slice, Mask: a.Mask, Confidence: 1, Anchor: true})
		low := p.maskPrompt(a.Mask)
		down, up := newChain(-1, a.Slice-1, rng.From, true, a.Mask, low), newChain(+1, a.Slice+1, rng.To, true, a.Mask, low)
		if o.SettleDice > 0 && req.Previous != nil {
			if was := req.Previous(a.Slice); was != nil && was.Rows == a.Mask.Rows && was.Cols == a.Mask.Cols {
				add, rem := section.NewMask(was.Rows, was.Cols), section.NewMask(was.Rows, was.Cols)
				for i, on := range a.Mask.Data {
					add.Data[i], rem.Data[i] = on && !was.Data[i], !on && was.Data[i]
				}
				down.add, down.rem, up.add, up.rem = add, rem, add, rem
			}
		}
		if i > 0 {
			gap := a.Slice - anchors[i-1].Slice
			// The lower half, and an equidistant middle slice, go to the
			// lower anchor.
			down.limit, down.outer = a.Slice-gap/2, false
			if gap%2 == 0 {
				down.limit = a.Slice - gap/2 + 1
			}
		}
		if i < len(anchors)-1 {
			gap := anchors[i+1].Slice - a.Slice
			up.limit, up.outer = a.Slice+gap/2, false
		}
		chains = append(chains, down, up)
	}
	p.total = rng.To - rng.From + 1
	for {
		active := false
		for _, c := range chains {
			if c.done {
				continue
			}
			if (c.dir > 0 && c.next > c.limit) || (c.dir < 0 && c.next < c.limit) {
				c.done = true
				continue
			}
			if _, ok := p.decided[c.next]; ok {
				c.done = true
				continue
			}
			active = true
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			r, err := p.step(ctx, c, w)
			if err != nil {
				return nil, fmt.Errorf("propagate slice %d: %w", c.next, err)
			}
			if p.correct(c, &r) {
				// The change has died out: the slices from here on stay
				// as they are.
				c.done = true
				continue
			}
			p.emit(r)
			if r.Stop != "" {
				c.done = true
				p.beyondEnd(c, r)
				continue
			}
			c.next += c.dir
		}
		if !active {
			break
		}
	}
	res := &Result{Info: info}
	for _, r := range p.decided {
		res.Slices = append(res.Slices, r)
	}
	slices.SortFunc(res.Slices, func(a, b SliceResult) int { return a.Slice - b.Slice })
	onnxrt.Report(req.Progress, p.total, p.total, "done")
	return res, nil
}

func (p *propagation) emit(r SliceResult) {
	p.decided[r.Slice] = r
	if p.req.OnSlice != nil {
		p.req.OnSlice(r)
	}
	onnxrt.Report(p.req.Progress, len(p.decided), p.total, fmt.Sprintf("slice %d", r.Slice+1)) // from 1, as shown
}

// BeyondEndReason is the Reason of an Unchecked slice.
const BeyondEndReason = "not propagated, but the organ may go on here"

// beyondEnd flags the slice past r, where chain c going outward stopped
// with the structure's tip kept (EndKeep): the stop rules fired on a slice
// that still holds the structure, so it may go on. On patient A three of
// five such ends had more of the organ on the next slice, which no slice
// of the strip pointed at (docs/interactive.md). A slice already holding
// the structure (Request.Previous) needs no look.
func (p *propagation) beyondEnd(c *chain, r SliceResult) {
	if !c.outer || r.Mask == nil || r.Mask.Area() == 0 {
		return
	}
	k := r.Slice + c.dir
	if !p.rng.Contains(k) {
		return
	}
	if _, ok := p.decided[k]; ok {
		return
	}
	if p.req.Previous != nil {
		if m := p.req.Previous(k); m != nil && m.Area() > 0 {
			return
		}
	}
	p.emit(SliceResult{Slice: k, Unchecked: true, Reason: BeyondEndReason,
		Note: "past a chain that stopped with the organ still on its last slice"})
}

// model measures the structure's density inside the anchors, away from
// their edges where partial volume mixes it with its neighbours.
func (p *propagation) model(anchors []Anchor) (organModel, error) {
	var xs []float64
	for _, a := range anchors {
		img, err := p.sl.Image(p.req.Volume, a.Slice)
		if err != nil {
			return organModel{}, err
		}
		core := section.ErodeMM(a.Mask, p.e.opts.CoreErosionPx*max(p.dr, p.dc), p.dr, p.dc)
		if core.Area() < p.e.opts.MinCorePixels {
			core = a.Mask
		}
		for i, on := range core.Data {
			if x := float64(img[i]); on && !math.IsNaN(x) {
				xs = append(xs, x)
			}
		}
	}
	if len(xs) == 0 {
		return organModel{}, fmt.Errorf("propagate: the anchors hold no readable voxel")
	}
	// The median and the median absolute deviation, not the mean and the
	// standard deviation: a kidney's sinus fat or a liver's vessels are
	// inside the label but are not what the organ looks like, and would
	// widen the range until it admits the fat around it.
	slices.Sort(xs)
	med := xs[len(xs)/2]
	dev := make([]float64, len(xs))
	for i, x := range xs {
		dev[i] = math.Abs(x - med)
	}
	slices.Sort(dev)
	m := organModel{mean: med, std: 1.4826 * dev[len(dev)/2]}
	spread := max(p.e.opts.HUStd*m.std, p.e.opts.MinHUSpread)
	m.lo, m.hi = m.mean-spread, m.mean+spread
	return m, nil
}

// step decides slice c.next from the chain's previous slice.
func (p *propagation) step(ctx context.Context, c *chain, w models.Window) (SliceResult, error) {
	o := p.e.opts
	k := c.next
	res := SliceResult{Slice: k}
	img, err := p.sl.ImageInto(p.img, p.req.Volume, k)
	if err != nil {
		return res, err
	}
	p.img = img
	emb, err := p.e.sam.SliceImageEmbedding(ctx, p.req.Volume, p.sl, k, img, w)
	if err != nil {
		return res, err
	}
	box := c.prevBox
	mr, mc := int(math.Round(o.MarginMM/p.dr)), int(math.Round(o.MarginMM/p.dc))
	box.R0, box.C0 = max(box.R0-mr, 0), max(box.C0-mc, 0)
	box.R1, box.C1 = min(box.R1+mr, p.sl.Rows-1), min(box.C1+mc, p.sl.Cols-1)
	pred, err := p.e.sam.Decode(ctx, emb, sam.Prompt{Box: &box, MaskInput: c.prevLow})
	if err != nil {
		return res, err
	}
	raw := pred.Mask
	rawArea := pred.Area
	rb := pred.Bounds

	// Leak guards: where the structure can be (near the previous slice's
	// mask), what density it has, what the prior allows; then the parts
	// that continue the previous slice's mask. Only pixels within the
	// growth limit can pass, so the work is done on the window around the
	// previous mask that holds them: an organ is a small part of a slice.
	pb := c.prevBox
	pr, pc := int(math.Ceil(p.grow/p.dr))+2, int(math.Ceil(p.grow/p.dc))+2
	win := section.Box{R0: max(pb.R0-pr, 0), C0: max(pb.C0-pc, 0), R1: min(pb.R1+pr, raw.Rows-1), C1: min(pb.C1+pc, raw.Cols-1)}
	allowed := section.DilateMM(section.Crop(c.prev, win), p.grow, p.dr, p.dc)
	gw := section.NewMask(allowed.Rows, allowed.Cols)
	inHU, near := 0, 0
	for r := rb.R0; r <= rb.R1; r++ {
		for cc := rb.C0; cc <= rb.C1; cc++ {
			i := r*raw.Cols + cc
			if raw.Data[i] {
				if x := float64(img[i]); x >= p.organ.lo && x <= p.organ.hi {
					inHU++
				}
			}
		}
	}
	for r := 0; r < gw.Rows; r++ {
		for cc := 0; cc < gw.Cols; cc++ {
			i := (r+win.R0)*raw.Cols + cc + win.C0
			j := r*gw.Cols + cc
			if !raw.Data[i] || !allowed.Data[j] {
				continue
			}
			near++
			x := float64(img[i])
			gw.Data[j] = x >= p.organ.lo && x <= p.organ.hi
		}
	}
	gw = section.FillHoles(gw)
	for j := range gw.Data {
		gw.Data[j] = gw.Data[j] && allowed.Data[j]
	}
	if p.req.Prior != nil {
		prob, err := p.req.Prior.Probability(ctx, k)
		if err != nil {
			return res, err
		}
		if len(prob) != len(raw.Data) {
			return res, fmt.Errorf("prior has %d pixels, slice %d has %d", len(prob), k, len(raw.Data))
		}
		for r := 0; r < gw.Rows; r++ {
			for cc := 0; cc < gw.Cols; cc++ {
				if prob[(r+win.R0)*raw.Cols+cc+win.C0] < float32(o.PriorMin) {
					gw.Data[r*gw.Cols+cc] = false
				}
			}
		}
	}
	gw = section.Overlapping(gw, section.Crop(c.prev, win))
	if o.NeckMM > 0 {
		gw = continuing(gw, section.Crop(c.prev, win), o.NeckMM, p.dr, p.dc)
	}
	g := section.NewMask(raw.Rows, raw.Cols)
	area := 0
	gb := section.Box{R0: raw.Rows, C0: raw.Cols, R1: -1, C1: -1}
	for r := 0; r < gw.Rows; r++ {
		for cc := 0; cc < gw.Cols; cc++ {
			if gw.Data[r*gw.Cols+cc] {
				rr, c2 := r+win.R0, cc+win.C0
				g.Data[rr*raw.Cols+c2] = true
				area++
				gb.R0, gb.R1 = min(gb.R0, rr), max(gb.R1, rr)
				gb.C0, gb.C1 = min(gb.C0, c2), max(gb.C1, c2)
			}
		}
	}
	outside := rawArea - near

	// Stop rules: the structure has ended, or SAM is no longer on it.
	prevArea := c.prevN
	huFrac, outFrac := 0.0, 1.0
	if rawArea > 0 {
		huFrac = float64(inHU) / float64(rawArea)
		outFrac = float64(outside) / float64(rawArea)
	}
	switch {
	case rawArea == 0 || area == 0:
		res.Stop = "SAM found nothing"
	case float64(area)*p.dr*p.dc < o.MinAreaMM2:
		res.Stop = fmt.Sprintf("area %.0f mm² below %.0f", float64(area)*p.dr*p.dc, o.MinAreaMM2)
	case float64(area) < o.MinAreaRatio*float64(prevArea):
		res.Stop = fmt.Sprintf("area fell to %.0f%% of the previous slice's", 100*float64(area)/float64(prevArea))
	case float64(pred.IoU) < o.MinIoU:
		res.Stop = fmt.Sprintf("SAM's IoU estimate %.2f below %.2f", pred.IoU, o.MinIoU)
	case huFrac < o.MinHUFraction:
		res.Stop = fmt.Sprintf("only %.0f%% of SAM's mask has the structure's density", 100*huFrac)
	case math.Abs(p.median(img, raw, rb)-p.organ.mean) > o.MaxMeanShift*max(p.organ.std, o.MinShiftStdHU):
		res.Stop = fmt.Sprintf("SAM's mask has a median of %.0f HU, the anchors %.0f", p.median(img, raw, rb), p.organ.mean)
	case outFrac > o.MaxOutside:
		res.Stop = fmt.Sprintf("%.0f%% of SAM's mask lies beyond %.0f mm of the previous slice's", 100*outFrac, p.grow)
	}
	stab := pred.Stability
	largest := max(c.maxArea, prevArea)
	if res.Stop != "" && c.outer {
		res.Mask = section.NewMask(raw.Rows, raw.Cols)
		res.Reason = "the propagation stopped here: " + res.Stop
		if area > 0 && float64(area) <= o.EndKeep*float64(prevArea) {
			// The tip is decided like any slice, and its confidence says
			// as much of it: an organ's small end slices lose it by area.
			res.Mask = g
			res.Confidence = confidence(pred.IoU, stab, area, largest, o)
			res.Reason = "the propagation ended here: " + res.Stop + " (the organ's tip kept)"
		}
		return res, nil
	}
	if res.Stop != "" && area == 0 {
		// Between anchors the structure goes on: an empty answer is SAM
		// losing it, not its end. Carry the previous mask, doubtfully.
		res.Stop = ""
		g, gb = c.prev, c.prevBox
		area = prevArea
		res.Confidence = 0
		res.Reason = "SAM lost the structure here; the neighbouring slice's mask is carried over"
	} else {
		res.Stop = ""
		res.Confidence = confidence(pred.IoU, stab, area, largest, o)
		res.Reason = weakest(pred.IoU, stab, area, largest, o)
	}
	c.maxArea = max(c.maxArea, prevArea, area)
	res.Note = fmt.Sprintf("SAM's IoU estimate %.2f, stability %.2f, density %.2f, near the previous slice %.2f, area %.0f mm²",
		pred.IoU, stab, huFrac, 1-outFrac, float64(area)*p.dr*p.dc)
	res.Mask = g
	c.prev, c.prevBox, c.prevN = g, gb, area
	c.prevLow = p.nextPrompt(g, gb, pred)
	res.LowRes = c.prevLow
	return res, nil
}

// correct keeps, of decided slice r, only the change its chain carries
// (SettleDice) and reports whether the change has died out there, the
// slice then staying as it was.
func (p *propagation) correct(c *chain, r *SliceResult) bool {
	if c.add == nil || r.Mask == nil {
		return false
	}
	old := p.req.Previous(r.Slice)
	if old == nil || old.Rows != r.Mask.Rows || old.Cols != r.Mask.Cols {
		return false
	}
	if r.Stop != "" {
		return true // the chain ends; what the slice had stays
	}
	addOK := section.DilateMM(c.add, p.grow, p.dr, p.dc)
	remOK := section.DilateMM(c.rem, p.grow, p.dr, p.dc)
	final := section.NewMask(old.Rows, old.Cols)
	add, rem := section.NewMask(old.Rows, old.Cols), section.NewMask(old.Rows, old.Cols)
	for i, was := range old.Data {
		now := r.Mask.Data[i]
		switch {
		case was && !now && remOK.Data[i]:
			rem.Data[i] = true
		case !was && now && addOK.Data[i]:
			final.Data[i], add.Data[i] = true, true
		default:
			final.Data[i] = was
		}
	}
	if section.Dice(final, old) >= p.e.opts.SettleDice {
		return true
	}
	if final.Area() == 0 {
		// The change took all the slice held: the chain has nothing left
		// to carry (nor a mask to start the next slice from), and ends
		// here, the slices beyond keeping what they had.
		r.Mask, r.LowRes, r.Confidence = final, nil, 0
		r.Stop = "the correction removed all that this slice held"
		r.Reason = r.Stop + "; the propagation ended here"
		return false
	}
	c.add, c.rem = add, rem
	g := r.Mask
	r.Mask = final
	// The next slice's prompt: SAM's answer where the slice kept it, a
	// firm foreground where it kept what it had before, background
	// elsewhere.
	low := make([]float32, len(r.LowRes))
	rows, cols := p.e.sam.LowResPixels(final.Rows, final.Cols)
	for v, rr := range rows {
		for u, cc := range cols {
			i, x := v*sam.LowRes+u, float32(-10)
			if rr >= 0 && cc >= 0 {
				j := rr*final.Cols + cc
				switch {
				case final.Data[j] && g.Data[j] && r.LowRes[i] > 0:
					x = r.LowRes[i]
				case final.Data[j]:
					x = 10
				default:
					x = min(r.LowRes[i], -10)
				}
			}
			low[i] = x
		}
	}
	r.LowRes = low
	b, _ := final.Bounds()
	c.prev, c.prevBox, c.prevN, c.prevLow = final, b, final.Area(), low
	return false
}

// maskPrompt turns a mask with no SAM logits behind it (an anchor's) into
// a mask prompt.
func (p *propagation) maskPrompt(m *section.Mask) []float32 {
	amp := p.e.opts.MaskLogit
	if amp <= 0 {
		amp = 10
	}
	return p.e.sam.LowResLogits(m, float32(amp))
}

// nextPrompt is the mask prompt the next slice gets from this one's
// guarded mask g (bounding box gb) and SAM's prediction.
func (p *propagation) nextPrompt(g *section.Mask, gb section.Box, pred *sam.Prediction) []float32 {
	if p.e.opts.MaskLogit > 0 {
		return p.e.sam.LowResLogits(g, float32(p.e.opts.MaskLogit))
	}
	// SAM's own logits where the guards kept the pixel under the cell;
	// elsewhere a firm background, so that a leak the guards cut does not
	// come back. Only the cells over g's box can be anything else.
	out := make([]float32, len(pred.LowRes))
	for i, x := range pred.LowRes {
		out[i] = min(x, -10)
	}
	rows, cols := p.e.sam.LowResPixels(g.Rows, g.Cols)
	for v, r := range rows {
		if r < gb.R0 || r > gb.R1 {
			continue
		}
		for u, c := range cols {
			if c >= gb.C0 && c <= gb.C1 && g.Data[r*g.Cols+c] {
				out[v*sam.LowRes+u] = pred.LowRes[v*sam.LowRes+u]
			}
		}
	}
	return out
}

// confidence says how much a propagated slice can be trusted, from what
// was seen to tell good slices from bad ones on patient A (Youden's index
// 0.50 for a 2D Dice below 0.8, docs/propagation.md): SAM's own IoU
// estimate stretched from [ConfidenceIoUFrom, 1]; the stability of its
// mask; and the area against the largest the chain has seen, below
// ConfidenceAreaShare of it. Density and distance to the previous slice
// did not help and are left to the stop rules.
func confidence(iou float32, stab float64, area, largest int, o SAMOptions) float64 {
	c := min(max((float64(iou)-o.ConfidenceIoUFrom)/(1-o.ConfidenceIoUFrom), 0), 1) * stab
	if largest > 0 && o.ConfidenceAreaShare > 0 {
		c *= min(float64(area)/(o.ConfidenceAreaShare*float64(largest)), 1)
	}
	return min(max(c, 0), 1)
}

// weakest says in plain words which part of the confidence (see
// confidence) is lowest on a slice: what a person looking at a doubtful
// slice should know.
func weakest(iou float32, stab float64, area, largest int, o SAMOptions) string {
	fIoU := min(max((float64(iou)-o.ConfidenceIoUFrom)/(1-o.ConfidenceIoUFrom), 0), 1)
	fArea := 1.0
	if largest > 0 && o.ConfidenceAreaShare > 0 {
		fArea = min(float64(area)/(o.ConfidenceAreaShare*float64(largest)), 1)
	}
	switch {
	case fArea <= fIoU && fArea <= stab:
		return fmt.Sprintf("an end slice (%.0f%% of the largest cross-section), where propagation often goes wrong", 100*float64(area)/float64(max(largest, 1)))
	case fIoU <= stab:
		return fmt.Sprintf("SAM is unsure of its mask here (its own IoU estimate %.2f)", iou)
	}
	return fmt.Sprintf("the mask's edge is unsharp here (SAM's stability %.2f)", stab)
}

// median returns the median of img over m, whose set pixels lie in box b
// (NaN when m is empty), by selection rather than sorting and in a reused
// buffer: it runs on every propagated slice.
func (p *propagation) median(img []float32, m *section.Mask, b section.Box) float64 {
	xs := p.hu[:0]
	for r := max(b.R0, 0); r <= b.R1; r++ {
		for c := max(b.C0, 0); c <= b.C1; c++ {
			if i := r*m.Cols + c; m.Data[i] {
				xs = append(xs, img[i])
			}
		}
	}
	p.hu = xs
	if len(xs) == 0 {
		return math.NaN()
	}
	return float64(selectKth(xs, len(xs)/2))
}

// selectKth returns the k-th smallest of xs (from 0), reordering xs:
// Hoare's selection with the middle element as the pivot.
func selectKth(xs []float32, k int) float32 {
	lo, hi := 0, len(xs)-1
	for lo < hi {
		p := xs[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for xs[i] < p {
				i++
			}
			for xs[j] > p {
				j--
			}
			if i <= j {
				xs[i], xs[j] = xs[j], xs[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return xs[k]
		}
	}
	return xs[k]
}

// continuing keeps the parts of a slice's guarded mask m that continue the
// previous slice's mask prev: m is opened by a disc of radius r mm, which
// cuts it at necks narrower than 2r; of the pieces left, those lying at
// least half on prev are kept, and grown back by 1.5r within m (the rim
// the opening shaved off) but not into a piece dropped. A piece that
// joins the organ through a neck and lies mostly off the previous slice
// is a neighbour of its density coming in (on patient A, the abdominal
// wall beside the liver, which otherwise enters on one slice and is
// carried to the liver's end); an organ's own pieces (two lobes) each
// continue one of the slice before. m is returned as it is when the
// opening leaves at most one piece.
func continuing(m, prev *section.Mask, r, dr, dc float64) *section.Mask {
	lab, n := section.NeckPieces(m, r, dr, dc)
	if n <= 1 {
		return m
	}
	size := make([]int, n+1)
	over := make([]int, n+1)
	for i, id := range lab {
		if id > 0 {
			size[id]++
			if prev.Data[i] {
				over[id]++
			}
		}
	}
	keep := make([]bool, n+1)
	kept := false
	for id := 1; id <= n; id++ {
		keep[id] = 2*over[id] >= size[id]
		kept = kept || keep[id]
	}
	if !kept {
		return m
	}
	return section.Regrow(m, lab, keep, r*1.5, dr, dc)
}
