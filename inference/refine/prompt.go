package refine

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/volume"
)

// SlicePrompt is what an annotator has told SAM about one axial slice: a
// box drawn around the structure, clicks on it (positive: "this too",
// negative: "not this"), and SAM's previous answer on the slice, which a
// click corrects rather than starts again from.
type SlicePrompt struct {
	// Box, when set, is the box drawn (slice pixels, corners included).
	Box *section.Box
	// Points are the clicks, oldest first.
	Points []sam.Point
	// Previous, when set, is the low-resolution answer (sam.LowRes²
	// logits) the slice had before: SAM's own from the last decode, a
	// propagation's, or a mask's (sam.Model.LowResLogits).
	Previous []float32
	// Before, when set, is the mask the slice had before this prompt:
	// pieces of SAM's answer that neither touch it nor hold a positive
	// click are dropped (a click fixes one place; SAM's answer elsewhere
	// on the slice is no part of what was asked).
	Before *section.Mask
	// Last, when set, is the slice's mask just before the latest click.
	// A negative latest click then only takes away from it: asked anew,
	// SAM's answer can reach past the mask (around a small end slice it
	// grew), which is not what "not this" says.
	Last *section.Mask
}

// Answer is SAM's answer to a SlicePrompt after the guards.
type Answer struct {
	// Mask is the structure on the slice image.
	Mask *section.Mask
	// Raw is SAM's mask before the guards.
	Raw *section.Mask
	// LowRes is SAM's low-resolution answer with everything outside Mask
	// pushed to background: the Previous of the next prompt.
	LowRes []float32
	// IoU and Stability are SAM's own estimate and its mask's stability.
	IoU       float32
	Stability float64
	// Guard says in a few words what the guards removed, if anything.
	Guard string
}

// GuardOptions are the leak guards of a prompted slice: what the engine
// knows about a structure without being told its name. The zero value
// gives the defaults; a negative value switches a guard off.
type GuardOptions struct {
	// HUStd: pixels of SAM's answer whose HU lies more than HUStd robust
	// standard deviations from the median of the answer's core are not
	// the structure (default 3, as the propagation's density range);
	// the holes this leaves inside it are filled (vessels).
	HUStd float64
	// MinHUSpread is the least half-width of that range in HU (default
	// 10): a uniform region still gets a usable range.
	MinHUSpread float64
	// CoreErosionPx erodes SAM's answer by this many pixels before its
	// density is measured (default 1.5): its edge mixes the structure with
	// its neighbours.
	CoreErosionPx float64
	// NeckMM cuts bridges narrower than twice this many mm between the
	// body of the answer and what lies beyond (default 4): a leak into a
	// neighbour (the IVC beside the liver, the crus behind it) runs
	// through a narrow contact, which an opening of this radius breaks.
	NeckMM float64
	// MinKeep: when the guards would keep less than this share of SAM's
	// answer (default 0.5), they are taken to have misjudged the
	// structure (SAM's answer is mostly something else, or the structure
	// is mostly vessels) and SAM's answer is kept as it is.
	MinKeep float64
	// Prior, when set, is a segmentation model's probability of the
	// structure on every pixel of the slice: pixels below PriorMin
	// (default 0.1) are not the structure.
	Prior    []float32
	PriorMin float64
	// SplitEta and SplitFit: SAM's answer to a box alone (no click) that
	// holds two tissues is cut to the one that fills the box (twoTissues;
	// defaults 0.7 and 0.1).
	SplitEta, SplitFit float64
	// FillGapMM and FillHUStd: SAM's guarded answer to a box alone that
	// stops at least FillGapMM short of a side of the box is grown there
	// through tissue of its density, within FillHUStd robust standard
	// deviations (fillBox; defaults 3 mm and 2: on patient A's 3 mm
	// pixels, one pixel short).
	FillGapMM, FillHUStd float64
	// Reask: SAM's guarded answer to a box alone is given back to it, with
	// the box, as its mask prompt this many times (default 1), and the
	// answer guarded again: told what the organ is, SAM draws its edge
	// where the guards cut straight (on patient A the box's slices gained
	// 0.014 of 2D Dice on average, docs/interactive.md).
	Reask int
}

// Defaults of GuardOptions.
const (
	DefaultGuardHUStd    = 3
	DefaultMinHUSpread   = 10
	DefaultCoreErosionPx = 1.5
	DefaultNeckMM        = 4
	DefaultMinKeep       = 0.5
	DefaultPriorMin      = 0.1
	DefaultSplitEta      = 0.7
	DefaultSplitFit      = 0.1
	DefaultReask         = 1
	DefaultFillGapMM     = 3
	DefaultFillHUStd     = 2
)

