package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/internal/atomicfile"
	"github.com/polyseg/polyseg/stats"
	"github.com/polyseg/polyseg/viewer"
)

func init() {
	register(command{
		name:    "stats",
		summary: "per-segment voxels, volume (mL), mean and SD of HU, axial slice range, surface area, maximum 3D diameter",
		usage:   "[--csv OUT.csv] [--series UID|N] [--allow-gaps] SCAN LABELS",
		run:     runStats,
	})
}

// statsColumns are the measurements added to stats' own: the area and
// the maximum 3D diameter of each segment's surface.
func statsColumns() []stats.Column { return stats.MeshColumns() }

// runStats measures every segment of LABELS (brought onto SCAN's grid, as
// the app does) on SCAN and prints a table; --csv writes it too.
func runStats(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("stats", stderr)
	csvPath := fs.String("csv", "", "also write the table to this CSV `file` (atomically)")
	var series seriesFlag
	series.register(fs, "DICOM series of SCAN: its `UID or number` (see polyseg info)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageErr("%v", err)
	}
	if len(pos) != 2 {
		return usageErr("want a SCAN and a LABELS file, got %d arguments", len(pos))
	}
	scanPath, labelsPath := pos[0], pos[1]
	if *csvPath != "" {
		if err := checkOutput(*csvPath, scanPath, labelsPath); err != nil {
			return err
		}
	}
	v, l, err := series.openScanWithLabels(ctx, scanPath, labelsPath, stderr)
	if err != nil {
		return err
	}
	cols := statsColumns()
	segs, err := stats.Compute(ctx, v, l, cols)
	if err != nil {
		return fmt.Errorf("stats of %s on %s: %w", labelsPath, scanPath, err)
	}
	names := assets.DefaultColorTable()
	n := viewer.NewSlicer(v.Grid, viewer.Axial).NumSlices()
	fmt.Fprintf(stdout, "SCAN %s: %s\nLABELS %s\naxial slices are numbered 1 (most inferior) to %d (most superior), as the app shows them\n",
		scanPath, gridString(v.Grid), labelsPath, n)
	if len(segs) == 0 {
		fmt.Fprintln(stdout, "no segment: the label volume is background only")
	}
	header, rows := stats.Table(segs, cols, names.Name)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header.Human, "\t")+"\t")
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r.Human, "\t")+"\t")
	}
	tw.Flush()
	if *csvPath == "" {
		return nil
	}
	err = atomicfile.WriteFile(*csvPath, 0o644, func(w io.Writer) error { return stats.WriteCSV(w, header, rows) })
	if err != nil {
		return fmt.Errorf("write %s: %w", *csvPath, err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", *csvPath)
	return nil
}
