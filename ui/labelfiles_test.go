package ui

import (
	"context"
	"image/color"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"

	"github.com/polyseg/polyseg/app"
	"github.com/polyseg/polyseg/volume"
)

// TestDropSegmentation drops a 3D Slicer segmentation on an open scan: it
// becomes the scan's labels, its segment's name and colour in the list,
// and the scan stays open.
func TestDropSegmentation(t *testing.T) {
	m := newWindow(t, app.Options{AutosaveDir: t.TempDir()})
	t.Cleanup(m.session.Close)
	m.Window().Resize(fyne.NewSize(800, 600))
	g := volume.Grid{Dims: [3]int{20, 20, 10}, Affine: volume.Identity()}
	vol := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	wait(t, m.OpenGenerated("example", func(ctx context.Context, p app.Progress) (*volume.Volume, *volume.Labels, error) {
		return vol, nil, nil
	}))
	l := volume.NewLabels(g)
	l.Data[g.Index(3, 4, 5)] = 2
	pink := color.NRGBA{R: 250, G: 100, B: 200, A: 255}
	l.Segments = []volume.Segment{{Value: 2, Name: "Kidney cyst", Color: pink}}
	seg := filepath.Join(t.TempDir(), "cyst.seg.nrrd")
	if err := volume.WriteLabels(seg, l, vol); err != nil {
		t.Fatal(err)
	}
	wait(t, m.drop([]fyne.URI{storage.NewFileURI(seg)}))
	if v, _ := m.session.Volume(); v != vol {
		t.Fatal("dropping a segmentation replaced the scan")
	}
	s := m.session.SegmentOf(2)
	if s.Voxels != 1 || s.Name != "Kidney_cyst" || s.Color != pink {
		t.Errorf("segment 2 after the drop: %+v", s)
	}
}

func TestLabelFileNames(t *testing.T) {
	for path, ok := range map[string]bool{"a.nii.gz": true, "a.NII": true, "a.seg.nrrd": true, "a.nrrd": true, "a.nhdr": true, "a.png": false, "a.gz": false} {
		if labelFileName(path) != ok {
			t.Errorf("labelFileName(%q) = %v", path, !ok)
		}
	}
	for path, want := range map[string]string{"/x/ct.nii.gz": "ct", "ct.nrrd": "ct", "ct.seg.nrrd": "ct", "ct.nhdr": "ct", "dicomdir": "dicomdir"} {
		if got := scanBaseName(path); got != want {
			t.Errorf("scanBaseName(%q) = %q, want %q", path, got, want)
		}
	}
}
