package refine

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/volume"
)

// Options tune Refine. The zero value gives the defaults below, which
// were chosen on patient A only (docs/sam-refinement.md).
type Options struct {
	// Labels to refine; empty means every label value in the coarse mask.
	Labels []uint16
	// Windows give the image window the encoder sees per label value (the
	// ones the user chose for the segments); a value not in it is seen in
	// the encoder manifest's default window.
	Windows map[uint16]models.Window
	// MarginMM widens each box on every side (0 by default: a wider box
	// made SAM worse on CT, sam-on-ct.md).
	MarginMM float64
	// MinIoU: keep the coarse component when SAM's own IoU estimate is
	// lower. Default DefaultMinIoU.
	MinIoU float64
	// MaxAreaChange: keep the coarse component when the refined area
	// differs from it by more than this fraction. Default
	// DefaultMaxAreaChange.
	MaxAreaChange float64
	// MaxHUShift: keep the coarse component when the pixels SAM adds have a
	// mean HU more than MaxHUShift coarse standard deviations away from the
	// coarse component's mean: SAM grew into another tissue. Default
	// DefaultMaxHUShift.
	MaxHUShift float64
	// MinPixels: components smaller than this are kept as they are (SAM
	// has nothing to work with at a few pixels). Default 16.
	MinPixels int
	// MaskLogit is the amplitude of the coarse component given to the
	// decoder as its mask prompt (+MaskLogit inside, -MaskLogit outside).
	// Default 10.
	MaskLogit float64
	// Passes is the number of decoder passes per component: each pass after
	// the first gives the decoder its own previous low-resolution answer as
	// the mask prompt (SAM's iterative refinement). Default 1.
	Passes int
	// TrimStd removes from each component SAM's answer replaced the pixels
	// outside its coarse core (the coarse component eroded by two pixels)
	// whose HU lies more than TrimStd standard deviations from the core's
	// mean: fat or air that a too-generous coarse mask, or SAM, included at
	// the organ's edge. A component whose coarse shape is kept is never
	// trimmed (it must not end worse than it came). Default DefaultTrimStd;
	// negative disables it.
	TrimStd float64
	// Progress, if not nil, hears about every slice.
	Progress onnxrt.Progress
}

// Defaults of Options (see docs/sam-refinement.md for how they were
// chosen).
const (
	DefaultMinIoU        = 0.5
	DefaultMaxAreaChange = 0.5
	DefaultMaxHUShift    = 2.0
	DefaultTrimStd       = 3.0
	defaultMinPixels     = 16
	defaultMaskLogit     = 10
)

// Tuned constants of refinement and fill between slices, named with their
// reasons (patient A's slices chose them; docs/sam-refinement.md and
// docs/interpolation.md).
const (
	// trimCorePx: a mask's core, whose density the trims measure and whose
	// pixels they never remove, is the mask eroded by this many pixels: two
	// keeps a coarse mask's uncertain rim out of the statistics and still
	// leaves a core on a kidney's smaller slices.
	trimCorePx = 2
	// statsCorePx: the organ density fill between slices calibrates on is
	// measured on the drawn masks eroded by one pixel: the drawn edge mixes
	// the organ with its neighbours, and one pixel is all a thin drawn
	// slice can lose.
	statsCorePx = 1
	// noiseShare: a component's refinement is judged on the density of the
	// pixels SAM adds only when they are more than this share of the
	// component: a handful of added pixels is boundary noise, not a leak.
	noiseShare = 0.05
)

func (o Options) withDefaults() Options {
	if o.MinIoU == 0 {
		o.MinIoU = DefaultMinIoU
	}
	if o.MaxAreaChange == 0 {
		o.MaxAreaChange = DefaultMaxAreaChange
	}
	if o.MaxHUShift == 0 {
		o.MaxHUShift = DefaultMaxHUShift
	}
	if o.MinPixels == 0 {
		o.MinPixels = defaultMinPixels
	}
	if o.MaskLogit == 0 {
		o.MaskLogit = defaultMaskLogit
	}
	if o.Passes == 0 {
		o.Passes = 1
	}
	if o.TrimStd == 0 {
		o.TrimStd = DefaultTrimStd
	}
	return o
}

// Decision says what happened to one coarse component.
type Decision int

// Outcomes of one component's refinement.
const (
	Replaced      Decision = iota // SAM's mask was used
	KeptSmall                     // too small to prompt
	KeptLowIoU                    // SAM was not confident
	KeptArea                      // the area changed too much
	KeptIntensity                 // SAM added tissue of another density
	KeptEmpty                     // SAM's mask missed the component
)

func (d Decision) String() string {
	return [...]string{"replaced", "kept: small", "kept: low IoU", "kept: area change", "kept: intensity", "kept: empty"}[d]
}

// Stats counts the decisions of a refinement.
type Stats struct {
	Slices     int
	Components int
	Decisions  map[Decision]int
}

