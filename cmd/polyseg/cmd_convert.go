package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/volume"
)

func init() {
	register(command{
		name:    "convert",
		summary: "convert a scan or a label volume between DICOM, NIfTI, NRRD and 3D Slicer's .seg.nrrd",
		usage:   "[--labels] [--series UID|N] [--allow-gaps] IN OUT.nii[.gz]|OUT.nrrd|OUT.nhdr|OUT.seg.nrrd",
		run:     runConvert,
	})
}

// outputFormats are the endings convert writes, for its usage error.
const outputFormats = ".nii, .nii.gz, .nrrd, .nhdr, .seg.nrrd or .seg.nhdr"

// runConvert reads a scan (volume.Open) or a label volume
// (volume.ReadLabels) and writes it in the format OUT's name says,
// atomically. A DICOM series keeps its pixel order (dcm2niix flips the rows
// instead); the world geometry is the same. IN is taken as labels with
// --labels, when IN or OUT is a .seg.nrrd, and when IN says it holds labels
// (volume.IsLabelFile).
func runConvert(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("convert", stderr)
	var series seriesFlag
	series.register(fs, "DICOM series to convert: its `UID or number` (see polyseg info)")
	labels := fs.Bool("labels", false, "IN is a label volume: write whole label values, with the segment names and colours the formats hold")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageErr("%v", err)
	}
	if len(pos) != 2 {
		return usageErr("want an input and an output, got %d arguments", len(pos))
	}
	in, out := pos[0], pos[1]
	l := strings.ToLower(out)
	nifti := strings.HasSuffix(l, ".nii") || strings.HasSuffix(l, ".nii.gz")
	if !nifti && !volume.IsNRRDName(out) {
		return usageErr("output %s: name it %s", out, outputFormats)
	}
	if err := checkOutput(out, in); err != nil {
		return err
	}
	if *labels || volume.IsSegmentationName(out) || volume.IsLabelFile(in) {
		return convertLabels(in, out, nifti, stdout)
	}
	v, err := series.openScan(ctx, in)
	if err != nil {
		return err
	}
	if nifti {
		err = volume.WriteNIfTI(out, v)
	} else {
		err = volume.WriteNRRD(out, v)
	}
	if err != nil {
		return err
	}
	sp := v.Spacing()
	fmt.Fprintf(stdout, "wrote %s: %d x %d x %d voxels of %.4g x %.4g x %.4g mm, %s\n",
		out, v.Dims[0], v.Dims[1], v.Dims[2], sp[0], sp[1], sp[2], v.Affine.AxisCodes())
	for _, w := range v.Warnings {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	return nil
}

// convertLabels converts a label volume on its own grid. Names and
// colours go where the output holds them: a .seg.nrrd's segment fields
// (values the input does not name get the default colour table's names, as
// the app shows them), or, for NIfTI, the colour table beside it when the
// input named any.
func convertLabels(in, out string, nifti bool, stdout io.Writer) error {
	l, warnings, err := volume.ReadLabels(in)
	if err != nil {
		return err
	}
	if !nifti {
		l.Segments = withDefaultNames(l)
	}
	ref := &volume.Volume{Grid: l.Grid}
	if err := volume.WriteLabels(out, l, ref); err != nil {
		return err
	}
	sp := l.Spacing()
	fmt.Fprintf(stdout, "wrote %s: labels, %d x %d x %d voxels of %.4g x %.4g x %.4g mm, %s, %d named segments\n",
		out, l.Dims[0], l.Dims[1], l.Dims[2], sp[0], sp[1], sp[2], l.Affine.AxisCodes(), len(l.Segments))
	if nifti && len(l.Segments) > 0 {
		fmt.Fprintf(stdout, "wrote %s: the segments' names and colours (3D Slicer colour table)\n", volume.ColorTablePath(out))
	}
	for _, w := range warnings {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	return nil
}

// withDefaultNames returns l's segments and, for each value present that
// they do not name, the default colour table's name and colour.
func withDefaultNames(l *volume.Labels) []volume.Segment {
	segs := append([]volume.Segment(nil), l.Segments...)
	named := map[uint16]bool{}
	for _, s := range segs {
		named[s.Value] = true
	}
	present := make([]bool, 1<<16)
	for _, v := range l.Data {
		present[v] = true
	}
	t := assets.DefaultColorTable()
	for v := 1; v < len(present); v++ {
		if present[v] && !named[uint16(v)] {
			segs = append(segs, volume.Segment{Value: uint16(v), Name: t.Name(uint16(v)), Color: t.Color(uint16(v))})
		}
	}
	return segs
}