func (o GuardOptions) withDefaults() GuardOptions {
	def := func(x *float64, d float64) {
		if *x == 0 {
			*x = d
		}
	}
	def(&o.HUStd, DefaultGuardHUStd)
	def(&o.MinHUSpread, DefaultMinHUSpread)
	def(&o.CoreErosionPx, DefaultCoreErosionPx)
	def(&o.NeckMM, DefaultNeckMM)
	def(&o.MinKeep, DefaultMinKeep)
	def(&o.PriorMin, DefaultPriorMin)
	def(&o.SplitEta, DefaultSplitEta)
	def(&o.SplitFit, DefaultSplitFit)
	def(&o.FillGapMM, DefaultFillGapMM)
	def(&o.FillHUStd, DefaultFillHUStd)
	if o.Reask == 0 {
		o.Reask = DefaultReask
	}
	return o
}

// Prompter answers prompts on the axial slices of one scan.
type Prompter struct {
	SAM    *sam.Model
	Volume *volume.Volume
	Slicer *section.Slicer
	// Window is the image window the encoder sees.
	Window models.Window
}

// NewPrompter returns a Prompter on the axial slices of v, seen in window w.
func NewPrompter(s *sam.Model, v *volume.Volume, w models.Window) (*Prompter, error) {
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		return nil, err
	}
	return &Prompter{SAM: s, Volume: v, Slicer: sl, Window: w}, nil
}

// Box answers a box drawn on slice k, the first prompt on a slice: SAM's
// single output, then the guards (Guard), since a box alone lets SAM fill
// it with whatever has the structure's look.
func (p *Prompter) Box(ctx context.Context, k int, box section.Box, g GuardOptions) (*Answer, error) {
	return p.Ask(ctx, k, SlicePrompt{Box: &box}, &g)
}

// Ask answers prompt q on slice k. With g set, the answer is guarded
// (Guard). Clicks are the user's word: a guard never removes a piece
// holding a positive click, and the pixel under every click ends as the
// click said.
//
// Clicks on a slice that has a mask (q.Before) correct it: SAM is told
// what the mask is, besides the clicks, by a few positive points at its
// deepest places (ClickOptions.ImplicitPoints, away from the clicks) and
// by its box widened to take in the positive clicks (when q has no box):
// a lone click with the mask as the only other prompt makes SAM answer
// with the part around the click and drop the rest (on patient A, a
// negative click cost a slice 0.33 of its Dice on average; with these
// prompts it gains, docs/interactive.md). The guards then run as for a
// box. On patient A these choices were made; patient B is held out.
func (p *Prompter) Ask(ctx context.Context, k int, q SlicePrompt, g *GuardOptions) (*Answer, error) {
	return p.AskWith(ctx, k, q, g, ClickOptions{})
}

// ClickOptions say how clicks on a slice with a mask are turned into
// SAM's prompt (see Ask). The zero value gives the defaults; a negative
// value switches a part off.
type ClickOptions struct {
	// ImplicitPoints is how many positive points at the mask's deepest
	// places join the clicks (default 3).
	ImplicitPoints int
	// ImplicitApartMM keeps those points this far from each other and
	// from positive clicks (default 20 mm); NegativeClearMM this far from
	// negative clicks (default 15 mm), whose surroundings the user says
	// are wrong.
	ImplicitApartMM float64
	NegativeClearMM float64
	// BoxMarginMM widens the mask's box (with the positive clicks) on
	// every side (default 6 mm, the propagation's margin: the box of the
	// answer the slice had).
	BoxMarginMM float64
	// Unguarded leaves SAM's answer to clicks without the guards.
	Unguarded bool
	// ForceMM: where SAM's answer ignores a click (its pixel stays as it
	// was), a disc around the click is made what the click said: for a
	// negative click, the mask's pixels within the click's depth in the
	// mask; for a positive one, the pixels up to the mask's edge that
	// have its density; either disc at most ForceMM in radius (default
	// 10 mm). A click that changes nothing would be clicked again and
	// again. Negative: off.
	ForceMM float64
	// OpenMM: SAM's previous answer, given back as its mask prompt, says
	// "background" firmly wherever the slice's mask is not (cut); around
	// a positive click outside the mask, within OpenMM (default 20 mm), it
	// says nothing instead, so that the click can add what it points at
	// (chosen on patient A with the robot annotator, docs/interactive.md).
	// Negative: off.
	OpenMM float64
	// NegativeOpenDepth: around a negative click inside the mask, SAM's
	// previous answer says nothing either, within this many times the
	// click's depth in the mask (default 2), at most OpenMM. Given back
	// whole, it says "object" firmly under the click, and SAM kept what
	// the click said was wrong; the depth scales the disc to the part
	// clicked, so that a click on a thin wrong strip does not open the
	// organ beside it (chosen on patient A among 1, 2 and 3 and 20 or 30
	// mm at most, docs/interactive.md). Negative: off.
	NegativeOpenDepth float64
	// SeedMM: a positive click on a slice where the structure is not
	// drawn and no box is given starts from the region of the density of
	// the discs of this radius around the positive clicks, joined to them
	// (default 5 mm; see freshClick). Negative: SAM gets the clicks
	// alone.
	SeedMM float64
}

