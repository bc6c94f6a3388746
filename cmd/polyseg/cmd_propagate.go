package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/inference/propagate"
	"github.com/polyseg/polyseg/inference/sam2"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/inference/unet"
	"github.com/polyseg/polyseg/models"
	"github.com/polyseg/polyseg/volume"
)

func init() {
	register(command{
		name:    "propagate",
		summary: "carry a label drawn on one or a few slices through the whole scan",
		usage:   "--anchor-mask MASK --label N [--anchor-slice K] [--engine sam|sam2] [--sam2 DIR] [--range FROM:TO] [--prior MODEL] [--series UID|N] [--allow-gaps] [engine options] IN OUT.nii[.gz]",
		run:     runPropagate,
	})
}

// rangeFlag parses "FROM:TO", inclusive slice indices.
type rangeFlag struct {
	r   propagate.SliceRange
	set bool
}

func (f *rangeFlag) String() string {
	if !f.set {
		return ""
	}
	return fmt.Sprintf("%d:%d", f.r.From, f.r.To)
}

func (f *rangeFlag) Set(s string) error {
	from, to, ok := strings.Cut(s, ":")
	a, err1 := strconv.Atoi(strings.TrimSpace(from))
	b, err2 := strconv.Atoi(strings.TrimSpace(to))
	if !ok || err1 != nil || err2 != nil || a < 0 || b < a {
		return fmt.Errorf("range %q: want FROM:TO, slice indices from 0 with FROM <= TO", s)
	}
	f.r, f.set = propagate.SliceRange{From: a, To: b}, true
	return nil
}

