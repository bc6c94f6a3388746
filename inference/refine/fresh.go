package refine

import (
	"context"
	"fmt"
	"math"

	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/inference/section"
)

// A click on a slice where the structure is not drawn and no box is given
// is the prompt SAM does worst on CT: asked with the click alone, it
// answers with the whole body, for every organ of patients A and B (2D
// Dice 0.00–0.42 on the organ's largest slice and on a slice near its end,
// the click at the organ's deepest point). The click says where the
// structure is and, around it, what it looks like; freshClick gives SAM
// what that says: the region of the click's density joined to it, as a box
// and a mask prompt, and guards SAM's answer as a box's.

// bodyHU is the density above which a pixel is the body, not air.
const bodyHU = -500

// freshClick answers the clicks q.Points on slice image img, on which the
// structure is not drawn (q.Before is nil or empty) and no box is given.
func (p *Prompter) freshClick(ctx context.Context, emb *sam.Embedding, img []float32, q SlicePrompt, g *GuardOptions, co ClickOptions, dr, dc float64) (*Answer, error) {
	rows, cols := p.Slicer.Rows, p.Slicer.Cols
	empty := section.NewMask(rows, cols)
	if !hasPositive(q.Points) {
		// Only "not this": there is nothing to segment yet.
		return &Answer{Mask: empty, Raw: empty, LowRes: p.SAM.LowResLogits(empty, reaskLogit)}, nil
	}
	var o GuardOptions
	if g != nil {
		o = *g
	}
	body := bodyArea(img)
	region, grown := seedRegion(img, rows, cols, q.Points, co.SeedMM, o.withDefaults(), dr, dc), true
	if region.Area() == 0 || wholeBody(region, body) {
		region, grown = clickDiscs(img, rows, cols, q.Points, co.ForceMM, o.withDefaults(), dr, dc), false
	}
	b := clickBox(region, q.Points, co.BoxMarginMM, dr, dc)
	pred, err := p.SAM.Decode(ctx, emb, sam.Prompt{Box: &b, Points: q.Points, MaskInput: p.SAM.LowResLogits(region, reaskLogit)})
	if err != nil {
		return nil, err
	}
	asked := q
	asked.Box, asked.Before = &b, empty
	m, why := settlePrompt(img, pred, asked, &o, co, dr, dc, rows, cols)
	m = obeyClicks(keepAsked(m, empty, q.Points), q.Points)
	note := "the click's region"
	if !grown {
		note = fmt.Sprintf("a disc of %g mm at the click (the click's density reached too far)", co.ForceMM)
	}
	if m.Area() == 0 || wholeBody(m, body) {
		m = obeyClicks(region, q.Points)
		note += ", kept as SAM's answer reached too far"
	} else {
		note = "SAM asked with " + note
	}
	if why != "" {
		note += "; " + why
	}
	a := &Answer{Mask: m, Raw: pred.Mask, IoU: pred.IoU, Stability: pred.Stability, Guard: note}
	a.LowRes = p.cut(pred.LowRes, m)
	return a, nil
}

func hasPositive(pts []sam.Point) bool {
	for _, q := range pts {
		if q.Positive {
			return true
		}
	}
	return false
}

// seedRegion returns the pixels of the slice (rows×cols) joined to a
// positive click that have the density around the clicks: the median of
// the discs of radius seedMM at the positive clicks ± o.HUStd robust
// standard deviations (at least o.MinHUSpread), holes filled, cut at necks
// narrower than 2·o.NeckMM (unless the clicked structure is all narrower),
// the pieces holding a positive click kept.
func seedRegion(img []float32, rows, cols int, pts []sam.Point, seedMM float64, o GuardOptions, dr, dc float64) *section.Mask {
	seed := discs(rows, cols, pts, seedMM, dr, dc)
	o.CoreErosionPx = 0 // the discs are the core
	lo, hi, ok := densityRange(img, seed, dr, dc, o)
	if !ok {
		return section.NewMask(rows, cols)
	}
	in := section.NewMask(rows, cols)
	for i, x := range img {
		in.Data[i] = float64(x) >= lo && float64(x) <= hi
	}
	in = section.FillHoles(in)
	if o.NeckMM > 0 {
		lab, n := section.NeckPieces(in, o.NeckMM, dr, dc)
		keep, any := make([]bool, n+1), false
		for _, q := range pts {
			if i, ok := pixelOf(in, q); ok && q.Positive && lab[i] > 0 {
				keep[lab[i]], any = true, true
			}
		}
		if any {
			// Grown back by NeckMM, not the 1.5·NeckMM of the guards'
			// mainBody: this region is only SAM's prompt, and the wider
			// regrowth carries the neighbour back in with it (one click on
			// each organ's largest slice: B's liver 0.968 → 0.959, B's
			// spleen 0.941 → 0.937, A's right kidney 0.208 → 0.206, A's
			// liver 0.941 → 0.942, the others unchanged).
			in = section.Regrow(in, lab, keep, o.NeckMM, dr, dc)
		}
	}
	return keepAsked(in, section.NewMask(rows, cols), pts)
}

// clickDiscs is the fallback region: the discs of radius mm at the
// positive clicks, of the density of the pixels under them (± o.MinHUSpread
// around their range).
func clickDiscs(img []float32, rows, cols int, pts []sam.Point, mm float64, o GuardOptions, dr, dc float64) *section.Mask {
	m := discs(rows, cols, pts, mm, dr, dc)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, q := range pts {
		if i, ok := pixelOf(m, q); ok && q.Positive {
			lo, hi = min(lo, float64(img[i])), max(hi, float64(img[i]))
		}
	}
	for i, on := range m.Data {
		x := float64(img[i])
		m.Data[i] = on && x >= lo-o.MinHUSpread && x <= hi+o.MinHUSpread
	}
	return obeyClicks(m, pts)
}

// discs returns the discs of radius mm around the positive clicks' pixels
// (a click sits on a pixel's centre, as the app makes them).
func discs(rows, cols int, pts []sam.Point, mm float64, dr, dc float64) *section.Mask {
	at := section.NewMask(rows, cols)
	for _, q := range pts {
		if i, ok := pixelOf(at, q); ok && q.Positive {
			at.Data[i] = true
		}
	}
	return obeyClicks(section.DilateMM(at, mm, dr, dc), pts)
}

// bodyArea counts the pixels of the body on slice image img.
func bodyArea(img []float32) int {
	n := 0
	for _, x := range img {
		if x > bodyHU {
			n++
		}
	}
	return n
}

// wholeBody reports a mask that cannot be one organ: it reaches the
// slice's edge, or covers more than half of the body (body pixels).
func wholeBody(m *section.Mask, body int) bool {
	b, ok := m.Bounds()
	if !ok {
		return false
	}
	if b.R0 == 0 || b.C0 == 0 || b.R1 == m.Rows-1 || b.C1 == m.Cols-1 {
		return true
	}
	return 2*m.Area() > body
}
