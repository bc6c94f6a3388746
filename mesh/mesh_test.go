package mesh

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

// labelsFrom makes a label volume holding 1 where in says so.
func labelsFrom(d [3]int, a volume.Affine, in func(i, j, k int) bool) *volume.Labels {
	l := volume.NewLabels(volume.Grid{Dims: d, Affine: a})
	for k := range d[2] {
		for j := range d[1] {
			for i := range d[0] {
				if in(i, j, k) {
					l.Data[l.Index(i, j, k)] = 1
				}
			}
		}
	}
	return l
}

// euler returns V − E + F of a closed mesh (E = 3F/2): 2 per sphere-like
// surface, 0 per torus.
func euler(m *Mesh) int { return len(m.Vertices) - len(m.Triangles)/2 }

// components counts the connected pieces of a mesh.
func components(m *Mesh) int {
	parent := make([]int, len(m.Vertices))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for _, t := range m.Triangles {
		a, b, c := find(int(t[0])), find(int(t[1])), find(int(t[2]))
		parent[b] = a
		parent[find(c)] = a
	}
	n := 0
	for i := range parent {
		if find(i) == i {
			n++
		}
	}
	return n
}

func voxelCount(l *volume.Labels, v uint16) int {
	n := 0
	for _, x := range l.Data {
		if x == v {
			n++
		}
	}
	return n
}

func TestTableCoversEveryCase(t *testing.T) {
	tab := mcTable()
	for cs := range 256 {
		c := tab[cs]
		// Each cut edge (an edge whose corners differ) is used, once per
		// polygon, and no other.
		var want, got [12]bool
		for e := range 12 {
			a, b := edgeCorners(e)
			want[e] = (cs>>a&1 != cs>>b&1)
		}
		for _, e := range c.edges {
			if got[e] {
				t.Errorf("case %d: edge %d in two polygons", cs, e)
			}
			got[e] = true
		}
		if want != got {
			t.Errorf("case %d: cut edges %v, polygons use %v", cs, want, got)
		}
		if len(c.tris) > 5 {
			t.Errorf("case %d: %d triangles", cs, len(c.tris))
		}
	}
}

// TestEveryCubeCase meshes each of the 256 configurations of a 2×2×2
// block alone in a grid: every one must be closed and face outwards.
func TestEveryCubeCase(t *testing.T) {
	for cs := 1; cs < 256; cs++ {
		l := labelsFrom([3]int{2, 2, 2}, volume.Identity(), func(i, j, k int) bool { return cs>>(i|j<<1|k<<2)&1 == 1 })
		m, err := Extract(context.Background(), l, 1, Options{})
		if err != nil {
			t.Fatalf("case %d: %v", cs, err)
		}
		if err := Check(m); err != nil {
			t.Errorf("case %d: %v", cs, err)
		}
		if v := m.Volume(); v <= 0 {
			t.Errorf("case %d: volume %g, want positive", cs, v)
		}
	}
}

