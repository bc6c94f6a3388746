package main

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

// evalGrid is a small RAS grid of 2 x 1 x 1.5 mm voxels (3 mm³).
var evalGrid = volume.Grid{Dims: [3]int{10, 8, 6}, Affine: volume.Affine{{2, 0, 0, -10}, {0, 1, 0, 5}, {0, 0, 1.5, 20}, {0, 0, 0, 1}}}

// fill sets label v on the box [lo, hi) of l.
func fill(l *volume.Labels, v uint16, lo, hi [3]int) {
	for k := lo[2]; k < hi[2]; k++ {
		for j := lo[1]; j < hi[1]; j++ {
			for i := lo[0]; i < hi[0]; i++ {
				l.Data[l.Index(i, j, k)] = v
			}
		}
	}
}

// evalPair writes a prediction and a reference on evalGrid and returns
// their paths. Label 1: a 3x3x2 block, shifted one voxel (2 mm) along i in
// the prediction: 12 of 18 voxels shared, Dice 2/3; a third of each
// surface (every voxel of a block 2 voxels thick is on its surface) lies
// 2 mm from the other, the rest on it: HD95 2 mm, ASSD 2/3 mm; 54 mm³ in
// each. Label 2 only in the prediction, label 4 only in the reference:
// failures.
func evalPair(t *testing.T, dir string) (pred, ref string) {
	t.Helper()
	p, r := volume.NewLabels(evalGrid), volume.NewLabels(evalGrid)
	fill(r, 1, [3]int{2, 2, 1}, [3]int{5, 5, 3})
	fill(p, 1, [3]int{3, 2, 1}, [3]int{6, 5, 3})
	fill(p, 2, [3]int{7, 6, 4}, [3]int{9, 8, 6})
	fill(r, 4, [3]int{0, 0, 5}, [3]int{2, 2, 6})
	pred, ref = filepath.Join(dir, "pred.nii.gz"), filepath.Join(dir, "ref.nii.gz")
	writeLabelFile(t, pred, p)
	writeLabelFile(t, ref, r)
	return pred, ref
}

func writeLabelFile(t *testing.T, path string, l *volume.Labels) {
	t.Helper()
	if err := volume.WriteLabels(path, l, &volume.Volume{Grid: l.Grid}); err != nil {
		t.Fatal(err)
	}
}

// rowFields returns the fields of the table row of label v.
func rowFields(t *testing.T, stdout string, v int) []string {
	t.Helper()
	for _, line := range strings.Split(stdout, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == strconv.Itoa(v) {
			return f
		}
	}
	t.Fatalf("no row for label %d in %q", v, stdout)
	return nil
}

func TestEvaluate(t *testing.T) {
	dir := t.TempDir()
	pred, ref := evalPair(t, dir)
	tests := []struct {
		name    string
		args    []string
		rows    map[int]string // label -> fields from Dice on, joined by spaces
		summary string
	}{
		{"every label", []string{pred, ref}, map[int]string{
			1: "0.6667 2.00 0.67 0.1 0.1 +0.0%",
			2: "0.0000 undefined undefined 0.0 0.0 undefined FAILURE: not in REF; HD95, ASSD undefined",
			4: "0.0000 undefined undefined 0.0 0.0 -100.0% FAILURE: not in PRED; HD95, ASSD undefined",
		}, "summary: Dice 0.2222 ± 0.3143 over 3 labels (2 failures with Dice 0, 0 both empty with Dice 1); HD95 2.00 ± 0.00 mm, ASSD 0.67 ± 0.00 mm over the 1 label where both have it; HD95 and ASSD undefined for the 2 failures"},
		{"listed labels, one in neither", []string{"--labels", "9,1", pred, ref}, map[int]string{
			9: "1.0000 0.00 0.00 0.0 0.0 undefined both empty: Dice 1 by definition",
			1: "0.6667 2.00 0.67 0.1 0.1 +0.0%",
		}, "summary: Dice 0.8333 ± 0.1667 over 2 labels (0 failures with Dice 0, 1 both empty with Dice 1); HD95 2.00 ± 0.00 mm, ASSD 0.67 ± 0.00 mm over the 1 label where both have it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(append([]string{"evaluate"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			n := 0
			for _, line := range strings.Split(stdout, "\n") {
				if f := strings.Fields(line); len(f) > 0 {
					if _, err := strconv.Atoi(f[0]); err == nil {
						n++
					}
				}
				if strings.HasSuffix(line, " ") {
					t.Errorf("trailing blanks in %q", line)
				}
			}
			if n != len(tc.rows) {
				t.Errorf("%d rows, want %d: %s", n, len(tc.rows), stdout)
			}
			for v, want := range tc.rows {
				if got := strings.Join(rowFields(t, stdout, v)[2:], " "); got != want {
					t.Errorf("label %d: %q, want %q", v, got, want)
				}
			}
			if !strings.Contains(stdout, tc.summary+"\n") {
				t.Errorf("stdout %q lacks the summary %q", stdout, tc.summary)
			}
		})
	}
}

