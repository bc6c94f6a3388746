package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/polyseg/polyseg/assets"
	"github.com/polyseg/polyseg/internal/atomicfile"
	"github.com/polyseg/polyseg/metrics"
	"github.com/polyseg/polyseg/viewer"
	"github.com/polyseg/polyseg/volume"
)

func init() {
	register(command{
		name:    "evaluate",
		summary: "compare a predicted label volume with a reference: Dice, HD95, ASSD, volumes",
		usage:   "[--labels 1,5] [--csv OUT.csv] [--resample] PRED REF",
		run:     runEvaluate,
	})
}

// labelsFlag parses a comma-separated list of label values.
type labelsFlag []uint16

func (f *labelsFlag) String() string {
	s := make([]string, len(*f))
	for i, v := range *f {
		s[i] = strconv.Itoa(int(v))
	}
	return strings.Join(s, ",")
}

func (f *labelsFlag) Set(s string) error {
	var out []uint16
	for _, item := range strings.Split(s, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(item), 10, 16)
		switch {
		case err != nil:
			return fmt.Errorf("label %q: want whole numbers from 1 to 65535, separated by commas", item)
		case v == 0:
			return fmt.Errorf("label 0 is the background, not a label to evaluate")
		case slices.Contains(out, uint16(v)):
			return fmt.Errorf("label %d listed twice", v)
		}
		out = append(out, uint16(v))
	}
	*f = out
	return nil
}

// runEvaluate compares two NIfTI label volumes label by label with the
// metrics package (docs/evaluation.md's definitions) and prints one row per
// label and a summary; --csv writes the rows too. The comparison is on
// REF's grid: PRED must be on it (same dimensions, affines within
// viewer.GridTolerance) or, with --resample, is brought onto it by nearest
// neighbour through world coordinates (volume.LoadLabels). A failure (one
// volume lacks the label) is a row of the report, not an error: the exit
// status is 0 once the comparison is made.
func runEvaluate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("evaluate", stderr)
	var labels labelsFlag
	fs.Var(&labels, "labels", "label `values` to compare, e.g. 1,5 (default: every label in either volume)")
	csvPath := fs.String("csv", "", "also write the rows to this CSV `file` (atomically)")
	resample := fs.Bool("resample", false, "bring PRED onto REF's grid by nearest neighbour when the grids differ (default: refuse)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return usageErr("%v", err)
	}
	if len(pos) != 2 {
		return usageErr("want a predicted and a reference label file, got %d arguments", len(pos))
	}
	predPath, refPath := pos[0], pos[1]
	if err := checkEvaluateInputs(predPath, refPath); err != nil {
		return err
	}
	if *csvPath != "" {
		if err := checkOutput(*csvPath, predPath, refPath); err != nil {
			return err
		}
	}
	// Headers first: a grid mismatch is refused before any voxel is read.
	ph, err := volume.ReadNIfTIHeader(predPath)
	if err != nil {
		return err
	}
	rh, err := volume.ReadNIfTIHeader(refPath)
	if err != nil {
		return err
	}
	same := ph.Grid.Equal(rh.Grid, viewer.GridTolerance)
	if !same && !*resample {
		return fmt.Errorf("PRED %s is on grid %s, REF %s on grid %s%s: pass --resample to bring PRED onto REF's grid by nearest neighbour",
			predPath, gridString(ph.Grid), refPath, gridString(rh.Grid), affineDiff(ph.Grid, rh.Grid))
	}
	ref, err := volume.ReadLabelsNIfTI(refPath)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var pred *volume.Labels
	if same {
		if pred, err = volume.ReadLabelsNIfTI(predPath); err != nil {
			return err
		}
	} else {
		var warnings []string
		pred, warnings, err = volume.LoadLabels(predPath, ref.Grid)
		if errors.Is(err, volume.ErrNoOverlap) {
			// LoadLabels speaks of a scan; here the grid is REF's.
			return fmt.Errorf("resample PRED onto REF %s: %w", refPath, err)
		}
		if err != nil {
			return err
		}
		for _, w := range warnings {
			fmt.Fprintf(stderr, "note: PRED %s: %s\n", predPath, w)
		}
	}
	sp := ref.Spacing()
	if !orthogonal(ref.Affine) {
		fmt.Fprintf(stderr, "note: REF %s has oblique (sheared) voxel axes; distances and volumes use the axis lengths %.4g x %.4g x %.4g mm\n",
			refPath, sp[0], sp[1], sp[2])
	}
	rows, err := metrics.CompareLabels(ctx, pred.Data, ref.Data, ref.Dims, sp, labels)
	if err != nil {
		return fmt.Errorf("evaluate %s against %s: %w", predPath, refPath, err)
	}
	names := assets.DefaultColorTable()
	fmt.Fprintf(stdout, "PRED %s\nREF  %s: %s\n", predPath, refPath, gridString(ref.Grid))
	if len(rows) == 0 {
		fmt.Fprintln(stdout, "no label in either volume: nothing to compare")
	} else {
		printRows(stdout, rows, names)
		printSummary(stdout, metrics.Summarize(rows))
	}
	if *csvPath != "" {
		err := atomicfile.WriteFile(*csvPath, 0o644, func(w io.Writer) error {
			return writeRowsCSV(w, predPath, refPath, rows, names)
		})
		if err != nil {
			return fmt.Errorf("write %s: %w", *csvPath, err)
		}
		fmt.Fprintf(stdout, "wrote %s\n", *csvPath)
	}
	return nil
}

