package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/polyseg/polyseg/volume"
)

func init() {
	register(command{
		name:    "info",
		summary: "describe a CT volume: a DICOM folder's series, dimensions, spacing, orientation, HU range",
		usage:   "[--series UID|N] [--allow-gaps] FILE|DIR",
		run:     runInfo,
	})
}

// seriesFlag is the --series flag of info and convert: a number chooses by
// position in the series list (1-based), anything else by SeriesInstanceUID
// (UIDs always contain dots, so they never parse as a number).
type seriesFlag struct{ opt volume.DICOMOptions }

func (s *seriesFlag) String() string {
	if s.opt.SeriesUID != "" {
		return s.opt.SeriesUID
	}
	if s.opt.SeriesIndex != 0 {
		return strconv.Itoa(s.opt.SeriesIndex)
	}
	return ""
}

func (s *seriesFlag) Set(v string) error {
	if n, err := strconv.Atoi(v); err == nil {
		if n < 1 {
			return fmt.Errorf("series index %d: must be 1 or more", n)
		}
		s.opt.SeriesIndex, s.opt.SeriesUID = n, ""
		return nil
	}
	if v == "" {
		return errors.New("empty series UID")
	}
	s.opt.SeriesIndex, s.opt.SeriesUID = 0, v
	return nil
}

// register adds --series, with the given usage, and --allow-gaps to fs:
// every command that may open a DICOM folder takes both.
func (s *seriesFlag) register(fs *flag.FlagSet, usage string) {
	fs.Var(s, "series", usage)
	fs.BoolVar(&s.opt.AllowGaps, "allow-gaps", false, allowGapsUsage)
}

const allowGapsUsage = "read a DICOM series with an unreadable file or a missing slice anyway (the grid then assumes even spacing)"

// chosen reports whether --series was given.
func (s *seriesFlag) chosen() bool { return s.opt.SeriesUID != "" || s.opt.SeriesIndex != 0 }

// openScan opens the scan of a command that takes --series. A folder with
// several series, or a series with a gap, is refused with what to pass on
// this command line.
func (s *seriesFlag) openScan(ctx context.Context, path string) (*volume.Volume, error) {
	v, err := volume.Open(ctx, path, volume.OpenOptions{DICOM: s.opt})
	return v, dicomHint(err)
}

// openScanWithLabels opens the scan as openScan does, then the label
// volume at labels brought onto its grid (volume.LoadLabels), printing the
// reader's warnings on stderr: the commands that work on a scan and a mask
// (refine, propagate, interpolate --scan) start so.
func (s *seriesFlag) openScanWithLabels(ctx context.Context, path, labels string, stderr io.Writer) (*volume.Volume, *volume.Labels, error) {
	v, err := s.openScan(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	l, warnings, err := volume.LoadLabels(labels, v.Grid)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	return v, l, nil
}

// dicomHint adds to an error of volume.Open the flag that gets past it.
func dicomHint(err error) error {
	switch {
	case errors.Is(err, volume.ErrSeveralSeries):
		return fmt.Errorf("%w; pass --series UID or --series N", err)
	case errors.Is(err, volume.ErrGaps):
		return fmt.Errorf("%w; pass --allow-gaps to read it anyway", err)
	}
	return err
}

// parseInterleaved parses flags that may come before or after the
// positional arguments (polyseg info DIR --series 2), which flag.Parse
// alone stops at.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func runInfo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("info", stderr)
	var series seriesFlag
	series.register(fs, "DICOM series to describe: its `UID or number` in the list")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageErr("%v", err)
	}
	if len(pos) != 1 {
		return usageErr("want one FILE or DIR, got %d arguments", len(pos))
	}
	path := pos[0]
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("info %s: %w", path, pathCause(err))
	}
	if st.IsDir() {
		scan, err := volume.ScanDICOM(ctx, path)
		if err != nil {
			return err
		}
		printSeries(stdout, scan)
		if len(scan.Series) > 1 && !series.chosen() {
			fmt.Fprintln(stdout, "choose a series with --series UID or --series N to describe its volume")
			return nil
		}
		v, err := scan.Read(ctx, series.opt)
		if err != nil {
			return dicomHint(err)
		}
		fmt.Fprintln(stdout)
		printVolume(stdout, v)
		return nil
	}
	v, err := series.openScan(ctx, path)
	if err != nil {
		return err
	}
	printVolume(stdout, v)
	return nil
}

// printSeries lists a DICOM folder's series as ReadDICOM numbers them.
func printSeries(w io.Writer, scan *volume.DICOMScan) {
	fmt.Fprintf(w, "DICOM folder %s: %d series", scan.Dir, len(scan.Series))
	if scan.Skipped > 0 {
		fmt.Fprintf(w, ", %d other files skipped", scan.Skipped)
	}
	if len(scan.Broken) > 0 {
		fmt.Fprintf(w, ", %d unreadable", len(scan.Broken))
	}
	fmt.Fprintln(w)
	for i, s := range scan.Series {
		u := s.UID
		if u == "" {
			u = "(none)"
		}
		num := ""
		if s.Number != 0 {
			num = fmt.Sprintf("series %d ", s.Number)
		}
		fmt.Fprintf(w, "  [%d] %s%q %s, %d slices of %dx%d, %s\n      UID %s\n",
			i+1, num, s.Description, s.Modality, s.Slices, s.Cols, s.Rows, s.TransferSyntaxName(), u)
	}
	for _, e := range scan.Broken {
		fmt.Fprintf(w, "  unreadable: %v\n", e)
	}
}

// printVolume prints a volume's geometry and values.
func printVolume(w io.Writer, v *volume.Volume) {
	sp := v.Spacing()
	lo, hi := v.Range()
	fmt.Fprintf(w, "source:      %s\n", v.Source)
	fmt.Fprintf(w, "dimensions:  %d x %d x %d\n", v.Dims[0], v.Dims[1], v.Dims[2])
	fmt.Fprintf(w, "spacing:     %.4g x %.4g x %.4g mm\n", sp[0], sp[1], sp[2])
	fmt.Fprintf(w, "orientation: %s (voxel axes i, j, k point towards these; world is RAS+)\n", v.Affine.AxisCodes())
	fmt.Fprintln(w, "affine (voxel to world, mm):")
	for r := 0; r < 4; r++ {
		fmt.Fprintf(w, "  [%11.4f %11.4f %11.4f %11.4f ]\n", v.Affine[r][0], v.Affine[r][1], v.Affine[r][2], v.Affine[r][3])
	}
	fmt.Fprintf(w, "HU range:    %g .. %g\n", lo, hi)
	if len(v.Warnings) == 0 {
		fmt.Fprintln(w, "warnings:    none")
		return
	}
	fmt.Fprintln(w, "warnings:")
	for _, s := range v.Warnings {
		fmt.Fprintf(w, "  - %s\n", strings.TrimSpace(s))
	}
}
