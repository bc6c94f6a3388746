package app

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

// realData is where the shared CT fixtures live, relative to this package.
const realData = "../../shared/data/real/totalsegmentator"

func realFile(t testing.TB, name string) string {
	t.Helper()
	if _, err := os.Stat(realData); err != nil {
		t.Skipf("real CT fixtures not present: %v", err)
	}
	return filepath.Join(realData, name)
}

// TestOpenLabelEditExport runs a whole session on patient A: open the scan,
// load its labels, edit, undo, export, and read the export back.
func TestOpenLabelEditExport(t *testing.T) {
	ct := realFile(t, "example_ct.nii.gz")
	seg := realFile(t, "example_seg_fast_force_split.nii.gz")

	s := New(Options{AutosaveDir: t.TempDir()})
	defer s.Close()
	if err := s.Open(ct, volume.OpenOptions{}).Wait(); err != nil {
		t.Fatal(err)
	}
	v, path := s.Volume()
	if v.Dims != [3]int{122, 101, 112} || path != ct {
		t.Fatalf("opened %s with dims %v", path, v.Dims)
	}
	if _, err := s.LoadLabels(seg); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Autosave(); p != "" || err != nil {
		t.Errorf("Autosave after loading labels from a file wrote %q, %v", p, err)
	}
	var liver int
	for _, l := range s.PresentLabels() {
		if l.Value == 5 {
			liver = l.Voxels
			if l.Name != "liver" {
				t.Errorf("label 5 is named %q, want liver", l.Name)
			}
		}
	}
	if liver < 10000 {
		t.Fatalf("%d liver voxels in patient A's labels", liver)
	}

	loaded := labelsOf(s)
	if _, err := s.Paint("Erase", []int{0, 1, 2}, 7); err != nil {
		t.Fatal(err)
	}
	edited := labelsOf(s)
	if p, err := s.Autosave(); err != nil || p == "" {
		t.Fatalf("Autosave after an edit = %q, %v", p, err)
	}

	out := filepath.Join(t.TempDir(), "labels.nii.gz")
	if err := s.ExportLabels(out); err != nil {
		t.Fatal(err)
	}
	if a := s.FindAutosave(); a != nil {
		t.Errorf("autosave %s left after the labels were exported", a.Path)
	}
	got, _, err := volume.LoadLabels(out, v.Grid)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Data, edited) {
		t.Error("exported labels differ from the session's")
	}
	if _, ok := s.Undo(); !ok || !slices.Equal(labelsOf(s), loaded) {
		t.Error("undo after export did not restore the loaded labels")
	}

	if _, err := s.LoadLabels(filepath.Join(t.TempDir(), "missing.nii.gz")); err == nil {
		t.Error("loading a missing label file succeeded")
	}
}

func TestExportWithoutScan(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	if err := s.ExportLabels(filepath.Join(t.TempDir(), "x.nii.gz")); err == nil {
		t.Error("export with no scan open succeeded")
	}
	if _, err := s.LoadLabels("x.nii.gz"); err == nil {
		t.Error("loading labels with no scan open succeeded")
	}
}

func BenchmarkScanHash(b *testing.B) {
	g := volume.Grid{Dims: [3]int{512, 512, 100}, Affine: volume.Identity()}
	v := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	b.SetBytes(int64(4 * g.Len()))
	for n := 0; n < b.N; n++ {
		scanHash(v)
	}
}
