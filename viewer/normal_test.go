package viewer

import (
	"testing"

	"github.com/polyseg/polyseg/volume"
)

// TestPlaneNormal checks Normal against the slicer: on a RAS grid, moving
// one slice moves along the world axis Normal names.
func TestPlaneNormal(t *testing.T) {
	g := volume.Grid{Dims: [3]int{4, 5, 6}, Affine: volume.Identity()}
	for _, tc := range []struct {
		p    Plane
		want int
	}{{Axial, 2}, {Coronal, 1}, {Sagittal, 0}} {
		if got := tc.p.Normal(); got != tc.want {
			t.Errorf("%s: Normal %d, want %d", tc.p, got, tc.want)
		}
		s := NewSlicer(g, tc.p)
		i0, j0, k0 := s.Voxel(0, 0, 0)
		i1, j1, k1 := s.Voxel(1, 0, 0)
		d := [3]int{i1 - i0, j1 - j0, k1 - k0}
		if d[tc.want] == 0 {
			t.Errorf("%s: the next slice moves by %v, not along axis %d", tc.p, d, tc.want)
		}
	}
}