// Defaults of ClickOptions.
const (
	DefaultImplicitPoints  = 3
	DefaultImplicitApartMM = 20
	DefaultNegativeClearMM = 15
	DefaultClickBoxMargin  = 6
	DefaultForceMM         = 10
	DefaultOpenMM          = 20
	DefaultNegativeOpen    = 2
	DefaultSeedMM          = 5
)

func (o ClickOptions) withDefaults() ClickOptions {
	if o.ImplicitPoints == 0 {
		o.ImplicitPoints = DefaultImplicitPoints
	}
	if o.ImplicitApartMM == 0 {
		o.ImplicitApartMM = DefaultImplicitApartMM
	}
	if o.NegativeClearMM == 0 {
		o.NegativeClearMM = DefaultNegativeClearMM
	}
	if o.BoxMarginMM == 0 {
		o.BoxMarginMM = DefaultClickBoxMargin
	}
	if o.ForceMM == 0 {
		o.ForceMM = DefaultForceMM
	}
	if o.OpenMM == 0 {
		o.OpenMM = DefaultOpenMM
	}
	if o.NegativeOpenDepth == 0 {
		o.NegativeOpenDepth = DefaultNegativeOpen
	}
	if o.SeedMM == 0 {
		o.SeedMM = DefaultSeedMM
	}
	return o
}

