package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/polyseg/polyseg/inference/refine"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/volume"
)

func init() {
	register(command{
		name:    "refine",
		summary: "refine a coarse label volume with Segment Anything, slice by slice",
		usage:   "--coarse MASK [--label N] [--window L/W] [--margin-mm MM] [--min-iou X] [--max-area-change X] [--max-hu-shift X] [--trim-std X] [--provider auto|cpu|cuda] [--threads N] [--series UID|N] [--allow-gaps] IN OUT.nii[.gz]",
		run:     runRefine,
	})
}

// windowFlag parses "LEVEL/WIDTH" in HU.
type windowFlag struct {
	w   models.Window
	set bool
}

func (f *windowFlag) String() string {
	if !f.set {
		return ""
	}
	return fmt.Sprintf("%g/%g", f.w.Level, f.w.Width)
}

func (f *windowFlag) Set(s string) error {
	var w models.Window
	if _, err := fmt.Sscanf(strings.TrimSpace(s), "%g/%g", &w.Level, &w.Width); err != nil || w.Width <= 0 {
		return fmt.Errorf("window %q: want LEVEL/WIDTH in HU with a positive width, e.g. 30/150", s)
	}
	f.w, f.set = w, true
	return nil
}

func runRefine(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("refine", stderr)
	coarsePath := fs.String("coarse", "", "coarse label volume to refine (required)")
	label := fs.Uint("label", 0, "label value to refine (0: every label in the coarse mask)")
	var win windowFlag
	fs.Var(&win, "window", "SAM image window `LEVEL/WIDTH` (default: the encoder manifest's, per label)")
	var o refine.Options
	fs.Float64Var(&o.MarginMM, "margin-mm", 0, "widen each box by this many mm")
	fs.Float64Var(&o.MinIoU, "min-iou", refine.DefaultMinIoU, "keep the coarse shape when SAM's predicted IoU is below this")
	fs.Float64Var(&o.MaxAreaChange, "max-area-change", refine.DefaultMaxAreaChange, "keep the coarse shape when the area changes by more than this fraction")
	fs.Float64Var(&o.MaxHUShift, "max-hu-shift", refine.DefaultMaxHUShift, "keep the coarse shape when added pixels' mean HU is this many std from the coarse mean")
	fs.Float64Var(&o.TrimStd, "trim-std", refine.DefaultTrimStd, "trim edge pixels whose HU is this many std from the coarse core's mean (negative: off)")
	var series seriesFlag
	series.register(fs, "DICOM series to read: its `UID or number` (see polyseg info)")
	var rf runtimeFlags
	rf.register(fs)
	in, out, err := parseScanToLabels(fs, args)
	if err != nil {
		return err
	}
	if *coarsePath == "" {
		return usageErr("--coarse is required")
	}
	if *label > 65535 {
		return usageErr("--label %d: label values are 0..65535", *label)
	}
	if err := checkRefineOptions(o); err != nil {
		return err
	}
	if err := rf.check(); err != nil {
		return err
	}
	if err := checkOutput(out, in, *coarsePath); err != nil {
		return err
	}
	v, coarse, err := series.openScanWithLabels(ctx, in, *coarsePath, stderr)
	if err != nil {
		return err
	}
	if *label != 0 {
		o.Labels = []uint16{uint16(*label)}
		found := false
		for _, x := range coarse.Data {
			if x == uint16(*label) {
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("coarse mask %s has no voxel with label %d", *coarsePath, *label)
		}
	}
	rt, err := rf.runtime()
	if err != nil {
		return err
	}
	sm, err := loadSAM(rt)
	if err != nil {
		return err
	}
	defer sm.Close()
	if win.set {
		o.Windows = map[uint16]models.Window{}
		labels := o.Labels
		if len(labels) == 0 {
			for x := uint16(1); x != 0 && x <= coarse.Max(); x++ {
				labels = append(labels, x)
			}
		}
		for _, l := range labels {
			o.Windows[l] = win.w
		}
	}
	printPlacements(stderr, rt, sm.Placements()...)
	progress := newProgressLine(stderr, "refine")
	o.Progress = progress
	refined, st, err := refine.Volume(ctx, sm, v, coarse, o)
	progress.end()
	if err != nil {
		return err
	}
	if err := volume.WriteLabels(out, refined, v); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d slices, %d components, %d replaced by SAM", out, st.Slices, st.Components, st.Decisions[refine.Replaced])
	for d := refine.KeptSmall; d <= refine.KeptEmpty; d++ {
		if n := st.Decisions[d]; n > 0 {
			fmt.Fprintf(stdout, ", %d %s", n, d)
		}
	}
	fmt.Fprintln(stdout)
	return nil
}

// checkRefineOptions refuses thresholds outside their meaning: NaN compares
// false with everything, so it silently switched a check off, and an IoU
// above 1 or a negative area change silently kept every coarse shape.
func checkRefineOptions(o refine.Options) error {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch {
	case !finite(o.MarginMM) || o.MarginMM < 0:
		return usageErr("--margin-mm %g: want 0 or more", o.MarginMM)
	case !finite(o.MinIoU) || o.MinIoU < 0 || o.MinIoU > 1:
		return usageErr("--min-iou %g: want 0 to 1", o.MinIoU)
	case !finite(o.MaxAreaChange) || o.MaxAreaChange < 0:
		return usageErr("--max-area-change %g: want 0 or more", o.MaxAreaChange)
	case !finite(o.MaxHUShift) || o.MaxHUShift < 0:
		return usageErr("--max-hu-shift %g: want 0 or more", o.MaxHUShift)
	case !finite(o.TrimStd):
		return usageErr("--trim-std %g: want a number (negative: off)", o.TrimStd)
	}
	return nil
}
