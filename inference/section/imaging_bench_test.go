package section

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/disintegration/imaging"
)

// BenchmarkResizeAgainstImaging measures the models' resampler against
// disintegration/imaging (the image library the design card names) on the
// resizes the models do: a 512² slice to SAM's 1024² and to the U-Net's
// 256², and 256² probabilities back to 512². imaging works on 8-bit images,
// so the slice goes in as grey levels and comes back quantised; the
// reported max-err is the largest difference from ResizeBilinear in grey
// levels of 255 (the 1024² case) or in probability (the others), after
// imaging's own filter: its Linear filter widens with the scale when
// shrinking (an antialiasing tent), which the trainer's PyTorch bilinear
// does not do.
//
//	go test ./inference/section -run '^$' -bench ResizeAgainstImaging -benchtime 20x -count 3
func BenchmarkResizeAgainstImaging(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	src := make([]float32, 512*512)
	for i := range src {
		// A smooth field plus noise: CT-like texture in [0, 1].
		r, c := i/512, i%512
		src[i] = float32(min(max(0.5+0.3*math.Sin(float64(r)/23)*math.Cos(float64(c)/31)+0.05*rng.NormFloat64(), 0), 1))
	}
	for _, tc := range []struct {
		name      string
		h, w      int
		nh, nw    int
		greyscale float64 // the unit max-err is reported in
	}{
		{"slice-512-to-sam-1024", 512, 512, 1024, 1024, 255},
		{"slice-512-to-unet-256", 512, 512, 256, 256, 1},
		{"probs-256-to-512", 256, 256, 512, 512, 1},
	} {
		in := src
		if tc.h != 512 {
			in = ResizeBilinear(src, 512, 512, tc.h, tc.w)
		}
		grey := image.NewGray(image.Rect(0, 0, tc.w, tc.h))
		for i, v := range in {
			grey.Pix[i] = uint8(math.Round(float64(v) * 255))
		}
		want := ResizeBilinear(in, tc.h, tc.w, tc.nh, tc.nw)
		b.Run(tc.name+"/ours", func(b *testing.B) {
			dst := make([]float32, tc.nh*tc.nw)
			for b.Loop() {
				ResizeBilinearInto(dst, tc.nw, in, tc.h, tc.w, tc.nh, tc.nw)
			}
		})
		b.Run(tc.name+"/imaging-linear", func(b *testing.B) {
			var out *image.NRGBA
			for b.Loop() {
				out = imaging.Resize(grey, tc.nw, tc.nh, imaging.Linear)
			}
			worst := 0.0
			for i, v := range want {
				got := float64(out.Pix[4*i]) / 255
				worst = max(worst, math.Abs(got-float64(v)))
			}
			b.ReportMetric(worst*tc.greyscale, "max-err")
		})
	}
}