// AskWith is Ask with clicks turned into prompts as co says.
func (p *Prompter) AskWith(ctx context.Context, k int, q SlicePrompt, g *GuardOptions, co ClickOptions) (*Answer, error) {
	sl := p.Slicer
	if err := sl.CheckSlice(k); err != nil {
		return nil, err
	}
	if q.Box == nil && len(q.Points) == 0 {
		return nil, fmt.Errorf("refine: slice %d: a prompt needs a box or a click", k)
	}
	if q.Previous != nil && len(q.Previous) != sam.LowRes*sam.LowRes {
		return nil, fmt.Errorf("refine: slice %d: previous answer has %d values, want %d", k, len(q.Previous), sam.LowRes*sam.LowRes)
	}
	if q.Before != nil && (q.Before.Rows != sl.Rows || q.Before.Cols != sl.Cols) {
		return nil, fmt.Errorf("refine: slice %d: previous mask is %dx%d, the slice %dx%d", k, q.Before.Rows, q.Before.Cols, sl.Rows, sl.Cols)
	}
	if q.Last != nil && (q.Last.Rows != sl.Rows || q.Last.Cols != sl.Cols) {
		return nil, fmt.Errorf("refine: slice %d: mask before the last click is %dx%d, the slice %dx%d", k, q.Last.Rows, q.Last.Cols, sl.Rows, sl.Cols)
	}
	if g != nil && g.Prior != nil && len(g.Prior) != sl.Rows*sl.Cols {
		return nil, fmt.Errorf("refine: slice %d: prior has %d pixels, the slice %d", k, len(g.Prior), sl.Rows*sl.Cols)
	}
	for _, pt := range q.Points {
		if pt.Row < 0 || pt.Col < 0 || pt.Row >= float64(sl.Rows) || pt.Col >= float64(sl.Cols) || math.IsNaN(pt.Row) || math.IsNaN(pt.Col) {
			return nil, fmt.Errorf("refine: slice %d: click (%g, %g) outside the %dx%d slice", k, pt.Row, pt.Col, sl.Rows, sl.Cols)
		}
	}
	img, err := sl.Image(p.Volume, k)
	if err != nil {
		return nil, err
	}
	emb, err := p.SAM.SliceImageEmbedding(ctx, p.Volume, sl, k, img, p.Window)
	if err != nil {
		return nil, err
	}
	co = co.withDefaults()
	prompt := sam.Prompt{Box: q.Box, Points: q.Points, MaskInput: q.Previous}
	clicks := len(q.Points) > 0
	dr, dc := sl.PixelSpacing()
	if clicks && q.Box == nil && (q.Before == nil || q.Before.Area() == 0) && co.SeedMM > 0 {
		return p.freshClick(ctx, emb, img, q, g, co, dr, dc)
	}
	drawn := q.Before != nil && q.Before.Area() > 0
	var depth maskDepth // the implicit points and a negative click's opening both read it
	if clicks && drawn && (co.ImplicitPoints > 0 || co.NegativeOpenDepth > 0) {
		depth = depthAround(q.Before, dr, dc)
	}
	if clicks && q.Previous != nil && co.OpenMM > 0 {
		rs, cs := p.SAM.LowResPixels(sl.Rows, sl.Cols)
		prompt.MaskInput = openAround(q.Previous, rs, cs, q.Before, depth, q.Points, co, dr, dc)
	}
	if clicks && drawn {
		if co.ImplicitPoints > 0 {
			w := depth.w
			pts := implicitPoints(section.Crop(q.Before, w), depth.d, shift(q.Points, -w.R0, -w.C0), co, dr, dc)
			prompt.Points = append(shift(pts, w.R0, w.C0), q.Points...)
		}
		if prompt.Box == nil && co.BoxMarginMM >= 0 {
			b := clickBox(q.Before, q.Points, co.BoxMarginMM, dr, dc)
			prompt.Box = &b
		}
		if g == nil && !co.Unguarded {
			g = &GuardOptions{}
		}
	}
	pred, err := p.SAM.Decode(ctx, emb, prompt)
	if err != nil {
		return nil, err
	}
	a := &Answer{Raw: pred.Mask, IoU: pred.IoU, Stability: pred.Stability}
	a.Mask, a.Guard = settlePrompt(img, pred, q, g, co, dr, dc, sl.Rows, sl.Cols)
	if last := q.Last; clicks && last != nil && !q.Points[len(q.Points)-1].Positive {
		for i, on := range last.Data {
			a.Mask.Data[i] = a.Mask.Data[i] && on
		}
	}
	var added *section.Mask
	if g != nil && q.Box != nil && !clicks && q.Previous == nil {
		o := g.withDefaults()
		// The answer given back holds one tissue already: asked again,
		// SAM moves its edge, and a second split would cut the organ.
		again := *g
		again.SplitEta = -1
		for range max(o.Reask, 0) {
			if a.Mask.Area() == 0 {
				break
			}
			prompt.MaskInput = p.SAM.LowResLogits(a.Mask, reaskLogit)
			if pred, err = p.SAM.Decode(ctx, emb, prompt); err != nil {
				return nil, err
			}
			a.IoU, a.Stability = pred.IoU, pred.Stability
			mask, why := settlePrompt(img, pred, q, &again, co, dr, dc, sl.Rows, sl.Cols)
			a.Mask = mask
			if why != "" {
				a.Guard = strings.TrimPrefix(a.Guard+"; asked again, "+why, "; ")
			}
		}
		if o.FillGapMM > 0 && o.NeckMM > 0 {
			var n int
			if a.Mask, added, n = growToBox(img, a.Mask, *q.Box, o, dr, dc); n > 0 {
				a.Guard = strings.TrimPrefix(a.Guard+fmt.Sprintf("; grown by %d px of its density toward the box's sides", n), "; ")
			}
		}
	}
	a.LowRes = p.cut(pred.LowRes, a.Mask)
	if added != nil {
		// The next prompt on the slice (a click) starts from this answer:
		// SAM's logits say "background" where it grew, the grown part
		// says otherwise.
		for i, x := range p.SAM.LowResLogits(added, reaskLogit) {
			a.LowRes[i] = max(a.LowRes[i], x)
		}
	}
	return a, nil
}

// reaskLogit is the amplitude of the guarded answer given back to SAM
// (Reask): firm, as a mask SAM should keep where it is right
// (sam-on-ct.md: a good mask at ±10 as the mask prompt stays good).
const reaskLogit = 10

