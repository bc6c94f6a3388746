package volume

import (
	"errors"
	"math"
	"testing"
)

// gridFrom returns the grid whose voxel (i, j, k) is voxel
// m·(i, j, k, 1) of g, with dimensions dims: a synthetic grid that differs
// from g by the integer index mapping m.
func gridFrom(g Grid, m Affine, dims [3]int) Grid {
	return Grid{Dims: dims, Affine: g.Affine.Mul(m)}
}

// labelCentroids returns the world centroid of each label value.
func labelCentroids(l *Labels) map[uint16][3]float64 {
	sums := map[uint16][4]float64{}
	for k := range l.Dims[2] {
		for j := range l.Dims[1] {
			for i := range l.Dims[0] {
				v := l.At(i, j, k)
				if v == 0 {
					continue
				}
				x, y, z := l.Affine.Apply(float64(i), float64(j), float64(k))
				s := sums[v]
				sums[v] = [4]float64{s[0] + x, s[1] + y, s[2] + z, s[3] + 1}
			}
		}
	}
	c := map[uint16][3]float64{}
	for v, s := range sums {
		c[v] = [3]float64{s[0] / s[3], s[1] / s[3], s[2] / s[3]}
	}
	return c
}

// TestResampleLabelsExact resamples the LAS label volume of patient B onto
// grids that are exact permutations and flips of it (as an LPS DICOM grid
// is) and checks every voxel against the index mapping, and that every
// label stays where it was in the world.
func TestResampleLabelsExact(t *testing.T) {
	l, err := ReadLabelsNIfTI(realFile(t, "example_seg_dicom.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	nx, ny, nz := l.Dims[0], l.Dims[1], l.Dims[2]
	fx, fy, fz := float64(nx-1), float64(ny-1), float64(nz-1)
	tests := []struct {
		name string
		m    Affine // ref voxel -> l voxel
		dims [3]int
		full bool // ref covers all of l
	}{
		{"same grid", Identity(), l.Dims, true},
		{"LPS (j flipped)", Affine{{1, 0, 0, 0}, {0, -1, 0, fy}, {0, 0, 1, 0}, {0, 0, 0, 1}}, l.Dims, true},
		{"RPS (i and j flipped)", Affine{{-1, 0, 0, fx}, {0, -1, 0, fy}, {0, 0, 1, 0}, {0, 0, 0, 1}}, l.Dims, true},
		{"i, j swapped, k flipped", Affine{{0, 1, 0, 0}, {1, 0, 0, 0}, {0, 0, -1, fz}, {0, 0, 0, 1}}, [3]int{ny, nx, nz}, true},
		{"k first", Affine{{0, 0, 1, 0}, {0, -1, 0, fy}, {1, 0, 0, 0}, {0, 0, 0, 1}}, [3]int{nz, ny, nx}, true},
		{"shifted, half outside", Affine{{1, 0, 0, 256}, {0, 1, 0, -100}, {0, 0, 1, 3}, {0, 0, 0, 1}}, l.Dims, false},
		{"flipped, shifted, partly outside", Affine{{-1, 0, 0, 300}, {0, 0, 1, 2}, {0, -1, 0, 25}, {0, 0, 0, 1}}, [3]int{512, 30, 512}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := gridFrom(l.Grid, tt.m, tt.dims)
			if _, _, exact, _ := voxelMap(l.Grid, ref); !exact {
				t.Fatal("the exact path was not taken")
			}
			r, err := ResampleLabels(l, ref)
			if err != nil {
				t.Fatal(err)
			}
			if r.Grid != ref {
				t.Errorf("grid %v, want %v", r.Grid, ref)
			}
			for k := range tt.dims[2] {
				for j := range tt.dims[1] {
					for i := range tt.dims[0] {
						x, y, z := tt.m.Apply(float64(i), float64(j), float64(k))
						var want uint16
						if l.Contains(int(x), int(y), int(z)) {
							want = l.At(int(x), int(y), int(z))
						}
						if got := r.At(i, j, k); got != want {
							t.Fatalf("voxel (%d, %d, %d) = %d, want %d (l voxel %g %g %g)", i, j, k, got, want, x, y, z)
						}
					}
				}
			}
			if !tt.full {
				return
			}
			want := labelCentroids(l)
			got := labelCentroids(r)
			if len(got) != len(want) {
				t.Fatalf("%d labels, want %d", len(got), len(want))
			}
			for v, c := range want {
				g := got[v]
				for a := range 3 {
					if math.Abs(g[a]-c[a]) > 1e-6 {
						t.Fatalf("label %d centroid %v, want %v", v, g, c)
					}
				}
			}
		})
	}
}

// TestResampleLabelsNearest checks the general path on grids shifted by
// fractions of a voxel, where the nearest voxel is known.
func TestResampleLabelsNearest(t *testing.T) {
	g := rasGrid([3]int{6, 5, 4}, [3]float64{0.8, 1.1, 2.5}, [3]float64{-3, 7, 11})
	l := NewLabels(g)
	for i := range l.Data {
		l.Data[i] = uint16(i + 1)
	}
	shift := func(di, dj, dk float64) Grid {
		return gridFrom(g, Affine{{1, 0, 0, di}, {0, 1, 0, dj}, {0, 0, 1, dk}, {0, 0, 0, 1}}, g.Dims)
	}
	tests := []struct {
		name   string
		ref    Grid
		offset [3]int // the l voxel nearest to ref voxel (i, j, k) is (i, j, k) + offset
	}{
		{"0.3 voxel", shift(0.3, -0.2, 0.45), [3]int{0, 0, 0}},
		{"0.7 voxel", shift(0.7, -0.6, 1.2), [3]int{1, -1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, exact, _ := voxelMap(g, tt.ref); exact {
				t.Fatal("the exact path was taken for a fractional shift")
			}
			r, err := ResampleLabels(l, tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			for k := range g.Dims[2] {
				for j := range g.Dims[1] {
					for i := range g.Dims[0] {
						si, sj, sk := i+tt.offset[0], j+tt.offset[1], k+tt.offset[2]
						var want uint16
						if g.Contains(si, sj, sk) {
							want = l.At(si, sj, sk)
						}
						if got := r.At(i, j, k); got != want {
							t.Fatalf("voxel (%d, %d, %d) = %d, want %d", i, j, k, got, want)
						}
					}
				}
			}
		})
	}
}

func TestResampleLabelsErrors(t *testing.T) {
	g := rasGrid([3]int{4, 4, 4}, [3]float64{1, 1, 1}, [3]float64{})
	l := NewLabels(g)
	singular := &Labels{Grid: g, Data: make([]uint16, 64)}
	singular.Affine[2][2] = 0
	tests := []struct {
		name string
		l    *Labels
		ref  Grid
		is   error
	}{
		{"far away", l, rasGrid([3]int{4, 4, 4}, [3]float64{1, 1, 1}, [3]float64{1000, 0, 0}), ErrNoOverlap},
		{"far away, rotated", l, Grid{Dims: [3]int{4, 4, 4}, Affine: Affine{{0, 1, 0, 0}, {1, 0, 0, -50.5}, {0, 0, 1, 0}, {0, 0, 0, 1}}}, ErrNoOverlap},
		{"singular labels", singular, g, ErrSingular},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ResampleLabels(tt.l, tt.ref); !errors.Is(err, tt.is) {
				t.Errorf("error %v, want %v", err, tt.is)
			}
		})
	}
}

func BenchmarkResampleLabels(b *testing.B) {
	g := rasGrid([3]int{512, 512, 100}, [3]float64{0.8, 0.8, 2}, [3]float64{})
	l := NewLabels(g)
	for i := range l.Data {
		l.Data[i] = uint16(i % 7)
	}
	grids := []struct {
		name string
		ref  Grid
	}{
		{"flip", gridFrom(g, Affine{{-1, 0, 0, 511}, {0, -1, 0, 511}, {0, 0, 1, 0}, {0, 0, 0, 1}}, g.Dims)},
		{"nearest", gridFrom(g, Affine{{1.01, 0, 0, 0.3}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}, g.Dims)},
	}
	for _, gg := range grids {
		b.Run(gg.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := ResampleLabels(l, gg.ref); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
