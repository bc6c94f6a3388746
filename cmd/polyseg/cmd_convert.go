package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/polyseg/polyseg/volume"
)

func init() {
	register(command{
		name:    "convert",
		summary: "convert a DICOM series (or any volume polyseg opens) to NIfTI",
		usage:   "[--series UID|N] [--allow-gaps] DICOMDIR OUT.nii[.gz]",
		run:     runConvert,
	})
}

// runConvert reads a volume with volume.Open and writes it with
// volume.WriteNIfTI, atomically. The voxel order stays the DICOM pixel order
// (dcm2niix flips the rows instead); the world geometry is the same.
func runConvert(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("convert", stderr)
	var series seriesFlag
	series.register(fs, "DICOM series to convert: its `UID or number` (see polyseg info)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageErr("%v", err)
	}
	if len(pos) != 2 {
		return usageErr("want an input and an output, got %d arguments", len(pos))
	}
	in, out := pos[0], pos[1]
	if l := strings.ToLower(out); !strings.HasSuffix(l, ".nii") && !strings.HasSuffix(l, ".nii.gz") {
		return usageErr("output %s: name it .nii or .nii.gz", out)
	}
	if err := checkOutput(out, in); err != nil {
		return err
	}
	v, err := series.openScan(ctx, in)
	if err != nil {
		return err
	}
	if err := volume.WriteNIfTI(out, v); err != nil {
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
