package refine

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/interp"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/volume"
)

// FillOptions tune SAM.FillBetween. The zero value gives the defaults,
// chosen on patient A only (docs/interpolation.md).
type FillOptions struct {
	// Window is the image window the encoder sees (the one the user chose
	// for the segment); nil means the encoder manifest's default window.
	Window *models.Window
	// MaskLogit is the amplitude of the interpolated shape given to the
	// decoder as its mask prompt. It is weaker than Refine's: the shape is
	// a guess for SAM to correct, and at ±10 SAM mostly copied it.
	// Default DefaultFillMaskLogit.
	MaskLogit float64
	// MarginPerMM widens each box by this many mm per mm between the slice
	// and the nearest drawn slice: the farther from a drawn slice, the more
	// the organ may reach beyond the interpolated shape (an organ's end
	// grows faster than the interpolation), and SAM only finds what its box
	// holds. Default DefaultFillMarginPerMM; negative means none.
	MarginPerMM float64
	// MinIoU keeps the interpolated shape where SAM's own IoU estimate is
	// lower. Default DefaultMinIoU.
	MinIoU float64
	// MaxAreaChange keeps the interpolated shape where SAM's area lies
	// outside [(1−x)·smallest, (1+x)·largest] of the areas of the
	// interpolated shape and of the two drawn slices around the slice: a
	// cross-section between two drawn ones is rarely much larger or
	// smaller than both, while a leak is. Default DefaultMaxAreaChange.
	MaxAreaChange float64
	// TrimStd removes, from what SAM proposes, the pixels outside the
	// interpolated shape's core whose HU lies more than TrimStd standard
	// deviations from the organ's mean HU on the drawn slices. Default
	// DefaultTrimStd; negative disables it.
	TrimStd float64
	// Trust bounds how far SAM may move the interpolated boundary: a pixel
	// keeps the interpolated label unless its interpolated distance to the
	// boundary is within Trust × f × |dLo − dHi|, where dLo and dHi are its
	// signed distances on the drawn slices around and f the slice's
	// fraction of the way from the nearer one (at most ½): how much the
	// interpolation can be off there. Zero (the default) calibrates it on
	// the drawn slices themselves: each inner drawn slice is filled from
	// its neighbours as if it were not drawn, and the smallest candidate
	// within FillCalibrationSlack of the best Dice there is taken, so that
	// SAM overrides the interpolation only where it measurably agrees
	// better with what the user drew. Negative means no bound.
	Trust float64
	// Progress, if not nil, hears about every slice.
	Progress onnxrt.Progress
}

// Defaults of FillOptions (docs/interpolation.md says how they were
// chosen).
const (
	DefaultFillMaskLogit   = 3
	DefaultFillMarginPerMM = 0.8
	// FillCalibrationSlack is the Dice by which a looser trust bound must
	// beat a tighter one on the held-out drawn slices to be chosen.
	FillCalibrationSlack = 0.005
	// fillDefaultTrust is the bound when there is no inner drawn slice to
	// calibrate on.
	fillDefaultTrust = 1
	// fillMaxCalibration bounds the drawn slices calibration holds out,
	// spread evenly: each costs an encoder run, and a user who drew most
	// slices needs no more to tell whether SAM helps.
	fillMaxCalibration = 6
)

// fillTrustCandidates are the bounds calibration chooses from: 0 is the
// interpolation alone, +Inf SAM wherever its guards let it.
var fillTrustCandidates = []float64{0, 0.5, 1, 2, 4, math.Inf(1)}

func (o FillOptions) withDefaults() FillOptions {
	if o.MaskLogit == 0 {
		o.MaskLogit = DefaultFillMaskLogit
	}
	switch {
	case o.MarginPerMM == 0:
		o.MarginPerMM = DefaultFillMarginPerMM
	case o.MarginPerMM < 0:
		o.MarginPerMM = 0
	}
	if o.MinIoU == 0 {
		o.MinIoU = DefaultMinIoU
	}
	if o.MaxAreaChange == 0 {
		o.MaxAreaChange = DefaultMaxAreaChange
	}
	if o.TrimStd == 0 {
		o.TrimStd = DefaultTrimStd
	}
	if o.Trust < 0 {
		o.Trust = math.Inf(1)
	}
	return o
}

