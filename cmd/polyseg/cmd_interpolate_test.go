package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/interp"
	"github.com/polyseg/polyseg/metrics"
	"github.com/polyseg/polyseg/volume"
)

const patientALabels = realDir + "/example_seg_fast_force_split.nii.gz"

// writeSparse writes the labels of patient A with label value kept only on
// the axial slices keep returns true for, every other label as it is; it
// returns the file and the reference labels.
func writeSparse(t *testing.T, value uint16, keep func(k int) bool) (string, *volume.Labels) {
	t.Helper()
	needFixture(t, patientALabels)
	ref, err := volume.ReadLabelsNIfTI(patientALabels)
	if err != nil {
		t.Fatal(err)
	}
	hdr, err := volume.ReadNIfTIHeader(patientALabels)
	if err != nil {
		t.Fatal(err)
	}
	sparse := &volume.Labels{Grid: ref.Grid, Data: append([]uint16(nil), ref.Data...)}
	nxy := ref.Dims[0] * ref.Dims[1]
	for i, x := range sparse.Data {
		if x == value && !keep(i/nxy) {
			sparse.Data[i] = 0
		}
	}
	path := filepath.Join(t.TempDir(), "sparse.nii.gz")
	if err := volume.WriteLabels(path, sparse, &volume.Volume{Grid: ref.Grid, Meta: hdr.Meta}); err != nil {
		t.Fatal(err)
	}
	return path, ref
}

func diceOf(t *testing.T, path string, ref *volume.Labels, value uint16) float64 {
	t.Helper()
	got, err := volume.ReadLabelsNIfTI(path)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Grid.Equal(ref.Grid, 1e-4) {
		t.Fatalf("output on grid %v, want the input's %v", got.Grid, ref.Grid)
	}
	p, r := make([]bool, len(ref.Data)), make([]bool, len(ref.Data))
	for i := range ref.Data {
		p[i], r[i] = got.Data[i] == value, ref.Data[i] == value
		if ref.Data[i] != value && ref.Data[i] != 0 && got.Data[i] != ref.Data[i] {
			t.Fatalf("voxel %d of label %d became %d", i, ref.Data[i], got.Data[i])
		}
	}
	return metrics.Dice(p, r)
}

func TestInterpolateUsage(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.nii.gz")
	tests := []struct {
		name string
		args []string
	}{
		{"no arguments", []string{"interpolate"}},
		{"no --label", []string{"interpolate", "in.nii.gz", out}},
		{"--label 0", []string{"interpolate", "--label", "0", "in.nii.gz", out}},
		{"--label too large", []string{"interpolate", "--label", "70000", "in.nii.gz", out}},
		{"unknown plane", []string{"interpolate", "--label", "5", "--plane", "oblique", "in.nii.gz", out}},
		{"SAM on coronal slices", []string{"interpolate", "--label", "5", "--plane", "coronal", "--scan", "ct.nii.gz", "in.nii.gz", out}},
		{"output not NIfTI", []string{"interpolate", "--label", "5", "in.nii.gz", filepath.Join(dir, "out.png")}},
		{"one argument", []string{"interpolate", "--label", "5", "in.nii.gz"}},
		{"negative threads", []string{"interpolate", "--label", "5", "--threads", "-1", "in.nii.gz", out}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCmd(tc.args...)
			if code != 2 || !strings.Contains(stderr, "usage: polyseg interpolate") {
				t.Errorf("exit %d, stderr %q; want 2 and the usage", code, stderr)
			}
		})
	}
}

// TestInterpolatePlain fills patient A's liver from every 5th axial slice,
// and its spleen across sagittal slices, without a scan: the output has the
// input's grid, other labels as they were, and Dice against the full
// reference of the plain method (0.9725 for the axial liver, matching
// SciPy's).
func TestInterpolatePlain(t *testing.T) {
	tests := []struct {
		name   string
		value  uint16
		plane  string
		sparse func(*volume.Labels) *volume.Labels
		floor  float64
	}{
		{"liver axial", 5, "axial", func(l *volume.Labels) *volume.Labels { return interp.Sparse(l, 5, 2, 5) }, 0.97},
		{"spleen sagittal", 1, "sagittal", func(l *volume.Labels) *volume.Labels { return interp.Sparse(l, 1, 0, 4) }, 0.94},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			needFixture(t, patientALabels)
			ref, err := volume.ReadLabelsNIfTI(patientALabels)
			if err != nil {
				t.Fatal(err)
			}
			hdr, err := volume.ReadNIfTIHeader(patientALabels)
			if err != nil {
				t.Fatal(err)
			}
			sparse := tc.sparse(ref)
			for i, x := range ref.Data {
				if x != tc.value {
					sparse.Data[i] = x
				}
			}
			dir := t.TempDir()
			in, out := filepath.Join(dir, "in.nii.gz"), filepath.Join(dir, "out.nii.gz")
			if err := volume.WriteLabels(in, sparse, &volume.Volume{Grid: ref.Grid, Meta: hdr.Meta}); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runCmd("interpolate", "--label", strconv.Itoa(int(tc.value)), "--plane", tc.plane, in, out)
			if code != 0 || !strings.Contains(stdout, "wrote "+out) {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			d := diceOf(t, out, ref, tc.value)
			t.Logf("Dice %.4f; %s", d, strings.TrimSpace(stdout))
			if d < tc.floor {
				t.Errorf("Dice %.4f, want ≥ %.2f", d, tc.floor)
			}
		})
	}
}

// TestInterpolateRefusals: an absent label and one with nothing between its
// slices fail with exit status 1 and a line saying so, writing nothing.
func TestInterpolateRefusals(t *testing.T) {
	in, _ := writeSparse(t, 5, func(int) bool { return true })
	out := filepath.Join(t.TempDir(), "out.nii.gz")
	tests := []struct {
		name  string
		label string
		want  string
	}{
		{"absent label", "4000", "no voxel of label 4000"},
		{"nothing to fill", "5", "nothing to fill"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCmd("interpolate", "--label", tc.label, in, out)
			if code != 1 || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want 1 and one line saying %q", code, stderr, tc.want)
			}
			if _, err := volume.ReadNIfTIHeader(out); err == nil {
				t.Error("an output was written")
			}
		})
	}
}

// TestInterpolateWithScan fills patient A's liver on slices 101 and 102
// from slices 100 and 103 with SAM (two slices to encode, and those its
// calibration holds out): the output lies on the scan's grid and is at
// least as good as the plain fill.
func TestInterpolateWithScan(t *testing.T) {
	skipWithoutRuntime(t)
	ct := realDir + "/example_ct.nii.gz"
	needFixture(t, ct)
	in, ref := writeSparse(t, 5, func(k int) bool { return k <= 100 || k >= 103 })
	dir := t.TempDir()
	plain, guided := filepath.Join(dir, "plain.nii.gz"), filepath.Join(dir, "sam.nii.gz")
	if code, _, stderr := runCmd("interpolate", "--label", "5", in, plain); code != 0 {
		t.Fatalf("plain: exit %d, %s", code, stderr)
	}
	code, stdout, stderr := runCmd("interpolate", "--label", "5", "--scan", ct, in, guided)
	if code != 0 || !strings.Contains(stdout, "filled on 2 axial slices") {
		t.Fatalf("with --scan: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	dp, dg := diceOf(t, plain, ref, 5), diceOf(t, guided, ref, 5)
	t.Logf("Dice plain %.4f, with SAM %.4f", dp, dg)
	if dg < dp {
		t.Errorf("Dice with SAM %.4f, plain %.4f: want SAM's no worse", dg, dp)
	}
}
