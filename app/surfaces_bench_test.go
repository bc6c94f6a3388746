package app

import (
	"context"
	"math"
	"os"
	"testing"
	"time"

	"github.com/polyseg/polyseg/volume"
)

// benchSurfaceLabels returns the label volume of the app's re-mesh
// benchmark, as mesh.BenchmarkRemesh has it: the file named by
// $POLYSEG_MESH_BENCH_LABELS (scripts/bench_surfaces.sh makes it with
// `polyseg phantom --size 512 --slices 120`; label 5 is the liver), else a
// synthetic 512×512×120 scan of 0.78×0.78×3 mm with a liver-sized lumpy
// ellipsoid as label 5.
func benchSurfaceLabels(b *testing.B) *volume.Labels {
	b.Helper()
	if p := os.Getenv("POLYSEG_MESH_BENCH_LABELS"); p != "" {
		l, err := volume.ReadLabelsNIfTI(p)
		if err != nil {
			b.Fatal(err)
		}
		return l
	}
	sp := [3]float64{0.78, 0.78, 3}
	a := volume.Affine{{sp[0], 0, 0, -200}, {0, sp[1], 0, -200}, {0, 0, sp[2], -180}, {0, 0, 0, 1}}
	l := volume.NewLabels(volume.Grid{Dims: [3]int{512, 512, 120}, Affine: a})
	c := [3]float64{210, 250, 90}
	semi := [3]float64{105 * 0.78, 85 * 0.78, 30 * 3}
	for k := range 120 {
		for j := range 512 {
			for i := range 512 {
				d := [3]float64{(float64(i) - c[0]) * sp[0], (float64(j) - c[1]) * sp[1], (float64(k) - c[2]) * sp[2]}
				r := math.Sqrt(d[0]*d[0]/(semi[0]*semi[0]) + d[1]*d[1]/(semi[1]*semi[1]) + d[2]*d[2]/(semi[2]*semi[2]))
				if r <= 1+0.1*math.Sin(d[0]/15)*math.Cos(d[1]/20)+0.05*math.Sin(d[2]/10) {
					l.Data[l.Index(i, j, k)] = 5
				}
			}
		}
	}
	return l
}

// BenchmarkSurfacesRemesh times what the 3D view waits for after an edit
// of one segment of a 512×512×120 scan: a brush dab (a ball of 6 mm
// radius) on the liver's surface, or its undo, then the liver meshed again
// by the session's surfaces (the edit noted, the liver's box grown by the
// dab's copied out under the read lock, marching cubes on it) until the
// surface is published: the raw one ("raw"), or the smoothed one
// ("smooth20", the view's default; first-shown-ms is when the first
// surface, raw or smoothed, appeared). docs/benchmarks.md compares it with
// scikit-image's marching_cubes on the same mask (scripts/bench_surfaces.sh).
func BenchmarkSurfacesRemesh(b *testing.B) {
	l := benchSurfaceLabels(b)
	v := &volume.Volume{Grid: l.Grid, Data: make([]float32, l.Len())}
	for _, c := range []struct {
		name   string
		smooth int
	}{
		{"raw", NoSmoothing},
		{"smooth20", DefaultSurfaceSmooth},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := New(Options{AutosaveDir: b.TempDir()})
			defer s.Close()
			if err := s.setVolume(v, l, ""); err != nil {
				b.Fatal(err)
			}
			shown := make(chan struct{}, 256)
			x := s.Surfaces(SurfaceOptions{Smooth: c.smooth, OnUpdate: func(labels []uint16) {
				for _, v := range labels {
					if v == 5 {
						shown <- struct{}{}
					}
				}
			}})
			wait := func() {
				if err := x.WaitIdle(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			wait()
			liver, ok := x.Get(5)
			if !ok {
				b.Fatal("no liver surface")
			}
			// A dab centred on the liver's right edge, at its middle.
			box := liver.Box
			ctr := [3]int{box.Max[0] - 1, (box.Min[1] + box.Max[1]) / 2, (box.Min[2] + box.Max[2]) / 2}
			for l.Data[l.Index(ctr[0], ctr[1], ctr[2])] != 5 && ctr[0] > box.Min[0] {
				ctr[0]--
			}
			sp := l.Spacing()
			var dab []int
			for k := ctr[2] - 3; k <= ctr[2]+3; k++ {
				for j := ctr[1] - 9; j <= ctr[1]+9; j++ {
					for i := ctr[0] - 9; i <= ctr[0]+9; i++ {
						d := sq(float64(i-ctr[0])*sp[0]) + sq(float64(j-ctr[1])*sp[1]) + sq(float64(k-ctr[2])*sp[2])
						// Only the liver and background: the edit changes
						// one segment.
						if d <= 36 && l.Grid.Contains(i, j, k) && l.At(i, j, k)&^5 == 0 {
							dab = append(dab, l.Index(i, j, k))
						}
					}
				}
			}
			for len(shown) > 0 {
				<-shown
			}
			var first time.Duration
			n := 0
			c0 := cpuTime()
			for b.Loop() {
				t0 := time.Now()
				if n%2 == 0 {
					if changed, err := s.Paint("dab", dab, 5); err != nil || changed == 0 {
						b.Fatalf("dab changed %d voxels: %v", changed, err)
					}
				} else if _, ok := s.Undo(); !ok {
					b.Fatal("nothing to undo")
				}
				<-shown
				first += time.Since(t0)
				wait()
				for len(shown) > 0 {
					<-shown
				}
				n++
			}
			b.ReportMetric(float64(cpuTime()-c0)/1e6/float64(n), "cpu-ms/op")
			b.ReportMetric(float64(first)/1e6/float64(n), "first-shown-ms")
			got, _ := x.Get(5)
			b.ReportMetric(float64(len(got.Mesh.Triangles)), "triangles")
		})
	}
}
