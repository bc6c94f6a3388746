package refine

import (
	"math"
	"slices"

	"github.com/polyseg/polyseg/inference/section"
)

// twoTissues looks for two tissues in SAM's answer to a box: a box drawn
// around an organ often holds a neighbour of similar look in a corner (on
// patient B the spleen's box holds part of the stomach, and SAM answers
// with both). When Otsu's split of the densities of the answer's core
// explains at least o.SplitEta of their variance, the answer is cut at
// that density, and the side whose largest piece fills the drawn box
// better is the organ, as long as it fits by at least o.SplitFit more
// (the box's IoU with the piece's bounds): the user drew the box around
// the organ, not around its neighbour. It returns nil when the answer
// holds one tissue, or when the box does not tell the two apart.
//
// One tissue of Gaussian density gives 2/π ≈ 0.64 to Otsu's split, so
// the threshold sits above it; both thresholds were chosen on patient A
// (docs/interactive.md).
func twoTissues(img []float32, raw *section.Mask, box section.Box, dr, dc float64, o GuardOptions) (*section.Mask, float64) {
	core := section.ErodeMM(raw, o.CoreErosionPx*max(dr, dc), dr, dc)
	if core.Area() < defaultMinPixels {
		return nil, 0
	}
	t, eta, ok := otsu(img, core)
	if !ok || eta < o.SplitEta {
		return nil, 0
	}
	var sides [2]*section.Mask
	var fit [2]float64
	for s := range sides {
		m := section.NewMask(raw.Rows, raw.Cols)
		for i, on := range raw.Data {
			m.Data[i] = on && (float64(img[i]) > t) == (s == 1)
		}
		sides[s] = m
		lab, n := section.Components(m)
		if n == 0 {
			continue
		}
		id, _ := section.Largest(lab, n)
		if b, ok := section.Component(lab, id, m.Rows, m.Cols).Bounds(); ok {
			fit[s] = boxIoU(b, box)
		}
	}
	if math.Abs(fit[0]-fit[1]) < o.SplitFit {
		return nil, 0
	}
	keep := 0
	if fit[1] > fit[0] {
		keep = 1
	}
	return section.FillHoles(sides[keep]), t
}

// otsu returns Otsu's threshold of img over m (HU clamped to -300..500,
// where bone and air would weigh out of proportion), the share of the
// variance it explains, and false when m has too few distinct values.
// Each side must hold at least 15 % of the pixels: a split off a rim of
// partial volume is no second tissue.
func otsu(img []float32, m *section.Mask) (t, eta float64, ok bool) {
	var xs []float64
	for i, on := range m.Data {
		if x := float64(img[i]); on && !math.IsNaN(x) {
			xs = append(xs, max(-300, min(500, x)))
		}
	}
	if len(xs) < 2 {
		return 0, 0, false
	}
	slices.Sort(xs)
	n := float64(len(xs))
	var sum, sum2 float64
	for _, x := range xs {
		sum += x
		sum2 += x * x
	}
	mean := sum / n
	total := sum2/n - mean*mean
	if total <= 0 {
		return 0, 0, false
	}
	best, low := -1.0, 0.0
	for i := 0; i < len(xs)-1; i++ {
		low += xs[i]
		if xs[i] == xs[i+1] {
			continue
		}
		w0 := float64(i+1) / n
		if w0 < 0.15 || w0 > 0.85 {
			continue
		}
		m0, m1 := low/float64(i+1), (sum-low)/(n-float64(i+1))
		if between := w0 * (1 - w0) * (m0 - m1) * (m0 - m1); between > best {
			best, t = between, (xs[i]+xs[i+1])/2
		}
	}
	if best < 0 {
		return 0, 0, false
	}
	return t, best / total, true
}

// boxIoU is the intersection over union of two boxes (corners included).
func boxIoU(a, b section.Box) float64 {
	ir, ic := min(a.R1, b.R1)-max(a.R0, b.R0)+1, min(a.C1, b.C1)-max(a.C0, b.C0)+1
	if ir <= 0 || ic <= 0 {
		return 0
	}
	area := func(x section.Box) float64 { return float64((x.R1 - x.R0 + 1) * (x.C1 - x.C0 + 1)) }
	in := float64(ir * ic)
	return in / (area(a) + area(b) - in)
}

