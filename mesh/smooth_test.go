package mesh

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

func ballLabels(r float64, a volume.Affine) *volume.Labels {
	n := int(2*r) + 4
	c := float64(n-1) / 2
	return labelsFrom([3]int{n, n, n}, a, func(i, j, k int) bool {
		x, y, z := float64(i)-c, float64(j)-c, float64(k)-c
		return x*x+y*y+z*z <= r*r
	})
}

// TestSmoothBall: smoothing a digitised ball brings its area towards the
// true sphere's (marching cubes' terraces overstate it) while the volume
// stays within 2 %, and the mesh stays closed.
func TestSmoothBall(t *testing.T) {
	const r = 12
	m, err := Extract(context.Background(), ballLabels(r, volume.Identity()), 1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sphere := 4 * math.Pi * r * r
	raw := m.Area()
	for _, it := range []int{5, 20, 100} {
		s := m.Clone()
		s.Smooth(it)
		if err := Check(s); err != nil {
			t.Fatal(err)
		}
		dv := s.Volume()/m.Volume() - 1
		t.Logf("%d iterations: area %.1f (sphere %.1f, raw %.1f), volume %+.2f %%", it, s.Area(), sphere, raw, 100*dv)
		if math.Abs(dv) > 0.02 {
			t.Errorf("%d iterations: volume changes by %+.2f %%", it, 100*dv)
		}
		if math.Abs(s.Area()-sphere) >= math.Abs(raw-sphere) {
			t.Errorf("%d iterations: area %g is no closer to the sphere's %g than the raw %g", it, s.Area(), sphere, raw)
		}
	}
	// Plain Laplacian smoothing (μ = 0) would shrink it: the test above
	// is not one any smoothing passes.
	lap := m.Clone()
	for range 100 {
		lap.lambdaStep(taubinLambda)
	}
	if dv := lap.Volume()/m.Volume() - 1; dv > -0.02 {
		t.Errorf("plain Laplacian smoothing shrinks the ball by only %.2f %%; the 2 %% bound tests nothing", 100*dv)
	}
}

// lambdaStep is one plain Laplacian step, for the test above.
func (m *Mesh) lambdaStep(w float32) {
	first, nbr := adjacency(len(m.Vertices), m.Triangles)
	out := make([][3]float32, len(m.Vertices))
	for v, p := range m.Vertices {
		var s [3]float32
		ns := nbr[first[v]:first[v+1]]
		for _, n := range ns {
			for a := range 3 {
				s[a] += m.Vertices[n][a] - p[a]
			}
		}
		for a := range 3 {
			out[v][a] = p[a] + w*s[a]/float32(len(ns))
		}
	}
	m.Vertices = out
}

func TestDecimate(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	shapes := map[string]*volume.Labels{
		"ball":  ballLabels(10, volume.Affine{{0.8, 0, 0, 0}, {0, 0.8, 0, 0}, {0, 0, 2, 0}, {0, 0, 0, 1}}),
		"noise": labelsFrom([3]int{12, 12, 12}, volume.Identity(), func(i, j, k int) bool { return r.Float64() < 0.5 }),
		"voxel": labelsFrom([3]int{1, 1, 1}, volume.Identity(), func(i, j, k int) bool { return true }),
	}
	for name, l := range shapes {
		for _, ratio := range []float64{0.5, 0.2, 0.01} {
			m, err := Extract(context.Background(), l, 1, Options{Smooth: 10})
			if err != nil {
				t.Fatal(err)
			}
			n0, v0 := len(m.Triangles), m.Volume()
			if err := m.Decimate(context.Background(), ratio); err != nil {
				t.Fatal(err)
			}
			if err := Check(m); err != nil {
				t.Fatalf("%s to %g: %v", name, ratio, err)
			}
			t.Logf("%s to %g: %d → %d triangles, volume %+.2f %%", name, ratio, n0, len(m.Triangles), 100*(m.Volume()/v0-1))
			if name == "ball" {
				if got := float64(len(m.Triangles)) / float64(n0); got > ratio*1.05+0.002 {
					t.Errorf("ball: %.3f of the triangles left, asked %g", got, ratio)
				}
				if ratio >= 0.2 && math.Abs(m.Volume()/v0-1) > 0.01 {
					t.Errorf("ball to %g: volume %+.2f %%", ratio, 100*(m.Volume()/v0-1))
				}
			}
		}
	}
	m, _ := Extract(context.Background(), shapes["ball"], 1, Options{})
	if err := m.Decimate(context.Background(), 0); err == nil {
		t.Error("ratio 0 accepted")
	}
}
