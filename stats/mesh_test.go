package stats

import (
	"context"
	"testing"

	"github.com/polyseg/polyseg/mesh"
	"github.com/polyseg/polyseg/volume"
)

// The mesh columns are mesh.Measure's surface area and maximum diameter,
// segment by segment.
func TestMeshColumns(t *testing.T) {
	a := volume.Affine{{0.8, 0, 0, 5}, {0, -0.7, 0, 2}, {0, 0, 2.5, -9}, {0, 0, 0, 1}}
	v, l := scanAndLabels(a, 9, 2, 6)
	l.Data[l.Index(0, 0, 0)] = 3 // a second segment, one voxel
	cols := MeshColumns()
	segs, err := Compute(context.Background(), v, l, cols)
	if err != nil {
		t.Fatal(err)
	}
	want, err := mesh.Measure(context.Background(), l, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) != 2 || len(want) != 2 {
		t.Fatalf("%d segments, mesh.Measure %d", len(segs), len(want))
	}
	for n, s := range segs {
		w := want[n]
		if s.Label != w.Label || len(s.Extra) != 2 || s.Extra[0] != w.SurfaceMM2 || s.Extra[1] != w.MaxDiameterMM {
			t.Errorf("label %d: %v, mesh.Measure %d: %g mm², %g mm", s.Label, s.Extra, w.Label, w.SurfaceMM2, w.MaxDiameterMM)
		}
	}
	if cols[0].Name != "surface_mm2" || cols[1].Name != "max_diameter_mm" {
		t.Errorf("columns %q, %q", cols[0].Name, cols[1].Name)
	}
}