func TestEvaluateCSV(t *testing.T) {
	dir := t.TempDir()
	pred, ref := evalPair(t, dir)
	out := filepath.Join(dir, "metrics.csv")
	code, stdout, stderr := runCmd("evaluate", "--csv", out, "--labels", "1,2,4,9", pred, ref)
	if code != 0 || !strings.Contains(stdout, "wrote "+out) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"pred", "ref", "label", "name", "dice", "hd95_mm", "assd_mm", "volume_pred_ml", "volume_ref_ml", "rel_volume_error", "status"},
		{pred, ref, "1", "spleen", "0.66666667", "2", "0.66666667", "0.054", "0.054", "0", "ok"},
		{pred, ref, "2", "kidney_right", "0", "NaN", "NaN", "0.024", "0", "NaN", "failure_ref_empty"},
		{pred, ref, "4", "gallbladder", "0", "NaN", "NaN", "0", "0.012", "-1", "failure_pred_empty"},
		{pred, ref, "9", "adrenal_gland_left", "1", "0", "0", "0", "0", "NaN", "both_empty"},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d: %q", len(recs), len(want), recs)
	}
	for i := range want {
		if strings.Join(recs[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("record %d: %q, want %q", i, recs[i], want[i])
		}
	}
	// The numbers parse back as numbers, NaN included.
	for _, rec := range recs[1:] {
		for _, s := range rec[4:10] {
			if _, err := strconv.ParseFloat(s, 64); err != nil {
				t.Errorf("field %q does not parse as a number: %v", s, err)
			}
		}
	}
}

// TestEvaluateResample: a prediction stored in another voxel order (LAS,
// the same world geometry) is refused without --resample and gives
// exactly the numbers of the prediction on the reference's grid with it;
// a prediction on a grid twice as coarse is resampled by nearest
// neighbour.
func TestEvaluateResample(t *testing.T) {
	dir := t.TempDir()
	pred, ref := evalPair(t, dir)
	p, err := volume.ReadLabelsNIfTI(pred)
	if err != nil {
		t.Fatal(err)
	}
	// Flip i: voxel i of the LAS file is voxel nx-1-i of the RAS one.
	nx := evalGrid.Dims[0]
	las := volume.NewLabels(evalGrid)
	las.Affine[0][0] = -evalGrid.Affine[0][0]
	las.Affine[0][3] = evalGrid.Affine[0][3] + float64(nx-1)*evalGrid.Affine[0][0]
	for k := 0; k < evalGrid.Dims[2]; k++ {
		for j := 0; j < evalGrid.Dims[1]; j++ {
			for i := 0; i < nx; i++ {
				las.Data[las.Index(nx-1-i, j, k)] = p.At(i, j, k)
			}
		}
	}
	lasPath := filepath.Join(dir, "pred_las.nii.gz")
	writeLabelFile(t, lasPath, las)

	code, _, stderr := runCmd("evaluate", lasPath, ref)
	if code != 1 || !strings.Contains(stderr, "--resample") || !strings.Contains(stderr, lasPath) || !strings.Contains(stderr, "LAS") ||
		strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want 1 and one line naming the file, its grid and --resample", code, stderr)
	}
	_, want, _ := runCmd("evaluate", pred, ref)
	code, got, stderr := runCmd("evaluate", "--resample", lasPath, ref)
	if code != 0 || !strings.Contains(stderr, "exactly, voxel for voxel") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	_, wantRows, _ := strings.Cut(want, "label ")
	_, gotRows, _ := strings.Cut(got, "label ")
	if gotRows != wantRows {
		t.Errorf("resampled LAS prediction gives\n%s\nthe prediction on the reference grid\n%s", got, want)
	}

	// Twice as coarse in i and j: voxel (I, J, k) covers reference voxels
	// 2I..2I+1, 2J..2J+1. Label 1 on coarse i 1..2, j 1..2: reference
	// i 2..5, j 2..5, k 1..2, nearest neighbour.
	coarse := volume.NewLabels(volume.Grid{Dims: [3]int{5, 4, 6}, Affine: volume.Affine{{4, 0, 0, -9}, {0, 2, 0, 5.5}, {0, 0, 1.5, 20}, {0, 0, 0, 1}}})
	fill(coarse, 1, [3]int{1, 1, 1}, [3]int{3, 3, 3})
	coarsePath := filepath.Join(dir, "pred_coarse.nii.gz")
	writeLabelFile(t, coarsePath, coarse)
	code, got, stderr = runCmd("evaluate", "--resample", "--labels", "1", coarsePath, ref)
	if code != 0 || !strings.Contains(stderr, "by nearest neighbour") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	// 4x4x2 = 32 voxels against the reference's 3x3x2 = 18, all shared:
	// Dice 36/50.
	if f := rowFields(t, got, 1); f[2] != "0.7200" {
		t.Errorf("coarse prediction: row %q, want Dice 0.7200", f)
	}
}

