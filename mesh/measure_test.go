package mesh

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

// bruteDiameter tries every pair of vertices.
func bruteDiameter(ps [][3]float32) float64 {
	qs := make([]v3, len(ps))
	for n, p := range ps {
		qs[n] = vec(p)
	}
	var best float64
	for i, p := range qs {
		for _, q := range qs[i+1:] {
			x, y, z := p[0]-q[0], p[1]-q[1], p[2]-q[2]
			best = max(best, x*x+y*y+z*z)
		}
	}
	return math.Sqrt(best)
}

func TestMeasureSimpleShapes(t *testing.T) {
	sp := volume.Affine{{0.5, 0, 0, -20}, {0, 0.75, 0, 30}, {0, 0, 2, 7}, {0, 0, 0, 1}}
	// A 4×2×3 block of voxels: the surface's farthest vertices are edge
	// midpoints at opposite ends.
	l := labelsFrom([3]int{6, 4, 5}, sp, func(i, j, k int) bool { return i >= 1 && i <= 4 && j >= 1 && j <= 2 && k >= 1 && k <= 3 })
	l.Data[l.Index(0, 0, 0)] = 9 // a single voxel of another label, at the corner
	st, err := Measure(context.Background(), l, []uint16{1, 9, 4})
	if err != nil {
		t.Fatal(err)
	}
	vox := 0.5 * 0.75 * 2 / 1000
	if st[0].Voxels != 24 || math.Abs(st[0].VolumeML-24*vox) > 1e-12 {
		t.Errorf("block: %d voxels, %g mL", st[0].Voxels, st[0].VolumeML)
	}
	if st[1].Voxels != 1 || math.Abs(st[1].MaxDiameterMM-2) > 1e-9 {
		// A single voxel's surface is an octahedron with vertices half a
		// voxel from its centre: the longest axis (2 mm) is the diameter.
		t.Errorf("single voxel: %+v, want diameter 2 mm", st[1])
	}
	if st[2] != (Stats{Label: 4}) {
		t.Errorf("absent label: %+v, want zeros", st[2])
	}
	if _, err := Measure(context.Background(), l, []uint16{1, 1}); err == nil {
		t.Error("a label listed twice was accepted")
	}
	if _, err := Measure(context.Background(), l, []uint16{0}); err == nil {
		t.Error("label 0 was accepted")
	}
	all, err := Measure(context.Background(), l, nil)
	if err != nil || len(all) != 2 || all[0].Label != 1 || all[1].Label != 9 {
		t.Errorf("every label: %+v, %v", all, err)
	}
}

// TestDiameterExact compares the hull-filtered diameter with every pair of
// vertices, on random shapes and grids (anisotropic, mirrored, oblique).
func TestDiameterExact(t *testing.T) {
	affines := []volume.Affine{
		volume.Identity(),
		{{0.7, 0, 0, 1}, {0, 0.7, 0, 2}, {0, 0, 3, 3}, {0, 0, 0, 1}},
		{{-0.8, 0, 0, 200}, {0, 0.8, 0, -150}, {0, 0, 2.5, 400}, {0, 0, 0, 1}},
		{{0.9, 0.1, 0, 10}, {-0.1, 0.9, 0.2, 5}, {0, -0.3, 1.9, -30}, {0, 0, 0, 1}},
	}
	for seed := range uint64(12) {
		r := rand.New(rand.NewPCG(seed, 3))
		a := affines[seed%uint64(len(affines))]
		// Blobs of a few random balls, or noise: convex-ish and ragged.
		type ball struct {
			c [3]float64
			r float64
		}
		var balls []ball
		for range 1 + r.IntN(4) {
			balls = append(balls, ball{[3]float64{2 + 10*r.Float64(), 2 + 10*r.Float64(), 2 + 8*r.Float64()}, 1 + 4*r.Float64()})
		}
		noise := seed%3 == 0
		l := labelsFrom([3]int{14, 14, 12}, a, func(i, j, k int) bool {
			if noise {
				return r.Float64() < 0.1
			}
			for _, b := range balls {
				x, y, z := float64(i)-b.c[0], float64(j)-b.c[1], float64(k)-b.c[2]
				if x*x+y*y+z*z <= b.r*b.r {
					return true
				}
			}
			return false
		})
		st, err := Measure(context.Background(), l, []uint16{1})
		if err != nil {
			t.Fatal(err)
		}
		m, err := Extract(context.Background(), l, 1, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if want := bruteDiameter(m.Vertices); math.Abs(st[0].MaxDiameterMM-want) > 1e-4 {
			t.Errorf("seed %d: diameter %g mm, every pair gives %g", seed, st[0].MaxDiameterMM, want)
		}
	}
}

func TestMonotoneChain(t *testing.T) {
	// A square with points on its sides and inside: only the corners.
	var ps [][3]int32
	for y := int32(0); y <= 4; y++ {
		for x := int32(0); x <= 4; x++ {
			ps = append(ps, [3]int32{x, y, 0})
		}
	}
	idx := make([]int32, len(ps))
	for n := range idx {
		idx[n] = int32(n) // already sorted by y, then x
	}
	h := monotoneChain(ps, idx, 1, 0, nil)
	if len(h) != 4 {
		t.Errorf("hull of a 5×5 lattice square has %d vertices, want 4: %v", len(h), h)
	}
}