// checkEvaluateInputs refuses, naming the file, inputs that do not exist,
// folders (a DICOM folder or DICOM SEG is not a NIfTI label file), and a
// PRED that is the REF file under any name: comparing a file with itself
// is always a mistake on the command line.
func checkEvaluateInputs(predPath, refPath string) error {
	var st [2]os.FileInfo
	for i, in := range [2][2]string{{"PRED", predPath}, {"REF", refPath}} {
		s, err := os.Stat(in[1])
		if err != nil {
			return fmt.Errorf("%s %s: %w", in[0], in[1], pathCause(err))
		}
		if s.IsDir() {
			return fmt.Errorf("%s %s is a folder: evaluate reads NIfTI label files (.nii, .nii.gz); DICOM and DICOM SEG are not supported", in[0], in[1])
		}
		st[i] = s
	}
	if os.SameFile(st[0], st[1]) {
		return usageErr("PRED %s is the REF file %s: compare a prediction with a different reference", predPath, refPath)
	}
	return nil
}

// gridString describes a grid for messages: dimensions, orientation,
// spacing and the world position of the first voxel.
func gridString(g volume.Grid) string {
	sp := g.Spacing()
	return fmt.Sprintf("%dx%dx%d %s, %.4gx%.4gx%.4g mm, origin (%.4g, %.4g, %.4g) mm",
		g.Dims[0], g.Dims[1], g.Dims[2], g.Affine.AxisCodes(), sp[0], sp[1], sp[2], g.Affine[0][3], g.Affine[1][3], g.Affine[2][3])
}

// affineDiff says how far apart two affines are when the dimensions agree
// and the grids still differ: the one thing the descriptions may not show.
func affineDiff(a, b volume.Grid) string {
	if a.Dims != b.Dims {
		return ""
	}
	var m float64
	for r := 0; r < 3; r++ {
		for c := 0; c < 4; c++ {
			m = max(m, math.Abs(a.Affine[r][c]-b.Affine[r][c]))
		}
	}
	return fmt.Sprintf(" (affines differ by up to %.3g mm, more than the %g mm tolerance)", m, viewer.GridTolerance)
}

// orthogonal reports whether the voxel axes of a are perpendicular, to
// within the rounding of a float32 header.
func orthogonal(a volume.Affine) bool {
	for c1 := 0; c1 < 3; c1++ {
		for c2 := c1 + 1; c2 < 3; c2++ {
			var dot, n1, n2 float64
			for r := 0; r < 3; r++ {
				dot += a[r][c1] * a[r][c2]
				n1 += a[r][c1] * a[r][c1]
				n2 += a[r][c2] * a[r][c2]
			}
			if math.Abs(dot) > 1e-4*math.Sqrt(n1*n2) {
				return false
			}
		}
	}
	return true
}