// TestEvaluateRefuses: every bad input is refused with one line naming the
// file, usage errors with exit status 2, the rest with 1, and no input is
// changed.
func TestEvaluateRefuses(t *testing.T) {
	dir := t.TempDir()
	pred, ref := evalPair(t, dir)
	writeRaw := func(name string, v *volume.Volume) string {
		p := filepath.Join(dir, name)
		if err := volume.WriteNIfTI(p, v); err != nil {
			t.Fatal(err)
		}
		return p
	}
	data := func(x float32) []float32 {
		d := make([]float32, evalGrid.Len())
		d[17] = x
		return d
	}
	fractional := writeRaw("fractional.nii.gz", &volume.Volume{Grid: evalGrid, Data: data(0.5)})
	negative := writeRaw("negative.nii", &volume.Volume{Grid: evalGrid, Data: data(-3)})
	truncate := func(name, from string) string {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b[:len(b)*2/3], 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := filepath.Join(dir, "plain.nii")
	l, err := volume.ReadLabelsNIfTI(pred)
	if err != nil {
		t.Fatal(err)
	}
	writeLabelFile(t, plain, l)
	truncGz := truncate("trunc.nii.gz", pred)
	// A file whose gzip stream is long enough to end inside the voxels.
	big := volume.NewLabels(volume.Grid{Dims: [3]int{64, 64, 64}, Affine: evalGrid.Affine})
	for i := range big.Data {
		big.Data[i] = uint16(i*7919) % 13
	}
	bigPath := filepath.Join(dir, "big.nii.gz")
	writeLabelFile(t, bigPath, big)
	truncVoxels := truncate("trunc_voxels.nii.gz", bigPath)
	truncNii := truncate("trunc.nii", plain)
	far := volume.NewLabels(volume.Grid{Dims: evalGrid.Dims, Affine: volume.Affine{{2, 0, 0, 5000}, {0, 1, 0, 0}, {0, 0, 1.5, 0}, {0, 0, 0, 1}}})
	far.Data[0] = 1
	farPath := filepath.Join(dir, "far.nii.gz")
	writeLabelFile(t, farPath, far)
	missing := filepath.Join(dir, "missing.nii.gz")
	sameRef := dir + string(filepath.Separator) + "." + string(filepath.Separator) + "ref.nii.gz"

	tests := []struct {
		name string
		args []string
		code int
		want []string // in the first line
	}{
		{"one argument", []string{pred}, 2, []string{"want a predicted and a reference"}},
		{"PRED is REF", []string{ref, ref}, 2, []string{"is the REF file", ref}},
		{"PRED is REF by another name", []string{sameRef, ref}, 2, []string{"is the REF file"}},
		{"label 0", []string{"--labels", "0", pred, ref}, 2, []string{"label 0 is the background"}},
		{"label not a number", []string{"--labels", "1,liver", pred, ref}, 2, []string{`"liver"`}},
		{"label too large", []string{"--labels", "70000", pred, ref}, 2, []string{`"70000"`}},
		{"label twice", []string{"--labels", "5,5", pred, ref}, 2, []string{"listed twice"}},
		{"CSV onto PRED", []string{"--csv", pred, pred, ref}, 2, []string{"is the input", pred}},
		{"CSV onto REF", []string{"--csv", ref, pred, ref}, 2, []string{"is the input", ref}},
		{"CSV into a missing folder", []string{"--csv", filepath.Join(dir, "no", "m.csv"), pred, ref}, 1, []string{"no such file"}},
		{"missing PRED", []string{missing, ref}, 1, []string{"PRED " + missing, "no such file"}},
		{"PRED a folder", []string{dir, ref}, 1, []string{"is a folder", "DICOM SEG"}},
		{"fractional labels", []string{fractional, ref}, 1, []string{fractional, "whole numbers"}},
		{"negative labels", []string{pred, negative}, 1, []string{negative, "label value -3"}},
		{"truncated .nii.gz", []string{truncGz, ref}, 1, []string{truncGz}},
		{"truncated .nii", []string{truncNii, ref}, 1, []string{truncNii}},
		{"truncated .nii.gz in the voxels", []string{"--resample", truncVoxels, ref}, 1, []string{truncVoxels, "unexpected EOF"}},
		{"no overlap", []string{"--resample", farPath, ref}, 1, []string{"resample PRED onto REF " + ref, farPath, "do not overlap"}},
	}
	before := map[string]string{}
	for _, p := range []string{pred, ref} {
		b, _ := os.ReadFile(p)
		before[p] = string(b)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCmd(append([]string{"evaluate"}, tc.args...)...)
			first, _, _ := strings.Cut(stderr, "\n")
			ok := code == tc.code && stdout == ""
			for _, w := range tc.want {
				ok = ok && strings.Contains(first, w)
			}
			// A usage error is followed by the usage (and, for a bad flag
			// value, the flag package's list of flags); any other error
			// is one line.
			t.Logf("exit %d: %s", code, first)
			if !ok || (tc.code == 1 && strings.Count(stderr, "\n") != 1) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d and a first line with %q", code, stdout, stderr, tc.code, tc.want)
			}
		})
	}
	for p, b := range before {
		if got, _ := os.ReadFile(p); string(got) != b {
			t.Errorf("%s changed", p)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "no")); err == nil {
		t.Errorf("a folder was created for the CSV")
	}
}

