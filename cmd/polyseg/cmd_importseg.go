package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/dicomseg"
	"github.com/polyseg/polyseg/volume"
)

func init() {
	register(command{
		name:    "import-seg",
		summary: "read a DICOM SEG onto its DICOM series as a NIfTI label volume",
		usage:   "--scan DICOMDIR [--series UID|N] [--allow-gaps] [--colors OUT.txt] SEG.dcm OUT.nii[.gz]",
		run:     runImportSEG,
	})
}

// runImportSEG reads SEG.dcm (dicomseg.ReadFile), places it onto the
// series voxel for voxel (SEG.Place) and writes the label volume on the
// series' grid, as convert writes the scan, atomically; --colors also
// writes the segments' names and colours as a colour table.
func runImportSEG(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("import-seg", stderr)
	var series seriesFlag
	series.register(fs, "DICOM series the SEG segments: its `UID or number` (see polyseg info)")
	scan := fs.String("scan", "", "the DICOM `folder` of the series the SEG segments (required)")
	colors := fs.String("colors", "", "also write the segments' values, names and colours to this colour-table `file`")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageErr("%v", err)
	}
	if len(pos) != 2 {
		return usageErr("want SEG.dcm and OUT.nii[.gz], got %d arguments", len(pos))
	}
	if *scan == "" {
		return usageErr("--scan DICOMDIR is required: a segmentation is read onto the DICOM series it segments")
	}
	segPath, out := pos[0], pos[1]
	if l := strings.ToLower(out); !strings.HasSuffix(l, ".nii") && !strings.HasSuffix(l, ".nii.gz") {
		return usageErr("output %s: name it .nii or .nii.gz", out)
	}
	if err := checkOutput(out, segPath, *scan); err != nil {
		return err
	}
	if *colors != "" {
		if err := checkOutput(*colors, segPath, *scan, out); err != nil {
			return err
		}
	}
	seg, err := dicomseg.ReadFile(segPath)
	if err != nil {
		return err
	}
	src, err := dicomseg.OpenSource(ctx, *scan, series.opt)
	if err != nil {
		return dicomHint(err)
	}
	im, err := seg.Place(ctx, src, dicomseg.PlaceOptions{})
	if err != nil {
		return err
	}
	// The scan itself, for the affine, qform and sform its labels carry.
	v, err := volume.Open(ctx, src.Dir, volume.OpenOptions{DICOM: src.Chosen})
	if err != nil {
		return err
	}
	if !v.Grid.Equal(src.Grid, 1e-4) {
		return fmt.Errorf("%s: the series changed while it was read", src.Dir)
	}
	im.Labels.Grid = v.Grid
	if err := volume.WriteLabels(out, im.Labels, v); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d segments of %s on the %d x %d x %d grid of %s\n", out, len(im.Segments), segPath, v.Dims[0], v.Dims[1], v.Dims[2], src.Dir)
	var table []assets.Label
	for _, s := range im.Segments {
		how := s.Info.Algorithm.Type
		if s.Info.Algorithm.Name != "" {
			how += " (" + s.Info.Algorithm.Name + ")"
		}
		fmt.Fprintf(stdout, "  label %d %s: segment %d %q, %s, %d voxels, colour %d %d %d\n",
			s.Value, s.Name, s.Info.Number, s.Info.Label, how, s.Voxels, s.Color.R, s.Color.G, s.Color.B)
		table = append(table, assets.Label{Value: s.Value, Name: s.Name, Color: s.Color})
	}
	for _, w := range im.Warnings {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	if *colors != "" {
		t, err := assets.NewColorTable(table)
		if err != nil {
			return fmt.Errorf("colour table %s: %w", *colors, err)
		}
		if err := assets.WriteColorTableFile(*colors, t); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s: the segments' colour table\n", *colors)
	}
	return nil
}
