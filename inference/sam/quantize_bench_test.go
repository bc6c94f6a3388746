package sam

import (
	"context"
	"sort"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/polyseg/polyseg/internal/bareort"
	"github.com/polyseg/polyseg/models"
)

// BenchmarkEncoderInt8 runs the float32 encoder and its int8 variant
// (made by Quantize into a temporary folder) as bare sessions on the same
// preprocessed slices of patient B, alternately first, and reports the
// median seconds per slice of each and float32/int8, the speed-up.
//
//	go test ./inference/sam -run '^$' -bench EncoderInt8 -benchtime 6x
func BenchmarkEncoderInt8(b *testing.B) {
	rt := testRuntime(b)
	s := testSAM(b)
	q, err := Quantize(context.Background(), rt, s.Encoder(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	liver := bareort.PatientBLiver(b, realData)
	v, sl := liver.Volume, liver.Slicer
	w := models.Window{Level: 40, Width: 400}
	opts := bareort.Options(b, rt.Threads())
	defer opts.Destroy()
	in, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 3, 1024, 1024))
	out, _ := ort.NewEmptyTensor[float32](ort.NewShape(1, 256, 64, 64))
	defer in.Destroy()
	defer out.Destroy()
	session := func(path string) *ort.AdvancedSession {
		e, err := ort.NewAdvancedSession(path, []string{"input"}, []string{"output"}, []ort.Value{in}, []ort.Value{out}, opts)
		if err != nil {
			b.Fatal(err)
		}
		return e
	}
	f32, i8 := session(s.Encoder().ModelPath()), session(q.ModelPath())
	defer f32.Destroy()
	defer i8.Destroy()
	img, _ := sl.Image(v, liver.Slice)
	copy(in.GetData(), s.Preprocess(img, sl.Rows, sl.Cols, w))
	for range 2 { // the first runs allocate
		f32.Run()
		i8.Run()
	}
	var tf, ti []float64
	k := 0
	for b.Loop() {
		img, _ := sl.Image(v, k%sl.Slices)
		copy(in.GetData(), s.Preprocess(img, sl.Rows, sl.Cols, w))
		runs := []*ort.AdvancedSession{f32, i8}
		if k%2 == 1 {
			runs[0], runs[1] = i8, f32
		}
		for _, r := range runs {
			t0 := time.Now()
			if err := r.Run(); err != nil {
				b.Fatal(err)
			}
			d := time.Since(t0).Seconds()
			if r == f32 {
				tf = append(tf, d)
			} else {
				ti = append(ti, d)
			}
		}
		k++
	}
	mf, mi := median(tf), median(ti)
	b.ReportMetric(mf, "float32-s/slice")
	b.ReportMetric(mi, "int8-s/slice")
	b.ReportMetric(mf/mi, "speedup")
}

func median(x []float64) float64 {
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