func runPropagate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("propagate", stderr)
	maskPath := fs.String("anchor-mask", "", "label volume holding the label on the anchor slice(s) (required)")
	label := fs.Int("label", 0, "label value to propagate (required)")
	anchorSlice := fs.Int("anchor-slice", -1, "the one anchor slice: its index along the scan's axial axis, from 0 (default: every slice where the mask has the label)")
	engineName := fs.String("engine", app.EngineSAM, "propagation engine: sam (bundled SAM, slice to slice) or sam2 (SAM 2 files given by --sam2)")
	sam2Dir := fs.String("sam2", "", "folder of the SAM 2 ONNX files and their manifest (engine sam2)")
	var rng rangeFlag
	fs.Var(&rng, "range", "decide only slices `FROM:TO` (indices along the axial axis, from 0, inclusive)")
	priorModel := fs.String("prior", "", "guard against leaks with the probabilities of this U-Net `model` (name or manifest), which must segment the label")
	o := propagate.DefaultSAMOptions()
	registerPropagationOptions(fs, &o)
	var series seriesFlag
	series.register(fs, "DICOM series to read: its `UID or number` (see polyseg info)")
	var rf runtimeFlags
	rf.register(fs)
	in, out, err := parseScanToLabels(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *maskPath == "":
		return usageErr("--anchor-mask is required")
	case *label <= 0 || *label > 65535:
		return usageErr("--label %d: want a label value 1..65535", *label)
	case *engineName != app.EngineSAM && *engineName != app.EngineSAM2:
		return usageErr("--engine %q: want sam or sam2", *engineName)
	case *engineName == app.EngineSAM2 && *sam2Dir == "":
		return usageErr("--engine sam2 needs --sam2 DIR, the folder of the SAM 2 ONNX files")
	case *engineName == app.EngineSAM && *sam2Dir != "":
		return usageErr("--sam2 is for --engine sam2")
	}
	if err := checkPropagationOptions(o); err != nil {
		return err
	}
	if err := rf.check(); err != nil {
		return err
	}
	if err := checkOutput(out, in, *maskPath); err != nil {
		return err
	}
	v, mask, err := series.openScanWithLabels(ctx, in, *maskPath, stderr)
	if err != nil {
		return err
	}
	sl, err := section.NewSlicer(v.Grid, section.Axial)
	if err != nil {
		return err
	}
	lv := uint16(*label)
	anchors, err := anchorsOf(sl, mask, lv, *anchorSlice, *maskPath)
	if err != nil {
		return err
	}
	req := propagate.Request{Volume: v, Plane: section.Axial, Label: lv, Anchors: anchors}
	if rng.set {
		if rng.r.To >= sl.Slices {
			return usageErr("--range %s: the scan has axial slices 0..%d", rng.String(), sl.Slices-1)
		}
		req.Range = &rng.r
		for _, a := range anchors {
			if !rng.r.Contains(a.Slice) {
				return usageErr("--range %s leaves out the anchor slice %d", rng.String(), a.Slice)
			}
		}
	}

	rt, err := rf.runtime()
	if err != nil {
		return err
	}
	var eng propagate.Engine
	switch *engineName {
	case app.EngineSAM:
		sm, err := loadSAM(rt)
		if err != nil {
			return err
		}
		defer sm.Close()
		eng = propagate.NewSAMEngine(sm, o)
	case app.EngineSAM2:
		s2, err := sam2.Load(rt, *sam2Dir, sam2.Options{})
		if err != nil {
			return err
		}
		defer s2.Close()
		eng = s2
	}
	if *priorModel != "" {
		m, err := models.Resolve(*priorModel, rt.ModelDir(), models.SearchDirs(rt.ModelDir())...)
		if err != nil {
			return err
		}
		u, err := unet.Load(rt, m)
		if err != nil {
			return err
		}
		defer u.Close()
		if req.Prior, err = u.Prior(v, lv); err != nil {
			return err
		}
	}
	progress := newProgressLine(stderr, "propagate")
	req.Progress = progress
	started := time.Now().UTC()
	res, err := eng.Propagate(ctx, req)
	progress.end()
	if err != nil {
		return err
	}
	finished := time.Now().UTC()
	labels := volume.NewLabels(v.Grid)
	var doubtful []string
	decided := 0
	for _, s := range res.Slices {
		if err := sl.WriteMask(labels, s.Slice, s.Mask, lv); err != nil {
			return err
		}
		decided++
		if !s.Anchor && s.Stop == "" && s.Confidence < o.DoubtBelow {
			doubtful = append(doubtful, strconv.Itoa(s.Slice+1))
		}
	}
	voxels := 0
	for _, x := range labels.Data {
		if x != 0 {
			voxels++
		}
	}
	if err := volume.WriteLabels(out, labels, v); err != nil {
		return err
	}
	info := res.Info
	slicesOf := make([]int, len(anchors))
	for i, a := range anchors {
		slicesOf[i] = a.Slice
	}
	p := app.Provenance{Tool: "propagate", Labels: []uint16{lv}, Models: info.Models, Engine: &info,
		Prompts: &app.Prompts{Plane: "axial", AnchorSlices: slicesOf}, Source: *maskPath, Started: started, Finished: finished}
	if err := app.WriteProvenance(out, v, in, "polyseg propagate", p, voxels); err != nil {
		return err
	}
	// Slices numbered from 1 for the reader, as the viewer numbers them;
	// the flags take indices from 0.
	fmt.Fprintf(stdout, "wrote %s: label %d propagated from slice(s) %s by engine %s on %s, %d slices decided, %.2f s per slice",
		out, lv, joinInts(plusOne(slicesOf)), info.Engine, strings.ToUpper(info.Provider), decided, finished.Sub(started).Seconds()/math.Max(float64(decided-len(anchors)), 1))
	if len(doubtful) > 0 {
		fmt.Fprintf(stdout, "; doubtful (confidence < %.2f): slices %s", o.DoubtBelow, strings.Join(doubtful, ", "))
	}
	fmt.Fprintln(stdout)
	return nil
}

