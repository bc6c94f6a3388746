package section

import (
	"testing"

	"github.com/polyseg/polyseg/volume"
)

// Whatever the voxel order, pixel (0, 0) of an axial slice is the most
// anterior, most right corner (largest world x and y in RAS+), rows go
// posterior and columns go to the patient's left.
func TestSlicerRadiological(t *testing.T) {
	tests := []struct {
		name string
		a    volume.Affine
		dims [3]int
	}{
		{"RAS", volume.Affine{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 3, 0}, {0, 0, 0, 1}}, [3]int{5, 4, 3}},
		{"LAS", volume.Affine{{-1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 2, 0}, {0, 0, 0, 1}}, [3]int{5, 4, 3}},
		{"LPS (DICOM order)", volume.Affine{{-0.7, 0, 0, 0}, {0, -0.7, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}, [3]int{6, 4, 2}},
		{"j is x, i is y, k is z", volume.Affine{{0, 1, 0, 0}, {-1, 0, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}, [3]int{4, 7, 3}},
		{"k is x, slices along j (coronal file)", volume.Affine{{0, 0, 1, 0}, {1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 0, 1}}, [3]int{3, 5, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := volume.Grid{Dims: tc.dims, Affine: tc.a}
			s, err := NewSlicer(g, Axial)
			if err != nil {
				t.Fatal(err)
			}
			if s.Rows*s.Cols*s.Slices != g.Len() {
				t.Fatalf("%d x %d x %d slices does not cover %v", s.Rows, s.Cols, s.Slices, tc.dims)
			}
			world := func(k, r, c int) (x, y, z float64) {
				v := s.Voxel(k, r, c)
				if !g.Contains(v[0], v[1], v[2]) {
					t.Fatalf("pixel (%d, %d) of slice %d maps outside the grid: %v", r, c, k, v)
				}
				if kk, rr, cc := s.Pixel(v); kk != k || rr != r || cc != c {
					t.Fatalf("Pixel(Voxel(%d,%d,%d)) = %d,%d,%d", k, r, c, kk, rr, cc)
				}
				return g.Affine.Apply(float64(v[0]), float64(v[1]), float64(v[2]))
			}
			x0, y0, z0 := world(0, 0, 0)
			x1, _, _ := world(0, 0, 1)
			_, y1, _ := world(0, 1, 0)
			_, _, z1 := world(1, 0, 0)
			if !(x1 < x0) {
				t.Errorf("columns run from x %v to %v: not right to left", x0, x1)
			}
			if !(y1 < y0) {
				t.Errorf("rows run from y %v to %v: not anterior to posterior", y0, y1)
			}
			if z1 == z0 {
				t.Errorf("slices do not move along z")
			}
			for r := 0; r < s.Rows; r++ {
				for c := 0; c < s.Cols; c++ {
					x, y, z := world(0, r, c)
					if x > x0 || y > y0 || z != z0 {
						t.Errorf("pixel (%d,%d) at (%v,%v,%v) is right of or anterior to pixel (0,0) at (%v,%v,%v), or off the slice", r, c, x, y, z, x0, y0, z0)
					}
				}
			}
		})
	}
}

func TestWriteMaskLeavesOtherLabels(t *testing.T) {
	g := volume.Grid{Dims: [3]int{3, 2, 1}, Affine: volume.Identity()}
	s, err := NewSlicer(g, Axial)
	if err != nil {
		t.Fatal(err)
	}
	l := &volume.Labels{Grid: g, Data: []uint16{5, 5, 1, 0, 2, 5}}
	m := NewMask(s.Rows, s.Cols)
	for i := range m.Data {
		m.Data[i] = true // everything: must not overwrite labels 1 and 2
	}
	v := s.Voxel(0, 0, 0)
	m.Data[0] = false // clears the 5 under pixel (0, 0)
	if err := s.WriteMask(l, 0, m, 5); err != nil {
		t.Fatal(err)
	}
	want := []uint16{5, 5, 1, 5, 2, 5}
	want[g.Index(v[0], v[1], v[2])] = 0
	for i := range want {
		if l.Data[i] != want[i] {
			t.Fatalf("labels %v, want %v", l.Data, want)
		}
	}
}

func TestResizeBilinear(t *testing.T) {
	// Upsampling a ramp keeps it a ramp between the outermost centres, and
	// a constant stays constant.
	src := []float32{0, 1, 2, 3}
	got := ResizeBilinear(src, 1, 4, 1, 8)
	want := []float32{0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3}
	for i := range want {
		if d := got[i] - want[i]; d > 1e-6 || d < -1e-6 {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	c := ResizeBilinear([]float32{7, 7, 7, 7}, 2, 2, 5, 3)
	for _, x := range c {
		if x != 7 {
			t.Fatalf("constant image resized to %v", c)
		}
	}
}
