package viewer

import (
	"fmt"
	"image"
	"slices"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

// phantom returns a small RAS volume with anisotropic voxels (1, 2, 3 mm),
// a distinct value in every voxel, and labels marking a few voxels, so that
// any mix-up of axes or directions changes the rendered image.
func phantom() (*volume.Volume, *volume.Labels) {
	a := volume.Identity()
	a[0][0], a[1][1], a[2][2] = 1, 2, 3
	a[0][3], a[1][3], a[2][3] = -10, 20, -30
	g := volume.Grid{Dims: [3]int{7, 5, 4}, Affine: a}
	vol := &volume.Volume{Grid: g, Data: make([]float32, g.Len())}
	lab := volume.NewLabels(g)
	for k := 0; k < 4; k++ {
		for j := 0; j < 5; j++ {
			for i := 0; i < 7; i++ {
				n := g.Index(i, j, k)
				vol.Data[n] = float32(-200 + 3*n)
				lab.Data[n] = uint16((i*j + k) % 4)
			}
		}
	}
	return vol, lab
}

// storeAs returns the same physical scan stored in another voxel order:
// new voxel axis c is the old axis perm[c], reversed when flip[c]. Every
// voxel keeps its value and its world position.
func storeAs[T any](g volume.Grid, data []T, perm [3]int, flip [3]bool) (volume.Grid, []T) {
	var dims [3]int
	// m maps new voxel indices to old ones: old = m·new.
	m := volume.Affine{}
	m[3][3] = 1
	for c := 0; c < 3; c++ {
		o := perm[c]
		dims[c] = g.Dims[o]
		m[o][c] = 1
		if flip[c] {
			m[o][c] = -1
			m[o][3] = float64(g.Dims[o] - 1)
		}
	}
	ng := volume.Grid{Dims: dims, Affine: g.Affine.Mul(m)}
	nd := make([]T, len(data))
	for k := 0; k < dims[2]; k++ {
		for j := 0; j < dims[1]; j++ {
			for i := 0; i < dims[0]; i++ {
				x, y, z := m.Apply(float64(i), float64(j), float64(k))
				nd[ng.Index(i, j, k)] = data[g.Index(int(x), int(y), int(z))]
			}
		}
	}
	return ng, nd
}

var storageOrders = []struct {
	name  string
	perm  [3]int
	flip  [3]bool
	codes string
}{
	{"RAS", [3]int{0, 1, 2}, [3]bool{}, "RAS"},
	{"LPS", [3]int{0, 1, 2}, [3]bool{true, true, false}, "LPS"},
	{"LAS", [3]int{0, 1, 2}, [3]bool{true, false, false}, "LAS"},
	{"LPI", [3]int{0, 1, 2}, [3]bool{true, true, true}, "LPI"},
	{"permuted ASR", [3]int{1, 2, 0}, [3]bool{}, "ASR"},
	{"permuted and flipped IRP", [3]int{2, 0, 1}, [3]bool{true, false, true}, "IRP"},
	{"permuted SLA", [3]int{2, 0, 1}, [3]bool{false, true, false}, "SLA"},
}

// TestOrientationIndependent is the key orientation test: the same scan
// stored in any voxel order renders to identical images in every plane.
func TestOrientationIndependent(t *testing.T) {
	vol, lab := phantom()
	w := Window{Width: 400, Level: 0}
	want := make(map[string][]byte)
	render := func(v *volume.Volume, l *volume.Labels, p Plane, slice int) []byte {
		s := NewSlicer(v.Grid, p)
		sw, sh := s.Size()
		img := image.NewRGBA(image.Rect(0, 0, sw, sh))
		ov := &Overlay{Labels: l, Opacity: 0.6}
		if err := Render(img, v, s, slice, w, ov); err != nil {
			t.Fatalf("Render: %v", err)
		}
		return img.Pix
	}
	for _, p := range Planes {
		s := NewSlicer(vol.Grid, p)
		for n := 0; n < s.NumSlices(); n++ {
			want[fmt.Sprint(p, n)] = render(vol, lab, p, n)
		}
	}
	for _, tc := range storageOrders {
		t.Run(tc.name, func(t *testing.T) {
			g, data := storeAs(vol.Grid, vol.Data, tc.perm, tc.flip)
			_, ldata := storeAs(lab.Grid, lab.Data, tc.perm, tc.flip)
			if got := g.Affine.AxisCodes(); got != tc.codes {
				t.Fatalf("test setup: axis codes %s, want %s", got, tc.codes)
			}
			v := &volume.Volume{Grid: g, Data: data}
			l := &volume.Labels{Grid: g, Data: ldata}
			for _, p := range Planes {
				s := NewSlicer(g, p)
				ref := NewSlicer(vol.Grid, p)
				if s.NumSlices() != ref.NumSlices() {
					t.Fatalf("%s: %d slices, want %d", p, s.NumSlices(), ref.NumSlices())
				}
				gu, gv := s.PixelSpacing()
				ru, rv := ref.PixelSpacing()
				if gu != ru || gv != rv || s.SliceSpacing() != ref.SliceSpacing() {
					t.Errorf("%s: spacing %g×%g/%g, want %g×%g/%g", p, gu, gv, s.SliceSpacing(), ru, rv, ref.SliceSpacing())
				}
				for n := 0; n < s.NumSlices(); n++ {
					if got := render(v, l, p, n); !slices.Equal(got, want[fmt.Sprint(p, n)]) {
						t.Errorf("%s slice %d differs from the RAS rendering", p, n)
					}
					for _, uv := range [][2]int{{0, 0}, {1, 2}, {2, 1}} {
						x, y, z := s.WorldAt(n, uv[0], uv[1])
						rx, ry, rz := ref.WorldAt(n, uv[0], uv[1])
						if x != rx || y != ry || z != rz {
							t.Errorf("%s WorldAt(%d, %v) = (%g %g %g), want (%g %g %g)", p, n, uv, x, y, z, rx, ry, rz)
						}
					}
				}
			}
		})
	}
}

// TestRASLayout pins the convention down on a RAS grid, where voxel i runs
// towards the patient's Right, j Anterior, k Superior.
func TestRASLayout(t *testing.T) {
	vol, _ := phantom()
	nx, ny, nz := vol.Dims[0], vol.Dims[1], vol.Dims[2]
	tests := []struct {
		plane      Plane
		w, h, n    int
		voxel      func(slice, u, v int) [3]int
		du, dv, ds float64
	}{
		{Axial, nx, ny, nz, func(s, u, v int) [3]int { return [3]int{nx - 1 - u, ny - 1 - v, s} }, 1, 2, 3},
		{Coronal, nx, nz, ny, func(s, u, v int) [3]int { return [3]int{nx - 1 - u, s, nz - 1 - v} }, 1, 3, 2},
		{Sagittal, ny, nz, nx, func(s, u, v int) [3]int { return [3]int{s, ny - 1 - u, nz - 1 - v} }, 2, 3, 1},
	}
	for _, tc := range tests {
		t.Run(tc.plane.String(), func(t *testing.T) {
			s := NewSlicer(vol.Grid, tc.plane)
			if w, h := s.Size(); w != tc.w || h != tc.h || s.NumSlices() != tc.n {
				t.Fatalf("size %d×%d×%d, want %d×%d×%d", w, h, s.NumSlices(), tc.w, tc.h, tc.n)
			}
			if du, dv := s.PixelSpacing(); du != tc.du || dv != tc.dv || s.SliceSpacing() != tc.ds {
				t.Errorf("spacing %g×%g/%g, want %g×%g/%g", du, dv, s.SliceSpacing(), tc.du, tc.dv, tc.ds)
			}
			for n := 0; n < tc.n; n++ {
				for v := 0; v < tc.h; v++ {
					for u := 0; u < tc.w; u++ {
						i, j, k := s.Voxel(n, u, v)
						if got, want := [3]int{i, j, k}, tc.voxel(n, u, v); got != want {
							t.Fatalf("Voxel(%d, %d, %d) = %v, want %v", n, u, v, got, want)
						}
						if gn, gu, gv := s.Locate(i, j, k); gn != n || gu != u || gv != v {
							t.Fatalf("Locate(Voxel(%d, %d, %d)) = (%d, %d, %d)", n, u, v, gn, gu, gv)
						}
						if got, want := s.Index(n, u, v), vol.Index(i, j, k); got != want {
							t.Fatalf("Index(%d, %d, %d) = %d, want %d", n, u, v, got, want)
						}
						if hu, ok := HUAt(vol, s, n, u, v); !ok || hu != vol.At(i, j, k) {
							t.Fatalf("HUAt(%d, %d, %d) = %g, %v; want %g", n, u, v, hu, ok, vol.At(i, j, k))
						}
					}
				}
			}
		})
	}
}

// TestMarkerAtPatientRight places a bright voxel at the patient's far right
// (largest world x) and checks that it appears in the leftmost column of the
// axial and coronal views, whatever the storage order.
func TestMarkerAtPatientRight(t *testing.T) {
	vol, _ := phantom()
	for n := range vol.Data {
		vol.Data[n] = -1000
	}
	// RAS: i = nx-1 is the rightmost voxel; j, k mid-grid.
	mi, mj, mk := vol.Dims[0]-1, 2, 1
	vol.Data[vol.Index(mi, mj, mk)] = 1000
	mx, my, mz := vol.Affine.Apply(float64(mi), float64(mj), float64(mk))
	for _, tc := range storageOrders {
		t.Run(tc.name, func(t *testing.T) {
			g, data := storeAs(vol.Grid, vol.Data, tc.perm, tc.flip)
			v := &volume.Volume{Grid: g, Data: data}
			for _, p := range []Plane{Axial, Coronal} {
				s := NewSlicer(g, p)
				sw, sh := s.Size()
				img := image.NewRGBA(image.Rect(0, 0, sw, sh))
				found := false
				for n := 0; n < s.NumSlices(); n++ {
					if err := Render(img, v, s, n, Window{Width: 400, Level: 40}, nil); err != nil {
						t.Fatal(err)
					}
					for y := 0; y < sh; y++ {
						for x := 0; x < sw; x++ {
							if img.RGBAAt(x, y).R == 255 {
								found = true
								if x != 0 {
									t.Errorf("%s: marker at column %d, want 0 (patient right on screen left)", p, x)
								}
								if wx, wy, wz := s.WorldAt(n, x, y); wx != mx || wy != my || wz != mz {
									t.Errorf("%s: WorldAt = (%g %g %g), want (%g %g %g)", p, wx, wy, wz, mx, my, mz)
								}
							}
						}
					}
				}
				if !found {
					t.Errorf("%s: marker not drawn", p)
				}
			}
		})
	}
}

// TestLocateRoundTrip checks Voxel(Locate(...)) over every voxel of every
// storage order and plane.
func TestLocateRoundTrip(t *testing.T) {
	vol, _ := phantom()
	for _, tc := range storageOrders {
		g, _ := storeAs(vol.Grid, vol.Data, tc.perm, tc.flip)
		for _, p := range Planes {
			s := NewSlicer(g, p)
			for k := 0; k < g.Dims[2]; k++ {
				for j := 0; j < g.Dims[1]; j++ {
					for i := 0; i < g.Dims[0]; i++ {
						n, u, v := s.Locate(i, j, k)
						if !s.Contains(n, u, v) {
							t.Fatalf("%s %s: Locate(%d, %d, %d) = (%d, %d, %d) outside", tc.name, p, i, j, k, n, u, v)
						}
						if gi, gj, gk := s.Voxel(n, u, v); gi != i || gj != j || gk != k {
							t.Fatalf("%s %s: Voxel(Locate(%d, %d, %d)) = (%d, %d, %d)", tc.name, p, i, j, k, gi, gj, gk)
						}
						if s.Index(n, u, v) != g.Index(i, j, k) {
							t.Fatalf("%s %s: Index mismatch at (%d, %d, %d)", tc.name, p, i, j, k)
						}
					}
				}
			}
		}
	}
}

func TestPlaneNames(t *testing.T) {
	for _, p := range Planes {
		got, err := ParsePlane(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePlane(%q) = %v, %v", p.String(), got, err)
		}
	}
	if _, err := ParsePlane("oblique"); err == nil {
		t.Error("ParsePlane(oblique): no error")
	}
	edges := map[Plane]string{Axial: "RLAP", Coronal: "RLSI", Sagittal: "APSI"}
	for p, want := range edges {
		l, r, tp, b := p.Edges()
		if got := l + r + tp + b; got != want {
			t.Errorf("%s edges %s, want %s", p, got, want)
		}
	}
}