// settlePrompt applies the guards (when g is set) and the clicks' rules to
// SAM's answer pred to prompt q, and returns the mask and what the guards
// removed.
func settlePrompt(img []float32, pred *sam.Prediction, q SlicePrompt, g *GuardOptions, co ClickOptions, dr, dc float64, rows, cols int) (*section.Mask, string) {
	// The guards and the clicks' rules work on the window holding SAM's
	// answer, the mask before, the clicks and the box, widened by what the
	// rules reach: an organ is a small part of a slice.
	w, ok := window(pred, q, co, g, dr, dc, rows, cols)
	if !ok {
		return pred.Mask, ""
	}
	imgW := cropImage(img, cols, w)
	rawW := section.Crop(pred.Mask, w)
	ptsW := shift(q.Points, -w.R0, -w.C0)
	m, why := rawW, ""
	if g != nil {
		gw := *g
		if gw.Prior != nil {
			gw.Prior = cropImage(gw.Prior, cols, w)
		}
		var boxW *section.Box
		if q.Box != nil {
			b := section.Box{R0: q.Box.R0 - w.R0, C0: q.Box.C0 - w.C0, R1: q.Box.R1 - w.R0, C1: q.Box.C1 - w.C0}
			boxW = &b
		}
		m, why = guard(imgW, rawW, boxW, dr, dc, gw, ptsW)
	}
	if q.Before != nil && len(q.Points) > 0 {
		m = keepAsked(m, section.Crop(q.Before, w), ptsW)
	}
	if co.ForceMM > 0 {
		m = forceClicks(imgW, m, rawW, ptsW, co.ForceMM, dr, dc)
	}
	m = obeyClicks(m, ptsW)
	return paste(m, w, rows, cols), why
}

// window returns the part of the slice the rules after the decoder work
// on (see AskWith), and false when there is nothing to work on.
func window(pred *sam.Prediction, q SlicePrompt, co ClickOptions, g *GuardOptions, dr, dc float64, rows, cols int) (section.Box, bool) {
	b := section.Box{R0: rows, C0: cols, R1: -1, C1: -1}
	add := func(o section.Box) {
		b.R0, b.C0, b.R1, b.C1 = min(b.R0, o.R0), min(b.C0, o.C0), max(b.R1, o.R1), max(b.C1, o.C1)
	}
	if pred.Area > 0 {
		add(pred.Bounds)
	}
	if q.Before != nil {
		if bb, ok := q.Before.Bounds(); ok {
			add(bb)
		}
	}
	if q.Box != nil {
		add(*q.Box)
	}
	for _, pt := range q.Points {
		r, c := int(pt.Row), int(pt.Col)
		add(section.Box{R0: r, C0: c, R1: r, C1: c})
	}
	if b.R1 < 0 {
		return b, false
	}
	reach := max(co.ForceMM, 0)
	if g != nil {
		reach = max(reach, 2*g.withDefaults().NeckMM)
	}
	return grow(b, int(math.Ceil(reach/dr))+2, int(math.Ceil(reach/dc))+2, rows, cols), true
}

// grow widens b by mr rows and mc columns, within a rows×cols slice.
func grow(b section.Box, mr, mc, rows, cols int) section.Box {
	return section.Box{R0: max(b.R0-mr, 0), C0: max(b.C0-mc, 0), R1: min(b.R1+mr, rows-1), C1: min(b.C1+mc, cols-1)}
}

// shift moves points by (dr, dc) pixels.
func shift(pts []sam.Point, dr, dc int) []sam.Point {
	out := make([]sam.Point, len(pts))
	for i, p := range pts {
		p.Row, p.Col = p.Row+float64(dr), p.Col+float64(dc)
		out[i] = p
	}
	return out
}

// cropImage returns the part of img (cols wide) inside w.
func cropImage(img []float32, cols int, w section.Box) []float32 {
	n := w.C1 - w.C0 + 1
	out := make([]float32, 0, (w.R1-w.R0+1)*n)
	for r := w.R0; r <= w.R1; r++ {
		out = append(out, img[r*cols+w.C0:r*cols+w.C1+1]...)
	}
	return out
}

// paste returns a rows×cols mask holding m at window w.
func paste(m *section.Mask, w section.Box, rows, cols int) *section.Mask {
	out := section.NewMask(rows, cols)
	for r := 0; r < m.Rows; r++ {
		copy(out.Data[(r+w.R0)*cols+w.C0:(r+w.R0)*cols+w.C0+m.Cols], m.Data[r*m.Cols:(r+1)*m.Cols])
	}
	return out
}

