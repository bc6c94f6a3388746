package main

import (
	"context"
	"fmt"
	"io"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/inference/refine"
	"github.com/polyseg/polyseg/interp"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

func init() {
	register(command{
		name:    "interpolate",
		summary: "fill a label between the slices it is drawn on (shape-based, or corrected by SAM with --scan)",
		usage:   "--label N [--plane axial|coronal|sagittal] [--scan IN [--series UID|N] [--allow-gaps] [--provider auto|cpu|cuda] [--threads N]] LABELS OUT.nii[.gz]",
		run:     runInterpolate,
	})
}

// runInterpolate fills label N of LABELS on the slices between those it is
// drawn on: shape-based interpolation of signed distance maps alone
// (package interp) on any plane, or, with --scan, corrected by SAM on the
// scan's axial slices (sam.Model.FillBetween), on the scan's grid.
func runInterpolate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("interpolate", stderr)
	label := fs.Uint("label", 0, "label value to fill (required)")
	planeName := fs.String("plane", "axial", "slices to fill between: axial, coronal or sagittal (with --scan: axial)")
	scan := fs.String("scan", "", "the scan (NIfTI file or DICOM folder): SAM corrects the interpolated slices on it")
	var series seriesFlag
	series.register(fs, "DICOM series of --scan: its `UID or number` (see polyseg info)")
	var rf runtimeFlags
	rf.register(fs)
	in, out, err := parseScanToLabels(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *label == 0:
		return usageErr("--label is required: the value to fill (1 to 65535)")
	case *label > 65535:
		return usageErr("--label %d: label values are 1..65535", *label)
	}
	value := uint16(*label)
	plane, err := viewer.ParsePlane(*planeName)
	if err != nil {
		return usageErr("--plane: %v", err)
	}
	if *scan != "" && plane != viewer.Axial {
		return usageErr("--plane %s with --scan: SAM corrects axial slices only", plane)
	}
	if err := rf.check(); err != nil {
		return err
	}
	inputs := []string{in}
	if *scan != "" {
		inputs = append(inputs, *scan)
	}
	if err := checkOutput(out, inputs...); err != nil {
		return err
	}
	name := assets.DefaultColorTable().Name(value)
	if *scan == "" {
		return interpolatePlain(ctx, in, out, value, name, plane, stdout, stderr)
	}
	v, l, err := series.openScanWithLabels(ctx, *scan, in, stderr)
	if err != nil {
		return err
	}
	if err := checkFillable(l, interp.SliceAxis(v.Grid, 2), value, name, in, plane); err != nil {
		return err
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
	prov, note := rt.Provider()
	fmt.Fprintf(stderr, "SAM on %s (%d threads)\n", prov, rt.Threads())
	if note != "" {
		fmt.Fprintf(stderr, "note: %s\n", note)
	}
	progress := newProgressLine(stderr, "interpolate")
	filled, st, err := refine.FillBetween(ctx, sm, v, l, value, refine.FillOptions{Progress: progress})
	progress.end()
	if err != nil {
		return err
	}
	if err := volume.WriteLabels(out, filled, v); err != nil {
		return err
	}
	reportFill(stdout, out, value, name, plane, st.Annotated, st.Filled, st.Added, st.Blocked, v.Spacing())
	return nil
}

// interpolatePlain is interpolate without a scan: the labels' own grid,
// header and any plane.
func interpolatePlain(ctx context.Context, in, out string, value uint16, name string, plane viewer.Plane, stdout, stderr io.Writer) error {
	hdr, err := volume.ReadNIfTIHeader(in)
	if err != nil {
		return err
	}
	l, err := volume.ReadLabelsNIfTI(in)
	if err != nil {
		return err
	}
	for _, w := range hdr.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	axis := interp.SliceAxis(l.Grid, plane.Normal())
	if err := checkFillable(l, axis, value, name, in, plane); err != nil {
		return err
	}
	progress := newProgressLine(stderr, "interpolate")
	res, err := interp.Fill(ctx, l, value, interp.Options{Axis: axis, Progress: progress})
	progress.end()
	if err != nil {
		return err
	}
	if err := volume.WriteLabels(out, res.Labels, &volume.Volume{Grid: l.Grid, Meta: hdr.Meta}); err != nil {
		return err
	}
	reportFill(stdout, out, value, name, plane, res.Annotated, res.Filled, res.Added, res.Blocked, l.Spacing())
	return nil
}

// checkFillable refuses, before any model is loaded, a label that is
// absent or has no empty slice between the slices it is drawn on.
func checkFillable(l *volume.Labels, axis int, value uint16, name, path string, plane viewer.Plane) error {
	ann := interp.Annotated(l, axis, value)
	switch {
	case len(ann) == 0:
		return fmt.Errorf("%s has no voxel of label %d (%s)", path, value, name)
	case len(interp.Gaps(ann)) == 0:
		return fmt.Errorf("%s: label %d (%s) lies on %d neighbouring %s slices with none empty between them: nothing to fill", path, value, name, len(ann), plane)
	}
	return nil
}

func reportFill(w io.Writer, out string, value uint16, name string, plane viewer.Plane, annotated, filled []int, added, blocked int, sp [3]float64) {
	fmt.Fprintf(w, "wrote %s: label %d (%s) filled on %d %s slices between %d drawn ones: %d voxels added (%.1f mL)",
		out, value, name, len(filled), plane, len(annotated), added, float64(added)*sp[0]*sp[1]*sp[2]/1000)
	if blocked > 0 {
		fmt.Fprintf(w, "; %d voxels of other labels left as they were", blocked)
	}
	fmt.Fprintln(w)
}