// anchorsOf takes the anchors from a label volume: slice k alone, or every
// slice holding the label when k is negative.
func anchorsOf(sl *section.Slicer, mask *volume.Labels, lv uint16, k int, path string) ([]propagate.Anchor, error) {
	if k >= sl.Slices {
		return nil, usageErr("--anchor-slice %d: the scan has axial slices 0..%d", k, sl.Slices-1)
	}
	var anchors []propagate.Anchor
	for kk := 0; kk < sl.Slices; kk++ {
		if k >= 0 && kk != k {
			continue
		}
		m, err := sl.Mask(mask, kk, lv)
		if err != nil {
			return nil, err
		}
		if m.Area() > 0 {
			anchors = append(anchors, propagate.Anchor{Slice: kk, Mask: m})
		}
	}
	switch {
	case len(anchors) > 0:
		return anchors, nil
	case k >= 0:
		return nil, fmt.Errorf("anchor mask %s has no voxel of label %d on axial slice %d", path, lv, k)
	}
	return nil, fmt.Errorf("anchor mask %s has no voxel of label %d", path, lv)
}

// plusOne returns indices from 0 as numbers from 1.
func plusOne(xs []int) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = x + 1
	}
	return out
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

// registerPropagationOptions adds a flag for every threshold of the "sam"
// engine, with its default.
func registerPropagationOptions(fs *flag.FlagSet, o *propagate.SAMOptions) {
	fs.Float64Var(&o.MarginMM, "margin-mm", o.MarginMM, "widen the box from the previous slice by this many mm")
	fs.Float64Var(&o.MaskLogit, "mask-logit", o.MaskLogit, "amplitude of the previous slice's mask as SAM's mask prompt")
	fs.Float64Var(&o.GrowMM, "grow-mm", o.GrowMM, "largest move of the structure's edge per 3 mm of slice spacing, in mm")
	fs.Float64Var(&o.HUStd, "hu-std", o.HUStd, "density range: the anchors' mean HU ± this many standard deviations")
	fs.Float64Var(&o.MinHUFraction, "min-hu-fraction", o.MinHUFraction, "stop when less than this fraction of SAM's mask lies in the density range")
	fs.Float64Var(&o.MinIoU, "min-iou", o.MinIoU, "stop when SAM's IoU estimate falls below this")
	fs.Float64Var(&o.MinAreaRatio, "min-area-ratio", o.MinAreaRatio, "stop when the area falls below this fraction of the previous slice's")
	fs.Float64Var(&o.MinAreaMM2, "min-area-mm2", o.MinAreaMM2, "stop when the area falls below this many mm²")
	fs.Float64Var(&o.MaxOutside, "max-outside", o.MaxOutside, "stop when more than this fraction of SAM's mask lies beyond --grow-mm of the previous slice's")
	fs.Float64Var(&o.MaxMeanShift, "max-mean-shift", o.MaxMeanShift, "stop when the median HU of SAM's mask lies this many of the anchors' standard deviations from theirs")
	fs.Float64Var(&o.PriorMin, "prior-min", o.PriorMin, "with --prior: drop pixels whose U-Net probability is below this")
	fs.Float64Var(&o.DoubtBelow, "doubt-below", o.DoubtBelow, "report slices whose confidence is below this as doubtful")
}

// checkPropagationOptions refuses thresholds outside their meaning (NaN
// would switch a rule off silently).
func checkPropagationOptions(o propagate.SAMOptions) error {
	bad := func(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) }
	for _, f := range []struct {
		name   string
		x      float64
		lo, hi float64
	}{
		{"margin-mm", o.MarginMM, 0, 1000},
		{"mask-logit", o.MaskLogit, 0, 1000},
		{"grow-mm", o.GrowMM, 0, 1e6},
		{"hu-std", o.HUStd, 0, 1e6},
		{"min-hu-fraction", o.MinHUFraction, 0, 1},
		{"min-iou", o.MinIoU, 0, 1},
		{"min-area-ratio", o.MinAreaRatio, 0, 1},
		{"min-area-mm2", o.MinAreaMM2, 0, 1e9},
		{"max-outside", o.MaxOutside, 0, 1},
		{"max-mean-shift", o.MaxMeanShift, 0, 1e6},
		{"prior-min", o.PriorMin, 0, 1},
		{"doubt-below", o.DoubtBelow, 0, 1},
	} {
		if bad(f.x) || f.x < f.lo || f.x > f.hi {
			return usageErr("--%s %g: want %g to %g", f.name, f.x, f.lo, f.hi)
		}
	}
	return nil
}