func TestShapes(t *testing.T) {
	id := volume.Identity()
	// An LAS grid (x mirrored: negative determinant), anisotropic and far
	// from the origin, as a DICOM series converted by dcm2niix.
	las := volume.Affine{{-0.8, 0, 0, 200}, {0, 0.8, 0, -150}, {0, 0, 2.5, 400}, {0, 0, 0, 1}}
	oblique := volume.Affine{{0.9, 0.1, 0, 10}, {-0.1, 0.9, 0.2, 5}, {0, -0.3, 1.9, -30}, {0, 0, 0, 1}}
	rnd := func(seed uint64, p float64) func(i, j, k int) bool {
		r := rand.New(rand.NewPCG(seed, 7))
		cells := make(map[[3]int]bool)
		return func(i, j, k int) bool {
			key := [3]int{i, j, k}
			v, ok := cells[key]
			if !ok {
				v = r.Float64() < p
				cells[key] = v
			}
			return v
		}
	}
	ball := func(c [3]float64, r float64) func(i, j, k int) bool {
		return func(i, j, k int) bool {
			x, y, z := float64(i)-c[0], float64(j)-c[1], float64(k)-c[2]
			return x*x+y*y+z*z <= r*r
		}
	}
	cases := []struct {
		name  string
		d     [3]int
		a     volume.Affine
		in    func(i, j, k int) bool
		euler int // 0 when unknown
		parts int // 0 when unknown
	}{
		{"single voxel", [3]int{3, 3, 3}, id, func(i, j, k int) bool { return i == 1 && j == 1 && k == 1 }, 2, 1},
		{"single voxel filling the grid", [3]int{1, 1, 1}, id, func(i, j, k int) bool { return true }, 2, 1},
		{"voxels sharing an edge are one surface", [3]int{4, 4, 3}, id, func(i, j, k int) bool {
			return k == 1 && (i == 1 && j == 1 || i == 2 && j == 2)
		}, 2, 1},
		{"voxels sharing a corner are two", [3]int{4, 4, 4}, id, func(i, j, k int) bool {
			return i == 1 && j == 1 && k == 1 || i == 2 && j == 2 && k == 2
		}, 4, 2},
		{"diagonal line of voxels", [3]int{8, 8, 3}, id, func(i, j, k int) bool { return k == 1 && i == j }, 2, 1},
		{"hollow cube (a cavity)", [3]int{9, 9, 9}, id, func(i, j, k int) bool {
			inner := i >= 3 && i <= 5 && j >= 3 && j <= 5 && k >= 3 && k <= 5
			return i >= 1 && i <= 7 && j >= 1 && j <= 7 && k >= 1 && k <= 7 && !inner
		}, 4, 2},
		{"ring (a hole through)", [3]int{8, 8, 4}, id, func(i, j, k int) bool {
			return k >= 1 && k <= 2 && i >= 1 && i <= 6 && j >= 1 && j <= 6 && !(i >= 3 && i <= 4 && j >= 3 && j <= 4)
		}, 0, 1},
		{"block touching every border", [3]int{4, 5, 6}, id, func(i, j, k int) bool { return true }, 2, 1},
		{"sheet one voxel thick on the border", [3]int{1, 8, 8}, id, func(i, j, k int) bool { return true }, 2, 1},
		{"checkerboard", [3]int{6, 6, 6}, id, func(i, j, k int) bool { return (i+j+k)%2 == 0 }, 0, 0},
		{"random noise, half full", [3]int{12, 12, 12}, id, rnd(1, 0.5), 0, 0},
		{"random noise, sparse", [3]int{12, 12, 12}, id, rnd(2, 0.2), 0, 0},
		{"random noise, dense, touching the border", [3]int{10, 10, 10}, id, rnd(3, 0.8), 0, 0},
		{"ball on an LAS grid", [3]int{20, 20, 10}, las, ball([3]float64{9.5, 9.5, 4.5}, 8), 2, 1},
		{"random noise on an LAS grid", [3]int{10, 10, 10}, las, rnd(4, 0.5), 0, 0},
		{"random noise on an oblique grid", [3]int{10, 10, 10}, oblique, rnd(5, 0.5), 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := labelsFrom(c.d, c.a, c.in)
			for _, workers := range []int{1, 3} {
				m, err := Extract(context.Background(), l, 1, Options{Workers: workers})
				if err != nil {
					t.Fatal(err)
				}
				if err := Check(m); err != nil {
					t.Fatalf("workers %d: %v", workers, err)
				}
				if v := m.Volume(); v <= 0 {
					t.Errorf("workers %d: volume %g mm³: the surface faces inwards", workers, v)
				}
				if c.euler != 0 || c.parts != 0 {
					if got := euler(m); got != c.euler {
						t.Errorf("workers %d: Euler characteristic %d, want %d", workers, got, c.euler)
					}
					if got := components(m); got != c.parts {
						t.Errorf("workers %d: %d surfaces, want %d", workers, got, c.parts)
					}
				}
			}
		})
	}
}