// status names what a row is: "ok", or why its numbers are special.
func status(r metrics.LabelResult) string {
	switch {
	case r.BothEmpty:
		return "both_empty"
	case r.Failure() && r.VolumeP == 0:
		return "failure_pred_empty"
	case r.Failure():
		return "failure_ref_empty"
	}
	return "ok"
}

// note explains a row's status to a reader of the table.
func note(r metrics.LabelResult) string {
	switch status(r) {
	case "both_empty":
		return "both empty: Dice 1 by definition"
	case "failure_pred_empty":
		return "FAILURE: not in PRED; HD95, ASSD undefined"
	case "failure_ref_empty":
		return "FAILURE: not in REF; HD95, ASSD undefined"
	}
	return ""
}

func mmString(x float64) string {
	if math.IsNaN(x) {
		return "undefined"
	}
	return fmt.Sprintf("%.2f", x)
}

func printRows(w io.Writer, rows []metrics.LabelResult, names *assets.ColorTable) {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "label\tname\tDice\tHD95 mm\tASSD mm\tPRED mL\tREF mL\tvolume error\tnote")
	for _, r := range rows {
		rel := "undefined"
		if !math.IsNaN(r.RelVolumeError) {
			rel = fmt.Sprintf("%+.1f%%", 100*r.RelVolumeError)
		}
		fmt.Fprintf(tw, "%d\t%s\t%.4f\t%s\t%s\t%.1f\t%.1f\t%s\t%s\n", r.Label, names.Name(r.Label), r.Dice,
			mmString(r.HD95), mmString(r.ASSD), r.VolumeP, r.VolumeR, rel, note(r))
	}
	tw.Flush()
	// tabwriter pads the empty note cells; trailing blanks only get in the
	// way of whoever greps or diffs the output.
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		if line != "" {
			fmt.Fprintln(w, strings.TrimRight(line, " \n"))
		}
	}
}

func printSummary(w io.Writer, s metrics.Summary) {
	plural := func(n int, one, many string) string {
		if n == 1 {
			return fmt.Sprintf("%d %s", n, one)
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	fmt.Fprintf(w, "summary: Dice %.4f ± %.4f over %s (%s with Dice 0, %s with Dice 1)",
		s.Dice.Mean, s.Dice.Std, plural(s.Labels, "label", "labels"),
		plural(s.Failures, "failure", "failures"), plural(s.BothEmpty, "both empty", "both empty"))
	if s.HD95.N > 0 {
		fmt.Fprintf(w, "; HD95 %.2f ± %.2f mm, ASSD %.2f ± %.2f mm over the %s where both have it",
			s.HD95.Mean, s.HD95.Std, s.ASSD.Mean, s.ASSD.Std, plural(s.HD95.N, "label", "labels"))
	}
	if s.Failures > 0 {
		fmt.Fprintf(w, "; HD95 and ASSD undefined for the %s", plural(s.Failures, "failure", "failures"))
	}
	fmt.Fprintln(w)
}

// writeRowsCSV writes one line per label. Undefined numbers are NaN, which
// spreadsheet and data-frame readers take as missing; the status column
// says why (ok, both_empty, failure_pred_empty, failure_ref_empty). The
// file names make the rows of several scans concatenable.
func writeRowsCSV(w io.Writer, predPath, refPath string, rows []metrics.LabelResult, names *assets.ColorTable) error {
	cw := csv.NewWriter(w)
	num := func(x float64) string { return strconv.FormatFloat(x, 'g', 8, 64) }
	if err := cw.Write([]string{"pred", "ref", "label", "name", "dice", "hd95_mm", "assd_mm",
		"volume_pred_ml", "volume_ref_ml", "rel_volume_error", "status"}); err != nil {
		return err
	}
	for _, r := range rows {
		err := cw.Write([]string{predPath, refPath, strconv.Itoa(int(r.Label)), names.Name(r.Label), num(r.Dice),
			num(r.HD95), num(r.ASSD), num(r.VolumeP), num(r.VolumeR), num(r.RelVolumeError), status(r)})
		if err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
