package app

import (
	"bytes"
	"context"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/mesh"
)

// ExportSurfaces writes what `polyseg mesh` writes for the same labels and
// options (mesh.ExtractAll, then mesh.WriteFiles), byte for byte, with the
// segment list's names and colours.
func TestExportSurfaces(t *testing.T) {
	s := New(Options{AutosaveDir: t.TempDir()})
	defer s.Close()
	v, l := surfaceScan()
	if err := s.setVolume(v, l, ""); err != nil {
		t.Fatal(err)
	}
	lumpy := color.NRGBA{R: 10, G: 200, B: 30, A: 255}
	if err := s.SetSegment(5, "lumpy one", lumpy); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		file   string
		export SurfaceExport
	}{
		{"one STL, LPS", "liver.stl", SurfaceExport{Format: mesh.STL, Options: mesh.Options{Smooth: 20}, Labels: []uint16{5}}},
		{"OBJ of every segment, RAS", "organs.obj", SurfaceExport{Format: mesh.OBJ, Coords: mesh.RAS, Options: mesh.Options{Smooth: 5, Decimate: 0.5}}},
		{"PLY per segment", "organs.ply", SurfaceExport{Format: mesh.PLY, Labels: []uint16{1, 5}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, ref := t.TempDir(), t.TempDir()
			got, err := s.ExportSurfaces(context.Background(), filepath.Join(dir, c.file), c.export)
			if err != nil {
				t.Fatal(err)
			}
			ms, err := mesh.ExtractAll(context.Background(), l, c.export.Labels, c.export.Options)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				seg := s.SegmentOf(m.Label)
				m.Name, m.Color = seg.Name, seg.Color
			}
			want, err := mesh.WriteFiles(filepath.Join(ref, c.file), c.export.Format, ms, c.export.Coords)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("wrote %v, polyseg mesh writes %v", got, want)
			}
			for n := range got {
				if filepath.Base(got[n]) != filepath.Base(want[n]) {
					t.Errorf("file %s, polyseg mesh names it %s", got[n], want[n])
				}
				a, err1 := os.ReadFile(got[n])
				b, err2 := os.ReadFile(want[n])
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				if !bytes.Equal(a, b) {
					t.Errorf("%s differs from what polyseg mesh writes", got[n])
				}
			}
			if c.export.Format == mesh.OBJ {
				mtl, _ := os.ReadFile(got[1])
				if !strings.Contains(string(mtl), "lumpy_one") {
					t.Errorf("the material library does not name the renamed segment:\n%s", mtl)
				}
			}
		})
	}
}

func TestExportSurfacesRefuses(t *testing.T) {
	s := New(Options{AutosaveDir: t.TempDir()})
	defer s.Close()
	dir := t.TempDir()
	if _, err := s.ExportSurfaces(context.Background(), filepath.Join(dir, "a.stl"), SurfaceExport{}); err != ErrNoVolume {
		t.Errorf("without a scan: %v", err)
	}
	v, l := surfaceScan()
	// A scan file that an output could replace (a name as odd as a
	// mesh's, to make the point).
	scan := filepath.Join(dir, "scan.stl")
	if err := os.WriteFile(scan, []byte("scan"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.setVolume(v, l, scan); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, out string
		export    SurfaceExport
		want      string
	}{
		{"extension", "a.ply", SurfaceExport{Format: mesh.STL}, "name it .stl"},
		{"empty segment", "a.stl", SurfaceExport{Format: mesh.STL, Labels: []uint16{1, 7}}, "no voxels in pancreas (7)"},
		{"background", "a.stl", SurfaceExport{Format: mesh.STL, Labels: []uint16{0}}, "no voxels"},
		{"smoothing", "a.stl", SurfaceExport{Format: mesh.STL, Options: mesh.Options{Smooth: -1}}, "smoothing iterations"},
		{"the scan itself", "scan.stl", SurfaceExport{Format: mesh.STL, Labels: []uint16{5}}, "is the scan itself"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.ExportSurfaces(context.Background(), filepath.Join(dir, c.out), c.export)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.out) {
				t.Errorf("got %v, want an error naming %s and saying %q", err, c.out, c.want)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("refused exports left %d files beside the scan", len(entries)-1)
	}
	if b, _ := os.ReadFile(scan); string(b) != "scan" {
		t.Error("the scan was overwritten")
	}
}
