package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/dicomseg"
	"github.com/polyseg/polyseg/volume"
)

func fileMenuItem(t *testing.T, m *MainWindow, label string) *fyne.MenuItem {
	t.Helper()
	for _, it := range m.Window().MainMenu().Items[0].Items {
		if it.Label == label {
			return it
		}
	}
	t.Fatalf("File menu has no %q", label)
	return nil
}

// TestExportSEGFromTheFileMenu: File > Export DICOM SEG is enabled once a
// DICOM series is open, writes a SEG that Open labels reads back, and is
// disabled again for a scan that is not DICOM.
func TestExportSEGFromTheFileMenu(t *testing.T) {
	m := newWindow(t, app.Options{AutosaveDir: t.TempDir()})
	t.Cleanup(m.session.Close)
	item := fileMenuItem(t, m, "Export DICOM SEG…")
	if !item.Disabled {
		t.Error("Export DICOM SEG is enabled with no scan open")
	}
	wait(t, m.Open("../dicomseg/testdata/dcmqi-23x38x3/image", "", volume.OpenOptions{}))
	if item.Disabled {
		t.Fatal("Export DICOM SEG is disabled with a DICOM series open")
	}
	v, _ := m.session.Volume()
	if _, err := m.session.Paint("Paint", []int{0, 1, 2, v.Grid.Len() - 1}, liver); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "seg.dcm")
	wait(t, m.ExportSEG(out))
	if !strings.Contains(m.toolbar.message.Text, "DICOM SEG written to "+out+": 1 segments, 2 frames") {
		t.Errorf("message %q", m.toolbar.message.Text)
	}
	seg, err := dicomseg.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if seg.Segments[0].Label != "liver" || seg.Segments[0].Algorithm.Type != dicomseg.Manual {
		t.Errorf("segments %+v", seg.Segments)
	}

	if _, err := m.session.ReplaceLabels("Clear", volume.NewLabels(v.Grid)); err != nil {
		t.Fatal(err)
	}
	settle()
	wait(t, m.OpenLabels(out))
	if got := m.session.SegmentOf(liver).Voxels; got != 4 {
		t.Errorf("after Open labels of the SEG, liver has %d voxels, want 4", got)
	}

	nifti := filepath.Join(t.TempDir(), "scan.nii.gz")
	if err := volume.WriteNIfTI(nifti, v); err != nil {
		t.Fatal(err)
	}
	wait(t, m.Open(nifti, "", volume.OpenOptions{}))
	if !item.Disabled {
		t.Error("Export DICOM SEG is enabled for a NIfTI scan")
	}
	if _, err := os.Stat(out + app.ProvenanceSuffix); err != nil {
		t.Errorf("the SEG has no provenance sidecar: %v", err)
	}
}