// Refine returns a copy of coarse in which each listed label is refined with
// SAM slice by slice (axial): every 2D connected component of the label on
// a slice becomes one prompt (its bounding box, plus the component itself
// as the mask prompt), and SAM's answer replaces the component only if it
// passes the keep-or-replace rules of opts. Voxels of other labels are never
// changed. v and coarse must share a grid.
func Volume(ctx context.Context, s *sam.Model, v *volume.Volume, coarse *volume.Labels, opts Options) (*volume.Labels, Stats, error) {
	opts = opts.withDefaults()
	st := Stats{Decisions: map[Decision]int{}}
	if !v.Grid.Equal(coarse.Grid, 1e-4) {
		return nil, st, fmt.Errorf("refine: coarse mask grid %v differs from the scan's %v", coarse.Dims, v.Dims)
	}
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		return nil, st, err
	}
	labels := opts.Labels
	if len(labels) == 0 {
		seen := map[uint16]bool{}
		for _, x := range coarse.Data {
			if x != 0 && !seen[x] {
				seen[x] = true
				labels = append(labels, x)
			}
		}
		slices.Sort(labels)
	}
	out := &volume.Labels{Grid: coarse.Grid, Data: slices.Clone(coarse.Data)}
	dr, dc := sl.PixelSpacing()
	mr, mc := int(math.Round(opts.MarginMM/dr)), int(math.Round(opts.MarginMM/dc))
	total := len(labels) * sl.Slices
	for li, lv := range labels {
		w, ok := opts.Windows[lv]
		if !ok {
			w = s.DefaultWindow()
		}
		for k := 0; k < sl.Slices; k++ {
			if err := ctx.Err(); err != nil {
				return nil, st, err
			}
			onnxrt.Report(opts.Progress, li*sl.Slices+k, total, fmt.Sprintf("label %d, slice %d", lv, k+1)) // from 1, as shown
			m, err := sl.Mask(coarse, k, lv)
			if err != nil {
				return nil, st, err
			}
			if m.Area() == 0 {
				continue
			}
			st.Slices++
			img, err := sl.Image(v, k)
			if err != nil {
				return nil, st, err
			}
			refined, decs, err := refineSlice(ctx, s, img, m, w, opts, mr, mc)
			if err != nil {
				return nil, st, fmt.Errorf("refine label %d, slice %d: %w", lv, k+1, err)
			}
			for _, d := range decs {
				st.Components++
				st.Decisions[d]++
			}
			if err := sl.WriteMask(out, k, refined, lv); err != nil {
				return nil, st, err
			}
		}
	}
	onnxrt.Report(opts.Progress, total, total, "done")
	return out, st, nil
}

// refineSlice refines every component of m on one slice image.
func refineSlice(ctx context.Context, s *sam.Model, img []float32, m *section.Mask, w models.Window, opts Options, mr, mc int) (*section.Mask, []Decision, error) {
	lab, n := section.Components(m)
	out := section.NewMask(m.Rows, m.Cols)
	var decs []Decision
	var emb *sam.Embedding
	for id := int32(1); id <= int32(n); id++ {
		comp := section.Component(lab, id, m.Rows, m.Cols)
		d, mask, err := refineComponent(ctx, s, &emb, img, comp, w, opts, mr, mc)
		if err != nil {
			return nil, nil, err
		}
		decs = append(decs, d)
		for i, on := range mask.Data {
			out.Data[i] = out.Data[i] || on
		}
	}
	return out, decs, nil
}

// refineComponent prompts SAM with one component and decides whether to
// use its answer. The embedding is computed on first need and shared by
// the slice's components.
func refineComponent(ctx context.Context, s *sam.Model, emb **sam.Embedding, img []float32, comp *section.Mask, w models.Window, opts Options, mr, mc int) (Decision, *section.Mask, error) {
	area := comp.Area()
	if area < opts.MinPixels {
		return KeptSmall, comp, nil
	}
	if *emb == nil {
		e, err := s.Embed(ctx, img, comp.Rows, comp.Cols, w)
		if err != nil {
			return 0, nil, err
		}
		*emb = e
	}
	b, _ := comp.Bounds()
	b.R0, b.C0 = max(b.R0-mr, 0), max(b.C0-mc, 0)
	b.R1, b.C1 = min(b.R1+mr, comp.Rows-1), min(b.C1+mc, comp.Cols-1)
	p, err := s.Decode(ctx, *emb, sam.Prompt{Box: &b, MaskInput: s.LowResLogits(comp, float32(opts.MaskLogit))})
	if err != nil {
		return 0, nil, err
	}
	for pass := 1; pass < opts.Passes; pass++ {
		if p, err = s.Decode(ctx, *emb, sam.Prompt{Box: &b, MaskInput: p.LowRes}); err != nil {
			return 0, nil, err
		}
	}
	d, out := settle(img, comp, p, opts)
	return d, out, nil
}