// forceClicks makes a disc around every click SAM's answer raw ignored
// what the click said (ClickOptions.ForceMM), in m.
func forceClicks(img []float32, m, raw *section.Mask, clicks []sam.Point, radius, dr, dc float64) *section.Mask {
	var ignored []sam.Point
	for _, q := range clicks {
		if i, ok := pixelOf(raw, q); ok && raw.Data[i] != q.Positive {
			ignored = append(ignored, q)
		}
	}
	if len(ignored) == 0 {
		return m
	}
	out := &section.Mask{Rows: m.Rows, Cols: m.Cols, Data: slices.Clone(m.Data)}
	lo, hi, dense := 0.0, 0.0, false
	if m.Area() > 0 {
		lo, hi, dense = densityRange(img, m, dr, dc, GuardOptions{}.withDefaults())
	}
	var inside, outside []float64 // depth in m, distance to m
	for _, q := range ignored {
		i, _ := pixelOf(m, q)
		r := radius
		if !q.Positive {
			if inside == nil {
				inside = section.Depth(m, dr, dc)
			}
			r = min(r, inside[i])
		} else if m.Area() > 0 {
			if outside == nil {
				outside = section.DistanceTo(m, dr, dc)
			}
			r = min(r, outside[i])
		}
		r0, c0 := q.Row, q.Col
		pr, pc := int(math.Ceil(r/dr)), int(math.Ceil(r/dc))
		for rr := max(int(r0)-pr, 0); rr <= min(int(r0)+pr, m.Rows-1); rr++ {
			for cc := max(int(c0)-pc, 0); cc <= min(int(c0)+pc, m.Cols-1); cc++ {
				y, x := (float64(rr)+0.5-r0)*dr, (float64(cc)+0.5-c0)*dc
				if y*y+x*x > r*r {
					continue
				}
				j := rr*m.Cols + cc
				if !q.Positive {
					out.Data[j] = false
				} else if h := float64(img[j]); !dense || (h >= lo && h <= hi) {
					out.Data[j] = true
				}
			}
		}
	}
	return out
}

// maskDepth is a mask's depth (section.Depth, in mm) on the window w
// around it: a distance map of a whole 512² slice per click costs as much
// as the decoder.
type maskDepth struct {
	w section.Box
	d []float64
}

// depthAround returns the depth of m, which holds a pixel, on its
// bounding box widened by two pixels.
func depthAround(m *section.Mask, dr, dc float64) maskDepth {
	bb, _ := m.Bounds()
	w := grow(bb, 2, 2, m.Rows, m.Cols)
	return maskDepth{w: w, d: section.Depth(section.Crop(m, w), dr, dc)}
}

// at returns the depth at slice pixel (r, c), which lies in the window.
func (md maskDepth) at(r, c int) float64 {
	return md.d[(r-md.w.R0)*(md.w.C1-md.w.C0+1)+c-md.w.C0]
}

// implicitPoints returns up to co.ImplicitPoints positive points at the
// deepest places of m (d is its depth, section.Depth), greedily, each
// ImplicitApartMM from the others and from positive clicks and
// NegativeClearMM from negative clicks, and none closer than two pixels
// to m's edge.
func implicitPoints(m *section.Mask, d []float64, clicks []sam.Point, co ClickOptions, dr, dc float64) []sam.Point {
	var pts []sam.Point
	for len(pts) < co.ImplicitPoints {
		best, bi := 2*max(dr, dc), -1
		for i, on := range m.Data {
			if !on || d[i] <= best {
				continue
			}
			r, c := float64(i/m.Cols)+0.5, float64(i%m.Cols)+0.5
			ok := true
			for _, q := range append(pts, clicks...) {
				lim := co.ImplicitApartMM
				if !q.Positive {
					lim = co.NegativeClearMM
				}
				if y, x := (r-q.Row)*dr, (c-q.Col)*dc; y*y+x*x < lim*lim {
					ok = false
					break
				}
			}
			if ok {
				best, bi = d[i], i
			}
		}
		if bi < 0 {
			break
		}
		pts = append(pts, sam.Point{Row: float64(bi/m.Cols) + 0.5, Col: float64(bi%m.Cols) + 0.5, Positive: true})
	}
	return pts
}

// clickBox is the box of m and the positive clicks, widened by marginMM.
func clickBox(m *section.Mask, clicks []sam.Point, marginMM, dr, dc float64) section.Box {
	b, _ := m.Bounds()
	for _, q := range clicks {
		if q.Positive {
			r, c := int(q.Row), int(q.Col)
			b.R0, b.R1 = min(b.R0, r), max(b.R1, r)
			b.C0, b.C1 = min(b.C0, c), max(b.C1, c)
		}
	}
	mr, mc := int(math.Round(marginMM/dr)), int(math.Round(marginMM/dc))
	b.R0, b.C0 = max(b.R0-mr, 0), max(b.C0-mc, 0)
	b.R1, b.C1 = min(b.R1+mr, m.Rows-1), min(b.C1+mc, m.Cols-1)
	return b
}

