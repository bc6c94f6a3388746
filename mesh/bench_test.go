package mesh

import (
	"context"
	"math"
	"os"
	"testing"

	"github.com/polyseg/polyseg/volume"
)

// benchLabels returns the label volume of the re-mesh benchmark and the
// label to mesh: the file named by $POLYSEG_MESH_BENCH_LABELS (label 5,
// the liver; scripts/bench_mesh.sh makes it with `polyseg phantom --size
// 512 --slices 120`, so that scikit-image meshes the same mask), else a
// synthetic 512×512×120 scan of 0.78×0.78×3 mm with a liver-sized lumpy
// ellipsoid (about 1.8 L) as label 5.
func benchLabels(b *testing.B) (*volume.Labels, uint16) {
	b.Helper()
	if p := os.Getenv("POLYSEG_MESH_BENCH_LABELS"); p != "" {
		l, err := volume.ReadLabelsNIfTI(p)
		if err != nil {
			b.Fatal(err)
		}
		return l, 5
	}
	sp := [3]float64{0.78, 0.78, 3}
	a := volume.Affine{{sp[0], 0, 0, -200}, {0, sp[1], 0, -200}, {0, 0, sp[2], -180}, {0, 0, 0, 1}}
	l := volume.NewLabels(volume.Grid{Dims: [3]int{512, 512, 120}, Affine: a})
	c := [3]float64{210, 250, 90} // voxels
	semi := [3]float64{105 * 0.78, 85 * 0.78, 30 * 3}
	for k := range 120 {
		for j := range 512 {
			for i := range 512 {
				d := [3]float64{(float64(i) - c[0]) * sp[0], (float64(j) - c[1]) * sp[1], (float64(k) - c[2]) * sp[2]}
				r := math.Sqrt(d[0]*d[0]/(semi[0]*semi[0]) + d[1]*d[1]/(semi[1]*semi[1]) + d[2]*d[2]/(semi[2]*semi[2]))
				if r > 1.2 {
					continue
				}
				lobe := 1 + 0.1*math.Sin(d[0]/15)*math.Cos(d[1]/20) + 0.05*math.Sin(d[2]/10)
				if r <= lobe {
					l.Data[l.Index(i, j, k)] = 5
				}
			}
		}
	}
	return l, 5
}

// BenchmarkRemesh re-meshes one segment of a 512×512×120 scan, as the 3D
// view must after an edit: with a kept Extractor, the whole scan searched
// for the segment's box ("extract"), with the box known ("box"), and with
// the smoothing `polyseg mesh` applies by default ("extract+smooth20").
// docs/benchmarks.md compares it with scikit-image's marching_cubes.
func BenchmarkRemesh(b *testing.B) {
	l, label := benchLabels(b)
	st, err := census(context.Background(), l, []uint16{label}, Options{}.workers())
	if err != nil {
		b.Fatal(err)
	}
	box := st[0].box
	b.Logf("label %d: %d voxels in box %v", label, st[0].voxels, box)
	for _, c := range []struct {
		name string
		opt  Options
		box  bool
	}{
		{"extract", Options{}, false},
		{"box", Options{}, true},
		{"extract+smooth20", Options{Smooth: 20}, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			var x Extractor
			var m *Mesh
			var err error
			c0 := cpuTime()
			for b.Loop() {
				if c.box {
					m, err = x.ExtractBox(context.Background(), l, label, box, c.opt)
				} else {
					m, err = x.Extract(context.Background(), l, label, c.opt)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-c0)/1e6/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(len(m.Triangles)), "triangles")
		})
	}
}