// TestEvaluatePatientA: patient A's labels against a copy of themselves are
// perfect for every label, and against a copy with the liver dropped the
// liver is a failure, counted in the summary.
func TestEvaluatePatientA(t *testing.T) {
	src := realDir + "/example_seg_fast_force_split.nii.gz"
	needFixture(t, src)
	l, err := volume.ReadLabelsNIfTI(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	labels := map[uint16]bool{}
	for _, x := range l.Data {
		if x != 0 {
			labels[x] = true
		}
	}
	copyPath := filepath.Join(dir, "copy.nii.gz")
	writeLabelFile(t, copyPath, l)
	code, stdout, stderr := runCmd("evaluate", copyPath, src)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for v := range labels {
		if f := rowFields(t, stdout, int(v)); f[2] != "1.0000" || f[3] != "0.00" || f[4] != "0.00" || f[5] != f[6] {
			t.Errorf("label %d against itself: %q", v, f)
		}
	}
	if want := "summary: Dice 1.0000 ± 0.0000 over " + strconv.Itoa(len(labels)) + " labels (0 failures"; !strings.Contains(stdout, want) {
		t.Errorf("stdout %q lacks %q", stdout, want)
	}

	for i, x := range l.Data {
		if x == 5 {
			l.Data[i] = 0
		}
	}
	noLiver := filepath.Join(dir, "no_liver.nii.gz")
	writeLabelFile(t, noLiver, l)
	code, stdout, stderr = runCmd("evaluate", noLiver, src)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if f := rowFields(t, stdout, 5); f[1] != "liver" || f[2] != "0.0000" || f[3] != "undefined" || !strings.Contains(strings.Join(f, " "), "FAILURE: not in PRED") {
		t.Errorf("liver dropped: row %q", f)
	}
	mean := float64(len(labels)-1) / float64(len(labels))
	std := math.Sqrt(mean * (1 - mean))
	want := "summary: Dice " + strconv.FormatFloat(mean, 'f', 4, 64) + " ± " + strconv.FormatFloat(std, 'f', 4, 64) +
		" over " + strconv.Itoa(len(labels)) + " labels (1 failure with Dice 0"
	if !strings.Contains(stdout, want) {
		t.Errorf("stdout %q lacks %q", stdout, want)
	}
}

// FuzzLabelsFlag: --labels either refuses its value or gives distinct
// labels from 1 to 65535 that print back to a value giving the same list.
func FuzzLabelsFlag(f *testing.F) {
	for _, s := range []string{"1,5", "5", " 2 , 3", "0", "1,1", "", ",", "65535", "65536", "-1", "1.5", "liver"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var l labelsFlag
		if err := l.Set(s); err != nil {
			return
		}
		seen := map[uint16]bool{}
		for _, v := range l {
			if v == 0 || seen[v] {
				t.Fatalf("%q gave %v", s, l)
			}
			seen[v] = true
		}
		var again labelsFlag
		if err := again.Set(l.String()); err != nil || again.String() != l.String() {
			t.Fatalf("%q gave %v, printed %q, read back %v (%v)", s, l, l.String(), again, err)
		}
	})
}