// FillStats says what FillBetween did.
type FillStats struct {
	// Annotated lists the axial slices where the label was drawn, Filled
	// those between them that were filled (as interp.Result).
	Annotated, Filled []int
	// Added counts the voxels given the label; Blocked those the fill
	// put inside but another label holds, which were left alone.
	Added, Blocked int
	// Components counts the interpolated shape's 2D components prompted,
	// Decisions what became of SAM's answers.
	Components int
	Decisions  map[Decision]int
	// Trust is the bound used (see FillOptions.Trust); Calibration the
	// Dice of each candidate on the held-out drawn slices, when it was
	// calibrated (nil otherwise).
	Trust       float64
	Calibration []TrustScore
}

// TrustScore is one candidate of the trust bound's calibration.
type TrustScore struct {
	Trust, Dice float64
}

// FillBetween fills label value of l on the axial slices between the
// slices where it is drawn (those that have voxels of it), guided by the
// scan v (on l's grid). Each slice between two drawn ones gets the
// monotone cubic shape-based interpolation of package interp; each 2D
// component of that shape prompts SAM with its box, widened the farther
// the slice lies from a drawn one, and with the shape itself as the mask
// prompt; SAM's answer replaces the shape only if it passes Refine-like
// guards (see FillOptions) and is trimmed of pixels whose HU does not
// belong to the organ; and the interpolated label is kept wherever the
// interpolation is more certain than the trust bound allows SAM to move
// it. Voxels of other labels are never overwritten, and the label's ends
// beyond the outermost drawn slices are not extrapolated.
func FillBetween(ctx context.Context, s *sam.Model, v *volume.Volume, l *volume.Labels, value uint16, opts FillOptions) (*volume.Labels, FillStats, error) {
	opts = opts.withDefaults()
	st := FillStats{Decisions: map[Decision]int{}}
	if value == 0 {
		return nil, st, fmt.Errorf("fill between slices: choose a label value other than 0")
	}
	if !v.Grid.Equal(l.Grid, 1e-4) || len(l.Data) != v.Len() || len(v.Data) != v.Len() {
		return nil, st, fmt.Errorf("fill between slices: label grid %v differs from the scan's %v", l.Dims, v.Dims)
	}
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		return nil, st, err
	}
	f := &filler{sam: s, v: v, l: l, sl: sl, value: value, opts: opts}
	f.dr, f.dc = sl.PixelSpacing()
	st.Annotated = interp.Annotated(l, sl.Axis(), value)
	if len(st.Annotated) == 0 {
		return nil, st, fmt.Errorf("label %d has no voxels", value)
	}
	gaps := interp.Gaps(st.Annotated)
	if len(gaps) == 0 {
		return nil, st, fmt.Errorf("label %d, slices %d to %d: %w", value, st.Annotated[0], st.Annotated[len(st.Annotated)-1], interp.ErrNothingToFill)
	}
	f.w = s.DefaultWindow()
	if opts.Window != nil {
		f.w = *opts.Window
	}
	if f.hu, err = f.organHU(st.Annotated); err != nil {
		return nil, st, err
	}
	// The distance maps reach as far as the widest box, so that the trust
	// bound is known wherever SAM may add.
	maxGap := 0
	for _, g := range gaps {
		maxGap = max(maxGap, g.Hi-g.Lo)
	}
	f.margin = int(math.Ceil(opts.MarginPerMM*float64(maxGap)*sl.SliceSpacing()/min(f.dr, f.dc))) + 2

	var inner []int // the drawn slices calibration holds out
	if opts.Trust == 0 {
		inner = calibrationSlices(st.Annotated)
	}
	total := len(inner)
	for _, g := range gaps {
		total += g.Hi - g.Lo - 1
	}
	done := 0
	st.Trust = opts.Trust
	if st.Trust == 0 {
		st.Trust, st.Calibration, err = f.calibrate(ctx, st.Annotated, inner, func() {
			onnxrt.Report(opts.Progress, done, total, "calibrating on the drawn slices")
			done++
		})
		if err != nil {
			return nil, st, err
		}
	}
	done = len(inner)
	out := &volume.Labels{Grid: l.Grid, Data: slices.Clone(l.Data)}
	for _, g := range gaps {
		b, err := f.between(st.Annotated, g)
		if err != nil {
			return nil, st, err
		}
		for k := g.Lo + 1; k < g.Hi; k++ {
			if err := ctx.Err(); err != nil {
				return nil, st, err
			}
			onnxrt.Report(opts.Progress, done, total, fmt.Sprintf("slice %d", k+1)) // from 1, as shown
			done++
			st.Filled = append(st.Filled, k)
			m, decs, err := f.slice(ctx, b, g, k, st.Trust)
			if err != nil {
				return nil, st, fmt.Errorf("fill label %d, slice %d: %w", value, k+1, err)
			}
			for _, d := range decs {
				st.Components++
				st.Decisions[d]++
			}
			sl.Each(k, func(i, idx int) {
				if !m.Data[i] {
					return
				}
				switch out.Data[idx] {
				case 0:
					out.Data[idx] = value
					st.Added++
				case value:
				default:
					st.Blocked++
				}
			})
		}
	}
	onnxrt.Report(opts.Progress, total, total, "done")
	return out, st, nil
}

