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