// openAround returns the mask prompt low with the cells around some
// clicks made neither object nor background: within co.OpenMM of a
// positive click outside before (nil: no mask) raised to 0, and within
// co.NegativeOpenDepth times a negative click's depth in before (at most
// co.OpenMM) lowered to 0; depth is before's (depthAround) when before
// holds a pixel. rs and cs are the slice pixel of each row and column of
// cells (-1: none, sam.Model.LowResPixels). low itself is returned when no
// click is such.
func openAround(low []float32, rs, cs []int, before *section.Mask, depth maskDepth, pts []sam.Point, co ClickOptions, dr, dc float64) []float32 {
	var out []float32
	for _, q := range pts {
		r0, c0 := int(q.Row), int(q.Col)
		in := before != nil && before.Data[r0*before.Cols+c0]
		mm := co.OpenMM
		switch {
		case q.Positive && in:
			continue
		case !q.Positive:
			if !in || co.NegativeOpenDepth <= 0 {
				continue
			}
			mm = min(mm, co.NegativeOpenDepth*depth.at(r0, c0))
		}
		if out == nil {
			out = slices.Clone(low)
		}
		for v, r := range rs {
			if r < 0 || math.Abs(float64(r-r0))*dr > mm {
				continue
			}
			for u, c := range cs {
				dy, dx := float64(r-r0)*dr, float64(c-c0)*dc
				if c < 0 || dy*dy+dx*dx > mm*mm {
					continue
				}
				if i := v*len(cs) + u; q.Positive {
					out[i] = max(out[i], 0)
				} else {
					out[i] = min(out[i], 0)
				}
			}
		}
	}
	if out == nil {
		return low
	}
	return out
}

// cut returns SAM's low-resolution logits with the cells over pixels
// outside m pushed to background, so that a pixel a guard or a click
// removed does not come back with the next prompt.
func (p *Prompter) cut(low []float32, m *section.Mask) []float32 {
	out := make([]float32, len(low))
	rows, cols := p.SAM.LowResPixels(m.Rows, m.Cols)
	for v, r := range rows {
		for u, c := range cols {
			x := low[v*sam.LowRes+u]
			if r < 0 || c < 0 || !m.Data[r*m.Cols+c] {
				x = min(x, -10)
			}
			out[v*sam.LowRes+u] = x
		}
	}
	return out
}

// keepAsked keeps the pieces of m that touch before or hold a positive
// click: SAM's answer to a click elsewhere on the slice is not what the
// click asked.
func keepAsked(m, before *section.Mask, pts []sam.Point) *section.Mask {
	lab, n := section.Components(m)
	keep := make([]bool, n+1)
	for i, on := range before.Data {
		if on && lab[i] > 0 {
			keep[lab[i]] = true
		}
	}
	for _, pt := range pts {
		if i, ok := pixelOf(m, pt); ok && pt.Positive && lab[i] > 0 {
			keep[lab[i]] = true
		}
	}
	out := section.NewMask(m.Rows, m.Cols)
	for i, id := range lab {
		out.Data[i] = id > 0 && keep[id]
	}
	return out
}

// obeyClicks makes the pixel under every click what the click said (the
// latest click on a pixel wins): SAM's answer may ignore a click, the
// user's mask must not.
func obeyClicks(m *section.Mask, pts []sam.Point) *section.Mask {
	if len(pts) == 0 {
		return m
	}
	out := &section.Mask{Rows: m.Rows, Cols: m.Cols, Data: slices.Clone(m.Data)}
	for _, pt := range pts {
		if i, ok := pixelOf(m, pt); ok {
			out.Data[i] = pt.Positive
		}
	}
	return out
}

func pixelOf(m *section.Mask, pt sam.Point) (int, bool) {
	r, c := int(math.Floor(pt.Row)), int(math.Floor(pt.Col))
	if r < 0 || c < 0 || r >= m.Rows || c >= m.Cols {
		return 0, false
	}
	return r*m.Cols + c, true
}

// Guard keeps of SAM's answer raw on slice image img (HU) what has the
// structure's look and lies in its body: the pixels within the density
// range of the answer's own core (holes this leaves are filled, within
// box when set), above the prior, and connected to the answer's largest
// body once bridges narrower than twice NeckMM are cut. It returns the
// guarded mask and a few words on what was removed ("" when nothing
// was). When the guards would keep less than MinKeep of raw, raw is kept.
func Guard(img []float32, raw *section.Mask, box *section.Box, sl *section.Slicer, o GuardOptions) (*section.Mask, string) {
	dr, dc := sl.PixelSpacing()
	return guard(img, raw, box, dr, dc, o, nil)
}