// filler holds what the slices of one FillBetween share.
type filler struct {
	sam    *sam.Model
	v      *volume.Volume
	l      *volume.Labels
	sl     *section.Slicer
	value  uint16
	opts   FillOptions
	w      models.Window
	hu     huStats
	dr, dc float64 // pixel spacing, mm
	margin int     // of the distance maps around the two drawn masks, pixels
}

// huStats are the mean and standard deviation of an organ's HU.
type huStats struct{ mean, std float64 }

// organHU measures the label's HU on the drawn slices, inside each slice's
// mask eroded by a pixel (boundary pixels mix in the neighbours' HU), or
// the whole mask where erosion leaves too little.
func (f *filler) organHU(annotated []int) (huStats, error) {
	var sum, sum2 float64
	n := 0
	for _, k := range annotated {
		m, err := f.sl.Mask(f.l, k, f.value)
		if err != nil {
			return huStats{}, err
		}
		core := erode2D(m, statsCorePx)
		if core.Area() < defaultMinPixels {
			core = m
		}
		img, err := f.sl.Image(f.v, k)
		if err != nil {
			return huStats{}, err
		}
		for i, on := range core.Data {
			if on {
				x := float64(img[i])
				sum += x
				sum2 += x * x
				n++
			}
		}
	}
	if n == 0 {
		return huStats{}, fmt.Errorf("label %d has no voxels", f.value)
	}
	mean := sum / float64(n)
	return huStats{mean, math.Sqrt(max(sum2/float64(n)-mean*mean, 0))}, nil
}

// between prepares the cubic interpolation across gap g of the drawn
// slices annotated.
func (f *filler) between(annotated []int, g interp.Gap) (*interp.Between, error) {
	mask := func(k int) (*interp.Mask, error) {
		m, err := f.sl.Mask(f.l, k, f.value)
		if err != nil {
			return nil, err
		}
		return &interp.Mask{Rows: m.Rows, Cols: m.Cols, Data: m.Data}, nil
	}
	return interp.NewBetween(annotated, g, interp.Cubic, mask, f.dr, f.dc, f.margin)
}

