package sam

import (
	"math"
	"testing"

	"github.com/polyseg/polyseg/models"
)

// TestPreprocessNonFinite checks that NaN and infinite voxels give a finite
// encoder input: SAM's output on a scan with a "no data" region must not be
// NaN everywhere that region's influence reaches.
func TestPreprocessNonFinite(t *testing.T) {
	s := &Model{size: 16, mean: [3]float32{123.675, 116.28, 103.53}, std: [3]float32{58.395, 57.12, 57.375}}
	img := make([]float32, 8*8)
	for i := range img {
		img[i] = 40
	}
	img[0], img[9], img[18] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))
	for i, v := range s.Preprocess(img, 8, 8, models.Window{Level: 40, Width: 400}) {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("encoder input %d is %v", i, v)
		}
	}
}
