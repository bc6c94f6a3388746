package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

// sameAsNibabel is run by /usr/bin/python3: nibabel reads two NIfTI files,
// the original and the one that went through NRRD, and they must hold the
// same voxels on the same affine (within 1e-4 mm).
const sameAsNibabel = `
import sys
import numpy as np
import nibabel as nib

a, b = nib.load(sys.argv[1]), nib.load(sys.argv[2])
assert a.shape == b.shape, (a.shape, b.shape)
err = np.abs(a.affine - b.affine).max()
assert err < 1e-4, "affine differs by %g mm:\n%s\n%s" % (err, a.affine, b.affine)
x, y = a.get_fdata(), b.get_fdata()
assert np.array_equal(x, y), "%d voxels differ" % np.count_nonzero(x != y)
print("ok: %s, affine within %g mm, %d voxels equal" % (nib.aff2axcodes(b.affine), err, x.size))
`

func nibabelSame(t *testing.T, a, b string) {
	t.Helper()
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import nibabel").Run(); err != nil {
		t.Skipf("no nibabel for %s: %v", python, err)
	}
	out, err := exec.Command(python, "-c", sameAsNibabel, a, b).CombinedOutput()
	if err != nil {
		t.Fatalf("nibabel: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// TestConvertNRRD converts patient A's scan (NIfTI, RAS) to NRRD and back,
// and patient B's labels (NIfTI, LAS) to a 3D Slicer segmentation and back:
// nibabel must find the final files equal to the originals, and the
// segmentation must carry the default colour table's names.
func TestConvertNRRD(t *testing.T) {
	needFixture(t, patientASmall)
	needFixture(t, patientBLabelsNIfTI)
	dir := t.TempDir()
	steps := []struct {
		args []string
		want string
	}{
		{[]string{patientASmall, filepath.Join(dir, "a.nrrd")}, "122 x 101 x 30 voxels of 3 x 3 x 3 mm, RAS"},
		{[]string{filepath.Join(dir, "a.nrrd"), filepath.Join(dir, "a.nhdr")}, "RAS"},
		{[]string{filepath.Join(dir, "a.nhdr"), filepath.Join(dir, "a.nii.gz")}, "RAS"},
		{[]string{"--labels", patientBLabelsNIfTI, filepath.Join(dir, "b.seg.nrrd")}, "labels, 512 x 512 x 20 voxels of 0.9766 x 0.9766 x 2 mm, LAS"},
		{[]string{filepath.Join(dir, "b.seg.nrrd"), filepath.Join(dir, "b.nii.gz")}, "b.ctbl: the segments' names"},
	}
	for _, s := range steps {
		code, stdout, stderr := runVolumeCmd(t, append([]string{"convert"}, s.args...)...)
		if code != 0 || !strings.Contains(stdout, s.want) {
			t.Fatalf("convert %v: exit %d, stdout %q, stderr %q; want %q", s.args, code, stdout, stderr, s.want)
		}
	}
	nibabelSame(t, patientASmall, filepath.Join(dir, "a.nii.gz"))
	nibabelSame(t, patientBLabelsNIfTI, filepath.Join(dir, "b.nii.gz"))

	h, err := volume.ReadNRRDHeader(filepath.Join(dir, "b.seg.nrrd"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for n := 0; ; n++ {
		p := "Segment" + strconv.Itoa(n) + "_"
		v, ok := h.KeyValues[p+"LabelValue"]
		if !ok {
			break
		}
		names[v] = h.KeyValues[p+"Name"]
	}
	if names["5"] != "liver" || names["1"] != "spleen" {
		t.Errorf("segment names %v, want TotalSegmentator's (5 liver, 1 spleen)", names)
	}
	ct, err := os.ReadFile(filepath.Join(dir, "b.ctbl"))
	if err != nil || !strings.Contains(string(ct), "\n5 liver ") {
		t.Errorf("colour table beside b.nii.gz: %v\n%s", err, ct)
	}
}

const patientBLabelsNIfTI = realDir + "/example_seg_dicom.nii.gz"