// slice fills slice k of gap g: the interpolated shape, SAM's correction of
// it, and the trust bound between the two.
func (f *filler) slice(ctx context.Context, b *interp.Between, g interp.Gap, k int, trust float64) (*section.Mask, []Decision, error) {
	field := b.At(k, nil)
	prior := &section.Mask{Rows: f.sl.Rows, Cols: f.sl.Cols}
	prior.Data = field.Mask(f.sl.Rows, f.sl.Cols).Data
	if prior.Area() == 0 || trust == 0 {
		return prior, nil, nil
	}
	img, err := f.sl.Image(f.v, k)
	if err != nil {
		return nil, nil, err
	}
	e, err := f.sam.Embed(ctx, img, f.sl.Rows, f.sl.Cols, f.w)
	if err != nil {
		return nil, nil, err
	}
	lo, err := f.sl.Mask(f.l, g.Lo, f.value)
	if err != nil {
		return nil, nil, err
	}
	hi, err := f.sl.Mask(f.l, g.Hi, f.value)
	if err != nil {
		return nil, nil, err
	}
	near := min(k-g.Lo, g.Hi-k)
	marginMM := f.opts.MarginPerMM * float64(near) * f.sl.SliceSpacing()
	mr, mc := int(math.Round(marginMM/f.dr)), int(math.Round(marginMM/f.dc))
	areaLo, areaHi := min(lo.Area(), hi.Area()), max(lo.Area(), hi.Area())

	lab, n := section.Components(prior)
	guess := section.NewMask(prior.Rows, prior.Cols)
	var decs []Decision
	for id := int32(1); id <= int32(n); id++ {
		comp := section.Component(lab, id, prior.Rows, prior.Cols)
		d, m, err := f.component(ctx, e, img, comp, mr, mc, areaLo, areaHi)
		if err != nil {
			return nil, nil, err
		}
		decs = append(decs, d)
		for i, on := range m.Data {
			guess.Data[i] = guess.Data[i] || on
		}
	}
	dLo, dHi := b.Ends()
	return trustBound(guess, field, dLo, dHi, float64(near)/float64(g.Hi-g.Lo), trust), decs, nil
}

// component prompts SAM with one component of the interpolated shape and
// decides whether to take its answer.
func (f *filler) component(ctx context.Context, e *sam.Embedding, img []float32, comp *section.Mask, mr, mc, areaLo, areaHi int) (Decision, *section.Mask, error) {
	area := comp.Area()
	if area < defaultMinPixels {
		return KeptSmall, comp, nil
	}
	b, _ := comp.Bounds()
	b.R0, b.C0 = max(b.R0-mr, 0), max(b.C0-mc, 0)
	b.R1, b.C1 = min(b.R1+mr, comp.Rows-1), min(b.C1+mc, comp.Cols-1)
	p, err := f.sam.Decode(ctx, e, sam.Prompt{Box: &b, MaskInput: f.sam.LowResLogits(comp, float32(f.opts.MaskLogit))})
	if err != nil {
		return 0, nil, err
	}
	got := section.Overlapping(p.Mask, comp)
	newArea := got.Area()
	x := f.opts.MaxAreaChange
	d := Replaced
	switch {
	case newArea == 0:
		d = KeptEmpty
	case float64(p.IoU) < f.opts.MinIoU:
		d = KeptLowIoU
	case float64(newArea) > (1+x)*float64(max(area, areaHi)) || float64(newArea) < (1-x)*float64(min(area, areaLo)):
		d = KeptArea
	}
	out := comp
	if d == Replaced {
		out = got
	}
	if f.opts.TrimStd > 0 {
		out = trimHU(img, comp, out, f.hu, f.opts.TrimStd)
	}
	return d, out, nil
}

// trimHU removes the pixels of m outside prior's core (prior eroded by two
// pixels) whose HU is more than k organ standard deviations from the
// organ's mean, then keeps the parts touching the core.
func trimHU(img []float32, prior, m *section.Mask, hu huStats, k float64) *section.Mask {
	core := erode2D(prior, trimCorePx)
	if core.Area() < defaultMinPixels {
		core = prior
	}
	if hu.std == 0 {
		return m
	}
	out := section.NewMask(m.Rows, m.Cols)
	for i, on := range m.Data {
		out.Data[i] = on && (core.Data[i] || math.Abs(float64(img[i])-hu.mean) <= k*hu.std)
	}
	return section.Overlapping(out, core)
}

