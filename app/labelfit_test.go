package app

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

func TestFitsAsLabels(t *testing.T) {
	dir := t.TempDir()
	scan := testVolume(0)
	s := newTestSession(t, Options{})
	labels := volume.NewLabels(scan.Grid)
	for i := range labels.Data {
		labels.Data[i] = uint16(i % 7)
	}
	write := func(name string, l *volume.Labels, ref *volume.Volume) string {
		p := filepath.Join(dir, name)
		if err := volume.WriteLabels(p, l, ref); err != nil {
			t.Fatal(err)
		}
		return p
	}
	onGrid := write("seg.nii.gz", labels, scan)
	nrrd := write("seg.nrrd", labels, scan)
	// The same labels half a scan away along x, and far away.
	shifted := func(dx float64) *volume.Volume {
		g := scan.Grid
		g.Affine[0][3] += dx
		return &volume.Volume{Grid: g, Data: scan.Data}
	}
	near := write("near.nii.gz", &volume.Labels{Grid: shifted(4).Grid, Data: labels.Data}, shifted(4))
	far := write("far.nii.gz", &volume.Labels{Grid: shifted(1000).Grid, Data: labels.Data}, shifted(1000))
	ct := filepath.Join(dir, "ct.nii.gz")
	if err := volume.WriteNIfTI(ct, scan); err != nil {
		t.Fatal(err)
	}
	many := testVolume(0)
	for i := range many.Data {
		many.Data[i] = float32(i % 900)
	}
	manyValues := filepath.Join(dir, "many.nii.gz")
	if err := volume.WriteNIfTI(manyValues, many); err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("not a scan"), 0o644)

	tests := []struct {
		name     string
		path     string
		labels   bool
		sameGrid bool
		values   int
	}{
		{"labels on the scan's grid", onGrid, true, true, 7},
		{"NRRD labels on the scan's grid", nrrd, true, true, 7},
		{"labels overlapping the scan", near, true, false, 7},
		{"labels elsewhere", far, false, false, 0},
		{"the scan itself (negative HU)", ct, false, true, 0},
		{"integers with too many values", manyValues, false, true, 900},
		{"not NIfTI", text, false, false, 0},
		{"a folder", dir, false, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fit, err := s.FitsAsLabels(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if fit.Labels != tt.labels || fit.SameGrid != tt.sameGrid || fit.Values != tt.values || fit.Why == "" {
				t.Errorf("FitsAsLabels = %+v, want labels %v, same grid %v, %d values", fit, tt.labels, tt.sameGrid, tt.values)
			}
		})
	}
	if _, err := s.FitsAsLabels(filepath.Join(dir, "missing.nii.gz")); err == nil {
		t.Error("a missing file is no error")
	}
}
