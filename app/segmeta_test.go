package app

import (
	"image/color"
	"path/filepath"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

// TestSegmentationNamesSurvive loads a 3D Slicer segmentation, checks that
// its names and colours reach the segment list (an empty segment
// included), renames one, exports to .seg.nrrd and to NIfTI, and loads
// each export into a new session: the names and colours come back.
func TestSegmentationNamesSurvive(t *testing.T) {
	dir := t.TempDir()
	g := volume.Grid{Dims: [3]int{8, 7, 5}, Affine: volume.Affine{{-0.8, 0, 0, 10}, {0, -0.8, 0, 20}, {0, 0, 2.5, -30}, {0, 0, 0, 1}}}
	scan := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	l := volume.NewLabels(g)
	for i := 0; i < 20; i++ {
		l.Data[i] = 5 // 5 is the liver in the default table: the file's name must win
	}
	l.Data[100] = 300
	red := color.NRGBA{R: 230, G: 20, B: 10, A: 255}
	l.Segments = []volume.Segment{
		{Value: 5, Name: "Liver tumour", Color: red, ID: "Segment_1"},
		{Value: 300, Name: "vessel", Color: color.NRGBA{R: 10, G: 10, B: 240, A: 255}, ID: "Segment_2"},
		{Value: 42, Name: "Spare", Color: color.NRGBA{R: 1, G: 2, B: 3, A: 255}, ID: "Segment_3"},
	}
	seg := filepath.Join(dir, "in.seg.nrrd")
	if err := volume.WriteLabels(seg, l, scan); err != nil {
		t.Fatal(err)
	}

	open := func() *Session {
		s := New(Options{AutosaveDir: t.TempDir()})
		t.Cleanup(s.Close)
		if err := s.SetVolume(scan, ""); err != nil {
			t.Fatal(err)
		}
		return s
	}
	check := func(s *Session, what string, want map[uint16]Segment) {
		t.Helper()
		got := map[uint16]Segment{}
		for _, sg := range s.Segments() {
			got[sg.Value] = sg
		}
		for v, w := range want {
			g, ok := got[v]
			if !ok || g.Name != w.Name || g.Color != w.Color || g.Voxels != w.Voxels {
				t.Errorf("%s: segment %d is %+v, want %+v", what, v, g, w)
			}
		}
	}

	s := open()
	if _, err := s.LoadLabels(seg); err != nil {
		t.Fatal(err)
	}
	want := map[uint16]Segment{
		5:   {Name: "Liver_tumour", Color: red, Voxels: 20},
		300: {Name: "vessel", Color: color.NRGBA{R: 10, G: 10, B: 240, A: 255}, Voxels: 1},
		42:  {Name: "Spare", Color: color.NRGBA{R: 1, G: 2, B: 3, A: 255}},
	}
	check(s, "loaded", want)

	green := color.NRGBA{G: 200, A: 255}
	if err := s.SetSegment(300, "portal vein", green); err != nil {
		t.Fatal(err)
	}
	want[300] = Segment{Name: "portal_vein", Color: green, Voxels: 1}
	for _, out := range []string{"out.seg.nrrd", "out.nii.gz"} {
		path := filepath.Join(dir, out)
		if err := s.ExportLabels(path); err != nil {
			t.Fatal(err)
		}
		s2 := open()
		if _, err := s2.LoadLabels(path); err != nil {
			t.Fatal(err)
		}
		check(s2, out, want)
	}
}
