package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// checkAgainstDcm2niix is run by /usr/bin/python3 with nibabel: an
// independent reader checks convert's file against dcm2niix's conversion
// of the same series. dcm2niix flips the rows (LAS), convert keeps the DICOM
// order (LPS), so convert's voxel (i, j, k) is dcm2niix's (i, ny-1-j, k):
// the affines must agree through that flip within 1e-3 mm, the qform and
// sform must both hold the affine (codes 1, scanner), and every voxel must
// hold the same HU.
const checkAgainstDcm2niix = `
import sys
import numpy as np
import nibabel as nib

ours, ref = nib.load(sys.argv[1]), nib.load(sys.argv[2])
assert ours.shape == ref.shape, (ours.shape, ref.shape)
ny = ours.shape[1]
flip = np.array([[1, 0, 0, 0], [0, -1, 0, ny - 1], [0, 0, 1, 0], [0, 0, 0, 1]], float)
err = np.abs(ours.affine - ref.affine @ flip).max()
assert err < 1e-3, "affine differs by %g mm:\n%s\n%s" % (err, ours.affine, ref.affine @ flip)
q, qcode = ours.header.get_qform(coded=True)
s, scode = ours.header.get_sform(coded=True)
assert qcode == 1 and scode == 1, (qcode, scode)
assert np.abs(q - ours.affine).max() < 1e-3, q
assert np.abs(s - ours.affine).max() < 1e-3, s
assert nib.aff2axcodes(ours.affine) == ("L", "P", "S"), nib.aff2axcodes(ours.affine)
a, b = ours.get_fdata(), ref.get_fdata()[:, ::-1, :]
assert np.array_equal(a, b), "%d voxels differ" % np.count_nonzero(a != b)
print("ok: affine within %g mm, %d voxels equal" % (err, a.size))
`

func TestConvertMatchesDcm2niix(t *testing.T) {
	needFixture(t, patientBDir)
	out := filepath.Join(t.TempDir(), "b.nii.gz")
	code, stdout, stderr := runVolumeCmd(t, "convert", patientBDir, out)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if want := "wrote " + out + ": 512 x 512 x 20 voxels of 0.9766 x 0.9766 x 2 mm, LPS"; !strings.Contains(stdout, want) {
		t.Errorf("stdout %q lacks %q", stdout, want)
	}
	dcm2niix, err := exec.LookPath("dcm2niix")
	if err != nil {
		t.Skip("dcm2niix not installed")
	}
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import nibabel").Run(); err != nil {
		t.Skipf("no nibabel for %s: %v", python, err)
	}
	refDir := t.TempDir()
	if b, err := exec.Command(dcm2niix, "-z", "y", "-f", "ref", "-o", refDir, patientBDir).CombinedOutput(); err != nil {
		t.Fatalf("dcm2niix: %v\n%s", err, b)
	}
	b, err := exec.Command(python, "-c", checkAgainstDcm2niix, out, filepath.Join(refDir, "ref.nii.gz")).CombinedOutput()
	if err != nil {
		t.Fatalf("nibabel check: %v\n%s", err, b)
	}
	t.Logf("%s", b)
}

func TestConvertSeriesChoice(t *testing.T) {
	needFixture(t, patientBDir)
	dir := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"index", []string{"--series", "1", patientBDir, filepath.Join(dir, "a.nii")}, 0, "512 x 512 x 20"},
		{"flag after the arguments", []string{patientBDir, filepath.Join(dir, "b.nii"), "--series", "1"}, 0, "512 x 512 x 20"},
		{"unknown UID", []string{"--series", "1.2.3.4", patientBDir, filepath.Join(dir, "c.nii")}, 1, "no series with UID 1.2.3.4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runVolumeCmd(t, append([]string{"convert"}, tc.args...)...)
			if code != tc.wantCode || !strings.Contains(stdout+stderr, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d and %q", code, stdout, stderr, tc.wantCode, tc.want)
			}
		})
	}
}

func TestConvertErrors(t *testing.T) {
	needFixture(t, patientBDir)
	dir := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     string
	}{
		{"no arguments", nil, 2, "usage: polyseg convert"},
		{"one argument", []string{patientBDir}, 2, "usage: polyseg convert"},
		{"output not NIfTI or NRRD", []string{patientBDir, filepath.Join(dir, "out.png")}, 2, "name it .nii, .nii.gz, .nrrd, .nhdr, .seg.nrrd or .seg.nhdr"},
		{"missing input", []string{filepath.Join(dir, "nothing"), filepath.Join(dir, "o.nii.gz")}, 1, "nothing"},
		{"folder without DICOM", []string{dir, filepath.Join(dir, "o.nii.gz")}, 1, "no DICOM images"},
		{"output folder missing", []string{patientBDir, filepath.Join(dir, "no", "such", "o.nii.gz")}, 1, "o.nii.gz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runVolumeCmd(t, append([]string{"convert"}, tc.args...)...)
			if code != tc.wantCode || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tc.wantCode, tc.want)
			}
			if tc.wantCode == 1 && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("stderr is not one line: %q", stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "o.nii.gz")); err == nil {
		t.Error("a failed conversion left an output file")
	}
}
