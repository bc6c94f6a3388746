package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/internal/atomicfile"
	"github.com/polyseg/polyseg/mesh"
	"github.com/polyseg/polyseg/stats"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

func init() {
	register(command{
		name:    "stats",
		summary: "per-segment voxels, volume (mL), mean and SD of HU, axial slice range, surface area, maximum 3D diameter",
		usage:   "[--csv OUT.csv] [--series UID|N] [--allow-gaps] SCAN LABELS",
		run:     runStats,
	})
}

// statsColumns are the measurements added to stats' own, from each
// segment's marching-cubes surface as pyradiomics defines them
// (mesh.Measure): its area (surface_mm2) and the largest distance between
// two of its points (max_diameter_mm). Measure runs once, over every
// segment, when the first value is asked for.
func statsColumns() []stats.Column {
	var once sync.Once
	var byLabel map[uint16]mesh.Stats
	var failed error
	measure := func(ctx context.Context, l *volume.Labels, v uint16) (mesh.Stats, error) {
		once.Do(func() {
			st, err := mesh.Measure(ctx, l, nil)
			if err != nil {
				failed = err
				return
			}
			byLabel = make(map[uint16]mesh.Stats, len(st))
			for _, s := range st {
				byLabel[s.Label] = s
			}
		})
		return byLabel[v], failed
	}
	return []stats.Column{
		{Name: "surface_mm2", Compute: func(ctx context.Context, _ *volume.Volume, l *volume.Labels, v uint16) (float64, error) {
			s, err := measure(ctx, l, v)
			return s.SurfaceMM2, err
		}},
		{Name: "max_diameter_mm", Compute: func(ctx context.Context, _ *volume.Volume, l *volume.Labels, v uint16) (float64, error) {
			s, err := measure(ctx, l, v)
			return s.MaxDiameterMM, err
		}},
	}
}

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
	header, rows := statsTable(segs, cols, names)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header.human, "\t")+"\t")
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r.human, "\t")+"\t")
	}
	tw.Flush()
	if *csvPath == "" {
		return nil
	}
	err = atomicfile.WriteFile(*csvPath, 0o644, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write(header.csv); err != nil {
			return err
		}
		for _, r := range rows {
			if err := cw.Write(r.csv); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", *csvPath, err)
	}
	fmt.Fprintf(stdout, "wrote %s\n", *csvPath)
	return nil
}

// statsRow is one line of the table, for people and for the CSV file.
type statsRow struct{ human, csv []string }

func statsTable(segs []stats.Segment, cols []stats.Column, names *assets.ColorTable) (statsRow, []statsRow) {
	header := statsRow{
		human: []string{"label", "name", "voxels", "volume mL", "mean HU", "SD HU", "axial slices"},
		csv:   []string{"label", "name", "voxels", "volume_ml", "mean_hu", "sd_hu", "first_axial_slice", "last_axial_slice"},
	}
	for _, c := range cols {
		header.human = append(header.human, c.Name)
		header.csv = append(header.csv, c.Name)
	}
	num := func(x float64) string { return strconv.FormatFloat(x, 'g', 10, 64) }
	var rows []statsRow
	for _, s := range segs {
		r := statsRow{
			human: []string{strconv.Itoa(int(s.Label)), names.Name(s.Label), strconv.Itoa(s.Voxels),
				fmt.Sprintf("%.2f", s.VolumeML), fmt.Sprintf("%.1f", s.MeanHU), fmt.Sprintf("%.1f", s.SDHU),
				fmt.Sprintf("%d-%d", s.FirstSlice, s.LastSlice)},
			csv: []string{strconv.Itoa(int(s.Label)), names.Name(s.Label), strconv.Itoa(s.Voxels),
				num(s.VolumeML), num(s.MeanHU), num(s.SDHU), strconv.Itoa(s.FirstSlice), strconv.Itoa(s.LastSlice)},
		}
		for _, x := range s.Extra {
			r.human = append(r.human, fmt.Sprintf("%.2f", x))
			r.csv = append(r.csv, num(x))
		}
		rows = append(rows, r)
	}
	return header, rows
}