// fillBox grows SAM's guarded answer to a box toward the sides of the box
// it falls short of: a box drawn around an organ says the organ reaches
// each of its sides, and SAM's single answer sometimes stops short inside
// the organ along a straight line (on patient B's spleen, a band 2 cm
// deep at its back on every slice). When the answer stops at least
// o.FillGapMM from some side of the box, the pixels inside the box with
// the answer's density (its core's median ± o.FillHUStd robust standard
// deviations, at least MinHUSpread) that join the answer through no neck
// narrower than 2·NeckMM are added, and holes filled. It returns m
// unchanged when the answer reaches every side.
func fillBox(img []float32, m *section.Mask, box section.Box, dr, dc float64, o GuardOptions) *section.Mask {
	bb, ok := m.Bounds()
	if !ok {
		return m
	}
	gr, gc := int(math.Ceil(o.FillGapMM/dr)), int(math.Ceil(o.FillGapMM/dc))
	if bb.R0-box.R0 < gr && box.R1-bb.R1 < gr && bb.C0-box.C0 < gc && box.C1-bb.C1 < gc {
		return m
	}
	density := o
	density.HUStd = o.FillHUStd
	lo, hi, ok := densityRange(img, m, dr, dc, density)
	if !ok {
		return m
	}
	cand := &section.Mask{Rows: m.Rows, Cols: m.Cols, Data: slices.Clone(m.Data)}
	for r := max(box.R0, 0); r <= min(box.R1, m.Rows-1); r++ {
		for c := max(box.C0, 0); c <= min(box.C1, m.Cols-1); c++ {
			i := r*m.Cols + c
			if x := float64(img[i]); x >= lo && x <= hi {
				cand.Data[i] = true
			}
		}
	}
	// Noise leaves single pixels out of the density range, which the
	// opening below would spread into holes the size of its disc. Only
	// holes that small are filled: a fat plane between the organ and a
	// neighbour is a larger one, and stays.
	cand = fillSmallHoles(cand, int(math.Ceil(math.Pi*o.NeckMM*o.NeckMM/(dr*dc)/4)))
	// What joins the answer through a neck (a neighbour of the same
	// density touching it) stays out: only the opened candidate grows it.
	opened := section.OpenMM(cand, o.NeckMM, dr, dc)
	for i := range opened.Data {
		opened.Data[i] = opened.Data[i] || m.Data[i]
	}
	return section.FillHoles(section.Overlapping(opened, m))
}

// growToBox is fillBox on the window of the slice that the box and the
// opening's reach hold (an organ is a small part of a slice), m staying
// as it is beyond it. It returns the grown mask, the pixels added (nil
// when none) and their count.
func growToBox(img []float32, m *section.Mask, box section.Box, o GuardOptions, dr, dc float64) (*section.Mask, *section.Mask, int) {
	w := grow(box, int(math.Ceil(o.NeckMM/dr))+2, int(math.Ceil(o.NeckMM/dc))+2, m.Rows, m.Cols)
	boxW := section.Box{R0: box.R0 - w.R0, C0: box.C0 - w.C0, R1: box.R1 - w.R0, C1: box.C1 - w.C0}
	grown := paste(fillBox(cropImage(img, m.Cols, w), section.Crop(m, w), boxW, dr, dc, o), w, m.Rows, m.Cols)
	added := section.NewMask(m.Rows, m.Cols)
	n := 0
	for i, on := range m.Data {
		if grown.Data[i] && !on {
			added.Data[i] = true
			n++
		}
		grown.Data[i] = grown.Data[i] || on
	}
	if n == 0 {
		return m, nil, 0
	}
	return grown, added, n
}

// fillSmallHoles fills the holes of m (parts of its background that do not
// reach the border) of at most maxPx pixels.
func fillSmallHoles(m *section.Mask, maxPx int) *section.Mask {
	bg := section.NewMask(m.Rows, m.Cols)
	for i, on := range m.Data {
		bg.Data[i] = !on
	}
	lab, n := section.Components(bg)
	size := make([]int, n+1)
	border := make([]bool, n+1)
	for i, id := range lab {
		size[id]++
		if r, c := i/m.Cols, i%m.Cols; r == 0 || c == 0 || r == m.Rows-1 || c == m.Cols-1 {
			border[id] = true
		}
	}
	out := section.NewMask(m.Rows, m.Cols)
	for i, id := range lab {
		out.Data[i] = m.Data[i] || (id > 0 && !border[id] && size[id] <= maxPx)
	}
	return out
}
