package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/inference/onnxrt"
	"github.com/polyseg/polyseg/inference/propagate"
	"github.com/polyseg/polyseg/inference/section"
	"github.com/polyseg/polyseg/internal/settings"
	"github.com/polyseg/polyseg/viewer"
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
	if rng.set {
		if rng.r.To >= sl.Slices {
			return usageErr("--range %s: the scan has axial slices 0..%d", rng.String(), sl.Slices-1)
		}
		for _, a := range anchors {
			if !rng.r.Contains(a.Slice) {
				return usageErr("--range %s leaves out the anchor slice %d", rng.String(), a.Slice)
			}
		}
	}
	// The app propagates: the anchors are the session's starting labels,
	// and the result and its provenance are what the app's Enter and
	// export make.
	start := volume.NewLabels(v.Grid)
	for _, a := range anchors {
		if err := sl.WriteMask(start, a.Slice, a.Mask, lv); err != nil {
			return err
		}
	}
	mo, err := rf.modelOptions()
	if err != nil {
		return err
	}
	mo.Propagation, mo.SAM2Dir = &o, *sam2Dir
	if *priorModel != "" {
		mo.UNet = *priorModel
	}
	models := app.NewModels(mo)
	defer models.Close()
	progress := newProgressLine(stderr, "propagate")
	var job *app.Job
	var jobMu sync.Mutex
	s := app.New(app.Options{Models: models, ClickDelay: -1, OnChange: func(c app.Change) {
		jobMu.Lock()
		j := job
		jobMu.Unlock()
		if c&app.ChangeJobs != 0 && j != nil {
			if f, stage := j.Progress(); f >= 0 {
				progress.Report(int(f*1000), 1000, stage)
			}
		}
	}})
	defer s.Close()
	if err := s.SetVolumeWithLabels(v, start, in); err != nil {
		return err
	}
	vs := viewer.NewSlicer(v.Grid, viewer.Axial)
	viewOf := func(k int) int {
		vx := sl.Voxel(k, 0, 0)
		n, _, _ := vs.Locate(vx[0], vx[1], vx[2])
		return n
	}
	req := app.PropagateRequest{Plane: viewer.Axial, Slice: viewOf(anchors[0].Slice), Label: lv, Engine: *engineName,
		AllAnchors: *anchorSlice < 0, Prior: *priorModel != "", Source: *maskPath}
	if rng.set {
		req.Range = &rng.r
	}
	started := time.Now()
	j, err := s.Propagate(req)
	if err != nil {
		return err
	}
	jobMu.Lock()
	job = j
	jobMu.Unlock()
	select {
	case <-j.Done():
	case <-ctx.Done():
		j.Cancel()
		<-j.Done()
	}
	progress.end()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := j.Err(); err != nil {
		return err
	}
	elapsed := time.Since(started)
	if _, err := s.AcceptPreview(); err != nil {
		return fmt.Errorf("propagate: %w", err)
	}
	if err := s.ExportLabels(out); err != nil {
		return err
	}
	sum, _ := s.Propagation(lv)
	var doubtful, unchecked []string
	for _, c := range s.Confidence(viewer.Axial, lv) {
		if c.Doubtful {
			i, j, kk := vs.Voxel(c.Slice, 0, 0)
			k, _, _ := sl.Pixel([3]int{i, j, kk})
			if c.Unchecked {
				unchecked = append(unchecked, strconv.Itoa(k+1))
			} else {
				doubtful = append(doubtful, strconv.Itoa(k+1))
			}
		}
	}
	slicesOf := make([]int, len(anchors))
	for i, a := range anchors {
		slicesOf[i] = a.Slice
	}
	// Slices numbered from 1 for the reader, as the viewer numbers them;
	// the flags take indices from 0.
	fmt.Fprintf(stdout, "wrote %s: label %d propagated from slice(s) %s by engine %s on %s, %d slices decided, %.2f s per slice",
		out, lv, joinInts(plusOne(slicesOf)), sum.Engine, strings.ToUpper(sum.Provider), sum.Slices, elapsed.Seconds()/math.Max(float64(sum.Slices-len(anchors)), 1))
	byNumber := func(a, b string) int { x, _ := strconv.Atoi(a); y, _ := strconv.Atoi(b); return x - y }
	if len(doubtful) > 0 {
		slices.SortFunc(doubtful, byNumber)
		fmt.Fprintf(stdout, "; doubtful (confidence < %.2f): slices %s", s.DoubtBelow(), strings.Join(doubtful, ", "))
	}
	if len(unchecked) > 0 {
		slices.SortFunc(unchecked, byNumber)
		fmt.Fprintf(stdout, "; doubtful, not propagated but the organ may go on there: slices %s", strings.Join(unchecked, ", "))
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
	fs.Float64Var(&o.ReferenceSpacingMM, "reference-spacing-mm", o.ReferenceSpacingMM, "the slice spacing --grow-mm is given for, in mm")
	fs.Float64Var(&o.MinHUSpread, "min-hu-spread", o.MinHUSpread, "least half-width of the density range, in HU")
	fs.Float64Var(&o.CoreErosionPx, "core-erosion-px", o.CoreErosionPx, "erode the anchors by this many pixels before measuring their density")
	fs.IntVar(&o.MinCorePixels, "min-core-pixels", o.MinCorePixels, "measure an anchor whole when its core has fewer pixels")
	fs.Float64Var(&o.MinShiftStdHU, "min-shift-std-hu", o.MinShiftStdHU, "least standard deviation --max-mean-shift counts in, in HU")
	fs.Float64Var(&o.ConfidenceIoUFrom, "confidence-iou-from", o.ConfidenceIoUFrom, "the confidence stretches SAM's IoU estimate from this value to 1")
	fs.Float64Var(&o.ConfidenceAreaShare, "confidence-area-share", o.ConfidenceAreaShare, "slices below this share of the largest area lose confidence")
	fs.Float64Var(&o.EndKeep, "end-keep", o.EndKeep, "where a chain stops at the structure's end, keep the guarded part of SAM's mask when no larger than this share of the slice before (0: leave it empty)")
	fs.Float64Var(&o.NeckMM, "neck-mm", o.NeckMM, "drop a piece of a slice's mask joined through a neck narrower than twice this many mm and lying mostly off the slice before (0: off)")
}

// checkPropagationOptions refuses thresholds outside their meaning, as
// the engine does (propagate.SAMOptions.Check), naming the flag.
func checkPropagationOptions(o propagate.SAMOptions) error {
	var oe *propagate.OptionError
	if err := o.Check(); errors.As(err, &oe) {
		return usageErr("--%s %g: want %g to %g", strings.ReplaceAll(oe.Name, "_", "-"), oe.Value, oe.Min, oe.Max)
	} else if err != nil {
		return usageErr("%v", err)
	}
	return nil
}

// modelOptions are the runtime flags and the user's settings (the
// embedding cache, the encoder variant, windows by segment name) as the
// app's models take them, as `polyseg view` makes them.
func (r *runtimeFlags) modelOptions() (app.ModelOptions, error) {
	st, err := settings.Load()
	if err != nil {
		return app.ModelOptions{}, err
	}
	return app.ModelOptions{
		Runtime:  onnxrt.Options{Library: r.lib, Provider: onnxrt.Provider(r.provider), Threads: r.threads},
		SAM:      app.SAMOptions(st),
		Settings: st,
	}, nil
}