// settle applies the keep-or-replace rules to SAM's prediction p for the
// coarse component comp and returns the decision and the component's new
// mask. A kept component comes back exactly as it was: the truth is
// unknown here, so "never worse than the coarse mask" can only be
// guaranteed by not touching it. Trimming it anyway cut partial-volume
// edge pixels off kept masks whenever the core's spread was small (an
// 8-bit windowed slice: Dice 0.858 -> 0.826 against its reference). Only
// SAM's answer is trimmed, and trim never removes a pixel of the coarse
// core.
func settle(img []float32, comp *section.Mask, p *sam.Prediction, opts Options) (Decision, *section.Mask) {
	d := judge(img, comp, p, opts)
	if d != Replaced {
		return d, comp
	}
	out := section.Overlapping(p.Mask, comp)
	if opts.TrimStd > 0 {
		out = trim(img, comp, out, opts.TrimStd)
	}
	return d, out
}

// trim removes the pixels of m outside the core of coarse whose HU is more
// than k core standard deviations from the core's mean, then keeps the
// parts still touching the core. Pixels of m inside the core are always
// kept, so the result lies between m ∩ core and m.
func trim(img []float32, coarse, m *section.Mask, k float64) *section.Mask {
	core := erode2D(coarse, trimCorePx)
	if core.Area() < defaultMinPixels {
		core = coarse
	}
	var sum, sum2 float64
	n := 0
	for i, on := range core.Data {
		if on {
			x := float64(img[i])
			sum += x
			sum2 += x * x
			n++
		}
	}
	mean := sum / float64(n)
	std := math.Sqrt(max(sum2/float64(n)-mean*mean, 0))
	if std == 0 {
		return m
	}
	out := section.NewMask(m.Rows, m.Cols)
	for i, on := range m.Data {
		out.Data[i] = on && (core.Data[i] || math.Abs(float64(img[i])-mean) <= k*std)
	}
	return section.Overlapping(out, core)
}

// erode2D erodes m by a square of the given radius (pixels outside the
// image count as background).
func erode2D(m *section.Mask, radius int) *section.Mask {
	out := section.NewMask(m.Rows, m.Cols)
	for r := 0; r < m.Rows; r++ {
		for c := 0; c < m.Cols; c++ {
			keep := m.Data[r*m.Cols+c]
			for dr := -radius; dr <= radius && keep; dr++ {
				for dc := -radius; dc <= radius && keep; dc++ {
					rr, cc := r+dr, c+dc
					keep = rr >= 0 && cc >= 0 && rr < m.Rows && cc < m.Cols && m.Data[rr*m.Cols+cc]
				}
			}
			out.Data[r*m.Cols+c] = keep
		}
	}
	return out
}

// judge applies the keep-or-replace rules to SAM's prediction for one
// coarse component.
func judge(img []float32, comp *section.Mask, p *sam.Prediction, opts Options) Decision {
	sam := section.Overlapping(p.Mask, comp)
	area, newArea := comp.Area(), sam.Area()
	switch {
	case newArea == 0:
		return KeptEmpty
	case float64(p.IoU) < opts.MinIoU:
		return KeptLowIoU
	case math.Abs(float64(newArea-area)) > opts.MaxAreaChange*float64(area):
		return KeptArea
	}
	// Intensity of the coarse component against what SAM adds.
	var sum, sum2 float64
	for i, on := range comp.Data {
		if on {
			x := float64(img[i])
			sum += x
			sum2 += x * x
		}
	}
	mean := sum / float64(area)
	std := math.Sqrt(max(sum2/float64(area)-mean*mean, 0))
	var addSum float64
	added := 0
	for i, on := range sam.Data {
		if on && !comp.Data[i] {
			addSum += float64(img[i])
			added++
		}
	}
	if float64(added) > noiseShare*float64(area) && std > 0 && math.Abs(addSum/float64(added)-mean) > opts.MaxHUShift*std {
		return KeptIntensity
	}
	return Replaced
}

// RefineSlice refines label value lv on axial slice k only and returns the
// refined mask on the slice image (radiological orientation, see Slicer)
// without writing it anywhere: the app's "Refine with SAM" preview of the
// current slice. Slicer.WriteMask applies it once the user accepts.
func Slice(ctx context.Context, s *sam.Model, v *volume.Volume, coarse *volume.Labels, k int, lv uint16, opts Options) (*section.Mask, []Decision, error) {
	opts = opts.withDefaults()
	if !v.Grid.Equal(coarse.Grid, 1e-4) {
		return nil, nil, fmt.Errorf("refine: coarse mask grid %v differs from the scan's %v", coarse.Dims, v.Dims)
	}
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		return nil, nil, err
	}
	m, err := sl.Mask(coarse, k, lv)
	if err != nil {
		return nil, nil, err
	}
	if m.Area() == 0 {
		return m, nil, nil
	}
	img, err := sl.Image(v, k)
	if err != nil {
		return nil, nil, err
	}
	w, ok := opts.Windows[lv]
	if !ok {
		w = s.DefaultWindow()
	}
	dr, dc := sl.PixelSpacing()
	return refineSlice(ctx, s, img, m, w, opts, int(math.Round(opts.MarginMM/dr)), int(math.Round(opts.MarginMM/dc)))
}