// guard is Guard keeping, besides the main body, every piece that holds
// a positive click.
func guard(img []float32, raw *section.Mask, box *section.Box, dr, dc float64, o GuardOptions, clicks []sam.Point) (*section.Mask, string) {
	o = o.withDefaults()
	area := raw.Area()
	if area == 0 {
		return raw, ""
	}
	var removed []string
	split := false
	if box != nil && len(clicks) == 0 && o.SplitEta > 0 {
		if m, t := twoTissues(img, raw, *box, dr, dc, o); m != nil && m.Area() > 0 {
			split = true
			removed = append(removed, fmt.Sprintf("%d px of a second tissue (cut at %.0f HU)", area-m.Area(), t))
			raw, area = m, m.Area()
		}
	}
	g := raw
	if o.HUStd > 0 {
		lo, hi, ok := densityRange(img, raw, dr, dc, o)
		if ok {
			in := section.NewMask(raw.Rows, raw.Cols)
			for i, on := range raw.Data {
				x := float64(img[i])
				in.Data[i] = on && x >= lo && x <= hi
			}
			in = section.FillHoles(in)
			if box != nil {
				for r := 0; r < in.Rows; r++ {
					for c := 0; c < in.Cols; c++ {
						if r < box.R0 || r > box.R1 || c < box.C0 || c > box.C1 {
							in.Data[r*in.Cols+c] = in.Data[r*in.Cols+c] && raw.Data[r*in.Cols+c]
						}
					}
				}
			}
			if n := area - countAnd(in, raw); n > 0 {
				removed = append(removed, fmt.Sprintf("%d px outside %.0f..%.0f HU", n, lo, hi))
			}
			g = in
		}
	}
	if o.Prior != nil && o.PriorMin > 0 {
		out := section.NewMask(g.Rows, g.Cols)
		n := 0
		for i, on := range g.Data {
			out.Data[i] = on && o.Prior[i] >= float32(o.PriorMin)
			if on && !out.Data[i] {
				n++
			}
		}
		if n > 0 {
			removed = append(removed, fmt.Sprintf("%d px the prior rules out", n))
		}
		g = out
	}
	if o.NeckMM > 0 {
		before := g.Area()
		body := mainBody(g, o.NeckMM, dr, dc)
		// A piece the user clicked on is the structure, whatever its size.
		lab, _ := section.Components(g)
		for _, q := range clicks {
			if i, ok := pixelOf(g, q); ok && q.Positive && lab[i] > 0 {
				for j, id := range lab {
					body.Data[j] = body.Data[j] || id == lab[i]
				}
			}
		}
		g = body
		if n := before - g.Area(); n > 0 {
			removed = append(removed, fmt.Sprintf("%d px beyond a neck under %.0f mm", n, 2*o.NeckMM))
		}
	}
	if float64(g.Area()) < o.MinKeep*float64(area) {
		why := fmt.Sprintf("guards kept %d of %d px: SAM's answer kept", g.Area(), area)
		if split {
			why = removed[0] + "; then " + why
		}
		return raw, why
	}
	if len(removed) == 0 {
		return g, ""
	}
	return g, "removed " + joinWords(removed)
}

// densityRange is the median of img over raw's core ± HUStd robust
// standard deviations (at least MinHUSpread), and false when the core
// holds no readable pixel.
func densityRange(img []float32, raw *section.Mask, dr, dc float64, o GuardOptions) (lo, hi float64, ok bool) {
	core := section.ErodeMM(raw, o.CoreErosionPx*max(dr, dc), dr, dc)
	if core.Area() < defaultMinPixels {
		core = raw
	}
	var xs []float64
	for i, on := range core.Data {
		if x := float64(img[i]); on && !math.IsNaN(x) {
			xs = append(xs, x)
		}
	}
	if len(xs) == 0 {
		return 0, 0, false
	}
	slices.Sort(xs)
	med := xs[len(xs)/2]
	for i, x := range xs {
		xs[i] = math.Abs(x - med)
	}
	slices.Sort(xs)
	spread := max(o.HUStd*1.4826*xs[len(xs)/2], o.MinHUSpread)
	return med - spread, med + spread, true
}

// mainBody returns the part of m connected to its largest body once
// bridges narrower than 2r mm are cut: m opened by a disc of radius r,
// the largest piece kept, grown back by 1.5r within m, and the piece of m
// that growth touches.
func mainBody(m *section.Mask, r, dr, dc float64) *section.Mask {
	lab, n := section.NeckPieces(m, r, dr, dc)
	if n == 0 {
		return m // nothing survives the opening: too thin to judge
	}
	best, _ := section.Largest(lab, n)
	keep := make([]bool, n+1)
	keep[best] = true
	return section.Regrow(m, lab, keep, r*1.5, dr, dc)
}

func countAnd(a, b *section.Mask) int {
	n := 0
	for i, on := range a.Data {
		if on && b.Data[i] {
			n++
		}
	}
	return n
}

func joinWords(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	s := ""
	for i, x := range xs {
		switch {
		case i == 0:
			s = x
		case i == len(xs)-1:
			s += " and " + x
		default:
			s += ", " + x
		}
	}
	return s
}
