package realdata

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

// PatientB opens the DICOM series of patient B and its reference labels
// brought onto the series' grid. dir is the fixtures' totalsegmentator
// folder as seen from the calling package (tests run in their package's
// directory); ctDir is the series' folder.
func PatientB(t testing.TB, dir string) (v *volume.Volume, ref *volume.Labels, ctDir string) {
	t.Helper()
	ctDir = filepath.Join(dir, "example_ct_dicom")
	if _, err := os.Stat(ctDir); err != nil {
		t.Skipf("real data absent: %v", err)
	}
	v, err := volume.Open(context.Background(), ctDir, volume.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref, _, err = volume.LoadLabels(filepath.Join(dir, "example_seg_dicom.nii.gz"), v.Grid)
	if err != nil {
		t.Fatal(err)
	}
	return v, ref, ctDir
}

// PatientA reads patient A's scan (NIfTI, non-contrast, 3 mm) and its
// reference labels. dir is as for PatientB. It skips only when the
// fixtures are absent; a file that is there and does not read fails.
func PatientA(t testing.TB, dir string) (*volume.Volume, *volume.Labels) {
	t.Helper()
	ct := filepath.Join(dir, "example_ct.nii.gz")
	if _, err := os.Stat(ct); err != nil {
		t.Skipf("real data absent: %v", err)
	}
	v, err := volume.ReadNIfTI(ct)
	if err != nil {
		t.Fatal(err)
	}
	l, _, err := volume.LoadLabels(filepath.Join(dir, "example_seg_fast_force_split.nii.gz"), v.Grid)
	if err != nil {
		t.Fatal(err)
	}
	return v, l
}
