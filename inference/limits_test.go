package inference

import (
	"math"
	"strings"
	"testing"

	"github.com/polyseg/polyseg/models"
)

func TestWindowed(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name string
		x    float32
		want float64
	}{
		{"bottom", -160, 0},
		{"below", -1000, 0},
		{"middle", 40, 0.5},
		{"top", 240, 1},
		{"above", 3000, 1},
		{"NaN is air", nan, 0},
		{"+Inf", float32(math.Inf(1)), 1},
		{"-Inf", float32(math.Inf(-1)), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := windowed(tt.x, -160, 400); got != tt.want {
				t.Errorf("windowed(%v) = %v, want %v", tt.x, got, tt.want)
			}
		})
	}
}

// TestPreprocessNonFinite checks that NaN and infinite voxels give a finite
// encoder input: SAM's output on a scan with a "no data" region must not be
// NaN everywhere that region's influence reaches.
func TestPreprocessNonFinite(t *testing.T) {
	s := &SAM{size: 16, mean: [3]float32{123.675, 116.28, 103.53}, std: [3]float32{58.395, 57.12, 57.375}}
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

func TestBatchSize(t *testing.T) {
	tests := []struct {
		name   string
		asked  int
		fixed  int64
		slices int
		want   int
	}{
		{"asked", 4, -1, 30, 4},
		{"default", 0, -1, 30, 8},
		{"negative is the default", -3, -1, 30, 8},
		{"no more than the slices", 100000, -1, 30, 30},
		{"default, fewer slices", 0, -1, 3, 3},
		{"fixed by the model", 100000, 2, 30, 2},
		{"fixed beyond the slices (padded)", 0, 16, 3, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := batchSize(tt.asked, tt.fixed, tt.slices); got != tt.want {
				t.Errorf("batchSize(%d, %d, %d) = %d, want %d", tt.asked, tt.fixed, tt.slices, got, tt.want)
			}
		})
	}
}

// TestNewRuntimeRefusesTooManyThreads checks the bound before anything is
// loaded, so the refusal does not need the library.
func TestNewRuntimeRefusesTooManyThreads(t *testing.T) {
	for _, n := range []int{MaxThreads + 1, 100000} {
		if _, err := NewRuntime(Options{Threads: n, Library: "/nonexistent/libonnxruntime.so"}); err == nil || !strings.Contains(err.Error(), "threads") {
			t.Errorf("NewRuntime with %d threads: %v, want a refusal naming the thread count", n, err)
		}
	}
}