// trustBound keeps the interpolated label (field < 0) at every pixel whose
// interpolated distance to the boundary exceeds trust × frac × |dLo − dHi|
// and takes guess's elsewhere. Outside the maps' rectangle the pixel is far
// outside both drawn masks: background.
func trustBound(guess *section.Mask, field, dLo, dHi *interp.Field, frac, trust float64) *section.Mask {
	out := section.NewMask(guess.Rows, guess.Cols)
	if math.IsInf(trust, 1) {
		copy(out.Data, guess.Data)
		r := field.Rect
		for row := 0; row < guess.Rows; row++ {
			for c := 0; c < guess.Cols; c++ {
				if row < r.R0 || row >= r.R1 || c < r.C0 || c >= r.C1 {
					out.Data[row*guess.Cols+c] = false
				}
			}
		}
		return out
	}
	r, w := field.Rect, field.Rect.Cols()
	for i, d := range field.D {
		row, c := r.R0+i/w, r.C0+i%w
		p := row*guess.Cols + c
		if math.Abs(d) > trust*frac*math.Abs(dLo.D[i]-dHi.D[i]) {
			out.Data[p] = d < 0
		} else {
			out.Data[p] = guess.Data[p]
		}
	}
	return out
}

// calibrationSlices returns the indices, into annotated, of the inner drawn
// slices calibration holds out: all of them, or fillMaxCalibration spread
// evenly.
func calibrationSlices(annotated []int) []int {
	n := len(annotated) - 2
	if n <= 0 {
		return nil
	}
	m := min(n, fillMaxCalibration)
	out := make([]int, m)
	for i := range out {
		out[i] = 1 + i*n/m
	}
	return out
}

// calibrate chooses the trust bound on the drawn slices themselves: each
// inner drawn slice (annotated[j] for j in inner) is filled from the drawn
// slices on either side of it as if it were not drawn, and the pooled Dice
// with what was drawn decides (see FillOptions.Trust). Without an inner
// drawn slice it returns the default bound. step is called before each
// slice.
func (f *filler) calibrate(ctx context.Context, annotated, inner []int, step func()) (float64, []TrustScore, error) {
	if len(inner) == 0 {
		return fillDefaultTrust, nil, nil
	}
	inter := make([]int, len(fillTrustCandidates))
	sums := make([]int, len(fillTrustCandidates))
	for _, j := range inner {
		if err := ctx.Err(); err != nil {
			return 0, nil, err
		}
		step()
		rest := slices.Delete(slices.Clone(annotated), j, j+1)
		g := interp.Gap{Lo: annotated[j-1], Hi: annotated[j+1]}
		b, err := f.between(rest, g)
		if err != nil {
			return 0, nil, err
		}
		k := annotated[j]
		truth, err := f.sl.Mask(f.l, k, f.value)
		if err != nil {
			return 0, nil, err
		}
		guess, _, err := f.slice(ctx, b, g, k, math.Inf(1))
		if err != nil {
			return 0, nil, err
		}
		field := b.At(k, nil)
		dLo, dHi := b.Ends()
		frac := float64(min(k-g.Lo, g.Hi-k)) / float64(g.Hi-g.Lo)
		for ci, trust := range fillTrustCandidates {
			m := trustBound(guess, field, dLo, dHi, frac, trust)
			for i, on := range m.Data {
				if on && truth.Data[i] {
					inter[ci]++
				}
				if on {
					sums[ci]++
				}
				if truth.Data[i] {
					sums[ci]++
				}
			}
		}
	}
	scores := make([]TrustScore, len(fillTrustCandidates))
	best := 0.0
	for ci, trust := range fillTrustCandidates {
		d := 1.0
		if sums[ci] > 0 {
			d = 2 * float64(inter[ci]) / float64(sums[ci])
		}
		scores[ci] = TrustScore{trust, d}
		best = max(best, d)
	}
	for _, sc := range scores {
		if sc.Dice >= best-FillCalibrationSlack {
			return sc.Trust, scores, nil
		}
	}
	return fillDefaultTrust, scores, nil
}
