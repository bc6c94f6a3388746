package metrics

import (
	"context"
	"math"
	"testing"
)

// abdomen returns a pair of label volumes on a 512×512×300 grid of
// 0.75×0.75×1 mm, a typical contrast CT: a liver (5, an ellipsoid of
// 90×70×70 mm semi-axes, about 1.8 L), a spleen (1) and two kidneys (2, 3).
// In the prediction every organ is shifted 3 mm and its radius rippled by
// ±6 %, so the surfaces differ everywhere by a few millimetres.
func abdomen() (pred, ref []uint16, d [3]int, sp [3]float64) {
	d = [3]int{512, 512, 300}
	sp = [3]float64{0.75, 0.75, 1}
	type organ struct {
		label  uint16
		c, rad [3]float64 // centre and semi-axes, mm
	}
	organs := []organ{
		{5, [3]float64{150, 200, 150}, [3]float64{90, 70, 70}},
		{1, [3]float64{280, 230, 160}, [3]float64{45, 30, 50}},
		{2, [3]float64{170, 290, 130}, [3]float64{25, 30, 50}},
		{3, [3]float64{250, 290, 130}, [3]float64{25, 30, 50}},
	}
	pred, ref = make([]uint16, d[0]*d[1]*d[2]), make([]uint16, d[0]*d[1]*d[2])
	for _, o := range organs {
		lo, hi := [3]int{}, [3]int{}
		for c := 0; c < 3; c++ {
			lo[c] = max(0, int((o.c[c]-1.2*o.rad[c])/sp[c]))
			hi[c] = min(d[c], int((o.c[c]+1.2*o.rad[c])/sp[c])+1)
		}
		for k := lo[2]; k < hi[2]; k++ {
			for j := lo[1]; j < hi[1]; j++ {
				for i := lo[0]; i < hi[0]; i++ {
					x := (float64(i)*sp[0] - o.c[0]) / o.rad[0]
					y := (float64(j)*sp[1] - o.c[1]) / o.rad[1]
					z := (float64(k)*sp[2] - o.c[2]) / o.rad[2]
					idx := i + d[0]*(j+d[1]*k)
					if x*x+y*y+z*z <= 1 {
						ref[idx] = o.label
					}
					xs := (float64(i)*sp[0] - o.c[0] - 3) / o.rad[0]
					r := 1 + 0.06*math.Sin(5*math.Atan2(y, xs))*math.Cos(3*z)
					if xs*xs+y*y+z*z <= r*r {
						pred[idx] = o.label
					}
				}
			}
		}
	}
	return pred, ref, d, sp
}

var sinkResults []LabelResult
var sinkDistances []float64

// BenchmarkCompareLabels measures CompareLabels on abdomen (four organs,
// distances over each organ's bounding box) and, as the reference in the
// same run, the same surface distances of the liver alone computed over
// the whole grid, as a distance transform without the bounding box (the
// previous implementation, and medpy's approach) does.
//
//	go test ./metrics -run '^$' -bench CompareLabels -benchtime 3x
func BenchmarkCompareLabels(b *testing.B) {
	pred, ref, d, sp := abdomen()
	ctx := context.Background()
	b.Run("4-organs-bbox", func(b *testing.B) {
		for b.Loop() {
			r, err := CompareLabels(ctx, pred, ref, d, sp, nil)
			if err != nil {
				b.Fatal(err)
			}
			sinkResults = r
		}
	})
	b.Run("liver-bbox", func(b *testing.B) {
		for b.Loop() {
			r, err := CompareLabels(ctx, pred, ref, d, sp, []uint16{5})
			if err != nil {
				b.Fatal(err)
			}
			sinkResults = r
		}
	})
	b.Run("liver-whole-grid", func(b *testing.B) {
		p, r := binary(pred, 5), binary(ref, 5)
		for b.Loop() {
			all, err := surfaceDistances(ctx, p, r, d, sp)
			if err != nil {
				b.Fatal(err)
			}
			sinkDistances = all
		}
	})
}