// TestSlabsAgree checks that the slabs join exactly: any number of workers
// gives the same surface (the same vertex set, triangles and area).
func TestSlabsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	l := labelsFrom([3]int{16, 14, 40}, volume.Identity(), func(i, j, k int) bool { return r.Float64() < 0.45 })
	ref, err := Extract(context.Background(), l, 1, Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []int{2, 5, 16, 64} {
		m, err := Extract(context.Background(), l, 1, Options{Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(m); err != nil {
			t.Fatalf("%d workers: %v", w, err)
		}
		if len(m.Vertices) != len(ref.Vertices) || len(m.Triangles) != len(ref.Triangles) {
			t.Errorf("%d workers: %d vertices %d triangles, one worker %d and %d", w, len(m.Vertices), len(m.Triangles), len(ref.Vertices), len(ref.Triangles))
		}
		if a, b := m.Area(), ref.Area(); math.Abs(a-b) > 1e-9*b {
			t.Errorf("%d workers: area %g, one worker %g", w, a, b)
		}
	}
}

func TestLabelsApart(t *testing.T) {
	// Two labels side by side: each gets its own closed surface, and a
	// label absent is an error naming it.
	l := labelsFrom([3]int{10, 6, 6}, volume.Identity(), func(i, j, k int) bool { return i < 5 && j > 0 && k > 0 })
	for n, v := range l.Data {
		if v == 0 && n%10 >= 5 {
			l.Data[n] = 7
		}
	}
	ms, err := ExtractAll(context.Background(), l, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Label != 1 || ms[1].Label != 7 {
		t.Fatalf("got %d meshes", len(ms))
	}
	for _, m := range ms {
		if err := Check(m); err != nil {
			t.Errorf("label %d: %v", m.Label, err)
		}
	}
	if _, err := Extract(context.Background(), l, 3, Options{}); err == nil {
		t.Error("label 3 has no voxels, but Extract gave no error")
	}
	var x Extractor
	m, err := x.ExtractBox(context.Background(), l, 1, Box{Min: [3]int{0, 0, 0}, Max: [3]int{5, 6, 6}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := m.Area(), ms[0].Area(); math.Abs(a-b) > 1e-9 {
		t.Errorf("ExtractBox area %g, Extract %g", a, b)
	}
}

func TestOptionsRefused(t *testing.T) {
	l := labelsFrom([3]int{3, 3, 3}, volume.Identity(), func(i, j, k int) bool { return true })
	for _, o := range []Options{{Smooth: -1}, {Smooth: MaxSmooth + 1}, {Decimate: -0.1}, {Decimate: 1.5}, {Decimate: math.NaN()}} {
		if _, err := Extract(context.Background(), l, 1, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
	bad := &volume.Labels{Grid: volume.Grid{Dims: [3]int{3, 3, 3}, Affine: volume.Identity()}, Data: make([]uint16, 5)}
	if _, err := Extract(context.Background(), bad, 1, Options{}); err == nil {
		t.Error("a label volume with too few voxels was accepted")
	}
	sing := labelsFrom([3]int{3, 3, 3}, volume.Affine{}, func(i, j, k int) bool { return true })
	if _, err := Extract(context.Background(), sing, 1, Options{}); err == nil {
		t.Error("a singular affine was accepted")
	}
}

func TestCancel(t *testing.T) {
	l := labelsFrom([3]int{20, 20, 20}, volume.Identity(), func(i, j, k int) bool { return (i+j+k)%3 == 0 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Extract(ctx, l, 1, Options{}); err == nil {
		t.Error("a cancelled context gave no error")
	}
}

// TestCheckFindsDefects makes sure Check is not a test that cannot fail.
func TestCheckFindsDefects(t *testing.T) {
	l := labelsFrom([3]int{4, 4, 4}, volume.Identity(), func(i, j, k int) bool { return i > 0 && j > 0 && k > 0 && i < 3 && j < 3 && k < 3 })
	good, err := Extract(context.Background(), l, 1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	open := good.Clone()
	open.Triangles = open.Triangles[1:]
	flipped := good.Clone()
	flipped.Triangles[0] = [3]uint32{flipped.Triangles[0][0], flipped.Triangles[0][2], flipped.Triangles[0][1]}
	doubled := good.Clone()
	doubled.Triangles = append(doubled.Triangles, doubled.Triangles...)
	// Two copies of the cube touching at one vertex: every edge fine, the
	// shared vertex not.
	pinched := good.Clone()
	n := uint32(len(good.Vertices))
	for _, tr := range good.Triangles {
		nt := [3]uint32{tr[0] + n, tr[1] + n, tr[2] + n}
		for k := range nt {
			if nt[k] == n {
				nt[k] = 0
			}
		}
		pinched.Triangles = append(pinched.Triangles, nt)
	}
	pinched.Vertices = append(pinched.Vertices, good.Vertices...)
	degenerate := good.Clone()
	degenerate.Triangles[0][1] = degenerate.Triangles[0][0]
	for name, m := range map[string]*Mesh{"open": open, "flipped": flipped, "doubled": doubled, "pinched": pinched, "degenerate": degenerate} {
		if err := Check(m); err == nil {
			t.Errorf("%s mesh passed Check", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
