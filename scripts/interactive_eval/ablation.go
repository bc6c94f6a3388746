package main

import (
	"bytes"
	"context"
	"fmt"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/app/robot"
	"github.com/polyseg/polyseg/inference/propagate"
	"github.com/polyseg/polyseg/inference/refine"
	"github.com/polyseg/polyseg/inference/sam"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/volume"
)

// clickWay is one way of asking SAM a click on a slice that has a mask;
// onlyTakes cuts a negative click's answer to the mask it clicked
// (refine.SlicePrompt.Last).
type clickWay struct {
	name      string
	opts      refine.ClickOptions
	onlyTakes bool
}

var clickWays = []clickWay{
	{"the clicks and SAM's previous answer", refine.ClickOptions{ImplicitPoints: -1, BoxMarginMM: -1, Unguarded: true, ForceMM: -1, OpenMM: -1}, false},
	{"… and the mask's box, widened by 6 mm", refine.ClickOptions{ImplicitPoints: -1, Unguarded: true, ForceMM: -1, OpenMM: -1}, false},
	{"… and 3 points at the mask's core", refine.ClickOptions{Unguarded: true, ForceMM: -1, OpenMM: -1}, false},
	{"… and the guards", refine.ClickOptions{ForceMM: -1, OpenMM: -1}, false},
	{"… and a disc where SAM ignored the click", refine.ClickOptions{OpenMM: -1}, false},
	{"… and SAM's previous answer left open around a positive click", refine.ClickOptions{NegativeOpenDepth: -1}, false},
	{"… and around a negative click, by its depth", refine.ClickOptions{}, false},
	{"… and a negative click only takes away (the app's)", refine.ClickOptions{}, true},
}

// ablationRun is what one organ says about the box guard and the ways of
// asking a click.
type ablationRun struct {
	patient, organ     string
	boxRaw, boxGuarded float64
	slices             int
	gain               []float64 // mean change of the slice's 2D Dice, per way
	worse              []int     // slices losing more than 0.2, per way
}

// guardRun is the SAM robot's first interaction on an organ with and
// without the U-Net guarding SAM.
type guardRun struct {
	patient     string
	organ       string
	with        bool    // other ran with the U-Net guard
	other, this float64 // first-interaction Dice of that run and of the main one
}

// ablation measures, on one organ: SAM's box answer on the largest slice
// alone and guarded; then, on the propagation from the guarded box, one
// click of the robot's rule on every slice whose 2D Dice is at most 0.97,
// asked each way, and the change of the slice's Dice.
func ablation(ctx context.Context, models *app.Models, v *volume.Volume, ref *volume.Labels, patient string, o organ) (ablationRun, error) {
	ab := ablationRun{patient: patient, organ: o.Name, gain: make([]float64, len(clickWays)), worse: make([]int, len(clickWays))}
	sm, err := models.SAM()
	if err != nil {
		return ab, err
	}
	pr, err := refine.NewPrompter(sm, v, sm.DefaultWindow())
	if err != nil {
		return ab, err
	}
	sl := pr.Slicer
	dr, dc := sl.PixelSpacing()
	refm := make([]*section.Mask, sl.Slices)
	best, area := 0, 0
	for k := range refm {
		if refm[k], err = sl.Mask(ref, k, o.Value); err != nil {
			return ab, err
		}
		if a := refm[k].Area(); a > area {
			best, area = k, a
		}
	}
	b, _ := refm[best].Bounds()
	box, err := pr.Box(ctx, best, b, refine.GuardOptions{})
	if err != nil {
		return ab, err
	}
	ab.boxRaw, ab.boxGuarded = section.Dice(box.Raw, refm[best]), section.Dice(box.Mask, refm[best])
	res, err := propagate.NewSAMEngine(sm, models.PropagationOptions()).Propagate(ctx, propagate.Request{
		Volume: v, Label: o.Value, Anchors: []propagate.Anchor{{Slice: best, Mask: box.Mask}}})
	if err != nil {
		return ab, err
	}
	got := map[int]propagate.SliceResult{}
	for _, r := range res.Slices {
		got[r.Slice] = r
	}
	for k := 0; k < sl.Slices; k++ {
		if k == best {
			continue
		}
		before, low := section.NewMask(sl.Rows, sl.Cols), []float32(nil)
		if r, ok := got[k]; ok && r.Mask != nil {
			before, low = r.Mask, r.LowRes
		}
		if before.Area()+refm[k].Area() == 0 {
			continue
		}
		d0 := section.Dice(before, refm[k])
		if d0 > 0.97 {
			continue
		}
		row, col, positive, ok := robot.NextClick(before, refm[k], dr, dc)
		if !ok {
			continue
		}
		if low == nil && before.Area() > 0 {
			low = sm.LowResLogits(before, 10)
		}
		ab.slices++
		pts := []sam.Point{{Row: float64(row) + 0.5, Col: float64(col) + 0.5, Positive: positive}}
		for i, w := range clickWays {
			q := refine.SlicePrompt{Points: pts, Previous: low, Before: before}
			if w.onlyTakes {
				q.Last = before
			}
			a, err := pr.AskWith(ctx, k, q, nil, w.opts)
			if err != nil {
				return ab, err
			}
			d := section.Dice(a.Mask, refm[k])
			ab.gain[i] += d - d0
			if d < d0-0.2 {
				ab.worse[i]++
			}
		}
	}
	for i := range ab.gain {
		ab.gain[i] /= float64(max(ab.slices, 1))
	}
	return ab, nil
}

func ablationSection(abls []ablationRun, guards []guardRun) string {
	var b bytes.Buffer
	if len(abls) > 0 {
		b.WriteString("\n## The box's first slice, with and without the guards\n\n2D Dice of SAM's answer to the reference organ's box on its largest slice, alone and guarded (what the app proposes):\n\n| patient | organ | SAM alone | guarded |\n|---|---|---|---|\n")
		for _, a := range abls {
			fmt.Fprintf(&b, "| %s | %s | %.3f | %.3f |\n", a.patient, a.organ, a.boxRaw, a.boxGuarded)
		}
		b.WriteString("\n## How a click is asked\n\nOn the propagation from the guarded box, one click of the robot's rule on every slice whose 2D Dice is at most 0.97, asked each way: the mean change of the slice's 2D Dice, and (in brackets) the slices that lost more than 0.2. Patient A chose the app's way; patient B is held out.\n\n| patient | organ | slices |")
		for _, w := range clickWays {
			fmt.Fprintf(&b, " %s |", w.name)
		}
		b.WriteString("\n|---|---|---|")
		for range clickWays {
			b.WriteString("---|")
		}
		b.WriteString("\n")
		for _, a := range abls {
			fmt.Fprintf(&b, "| %s | %s | %d |", a.patient, a.organ, a.slices)
			for i := range clickWays {
				fmt.Fprintf(&b, " %+.3f (%d) |", a.gain[i], a.worse[i])
			}
			b.WriteString("\n")
		}
	}
	if len(guards) > 0 {
		b.WriteString("\n## The U-Net guarding SAM\n\nThe SAM robot's first interaction (box and propagation), with the default U-Net's probabilities of the segment's organ guarding the box and the propagation (pixels below 0.1 removed) and without:\n\n| patient | organ | without | with the U-Net guard |\n|---|---|---|---|\n")
		for _, g := range guards {
			without, with := g.this, g.other
			if !g.with {
				without, with = g.other, g.this
			}
			fmt.Fprintf(&b, "| %s | %s | %.3f | %.3f |\n", g.patient, g.organ, without, with)
		}
	}
	return b.String()
}
